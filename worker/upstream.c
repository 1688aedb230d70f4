/*
 * What every balancer shares: which peers may be picked, counting their
 * connections and failures in shared memory, and laying that memory out.
 * The balancers are upstream_rr.c, upstream_least.c and upstream_hash.c;
 * reading the configuration is upstream_conf.c, active checks
 * upstream_health.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/shm.h"
#include "http_conf.h"
#include "upstream.h"

/* The lock gets a cache line of its own, and so does each upstream part. */
#define SHARED_ALIGN	64

static size_t
align_up(size_t n)
{
	return (n + SHARED_ALIGN - 1) & ~(size_t)(SHARED_ALIGN - 1);
}

size_t
upstream_shared_size(const struct upstream *u)
{
	return SHARED_ALIGN +
	    align_up((u->npeers + u->nbackups) * sizeof(struct peer_shared));
}

void
upstream_attach_shared(struct upstream *u, void *base, bool keep)
{
	struct peer_shared	*ps;
	size_t			 i;

	if (!keep)
		memset(base, 0, upstream_shared_size(u));
	u->lock = base;
	ps = (struct peer_shared *)((char *)base + SHARED_ALIGN);
	for (i = 0; i < u->npeers; i++)
		u->peers[i].shared = &ps[i];
	for (i = 0; i < u->nbackups; i++)
		u->backups[i].shared = &ps[u->npeers + i];
}

int
upstream_init_balancer(struct upstream *u)
{
	unsigned	total = 0;
	size_t		i;

	for (i = 0; i < u->npeers; i++) {
		u->peers[i].current_weight = 0;
		u->peers[i].effective_weight = u->peers[i].weight;
		total += (unsigned)u->peers[i].weight;
	}
	for (i = 0; i < u->nbackups; i++) {
		u->backups[i].current_weight = 0;
		u->backups[i].effective_weight = u->backups[i].weight;
	}
	u->rr_total_weight = total;
	if (u->balancer == UPSTREAM_HASH && u->consistent && u->ring == NULL)
		return -1;
	return 0;
}

/*
 * A zone kept over a reload that dropped health_check would keep its
 * peers down for good: nobody checks them any more.
 */
static void
forget_health(struct upstream *u)
{
	size_t	i;

	for (i = 0; i < u->npeers; i++)
		__atomic_store_n(&u->peers[i].shared->health_down, 0,
		    __ATOMIC_RELAXED);
	for (i = 0; i < u->nbackups; i++)
		__atomic_store_n(&u->backups[i].shared->health_down, 0,
		    __ATOMIC_RELAXED);
}

int
upstream_attach_all(struct http_main *h)
{
	struct upstream	*u, *of;
	void		*base;
	size_t		 i;
	bool		 keep;

	/* workers forked from one master must not draw the same numbers */
	upstream_random_seed((uint64_t)getpid() << 32 ^ clock_now.mono_ms);
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if (u->alias_of != NULL)
			continue;
		/*
		 * A zone is a fresh anonymous mapping (zeroes) or one kept
		 * from the previous cycle with the same layout: either way
		 * its bytes are right, and another worker may already be
		 * counting in them, so they are never cleared here.
		 */
		if (u->zone != NULL && u->zone->addr != NULL) {
			base = (char *)u->zone->addr + u->zone_offset;
			keep = true;
		} else if ((base = calloc(1, upstream_shared_size(u))) ==
		    NULL) {
			log_error(LOG_ALERT, "out of memory for upstream "
			    "\"%.*s\"", (int)u->name.len, u->name.data);
			return -1;
		} else
			keep = false;
		upstream_attach_shared(u, base, keep);
		if (!u->health.enabled)
			forget_health(u);
		if (upstream_init_balancer(u) == -1) {
			log_error(LOG_ALERT, "upstream \"%.*s\" has no hash "
			    "ring", (int)u->name.len, u->name.data);
			return -1;
		}
	}
	/* aliases were copies at load; copy again what attaching filled */
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if ((of = u->alias_of) == NULL)
			continue;
		*u = *of;
		u->alias_of = of;
	}
	return 0;
}

/* Picking ---------------------------------------------------------------- */

/* nginx: a lone server is never considered unavailable for its failures. */
static bool
single(const struct upstream *u)
{
	return u->npeers + u->nbackups == 1;
}

int
upstream_peer_weight(const struct upstream_peer *p, uint64_t now)
{
	uint64_t	since;

	if (p->slow_start <= 0)
		return p->weight;
	since = __atomic_load_n(&p->shared->up_since, __ATOMIC_RELAXED);
	if (since == 0 || now < since || now - since >= (uint64_t)p->slow_start)
		return p->weight;
	return 1 + (int)((int64_t)(p->weight - 1) * (int64_t)(now - since) /
	    p->slow_start);
}

bool
upstream_peer_usable(const struct upstream *u, const struct upstream_peer *p)
{
	const struct peer_shared	*s = p->shared;

	if (p->down || __atomic_load_n(&s->health_down, __ATOMIC_RELAXED))
		return false;
	if (p->max_fails > 0 && !single(u) &&
	    __atomic_load_n(&s->fails, __ATOMIC_RELAXED) >= p->max_fails &&
	    clock_now.mono_ms < __atomic_load_n(&s->down_until,
	    __ATOMIC_RELAXED))
		return false;
	if (p->max_conns > 0 &&
	    __atomic_load_n(&s->conns, __ATOMIC_RELAXED) >= p->max_conns)
		return false;
	return true;
}

bool
upstream_can_pick(const struct upstream *u, const struct upstream_peer *p,
    const uint64_t *skip)
{
	return !upstream_skipped(skip, p->index) && upstream_peer_usable(u, p);
}

/*
 * Counts a connection unless that would pass max_conns: another worker
 * may have taken the last slot since the balancer looked.
 */
static bool
take(struct upstream *u, struct upstream_peer *p)
{
	struct peer_shared	*s = p->shared;
	uint64_t		 now = clock_now.mono_ms;
	int			 c;

	c = __atomic_load_n(&s->conns, __ATOMIC_RELAXED);
	do {
		if (p->max_conns > 0 && c >= p->max_conns)
			return false;
	} while (!__atomic_compare_exchange_n(&s->conns, &c, c + 1, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	__atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
	/*
	 * A failed peer whose time is up gets one request to prove itself,
	 * as nginx does; the others keep away for another fail_timeout
	 * unless that request succeeds.
	 */
	if (p->max_fails > 0 &&
	    __atomic_load_n(&s->fails, __ATOMIC_RELAXED) >= p->max_fails) {
		shm_lock(u->lock);
		if (s->fails >= p->max_fails && now >= s->down_until)
			s->down_until = now + (uint64_t)p->fail_timeout;
		shm_unlock(u->lock);
	}
	return true;
}

static struct upstream_peer *
balance(struct upstream *u, struct request *r, struct upstream_peer *peers,
    size_t n, const uint64_t *skip, bool backup)
{
	/* the hashing methods refuse backups: these take turns, or count */
	if (backup)
		return u->balancer == UPSTREAM_LEAST_CONN ?
		    upstream_least_conn_pick(u, r, peers, n, skip) :
		    upstream_rr_pick(u, r, peers, n, skip);
	switch (u->balancer) {
	case UPSTREAM_LEAST_CONN:
		return upstream_least_conn_pick(u, r, peers, n, skip);
	case UPSTREAM_IP_HASH:
		return upstream_ip_hash_pick(u, r, peers, n, skip);
	case UPSTREAM_HASH:
		return upstream_hash_pick(u, r, peers, n, skip);
	case UPSTREAM_RANDOM:
		return upstream_random_pick(u, r, peers, n, skip);
	default:
		return upstream_rr_pick(u, r, peers, n, skip);
	}
}

static struct upstream_peer *
pick_in(struct upstream *u, struct request *r, struct upstream_peer *peers,
    size_t n, struct upstream_tries *t, bool backup)
{
	uint64_t		 skip[UPSTREAM_MAX_PEERS / 64];
	struct upstream_peer	*p;
	size_t			 i;

	memcpy(skip, t->tried, sizeof(skip));
	for (i = 0; i < n; i++) {
		if ((p = balance(u, r, peers, n, skip, backup)) == NULL)
			return NULL;
		if (take(u, p)) {
			upstream_skip_set(t->tried, p->index);
			t->ntried++;
			return p;
		}
		upstream_skip_set(skip, p->index);
	}
	return NULL;
}

struct upstream_peer *
upstream_pick(struct upstream *u, struct request *r, struct upstream_tries *t)
{
	struct upstream_peer	*p;

	if (!t->in_backup) {
		if ((p = pick_in(u, r, u->peers, u->npeers, t, false)) != NULL)
			return p;
		if (u->nbackups == 0)
			return NULL;
		/* from now on the bits index the backups */
		t->in_backup = true;
		memset(t->tried, 0, sizeof(t->tried));
	}
	return pick_in(u, r, u->backups, u->nbackups, t, true);
}

/* Releasing -------------------------------------------------------------- */

static void
count_failure(struct upstream *u, struct upstream_peer *p, uint64_t now)
{
	struct peer_shared	*s = p->shared;
	bool			 disabled = false;

	shm_lock(u->lock);
	if (p->max_fails > 0 && s->fails >= p->max_fails) {
		/* its one trial request failed: away for another period */
		if (s->fails < 0x7fffffff)
			s->fails++;
		s->down_until = now + (uint64_t)p->fail_timeout;
	} else {
		if (s->fails == 0 ||
		    now - s->fail_start >= (uint64_t)p->fail_timeout) {
			s->fails = 0;
			s->fail_start = now;
		}
		s->fails++;
		if (p->max_fails > 0 && s->fails >= p->max_fails) {
			s->down_until = now + (uint64_t)p->fail_timeout;
			disabled = true;
		}
	}
	shm_unlock(u->lock);
	/* this worker also leans away from it at once, as nginx does */
	if (p->max_fails > 0) {
		p->effective_weight -= p->weight / p->max_fails;
		if (p->effective_weight < 0)
			p->effective_weight = 0;
	}
	if (disabled && !single(u))
		log_error(LOG_WARN, "upstream server %s of \"%.*s\" "
		    "temporarily disabled for %lldms", p->name,
		    (int)u->name.len, u->name.data, (long long)p->fail_timeout);
}

/* A success once the failures' window has passed forgives them. */
static void
forgive(struct upstream *u, struct upstream_peer *p, uint64_t now)
{
	struct peer_shared	*s = p->shared;

	shm_lock(u->lock);
	if (s->fails > 0 && now - s->fail_start >= (uint64_t)p->fail_timeout) {
		if (p->max_fails > 0 && s->fails >= p->max_fails)
			s->up_since = now;	/* back: slow_start begins */
		s->fails = 0;
		s->down_until = 0;
	}
	shm_unlock(u->lock);
}

void
upstream_release(struct upstream *u, struct upstream_peer *p, bool failed)
{
	struct peer_shared	*s = p->shared;
	uint64_t		 now = clock_now.mono_ms;

	__atomic_sub_fetch(&s->conns, 1, __ATOMIC_RELAXED);
	if (failed)
		count_failure(u, p, now);
	else if (__atomic_load_n(&s->fails, __ATOMIC_RELAXED) > 0)
		forgive(u, p, now);
}
