/*
 * The balancers that send a client, or a key, to the same peer every
 * time: ip_hash, hash KEY and hash KEY consistent (a ring, so that adding
 * or removing a server moves only its share of the keys).  They fall back
 * to upstream_rr.c when there is nothing to hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "upstream.h"
#include "vars.h"

/* nginx gives up rehashing after this many unusable picks */
#define HASH_TRIES	20

/* The peer that a point w in [0, total weight) falls on. */
static struct upstream_peer *
by_weight(struct upstream_peer *peers, size_t n, uint64_t w)
{
	size_t	i;

	for (i = 0; i + 1 < n && w >= (uint64_t)peers[i].weight; i++)
		w -= (uint64_t)peers[i].weight;
	return &peers[i];
}

/*
 * nginx's ip_hash: the first three octets of an IPv4 address (the whole
 * of an IPv6 one) folded with 113 modulo 6271; an unusable peer makes the
 * walk fold the same bytes again, so a client keeps its second choice
 * too.  The configured weights count, not the failure-adjusted ones, so
 * one peer's trouble does not move the others' clients.
 */
struct upstream_peer *
upstream_ip_hash_pick(struct upstream *u, struct request *r,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	const struct addr	*a;
	const unsigned char	*b;
	struct upstream_peer	*p;
	size_t			 len, i;
	unsigned		 hash = 89, tries;

	if (r == NULL || r->conn == NULL || u->rr_total_weight == 0)
		return upstream_rr_pick(u, r, peers, n, skip);
	a = &r->conn->peer;
	if (a->u.sa.sa_family == AF_INET) {
		b = (const unsigned char *)&a->u.sin.sin_addr;
		len = 3;
	} else if (a->u.sa.sa_family == AF_INET6) {
		b = a->u.sin6.sin6_addr.s6_addr;
		len = 16;
		/* an IPv4 client on a dual-stack socket hashes as IPv4 */
		if (IN6_IS_ADDR_V4MAPPED(&a->u.sin6.sin6_addr)) {
			b += 12;
			len = 3;
		}
	} else
		return upstream_rr_pick(u, r, peers, n, skip);
	for (tries = 0; tries < HASH_TRIES; tries++) {
		for (i = 0; i < len; i++)
			hash = (hash * 113 + b[i]) % 6271;
		p = by_weight(peers, n, hash % u->rr_total_weight);
		if (upstream_can_pick(u, p, skip))
			return p;
	}
	return upstream_rr_pick(u, r, peers, n, skip);
}

/* The ring: the first point at or after hash, wrapping around. */
static size_t
ring_find(const struct upstream *u, uint32_t hash)
{
	size_t	lo = 0, hi = u->nring, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->ring[mid] < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == u->nring ? 0 : lo;
}

/*
 * Walks the ring from the key's point to the first usable peer; each
 * peer is judged once, so a ring with every peer down costs one lap.
 */
static struct upstream_peer *
chash_pick(struct upstream *u, const struct str *key,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	uint64_t		 seen[UPSTREAM_MAX_PEERS / 64];
	struct upstream_peer	*p;
	size_t			 i, at, nseen = 0;
	uint32_t		 hash;

	if (u->nring == 0)
		return NULL;
	hash = (uint32_t)crc32(0, (const Bytef *)key->data, (uInt)key->len);
	memset(seen, 0, sizeof(seen));
	at = ring_find(u, hash);
	for (i = 0; i < u->nring && nseen < n; i++) {
		p = u->ring_peers[(at + i) % u->nring];
		if (upstream_skipped(seen, p->index))
			continue;
		upstream_skip_set(seen, p->index);
		nseen++;
		if (upstream_can_pick(u, p, skip))
			return p;
	}
	return NULL;
}

/*
 * hash KEY: nginx's Cache::Memcached-compatible walk.  Each round adds
 * the top 15 bits of crc32 of the key (prefixed, from the second round,
 * by the round number in decimal) to a running sum, and the sum modulo
 * the total weight names the peer.
 */
struct upstream_peer *
upstream_hash_pick(struct upstream *u, struct request *r,
    struct upstream_peer *peers, size_t n, const uint64_t *skip)
{
	struct upstream_peer	*p;
	struct str		 key;
	char			 num[24];
	uint64_t		 sum = 0;
	uLong			 c;
	unsigned		 rehash;
	int			 len;

	if (r == NULL || u->hash_key == NULL ||
	    cvalue_eval(r, u->hash_key, &key) == -1 || key.len == 0 ||
	    key.len > 0x7fffffff)
		return upstream_rr_pick(u, r, peers, n, skip);
	if (u->consistent)
		return chash_pick(u, &key, peers, n, skip);
	if (u->rr_total_weight == 0)
		return upstream_rr_pick(u, r, peers, n, skip);
	for (rehash = 0; rehash < HASH_TRIES; rehash++) {
		c = crc32(0, NULL, 0);
		if (rehash > 0) {
			len = snprintf(num, sizeof(num), "%u", rehash);
			if (len < 0 || (size_t)len >= sizeof(num))
				break;
			c = crc32(c, (const Bytef *)num, (uInt)len);
		}
		c = crc32(c, (const Bytef *)key.data, (uInt)key.len);
		sum += (c >> 16) & 0x7fff;
		p = by_weight(peers, n, sum % u->rr_total_weight);
		if (upstream_can_pick(u, p, skip))
			return p;
	}
	return upstream_rr_pick(u, r, peers, n, skip);
}

/* Building the ring ------------------------------------------------------ */

struct point {
	uint32_t	 hash;
	uint32_t	 peer;
};

static int
point_cmp(const void *a, const void *b)
{
	const struct point	*x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

/*
 * 160 points per unit of weight per peer, as ketama: point j of a peer
 * is crc32 of its address ("10.0.0.1:80") followed by point j-1's value,
 * so a peer's points depend on nothing but its own address.
 */
int
upstream_chash_build(struct upstream *u, struct pool *pool)
{
	struct point	*pts;
	uint64_t	 total = 0;
	size_t		 i, j, k = 0, npts;
	unsigned char	 prev[4];
	uLong		 base, h;

	for (i = 0; i < u->npeers; i++)
		total += (uint64_t)u->peers[i].weight * UPSTREAM_CHASH_POINTS;
	if (total > UPSTREAM_CHASH_MAX)
		return -1;
	npts = (size_t)total;
	u->ring = pool_alloc(pool, npts * sizeof(*u->ring) + 1);
	u->ring_peers = pool_alloc(pool, npts * sizeof(*u->ring_peers) + 1);
	if (u->ring == NULL || u->ring_peers == NULL ||
	    (pts = malloc(npts * sizeof(*pts) + 1)) == NULL)
		return -1;
	for (i = 0; i < u->npeers; i++) {
		base = crc32(0, (const Bytef *)u->peers[i].name,
		    (uInt)strlen(u->peers[i].name));
		memset(prev, 0, sizeof(prev));
		for (j = 0; j < (size_t)u->peers[i].weight *
		    UPSTREAM_CHASH_POINTS; j++) {
			h = crc32(base, prev, sizeof(prev));
			pts[k].hash = (uint32_t)h;
			pts[k].peer = (uint32_t)i;
			k++;
			prev[0] = (unsigned char)h;
			prev[1] = (unsigned char)(h >> 8);
			prev[2] = (unsigned char)(h >> 16);
			prev[3] = (unsigned char)(h >> 24);
		}
	}
	qsort(pts, npts, sizeof(*pts), point_cmp);
	for (k = 0; k < npts; k++) {
		u->ring[k] = pts[k].hash;
		u->ring_peers[k] = &u->peers[pts[k].peer];
	}
	u->nring = npts;
	free(pts);
	return 0;
}
