/* interrupt.c - SIGINT/SIGTERM turned into a flag that long loops poll */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "core/interrupt.h"
#include "core/banned.h"

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
