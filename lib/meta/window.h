/* window.h - a display window from a histogram: the percentiles a viewer should show */
#ifndef EM_WINDOW_H
#define EM_WINDOW_H

#include <jansson.h>

/*
 * From statistics as stats.h gives them (min, max, histogram {start, width,
 * counts}): win[0], win[1] = min and max, win[2] = the lower edge of the
 * bin where the lo percentile falls, win[3] = the upper edge of the bin
 * where the hi percentile falls (for integer types, the last integer in
 * it), each kept within min .. max.  0, or -1 when the statistics have no
 * finite value or no histogram.
 */
int em_stats_window(const json_t *stats, int integer, double lo, double hi, double win[4]);

#endif
