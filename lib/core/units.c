/* units.c - the one table of length units and the conversion to nanometres */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"
#include "core/banned.h"

/*
 * One unit is mul/div nanometres: the division keeps sub-nanometre units
 * exact for decimal values (0.1 is no binary fraction).
 */
static const struct {
	const char *name;
	double mul, div;
} units[] = {
	{ "nm", 1, 1 }, { "nanometer", 1, 1 }, { "nanometre", 1, 1 }, { "nanometers", 1, 1 },
	{ "nanometres", 1, 1 },
	{ "um", 1e3, 1 }, { "\xc2\xb5m", 1e3, 1 }, { "\xce\xbcm", 1e3, 1 }, { "micron", 1e3, 1 },
	{ "microns", 1e3, 1 }, { "micrometer", 1e3, 1 }, { "micrometre", 1e3, 1 },
	{ "micrometers", 1e3, 1 }, { "micrometres", 1e3, 1 },
	{ "\xc3\x85", 1, 10 }, { "\xe2\x84\xab", 1, 10 }, { "A", 1, 10 }, { "angstrom", 1, 10 },
	{ "angstroms", 1, 10 },
	{ "pm", 1, 1e3 }, { "picometer", 1, 1e3 }, { "picometre", 1, 1e3 },
	{ "picometers", 1, 1e3 }, { "picometres", 1, 1e3 },
	{ "femtometer", 1, 1e6 }, { "femtometre", 1, 1e6 },
	{ "mm", 1e6, 1 }, { "millimeter", 1e6, 1 }, { "millimetre", 1e6, 1 },
	{ "millimeters", 1e6, 1 }, { "millimetres", 1e6, 1 },
	{ "cm", 1e7, 1 }, { "centimeter", 1e7, 1 }, { "centimetre", 1e7, 1 },
	{ "m", 1e9, 1 }, { "meter", 1e9, 1 }, { "metre", 1e9, 1 },
	{ "inch", 2.54e7, 1 }, { "in", 2.54e7, 1 },
};

static int
find(const char *unit)
{
	size_t i;

	if (unit == NULL)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		/* One-letter names keep their case: "A" is a length, "a" (are) is not. */
		if (strcmp(unit, units[i].name) == 0 ||
		    (strlen(units[i].name) > 1 && strcasecmp(unit, units[i].name) == 0))
			return (int)i;
	return -1;
}

double
em_unit_nm(const char *unit)
{
	int k = find(unit);

	return k < 0 ? 0 : units[k].mul / units[k].div;
}

int
em_length_nm(double value, const char *unit, double *nm)
{
	int k = find(unit);
	double v;

	if (k < 0 || !isfinite(value))
		return 0;
	v = value * units[k].mul / units[k].div;
	if (!isfinite(v))
		return 0;
	*nm = v;
	return 1;
}
