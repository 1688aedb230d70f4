/*
 * The smooth weighted round-robin balancer, nginx's: the default method,
 * the one backups always use, and the fallback of the hashing methods.
 * Its state (current and effective weights) is per worker.
 */
#include "../common/clock.h"
#include "upstream.h"

/*
 * Each pick adds every candidate's weight to its current weight, takes
 * the highest and subtracts the total from it: weights 5,1,1 give
 * a a b a c a a, spreading the heavy peer out instead of sending it five
 * requests in a row.  The effective weight, lowered by failures in
 * upstream.c, climbs back by one per pick.
 */
struct upstream_peer *
upstream_rr_pick(struct upstream *u, struct request *r,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	struct upstream_peer	*p, *best = NULL;
	uint64_t		 now = clock_now.mono_ms;
	int			 total = 0, w, cap;
	size_t			 i;

	for (i = 0; i < n; i++) {
		p = &peers[i];
		if (!upstream_can_pick(u, p, skip))
			continue;
		w = p->effective_weight;
		/* slow_start caps it while the peer warms up */
		if ((cap = upstream_peer_weight(p, now)) < w)
			w = cap;
		p->current_weight += w;
		total += w;
		if (p->effective_weight < p->weight)
			p->effective_weight++;
		if (best == NULL || p->current_weight > best->current_weight)
			best = p;
	}
	if (best != NULL)
		best->current_weight -= total;
	return best;
}
