/* decimal.h - binary floating point as decimal: the shortest spelling of a double, the decimal a float32 stands for */
#ifndef EM_DECIMAL_H
#define EM_DECIMAL_H

#include <stddef.h>

/* Room for any spelling em_decimal_spell writes ("-2.2250738585072014e-308" and more). */
#define EM_DECIMAL_MAX 32

/*
 * The fewest significant digits that read back as d (0.1 as "0.1", not
 * "0.10000000000000001"), in the form JSON numbers take here: a real keeps
 * a ".0" when it would read as an integer ("8.0"), the exponent has no '+'
 * and no leading zeros ("1e20", "2.5e-7").  buf holds EM_DECIMAL_MAX bytes.
 * -1 (error set) for NaN and the infinities, which JSON cannot hold.
 */
int em_decimal_spell(double d, char *buf, size_t n);

/*
 * The value a float32 from a file header stands for: the shortest decimal
 * that reads back as f, as a double (0.008f is 0.008, not
 * 0.00800000037997961).  A calibration written as 0.008 um then becomes
 * 8 nm, not 8.00000037997961.  NaN and the infinities pass unchanged.
 */
double em_decimal_f32(float f);

#endif
