/* interrupt.h - SIGINT/SIGTERM turned into a flag that long loops poll */
#ifndef EM_INTERRUPT_H
#define EM_INTERRUPT_H

/*
 * A fetcher interrupted by a signal must still record status "cancelled"
 * and remove its temporary files (DESIGN.md section 2), so the handler
 * only sets a flag; loops check em_interrupted() between chunks and
 * transfers and unwind through their normal error path.
 */
void em_interrupt_install(void);
/* 0, or the number of the first SIGINT/SIGTERM received. */
int em_interrupted(void);

#endif
