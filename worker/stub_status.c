/*
 * The counters behind stub_status, in a zone every worker updates with
 * atomic adds, and the page that shows them.
 */
#include <stdio.h>
#include <string.h>

#include "../common/cycle.h"
#include "../common/pool.h"
#include "../common/shm.h"
#include "http.h"
#include "http_conf.h"
#include "stub_status.h"

struct stat_counters {
	uint64_t	accepted, handled, requests;
	int64_t		active, reading, writing;
};

static struct stat_counters	*counters;
static struct stat_counters	 local;		/* before the zone exists */

static conf_set_fn	set_stub_status;

/*	  name           where                         args             parser           field  extra */
const struct conf_cmd stub_status_cmds[] = {
	{ "stub_status", CONF_SERVER | CONF_LOCATION,  CONF_ARGS(0, 1), set_stub_status, 0, 0,  NULL },
	{ NULL }
};

static void	stub_status_handler(struct request *);

static int
set_stub_status(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];

	l->stub_status = true;
	return 0;
}

int
stub_status_declare(struct conf *cf, struct http_main *h)
{
	h->status_zone = shm_zone_add(cf->owner, "usher:status",
	    sizeof(struct stat_counters));
	return h->status_zone == NULL ? -1 : 0;
}

void
stub_status_attach(struct http_main *h)
{
	counters = h->status_zone != NULL && h->status_zone->addr != NULL ?
	    h->status_zone->addr : &local;
}

static struct stat_counters *
ctr(void)
{
	return counters != NULL ? counters : &local;
}

void
stub_status_accepted(void)
{
	__atomic_add_fetch(&ctr()->accepted, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ctr()->handled, 1, __ATOMIC_RELAXED);
}

void
stub_status_request(void)
{
	__atomic_add_fetch(&ctr()->requests, 1, __ATOMIC_RELAXED);
}

void
stub_status_active(int delta)
{
	__atomic_add_fetch(&ctr()->active, delta, __ATOMIC_RELAXED);
}

void
stub_status_move(int *state, int to)
{
	if (*state == to)
		return;
	if (*state == STAT_READING)
		__atomic_sub_fetch(&ctr()->reading, 1, __ATOMIC_RELAXED);
	else if (*state == STAT_WRITING)
		__atomic_sub_fetch(&ctr()->writing, 1, __ATOMIC_RELAXED);
	if (to == STAT_READING)
		__atomic_add_fetch(&ctr()->reading, 1, __ATOMIC_RELAXED);
	else if (to == STAT_WRITING)
		__atomic_add_fetch(&ctr()->writing, 1, __ATOMIC_RELAXED);
	*state = to;
}

uint64_t
stub_status_value(enum stat_value which)
{
	struct stat_counters	*c = ctr();
	int64_t			 v, a;

	switch (which) {
	case STAT_ACTIVE:
		v = __atomic_load_n(&c->active, __ATOMIC_RELAXED);
		break;
	case STAT_VAL_READING:
		v = __atomic_load_n(&c->reading, __ATOMIC_RELAXED);
		break;
	case STAT_VAL_WRITING:
		v = __atomic_load_n(&c->writing, __ATOMIC_RELAXED);
		break;
	default:
		a = __atomic_load_n(&c->active, __ATOMIC_RELAXED);
		v = a - __atomic_load_n(&c->reading, __ATOMIC_RELAXED) -
		    __atomic_load_n(&c->writing, __ATOMIC_RELAXED);
	}
	return v > 0 ? (uint64_t)v : 0;
}

/* The page, in nginx's format (monitoring tools parse it). */
static void
stub_status_handler(struct request *r)
{
	struct stat_counters	*c = ctr();
	int64_t			 active, reading, writing, waiting;
	char			*b;
	int			 n;

	if (r->method_id != HTTP1_M_GET && r->method_id != HTTP1_M_HEAD) {
		http_special(r, 405);
		return;
	}
	active = __atomic_load_n(&c->active, __ATOMIC_RELAXED);
	reading = __atomic_load_n(&c->reading, __ATOMIC_RELAXED);
	writing = __atomic_load_n(&c->writing, __ATOMIC_RELAXED);
	waiting = active - reading - writing;
	if ((b = pool_alloc(r->pool, 256)) == NULL) {
		http_special(r, 500);
		return;
	}
	n = snprintf(b, 256, "Active connections: %lld \nserver accepts handled "
	    "requests\n %llu %llu %llu \nReading: %lld Writing: %lld Waiting: "
	    "%lld \n", (long long)active,
	    (unsigned long long)__atomic_load_n(&c->accepted, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&c->handled, __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&c->requests, __ATOMIC_RELAXED),
	    (long long)reading, (long long)writing,
	    (long long)(waiting > 0 ? waiting : 0));
	if (n < 0 || n >= 256) {
		http_special(r, 500);
		return;
	}
	r->status = 200;
	r->body.data = b;
	r->body.len = (size_t)n;
	r->content_type = (struct str)STR("text/plain");
	http_respond(r);
}

void
stub_status_content(struct request *r)
{
	stub_status_handler(r);
}
