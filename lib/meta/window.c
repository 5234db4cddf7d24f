/* window.c - a display window from a histogram: the percentiles a viewer should show */
#include <math.h>

#include "core/diag.h"
#include "meta/window.h"
#include "core/banned.h"

/* The bin holding the element of rank ceil(p / 100 * total) (at least 1). */
static size_t
bin_at(const json_t *counts, double total, double p)
{
	double want = ceil(p / 100 * total), cum = 0;
	size_t i, n = json_array_size(counts);

	if (want < 1)
		want = 1;
	for (i = 0; i < n; i++) {
		cum += (double)json_integer_value(json_array_get(counts, i));
		if (cum >= want)
			return i;
	}
	return n > 0 ? n - 1 : 0;
}

int
em_stats_window(const json_t *stats, int integer, double lo, double hi, double win[4])
{
	const json_t *h = json_object_get(stats, "histogram");
	const json_t *counts = json_object_get(h, "counts");
	double total = 0, start, width, mn, mx;
	size_t i;

	if (!json_is_number(json_object_get(stats, "min")) ||
	    !json_is_number(json_object_get(stats, "max")) ||
	    !json_is_number(json_object_get(h, "start")) ||
	    !json_is_number(json_object_get(h, "width")) || json_array_size(counts) == 0)
		return em_fail("the statistics have no histogram of finite values");
	mn = json_number_value(json_object_get(stats, "min"));
	mx = json_number_value(json_object_get(stats, "max"));
	start = json_number_value(json_object_get(h, "start"));
	width = json_number_value(json_object_get(h, "width"));
	for (i = 0; i < json_array_size(counts); i++)
		total += (double)json_integer_value(json_array_get(counts, i));
	if (!(total > 0))
		return em_fail("the histogram is empty");
	win[0] = mn;
	win[1] = mx;
	win[2] = start + (double)bin_at(counts, total, lo) * width;
	win[3] = start + (double)(bin_at(counts, total, hi) + 1) * width - (integer ? 1 : 0);
	for (i = 2; i < 4; i++) {
		if (win[i] < mn)
			win[i] = mn;
		if (win[i] > mx)
			win[i] = mx;
	}
	return 0;
}
