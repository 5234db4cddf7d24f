/* units.h - the one table of length units: what a unit name means in nanometres */
#ifndef EM_UNITS_H
#define EM_UNITS_H

/*
 * A length in a unit as files and archives write it, in nanometres: the
 * OME-NGFF names ("micrometer"), British spellings and plurals
 * ("nanometres", "nanometers" as DVID says), short forms ("nm", "um",
 * "\xc2\xb5m", "\xc3\x85", "A", "pm", "mm", "m") and "inch".  Case does not
 * matter except for one-letter names ("A" is an angstrom, "a" nothing).
 * Units below a nanometre divide by a whole number, so 3 A is 0.3 nm, not
 * 0.30000000000000004.
 *
 * 1 with *nm set when unit is a known length and value and the result
 * are finite (any sign: translations may be negative); 0 for anything
 * else ("", "px", "eV", "1/nm", NULL, NaN).
 */
int em_length_nm(double value, const char *unit, double *nm);

/* Nanometres in one unit ("micrometer" 1000, "A" 0.1); 0 when unit is not a known length. */
double em_unit_nm(const char *unit);

#endif
