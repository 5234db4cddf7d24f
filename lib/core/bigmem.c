/* bigmem.c - large working buffers backed by huge pages where the kernel offers them */
#include <sys/mman.h>

#include <stdlib.h>

#include "core/bigmem.h"
#include "core/diag.h"
#include "core/banned.h"

#define HUGE_PAGE ((size_t)2 << 20)

void *
em_big_alloc(size_t n)
{
	void *p = NULL;

	if (n < 2 * HUGE_PAGE) {
		if ((p = malloc(n ? n : 1)) == NULL)
			em_fail("out of memory for %zu bytes", n);
		return p;
	}
	if (posix_memalign(&p, HUGE_PAGE, n) != 0) {
		em_fail("out of memory for %zu bytes", n);
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	/* Only advice: where huge pages are off or used up, normal pages serve. */
	(void)madvise(p, n - n % HUGE_PAGE, MADV_HUGEPAGE);
#endif
	return p;
}
