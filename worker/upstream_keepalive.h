/*
 * Per-worker pools of idle upstream connections (the `keepalive`
 * directive of an upstream block).
 */
#ifndef USHER_WORKER_UPSTREAM_KEEPALIVE_H
#define USHER_WORKER_UPSTREAM_KEEPALIVE_H

#include <stdbool.h>

struct conn;
struct upstream;
struct upstream_peer;

/*
 * An idle connection to peer that fits (a TLS one carries its context and
 * name), taken out of the pool; NULL if none.
 */
struct conn	*keepalive_get(struct upstream *, struct upstream_peer *,
		    bool (*fits)(const struct conn *, const void *),
		    const void *arg);
/*
 * Parks c (its request finished cleanly) for reuse; closes it when the
 * upstream keeps no connections or the pool is full (the oldest goes).
 */
void		 keepalive_put(struct upstream *, struct upstream_peer *,
		    struct conn *);

#endif
