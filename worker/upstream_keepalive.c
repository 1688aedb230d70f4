/*
 * The keep-alive pools.  An idle connection sits in its upstream's list
 * with a read handler that closes it on any event: a peer that closes or
 * sends unasked-for bytes is dropped before anyone reuses it.
 */
#include <stdlib.h>

#include "../common/clock.h"
#include "../common/pool.h"
#include "conn.h"
#include "tls_client.h"
#include "upstream.h"
#include "upstream_keepalive.h"
#include "worker_state.h"

struct idle {
	struct idle		*prev, *next;
	struct upstream		*up;
	struct upstream_peer	*peer;
	struct conn		*c;
	unsigned		 requests;
};

/* One list per upstream, found by pointer; a worker has few upstreams. */
struct pool_list {
	struct upstream		*up;
	struct idle		*head;		/* most recently parked first */
	int			 n;
	struct timer		 trim;		/* closes the surplus */
	struct pool_list	*next;
};

/*
 * A burst of answers can park more connections than `keepalive` at once,
 * just before the next burst of requests needs them all again; closing
 * the surplus at once made a proxy with 50 busy clients and keepalive 32
 * open a new upstream connection for one request in fifteen.  So the
 * surplus may stay for a couple of milliseconds, then the oldest go.
 */
#define SURPLUS_GRACE_MS	2

static struct pool_list	*lists;

static void	drop(struct conn *);

static void
on_trim(struct timer *t)
{
	struct pool_list	*l = (struct pool_list *)((char *)t -
				    offsetof(struct pool_list, trim));
	struct idle		*last;

	while (l->n > l->up->keepalive && l->head != NULL) {
		for (last = l->head; last->next != NULL; last = last->next)
			;
		drop(last->c);
	}
}

static struct pool_list *
list_of(struct upstream *up)
{
	struct pool_list	*l;

	for (l = lists; l != NULL; l = l->next)
		if (l->up == up)
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->up = up;
	l->trim.fn = on_trim;
	l->next = lists;
	lists = l;
	return l;
}

static void
unlink_idle(struct pool_list *l, struct idle *i)
{
	if (i->prev != NULL)
		i->prev->next = i->next;
	else
		l->head = i->next;
	if (i->next != NULL)
		i->next->prev = i->prev;
	l->n--;
}

static void
drop(struct conn *c)
{
	struct idle		*i = c->data;
	struct pool_list	*l = list_of(i->up);

	if (l != NULL)
		unlink_idle(l, i);
	free(i);
	c->data = NULL;
	conn_close(c);
}

static void
on_idle_event(struct conn *c)
{
	char	b;

	/* TLS: a record with no data for us (a late session ticket) is
	 * no reason to drop; reading it tells */
	if (c->tls != NULL && !c->peer_closed && c->readable &&
	    conn_recv(c, &b, 1) == IO_AGAIN)
		return;
	drop(c);
}

static void
on_idle_shutdown(struct conn *c)
{
	drop(c);
}

static void
on_idle_timeout(struct timer *t)
{
	drop((struct conn *)((char *)t - offsetof(struct conn, timer)));
}

struct conn *
keepalive_get(struct upstream *up, struct upstream_peer *peer,
    bool (*fits)(const struct conn *, const void *), const void *arg)
{
	struct pool_list	*l;
	struct idle		*i;
	struct conn		*c;

	if (up->keepalive <= 0 || (l = list_of(up)) == NULL)
		return NULL;
	for (i = l->head; i != NULL; i = i->next) {
		if (i->peer != peer || !fits(i->c, arg))
			continue;
		c = i->c;
		unlink_idle(l, i);
		c->requests = i->requests;
		free(i);
		c->data = NULL;
		c->on_read = NULL;
		c->on_write = NULL;
		c->on_shutdown = NULL;
		c->idle = false;
		timer_del(&c->timer);
		return c;
	}
	return NULL;
}

void
keepalive_put(struct upstream *up, struct upstream_peer *peer, struct conn *c)
{
	struct pool_list	*l;
	struct idle		*i, *last;

	/* a worker on its way out keeps nothing idle; bytes that TLS
	 * already decrypted past the response would start the next one */
	if (up->keepalive <= 0 || c->peer_closed || worker.quitting ||
	    (c->tls != NULL && tls_client_pending(c)) ||
	    (int)c->requests >= up->keepalive_requests ||
	    clock_now.real_ms - c->start_ms > (uint64_t)up->keepalive_time ||
	    (l = list_of(up)) == NULL || (i = calloc(1, sizeof(*i))) == NULL) {
		conn_close(c);
		return;
	}
	if (l->n >= 2 * up->keepalive) {
		/* far over: the longest idle one makes room at once */
		for (last = l->head; last->next != NULL; last = last->next)
			;
		drop(last->c);
	} else if (l->n >= up->keepalive && !timer_armed(&l->trim))
		timer_set(&l->trim, SURPLUS_GRACE_MS);
	i->up = up;
	i->peer = peer;
	i->c = c;
	i->requests = c->requests;
	i->next = l->head;
	if (l->head != NULL)
		l->head->prev = i;
	l->head = i;
	l->n++;
	c->data = i;
	c->on_read = on_idle_event;
	c->on_write = NULL;
	c->on_shutdown = on_idle_shutdown;
	c->idle = true;
	c->timer.fn = on_idle_timeout;
	timer_set(&c->timer, (uint64_t)up->keepalive_timeout);
	/* anything already signalled (EOF, stray bytes) ends it now */
	if (c->readable && c->peer_closed)
		drop(c);
}
