/* interrupt.c - SIGINT/SIGTERM turned into a flag that long loops poll */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "interrupt.h"
#include "tool.h"
#include "banned.h"

static atomic_int caught;

static void
handler(int sig)
{
	int zero = 0;

	atomic_compare_exchange_strong(&caught, &zero, sig);
}

void
em_interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking read or poll returns EINTR and the loop sees the flag. */
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
em_interrupted(void)
{
	return atomic_load(&caught);
}

int
em_interrupt_status(void)
{
	switch (atomic_load(&caught)) {
	case SIGINT: return EM_EXIT_SIGINT;
	case SIGTERM: return EM_EXIT_SIGTERM;
	default: return EM_EXIT_FAIL;
	}
}

void
em_interrupt_raise(int sig)
{
	handler(sig);
}
