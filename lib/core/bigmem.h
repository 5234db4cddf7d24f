/* bigmem.h - large working buffers backed by huge pages where the kernel offers them */
#ifndef EM_BIGMEM_H
#define EM_BIGMEM_H

#include <stddef.h>

/*
 * n bytes for a buffer that is filled and read over and over (a chunk row,
 * a slab): from 4 MiB up it is aligned to 2 MiB and the kernel is asked for
 * transparent huge pages, so touching it the first time takes one fault per
 * 2 MiB instead of one per 4 KiB.  Released with free().  NULL (error text
 * set) when out of memory.
 */
void *em_big_alloc(size_t n);

#endif
