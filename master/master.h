/*
 * The master process: spawning and reaping workers, and acting on the
 * operator's signals (reload, reopen, graceful and fast stop, binary
 * upgrade).
 */
#ifndef USHER_MASTER_MASTER_H
#define USHER_MASTER_MASTER_H

#include "config.h"

struct cycle;

/* Serves with `cycle` (listeners bound) until told to stop; returns the exit status. */
int	master_run(struct cycle *, const struct start_opts *, char **argv,
	    const char *binary);

#endif
