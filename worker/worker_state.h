/* The worker process's own state, one struct for the whole process. */
#ifndef USHER_WORKER_WORKER_STATE_H
#define USHER_WORKER_WORKER_STATE_H

#include <stdbool.h>

struct cycle;

struct worker {
	struct cycle	*cycle;
	int		 index;
	bool		 single;	/* no master above us */
	bool		 quitting;	/* graceful exit under way */
};

extern struct worker	worker;

#endif
