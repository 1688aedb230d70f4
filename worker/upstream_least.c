/*
 * The balancers that look at load: least_conn (fewest connections for
 * the weight, across all workers) and random [two [least_conn]] (the
 * power of two choices).  Both read the shared connection counts kept by
 * upstream.c; ties and fallbacks go to upstream_rr.c.
 */
#include <string.h>

#include "../common/clock.h"
#include "upstream.h"

/* The generator behind `random`: xorshift64*, one per worker process. */
static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

void
upstream_random_seed(uint64_t seed)
{
	/* splitmix64 spreads a poor seed (a pid, a time) over all bits */
	seed += 0x9e3779b97f4a7c15ULL;
	seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
	seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
	seed ^= seed >> 31;
	rng_state = seed != 0 ? seed : 1;
}

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Whether a (conns ca, weight wa) is less loaded than b, without dividing. */
static bool
lighter(int ca, int wa, int cb, int wb)
{
	return (int64_t)ca * wb < (int64_t)cb * wa;
}

static int
conns_of(const struct upstream_peer *p)
{
	return __atomic_load_n(&p->shared->conns, __ATOMIC_RELAXED);
}

struct upstream_peer *
upstream_least_conn_pick(struct upstream *u, struct request *r,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	uint64_t		 ties[UPSTREAM_MAX_PEERS / 64];
	struct upstream_peer	*p, *best = NULL;
	uint64_t		 now = clock_now.mono_ms;
	int			 bc = 0, bw = 1, c, w;
	size_t			 i, nbest = 0;

	for (i = 0; i < n; i++) {
		p = &peers[i];
		if (!upstream_can_pick(u, p, skip))
			continue;
		c = conns_of(p);
		w = upstream_peer_weight(p, now);
		if (best == NULL || lighter(c, w, bc, bw)) {
			best = p;
			bc = c;
			bw = w;
			nbest = 1;
		} else if (!lighter(bc, bw, c, w))
			nbest++;
	}
	if (nbest <= 1)
		return best;
	/*
	 * Equally loaded peers take turns by weight, as nginx does: hide
	 * every other peer from the round-robin.
	 */
	memcpy(ties, skip, sizeof(ties));
	for (i = 0; i < n; i++) {
		p = &peers[i];
		c = conns_of(p);
		w = upstream_peer_weight(p, now);
		if (lighter(c, w, bc, bw) || lighter(bc, bw, c, w))
			upstream_skip_set(ties, p->index);
	}
	/* counts may have moved meanwhile; the lightest seen still does */
	if ((p = upstream_rr_pick(u, r, peers, n, ties)) != NULL)
		return p;
	return best;
}

/* A peer drawn with probability proportional to its weight, or NULL. */
static struct upstream_peer *
draw(struct upstream *u, struct upstream_peer *peers, size_t n,
    const uint64_t *skip, const struct upstream_peer *not, uint64_t now)
{
	uint64_t		 total = 0, x, w;
	struct upstream_peer	*p, *last = NULL;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (&peers[i] != not && upstream_can_pick(u, &peers[i], skip))
			total += (uint64_t)upstream_peer_weight(&peers[i], now);
	if (total == 0)
		return NULL;
	x = rng_next() % total;
	for (i = 0; i < n; i++) {
		p = &peers[i];
		if (p == not || !upstream_can_pick(u, p, skip))
			continue;
		w = (uint64_t)upstream_peer_weight(p, now);
		if (x < w)
			return p;
		x -= w;
		last = p;
	}
	/* another worker changed a peer's state between the two passes */
	return last;
}

/*
 * random: a weighted draw.  random two: two distinct draws and the less
 * loaded of them (least_conn is the only method nginx offers for two),
 * which avoids both herding on one "least" peer across workers and the
 * blind spots of a single draw.
 */
struct upstream_peer *
upstream_random_pick(struct upstream *u, struct request *r,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	struct upstream_peer	*a, *b;
	uint64_t		 now = clock_now.mono_ms;

	if ((a = draw(u, peers, n, skip, NULL, now)) == NULL || !u->random_two)
		return a;
	if ((b = draw(u, peers, n, skip, a, now)) == NULL)
		return a;
	return lighter(conns_of(b), upstream_peer_weight(b, now), conns_of(a),
	    upstream_peer_weight(a, now)) ? b : a;
}
