/* decimal.c - binary floating point as decimal: shortest round-trip spellings */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/diag.h"
#include "core/banned.h"

int
em_decimal_spell(double d, char *buf, size_t n)
{
	char tmp[EM_DECIMAL_MAX + 16], *e;
	int p, exp;

	if (!isfinite(d))
		return em_fail("a number that JSON cannot hold");
	/* The fewest digits; 17 significant digits always read back (IEEE 754 binary64). */
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	exp = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
	if (exp >= -4 && exp < 17) {
		/* Positional where %.17g is (jansson's choice): 100.0, 0.001, 1e17 onwards not. */
		snprintf(tmp, sizeof(tmp), "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
		if (strchr(tmp, '.') == NULL)
			strncat(tmp, ".0", sizeof(tmp) - strlen(tmp) - 1);
	} else {
		/* "1e+20" -> "1e20", "1.5e-07" -> "1.5e-7". */
		char *s, *z;

		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		e = strchr(tmp, 'e');
		s = e + 1;
		if (*s == '+')
			memmove(s, s + 1, strlen(s + 1) + 1);
		else if (*s == '-')
			s++;
		for (z = s; *z == '0' && z[1] != '\0'; z++)
			;
		memmove(s, z, strlen(z) + 1);
	}
	if (strlen(tmp) >= n)
		return em_fail("no room for the number %s", tmp);
	memcpy(buf, tmp, strlen(tmp) + 1);
	return 0;
}

double
em_decimal_f32(float f)
{
	char tmp[48];
	int p;

	if (!isfinite(f))
		return (double)f;
	/* 9 significant digits always read back (IEEE 754 binary32). */
	for (p = 1; p <= 9; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, (double)f);
		if (strtof(tmp, NULL) == f)
			break;
	}
	return strtod(tmp, NULL);
}
