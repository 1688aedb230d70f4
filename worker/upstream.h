/*
 * Upstream groups: their servers (peers), the state all workers share
 * about them (connections, failures, health) and the balancers that pick
 * one for a request.  Connecting and talking to a peer is proxy.c's job;
 * the keep-alive pool is upstream_keepalive.c's.
 */
#ifndef USHER_WORKER_UPSTREAM_H
#define USHER_WORKER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../common/str.h"

struct conf;
struct cvalue;
struct http_main;
struct pool;
struct request;
struct shm_zone;

enum upstream_balancer {
	UPSTREAM_RR = 0,	/* smooth weighted round-robin (default) */
	UPSTREAM_LEAST_CONN,
	UPSTREAM_IP_HASH,
	UPSTREAM_HASH,		/* hash KEY [consistent] */
	UPSTREAM_RANDOM		/* random [two [least_conn]] */
};

/*
 * What all workers know about a peer; lives in shared memory.  Fields
 * are updated with __atomic builtins or under the upstream's lock.
 */
struct peer_shared {
	int		 conns;		/* open connections, all workers */
	int		 fails;		/* within the current fail_timeout */
	uint64_t	 fail_start;	/* clock_now.mono_ms of the first fail */
	uint64_t	 down_until;	/* passive: unavailable until then */
	int		 health_down;	/* active check says down (1) */
	int		 health_fails, health_passes;
	uint64_t	 up_since;	/* for slow_start: when it came back */
	uint64_t	 requests;	/* picked, all workers (stats) */
};

struct upstream_peer {
	struct addr		 addr;
	char			 name[ADDR_STRLEN];	/* "127.0.0.1:8081" */
	struct str		 server;	/* as written in `server` */
	int			 weight;
	int			 max_fails;	/* 0: never marked failed */
	int64_t			 fail_timeout;	/* ms */
	int			 max_conns;	/* 0: no limit */
	int64_t			 slow_start;	/* ms, 0: off */
	bool			 backup;
	bool			 down;		/* configured "down" */
	size_t			 index;		/* in its group's array */
	struct peer_shared	*shared;
	/* per worker: smooth weighted round-robin */
	int			 current_weight;
	int			 effective_weight;
};

struct upstream_health {
	bool			 enabled;
	int64_t			 interval;	/* ms, default 5000 */
	int64_t			 timeout;	/* ms, default min(interval, 2s) */
	int			 fails;		/* default 1 */
	int			 passes;	/* default 1 */
	struct str		 uri;		/* default "/" */
	int			 status_min, status_max;	/* 200-399 */
	struct str		 body;		/* substring required, or empty */
};

struct upstream {
	struct str		 name;
	const char		*file;		/* where it was defined */
	unsigned		 line;
	bool			 implicit;	/* made from proxy_pass host:port */
	struct upstream_peer	*peers;		/* primary */
	size_t			 npeers;
	struct upstream_peer	*backups;
	size_t			 nbackups;
	int			 balancer;	/* enum upstream_balancer */
	struct cvalue		*hash_key;	/* hash */
	bool			 consistent;
	bool			 random_two;
	bool			 random_least_conn;
	uint32_t		*ring;		/* consistent: sorted points */
	struct upstream_peer	**ring_peers;
	size_t			 nring;
	int			 keepalive;	/* idle connections per worker */
	int			 keepalive_requests;	/* default 1000 */
	int64_t			 keepalive_timeout;	/* default 60s */
	int64_t			 keepalive_time;	/* default 1h */
	struct shm_zone		*zone;
	volatile int		*lock;		/* in the zone */
	struct upstream_health	 health;
	unsigned		 rr_total_weight;	/* per worker */

	/* added by upstream_conf.c; fixed once the configuration is read */
	bool			 defined;	/* an upstream block was read */
	int			 default_port;	/* implicit: 80, or 443 */
	struct upstream		*alias_of;	/* see upstream_finish() */
	struct str		 zone_name;	/* `zone NAME`, or empty */
	size_t			 zone_size;	/* `zone NAME SIZE`, or 0 */
	size_t			 zone_offset;	/* of our part of the zone */

	/* the first proxy_pass https naming it: health checks speak TLS */
	void			*tls_ctx;	/* SSL_CTX *, or NULL */
	struct str		 tls_name;	/* its ssl name, no port */
	bool			 tls_sni;
};

/* A request's tries: which peers it already used. */
#define UPSTREAM_MAX_PEERS	1024
struct upstream_tries {
	uint64_t	 tried[UPSTREAM_MAX_PEERS / 64];	/* by index */
	bool		 in_backup;	/* primaries exhausted */
	unsigned	 ntried;
};

/*
 * Picks a peer for r that is not down, not failed (max_fails within
 * fail_timeout), not at max_conns and not yet tried; falls back to the
 * backups when every primary is unusable.  NULL when none is left (the
 * caller answers 502).  Counts the connection (peer->shared->conns).
 */
struct upstream_peer	*upstream_pick(struct upstream *, struct request *,
			    struct upstream_tries *);
/*
 * Ends a use of a peer: uncounts the connection and, when failed, counts
 * a failure (marking it unavailable for fail_timeout after max_fails).
 */
void			 upstream_release(struct upstream *,
			    struct upstream_peer *, bool failed);
/* Whether a peer may be picked now (for tests and health). */
bool			 upstream_peer_usable(const struct upstream *,
			    const struct upstream_peer *);
/* Builds per-worker balancer state after a fork (rr weights, totals;
 * the consistent-hash ring is built at load); -1 if it has none. */
int			 upstream_init_balancer(struct upstream *);

/* Bytes of shared state an upstream needs in its zone. */
size_t			 upstream_shared_size(const struct upstream *);
/* Points peers at their shared state at base (zeroed unless kept). */
void			 upstream_attach_shared(struct upstream *, void *base,
			    bool keep);

/* Active health checks: run by worker 0 only, results in shared memory. */
void			 upstream_health_start(struct upstream **, size_t n);
/* Stops them (graceful exit): closes their sockets and timers. */
void			 upstream_health_stop(void);

/*
 * In each worker after fork, zones mapped: attaches every upstream of the
 * http block to its shared state (process-local memory when its zone is
 * not mapped) and builds its balancer; 0, or -1 after logging.
 */
int			 upstream_attach_all(struct http_main *);

/* Between the upstream files only ------------------------------------- */

/*
 * A balancer: one peer of peers[0..n) that is usable and not in skip (a
 * bitmap by peer index), or NULL.  It does not count the connection.
 */
typedef struct upstream_peer	*upstream_pick_fn(struct upstream *,
				    struct request *, struct upstream_peer *,
				    size_t n, const uint64_t *skip);
upstream_pick_fn	upstream_rr_pick;	/* upstream_rr.c */
upstream_pick_fn	upstream_least_conn_pick;	/* upstream_least.c */
upstream_pick_fn	upstream_random_pick;
upstream_pick_fn	upstream_ip_hash_pick;	/* upstream_hash.c */
upstream_pick_fn	upstream_hash_pick;	/* hash KEY [consistent] */

/* Usable and not in skip. */
bool			 upstream_can_pick(const struct upstream *,
			    const struct upstream_peer *, const uint64_t *skip);
/* The weight now: the configured one, less while slow_start lasts. */
int			 upstream_peer_weight(const struct upstream_peer *,
			    uint64_t now);
/* Seeds this process's generator for `random` (after fork). */
void			 upstream_random_seed(uint64_t seed);
/* Builds the consistent-hash ring of u from pool; -1 if too large. */
int			 upstream_chash_build(struct upstream *, struct pool *);
#define UPSTREAM_CHASH_POINTS	160	/* per unit of weight */
#define UPSTREAM_CHASH_MAX	(4 * 1024 * 1024)	/* in a ring */

static inline bool
upstream_skipped(const uint64_t *skip, size_t i)
{
	return (skip[i / 64] >> (i % 64)) & 1;
}

static inline void
upstream_skip_set(uint64_t *skip, size_t i)
{
	skip[i / 64] |= (uint64_t)1 << (i % 64);
}

#endif
