/*
 * The shared TLS session cache (ssl_session_cache shared:NAME:SIZE): DER
 * sessions in a shared-memory zone that every worker reads and writes, so
 * that a client resumes by session id whichever worker it reaches.  The
 * SSL_CTX wiring is tls_conf.c's; ticket keys are tls_ticket.c's.
 *
 * The zone is an array of fixed-size slots.  A session takes as many
 * chained slots as its DER needs; first slots sit on a hash chain (by id)
 * and on an LRU list, spare ones on a free list.  A zone of zeros is an
 * unformatted one: the first worker to lock it lays it out, so nobody
 * needs to initialize it before forking.
 *
 * The lock word holds the holder's pid.  A worker that dies holding it
 * (the only way a critical section of a few copies can stay locked) is
 * noticed by the next waiter, which takes the lock over and wipes the
 * cache: the slots the dead worker was editing cannot be trusted.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "../common/log.h"
#include "../common/shm.h"
#include "tls.h"
#include "tls_cache.h"

#define NIL		UINT32_MAX
#define SC_MAGIC	0x75736331u	/* "usc1" */
#define SC_CELL		256		/* session bytes per slot */
#define SC_ID_MAX	32

struct sc_slot {
	uint32_t	hnext;		/* hash chain, or the free list */
	uint32_t	prev, next;	/* LRU, most recent first */
	uint32_t	more;		/* the entry's next slot */
	int64_t		expire;		/* seconds since the epoch */
	uint16_t	len;		/* the whole DER's length */
	uint8_t		id_len;
	uint8_t		id[SC_ID_MAX];
	uint8_t		data[SC_CELL];
};

struct sc_zone {
	int		lock;		/* pid of the holder, or 0 */
	uint32_t	magic;		/* SC_MAGIC once laid out */
	uint32_t	nslots, nbuckets, nfree;
	uint32_t	free;
	uint32_t	head, tail;	/* LRU */
	uint32_t	buckets[];	/* then the slots */
};

static struct sc_slot *
slots_of(struct sc_zone *z)
{
	uintptr_t	p = (uintptr_t)&z->buckets[z->nbuckets];

	p = (p + 7) & ~(uintptr_t)7;
	return (struct sc_slot *)p;
}

/* Formats a zone of `size` bytes: every slot free, nothing cached. */
static void
layout(struct sc_zone *z, size_t size)
{
	struct sc_slot	*s;
	size_t		 room;
	uint32_t	 i, n;

	/* about one bucket per two slots */
	n = (uint32_t)((size - sizeof(*z)) / (sizeof(*s) + 2));
	z->nbuckets = n / 2 + 1;
	room = size - ((char *)slots_of(z) - (char *)z);
	z->nslots = (uint32_t)(room / sizeof(*s));
	for (i = 0; i < z->nbuckets; i++)
		z->buckets[i] = NIL;
	s = slots_of(z);
	for (i = 0; i < z->nslots; i++)
		s[i].hnext = i + 1 < z->nslots ? i + 1 : NIL;
	z->free = z->nslots > 0 ? 0 : NIL;
	z->nfree = z->nslots;
	z->head = z->tail = NIL;
	z->magic = SC_MAGIC;
}

static void
sc_lock(struct sc_zone *z, size_t size)
{
	static pid_t	 me;
	unsigned	 spins = 0;
	int		 holder;

	if (me == 0)
		me = getpid();
	for (;;) {
		holder = 0;
		if (__atomic_compare_exchange_n(&z->lock, &holder, (int)me,
		    false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (++spins % 4096 != 0) {
			__builtin_ia32_pause();
			continue;
		}
		if (holder != 0 && holder != me && kill(holder, 0) == -1 &&
		    errno == ESRCH && __atomic_compare_exchange_n(&z->lock,
		    &holder, (int)me, false, __ATOMIC_ACQUIRE,
		    __ATOMIC_RELAXED)) {
			log_error(LOG_WARN, "ssl session cache lock held by "
			    "exited process %d, cache cleared", holder);
			z->magic = 0;
			break;
		}
		sched_yield();
	}
	if (z->magic != SC_MAGIC)
		layout(z, size);
}

static void
sc_unlock(struct sc_zone *z)
{
	__atomic_store_n(&z->lock, 0, __ATOMIC_RELEASE);
}

static uint32_t
bucket_of(const struct sc_zone *z, const uint8_t *id, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 16777619u;
	return h % z->nbuckets;
}

static void
lru_unlink(struct sc_zone *z, struct sc_slot *s)
{
	struct sc_slot	*sl = slots_of(z);

	if (s->prev != NIL)
		sl[s->prev].next = s->next;
	else
		z->head = s->next;
	if (s->next != NIL)
		sl[s->next].prev = s->prev;
	else
		z->tail = s->prev;
}

static void
lru_push(struct sc_zone *z, struct sc_slot *s, uint32_t i)
{
	struct sc_slot	*sl = slots_of(z);

	s->prev = NIL;
	s->next = z->head;
	if (z->head != NIL)
		sl[z->head].prev = i;
	else
		z->tail = i;
	z->head = i;
}

/* Unlinks entry i (its first slot) from everything and frees its slots. */
static void
drop(struct sc_zone *z, uint32_t i)
{
	struct sc_slot	*sl = slots_of(z), *s = &sl[i];
	uint32_t	*pp, j, next;

	pp = &z->buckets[bucket_of(z, s->id, s->id_len)];
	while (*pp != NIL && *pp != i)
		pp = &sl[*pp].hnext;
	if (*pp == i)
		*pp = s->hnext;
	lru_unlink(z, s);
	for (j = i; j != NIL; j = next) {
		next = sl[j].more;
		sl[j].hnext = z->free;
		z->free = j;
		z->nfree++;
	}
}

static uint32_t
find(struct sc_zone *z, const uint8_t *id, size_t len)
{
	struct sc_slot	*sl = slots_of(z);
	uint32_t	 i;

	for (i = z->buckets[bucket_of(z, id, len)]; i != NIL; i = sl[i].hnext)
		if (sl[i].id_len == len && memcmp(sl[i].id, id, len) == 0)
			return i;
	return NIL;
}

int
tls_cache_store(void *zone, size_t size, const uint8_t *id, size_t id_len,
    const uint8_t *der, size_t len, int64_t expire)
{
	struct sc_zone	*z = zone;
	struct sc_slot	*sl, *s;
	uint32_t	 need, i, first, prev, b;
	int64_t		 now = time(NULL);
	size_t		 off;

	if (id_len == 0 || id_len > SC_ID_MAX || len == 0 ||
	    len > TLS_CACHE_MAX_SESSION)
		return -1;
	need = (uint32_t)((len + SC_CELL - 1) / SC_CELL);
	sc_lock(z, size);
	sl = slots_of(z);
	if (need > z->nslots) {
		sc_unlock(z);
		return -1;
	}
	if ((i = find(z, id, id_len)) != NIL)
		drop(z, i);
	/* expired ones at the tail first, then the least recently used */
	while (z->tail != NIL && sl[z->tail].expire <= now)
		drop(z, z->tail);
	while (z->nfree < need)
		drop(z, z->tail);
	first = prev = NIL;
	for (off = 0; off < len; off += SC_CELL) {
		i = z->free;
		z->free = sl[i].hnext;
		z->nfree--;
		s = &sl[i];
		memcpy(s->data, der + off, len - off < SC_CELL ? len - off :
		    SC_CELL);
		s->more = NIL;
		if (prev == NIL)
			first = i;
		else
			sl[prev].more = i;
		prev = i;
	}
	s = &sl[first];
	s->len = (uint16_t)len;
	s->id_len = (uint8_t)id_len;
	memcpy(s->id, id, id_len);
	s->expire = expire;
	b = bucket_of(z, id, id_len);
	s->hnext = z->buckets[b];
	z->buckets[b] = first;
	lru_push(z, s, first);
	sc_unlock(z);
	return 0;
}

ssize_t
tls_cache_fetch(void *zone, size_t size, const uint8_t *id, size_t id_len,
    uint8_t *out, size_t outsize)
{
	struct sc_zone	*z = zone;
	struct sc_slot	*sl;
	uint32_t	 i, j;
	size_t		 len, off;

	if (id_len == 0 || id_len > SC_ID_MAX)
		return -1;
	sc_lock(z, size);
	sl = slots_of(z);
	if ((i = find(z, id, id_len)) == NIL) {
		sc_unlock(z);
		return -1;
	}
	if (sl[i].expire <= time(NULL) || sl[i].len > outsize) {
		drop(z, i);
		sc_unlock(z);
		return -1;
	}
	len = sl[i].len;
	for (j = i, off = 0; j != NIL && off < len; j = sl[j].more,
	    off += SC_CELL)
		memcpy(out + off, sl[j].data, len - off < SC_CELL ? len - off :
		    SC_CELL);
	lru_unlink(z, &sl[i]);
	lru_push(z, &sl[i], i);
	sc_unlock(z);
	return (ssize_t)len;
}

void
tls_cache_remove(void *zone, size_t size, const uint8_t *id, size_t id_len)
{
	struct sc_zone	*z = zone;
	uint32_t	 i;

	if (id_len == 0 || id_len > SC_ID_MAX)
		return;
	sc_lock(z, size);
	if ((i = find(z, id, id_len)) != NIL)
		drop(z, i);
	sc_unlock(z);
}

size_t
tls_cache_count(void *zone, size_t size)
{
	struct sc_zone	*z = zone;
	struct sc_slot	*sl;
	size_t		 n = 0;
	uint32_t	 i;

	sc_lock(z, size);
	sl = slots_of(z);
	for (i = z->head; i != NIL; i = sl[i].next)
		n++;
	sc_unlock(z);
	return n;
}

/* OpenSSL's side ------------------------------------------------------------ */

/*
 * OpenSSL asks the session context, the default server's, even after SNI
 * moved the handshake to another server: tls_accept() remembers which.
 */
static struct tls_srv *
cache_srv(SSL *ssl)
{
	struct tls_srv	*t = SSL_get_ex_data(ssl, tls_ex_srv());

	if (t == NULL || t->cache_zone == NULL || t->cache_zone->addr == NULL)
		return NULL;
	return t;
}

static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_srv		*t = cache_srv(ssl);
	uint8_t			 buf[TLS_CACHE_MAX_SESSION], *p = buf;
	const unsigned char	*id;
	unsigned int		 id_len;
	int			 len;

	if (t == NULL)
		return 0;
	len = i2d_SSL_SESSION(sess, NULL);
	if (len <= 0 || len > (int)sizeof(buf))
		return 0;
	i2d_SSL_SESSION(sess, &p);
	id = SSL_SESSION_get_id(sess, &id_len);
	tls_cache_store(t->cache_zone->addr, t->cache_zone->size, id, id_len,
	    buf, (size_t)len, (int64_t)SSL_SESSION_get_time(sess) +
	    SSL_SESSION_get_timeout(sess));
	return 0;	/* OpenSSL keeps its reference */
}

static SSL_SESSION *
get_session(SSL *ssl, const unsigned char *id, int id_len, int *copy)
{
	struct tls_srv		*t = cache_srv(ssl);
	uint8_t			 buf[TLS_CACHE_MAX_SESSION];
	const unsigned char	*p = buf;
	ssize_t			 n;

	*copy = 0;
	if (t == NULL || id_len <= 0)
		return NULL;
	n = tls_cache_fetch(t->cache_zone->addr, t->cache_zone->size, id,
	    (size_t)id_len, buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	return d2i_SSL_SESSION(NULL, &p, (long)n);
}

static void
remove_session(SSL_CTX *ctx, SSL_SESSION *sess)
{
	struct tls_srv		*t = SSL_CTX_get_app_data(ctx);
	const unsigned char	*id;
	unsigned int		 id_len;

	if (t == NULL || t->cache_zone == NULL || t->cache_zone->addr == NULL)
		return;
	id = SSL_SESSION_get_id(sess, &id_len);
	tls_cache_remove(t->cache_zone->addr, t->cache_zone->size, id, id_len);
}

void
tls_cache_setup(void *ssl_ctx)
{
	SSL_CTX_sess_set_new_cb(ssl_ctx, new_session);
	SSL_CTX_sess_set_get_cb(ssl_ctx, get_session);
	SSL_CTX_sess_set_remove_cb(ssl_ctx, remove_session);
}
