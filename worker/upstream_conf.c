/*
 * The upstream block and its directives, the placeholders proxy_pass
 * leaves for groups defined later or never (implicit groups made from
 * host:port), and the shared zones the groups live in.  Picking peers is
 * upstream.c's and the balancers' job; checking them upstream_health.c's.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "../common/shm.h"
#include "http_conf.h"
#include "upstream.h"
#include "upstream_conf.h"

#define UPS(f)		CONF_SLOT_UPS, offsetof(struct upstream, f)

#define WEIGHT_MAX	1000000		/* keeps sums of 1024 peers in an int */
#define TIME_MAX	0x7fffffff	/* ms, as the generic parsers */

/* What an upstream block collects before its peers are laid out. */
struct ups_block {
	struct array	 peers;		/* struct upstream_peer */
	struct array	 backups;	/* struct upstream_peer */
	bool		 method_set;
	bool		 slow_start;	/* a server has slow_start */
};

static conf_set_fn	set_upstream, set_server, set_method, set_hash,
			set_random, set_zone, set_health_check;

static const int		method_least_conn = UPSTREAM_LEAST_CONN;
static const int		method_ip_hash = UPSTREAM_IP_HASH;
static const struct conf_bounds	keepalive_bounds = { 1, 0x7fffffff };

/*	  name                  where          args                          parser            field                    extra */
const struct conf_cmd upstream_cmds[] = {
	{ "upstream",           CONF_HTTP,     CONF_BLOCK | CONF_ARGS(1, 1), set_upstream,     0, 0,                    NULL },
	{ "server",             CONF_UPSTREAM, CONF_ARGS_MIN(1),             set_server,       0, 0,                    NULL },
	{ "least_conn",         CONF_UPSTREAM, CONF_ARGS(0, 0),              set_method,       0, 0,                    &method_least_conn },
	{ "ip_hash",            CONF_UPSTREAM, CONF_ARGS(0, 0),              set_method,       0, 0,                    &method_ip_hash },
	{ "hash",               CONF_UPSTREAM, CONF_ARGS(1, 2),              set_hash,         0, 0,                    NULL },
	{ "random",             CONF_UPSTREAM, CONF_ARGS(0, 2),              set_random,       0, 0,                    NULL },
	{ "keepalive",          CONF_UPSTREAM, CONF_ARGS(1, 1),              conf_set_int,     UPS(keepalive),          &keepalive_bounds },
	{ "keepalive_requests", CONF_UPSTREAM, CONF_ARGS(1, 1),              conf_set_int,     UPS(keepalive_requests), NULL },
	{ "keepalive_timeout",  CONF_UPSTREAM, CONF_ARGS(1, 1),              conf_set_msec,    UPS(keepalive_timeout),  NULL },
	{ "keepalive_time",     CONF_UPSTREAM, CONF_ARGS(1, 1),              conf_set_msec,    UPS(keepalive_time),     NULL },
	{ "zone",               CONF_UPSTREAM, CONF_ARGS(1, 2),              set_zone,         0, 0,                    NULL },
	{ "health_check",       CONF_UPSTREAM, CONF_ARGS(0, 7),              set_health_check, 0, 0,                    NULL },
	{ NULL }
};

/* Addresses -------------------------------------------------------------- */

/*
 * Splits "host", "host:port", "[v6]" or "[v6]:port"; *port stays 0 when
 * none is written.  -1 with a reason in err.
 */
static int
split_host_port(const char *s, size_t len, struct str *host, int *port,
    bool *v6, char *err, size_t errlen)
{
	const char	*rb, *colon = NULL;
	int64_t		 v;

	*port = 0;
	*v6 = false;
	if (len > 0 && s[0] == '[') {
		if ((rb = memchr(s, ']', len)) == NULL) {
			snprintf(err, errlen, "invalid IPv6 address");
			return -1;
		}
		host->data = (char *)s + 1;
		host->len = (size_t)(rb - s) - 1;
		*v6 = true;
		if (rb + 1 < s + len) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "invalid host");
				return -1;
			}
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		host->data = (char *)s;
		host->len = colon != NULL ? (size_t)(colon - s) : len;
		/* nginx wants brackets around an IPv6 address too */
		if (colon != NULL && memchr(colon + 1, ':',
		    len - (size_t)(colon + 1 - s)) != NULL) {
			snprintf(err, errlen, "invalid host");
			return -1;
		}
	}
	if (colon != NULL) {
		v = str_atoi(colon + 1, len - (size_t)(colon + 1 - s));
		if (v < 1 || v > 65535) {
			snprintf(err, errlen, "invalid port");
			return -1;
		}
		*port = (int)v;
	}
	if (host->len == 0) {
		snprintf(err, errlen, "no host");
		return -1;
	}
	return 0;
}

static int
push_addr(struct array *out, const struct addr *a, char *err, size_t errlen)
{
	struct addr	*p;
	size_t		 i;

	for (i = 0; i < out->n; i++)
		if (addr_equal(ARRAY_AT(out, struct addr, i), a))
			return 0;
	if (out->n >= UPSTREAM_MAX_PEERS) {
		snprintf(err, errlen, "too many addresses");
		return -1;
	}
	if ((p = array_push(out)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*p = *a;
	return 0;
}

/* Every address getaddrinfo() gives for name, as nginx resolves at load. */
static int
resolve_name(const char *name, int port, struct array *out, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	struct addr	 a;
	size_t		 before = out->n;
	int		 rc = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(name, NULL, &hints, &res) != 0) {
		snprintf(err, errlen, "host not found");
		return -1;
	}
	for (ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(a.u))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.u, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		if (ai->ai_family == AF_INET)
			a.u.sin.sin_port = htons((uint16_t)port);
		else
			a.u.sin6.sin6_port = htons((uint16_t)port);
		rc = push_addr(out, &a, err, errlen);
	}
	freeaddrinfo(res);
	if (rc == 0 && out->n == before) {
		snprintf(err, errlen, "host not found");
		return -1;
	}
	return rc;
}

/*
 * Every address s names, into out (struct addr): a literal one, a unix
 * socket, or all that a host name resolves to.  0, or -1 with a reason
 * in err.
 */
static int
resolve(const char *s, size_t len, int default_port, struct array *out,
    char *err, size_t errlen)
{
	struct addr	 a;
	struct str	 host;
	char		 name[256];
	int		 port;
	bool		 v6;

	if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
		if (addr_parse(&a, s, len, 0, false, err, errlen) == -1)
			return -1;
		return push_addr(out, &a, err, errlen);
	}
	if (split_host_port(s, len, &host, &port, &v6, err, errlen) == -1)
		return -1;
	if (port == 0)
		port = default_port;
	if (host.len >= sizeof(name) || memchr(host.data, '\0', host.len)) {
		snprintf(err, errlen, "invalid host");
		return -1;
	}
	memcpy(name, host.data, host.len);
	name[host.len] = '\0';
	memset(&a, 0, sizeof(a));
	if (v6) {
		a.u.sin6.sin6_family = AF_INET6;
		a.u.sin6.sin6_port = htons((uint16_t)port);
		a.len = sizeof(a.u.sin6);
		if (inet_pton(AF_INET6, name, &a.u.sin6.sin6_addr) != 1) {
			snprintf(err, errlen, "invalid IPv6 address");
			return -1;
		}
	} else if (inet_pton(AF_INET, name, &a.u.sin.sin_addr) == 1) {
		a.u.sin.sin_family = AF_INET;
		a.u.sin.sin_port = htons((uint16_t)port);
		a.len = sizeof(a.u.sin);
	} else
		return resolve_name(name, port, out, err, errlen);
	return push_addr(out, &a, err, errlen);
}

/* One peer per address, each with the parameters of tmpl. */
static int
add_peers(struct conf *cf, struct array *to, const struct array *addrs,
    const struct upstream_peer *tmpl)
{
	struct upstream_peer	*p;
	size_t			 i;

	if (to->n + addrs->n > UPSTREAM_MAX_PEERS) {
		conf_error(cf, "too many servers in upstream (at most %d)",
		    UPSTREAM_MAX_PEERS);
		return -1;
	}
	for (i = 0; i < addrs->n; i++) {
		if ((p = array_push(to)) == NULL)
			return -1;
		*p = *tmpl;
		p->addr = *ARRAY_AT(addrs, struct addr, i);
		addr_format(&p->addr, p->name, sizeof(p->name), true);
	}
	return 0;
}

/* Lays the collected peers out in the configuration's pool. */
static struct upstream_peer *
lay_out(struct conf *cf, const struct array *a)
{
	struct upstream_peer	*v;
	size_t			 i;

	if ((v = pool_calloc(cf->pool, (a->n ? a->n : 1) * sizeof(*v))) == NULL)
		return NULL;
	if (a->n > 0)
		memcpy(v, a->elts, a->n * sizeof(*v));
	for (i = 0; i < a->n; i++)
		v[i].index = i;
	return v;
}

/* The upstream block ----------------------------------------------------- */

static void
define(struct conf *cf, struct upstream *u)
{
	u->defined = true;
	u->implicit = false;
	u->file = cf->node->file;
	u->line = cf->node->line;
	u->balancer = UPSTREAM_RR;
	u->keepalive = CONF_UNSET;
	u->keepalive_requests = CONF_UNSET;
	u->keepalive_timeout = CONF_UNSET_MSEC;
	u->keepalive_time = CONF_UNSET_MSEC;
}

struct upstream *
upstream_add(struct conf *cf, const struct str *name, bool implicit)
{
	return upstream_add_port(cf, name, implicit, 80);
}

struct upstream *
upstream_add_port(struct conf *cf, const struct str *name, bool implicit,
    int default_port)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct upstream		*u, *first = NULL, **up;
	size_t			 i;

	if (default_port == 0)
		default_port = 80;
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if (!str_eq(u->name.data, u->name.len, name->data, name->len))
			continue;
		if (implicit) {
			if (u->defined || u->default_port == default_port)
				return u;
			continue;
		}
		if (u->defined) {
			conf_error(cf, "duplicate upstream \"%s\"",
			    u->name.data);
			return NULL;
		}
		if (first == NULL)
			first = u;
	}
	/* the first proxy_pass that named it before the block becomes it */
	if (first != NULL) {
		define(cf, first);
		return first;
	}
	if ((u = pool_calloc(cf->pool, sizeof(*u))) == NULL ||
	    (u->name.data = pool_strndup(cf->pool, name->data,
	    name->len)) == NULL || (up = array_push(&h->upstreams)) == NULL)
		return NULL;
	u->name.len = name->len;
	u->default_port = default_port;
	*up = u;
	if (implicit) {
		/* where proxy_pass named it, for errors at upstream_finish() */
		u->implicit = true;
		u->file = cf->node->file;
		u->line = cf->node->line;
	} else
		define(cf, u);
	return u;
}

static int
block_finish(struct conf *cf, struct upstream *u, struct ups_block *b)
{
	if (b->peers.n == 0) {
		conf_error(cf, "no servers are inside upstream");
		return -1;
	}
	if ((u->peers = lay_out(cf, &b->peers)) == NULL ||
	    (u->backups = lay_out(cf, &b->backups)) == NULL)
		return -1;
	u->npeers = b->peers.n;
	u->nbackups = b->backups.n;
	CONF_MERGE_INT(u->keepalive, CONF_UNSET, 0);
	CONF_MERGE_INT(u->keepalive_requests, CONF_UNSET, 1000);
	CONF_MERGE_MSEC(u->keepalive_timeout, CONF_UNSET_MSEC, 60000);
	CONF_MERGE_MSEC(u->keepalive_time, CONF_UNSET_MSEC, 3600000);
	if (u->balancer == UPSTREAM_HASH && u->consistent &&
	    upstream_chash_build(u, cf->pool) == -1) {
		conf_error(cf, "the consistent hash of upstream \"%s\" would "
		    "have more than %d points", u->name.data,
		    UPSTREAM_CHASH_MAX);
		return -1;
	}
	return 0;
}

static int
set_upstream(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct conf_node	*n = cf->node;
	void			*saved = cf->slots[CONF_SLOT_BLOCK];
	struct upstream		*u;
	struct ups_block	 b;
	int			 rc;

	if ((u = upstream_add(cf, &n->args[1], false)) == NULL)
		return -1;
	memset(&b, 0, sizeof(b));
	if (array_init(&b.peers, cf->temp, 4, sizeof(struct upstream_peer))
	    == -1 || array_init(&b.backups, cf->temp, 1,
	    sizeof(struct upstream_peer)) == -1)
		return -1;
	cf->slots[CONF_SLOT_UPS] = u;
	cf->slots[CONF_SLOT_BLOCK] = &b;
	rc = conf_run_block(cf, n, CONF_UPSTREAM);
	cf->slots[CONF_SLOT_UPS] = NULL;
	cf->slots[CONF_SLOT_BLOCK] = saved;
	if (rc == -1)
		return -1;
	cf->node = n;
	return block_finish(cf, u, &b);
}

/* server ADDR [weight=N] [max_fails=N] [fail_timeout=T] [max_conns=N]
 * [backup] [down] [slow_start=T] */

/* The value of "name=value" in arg, or NULL if arg is not that parameter. */
static const char *
param(const char *arg, const char *name)
{
	size_t	len = strlen(name);

	if (strncmp(arg, name, len) == 0 && arg[len] == '=')
		return arg + len + 1;
	return NULL;
}

static int64_t
param_int(const char *v, int64_t min, int64_t max)
{
	int64_t	n = str_atoi(v, strlen(v));

	return n < min || n > max ? -1 : n;
}

/* A time, seconds when bare, as nginx's fail_timeout; -1 if invalid. */
static int64_t
param_time(const char *v)
{
	int64_t	n = str_parse_msec(v, strlen(v), 1000);

	return n > TIME_MAX ? -1 : n;
}

/* The same, but 0 too is invalid: checks every 0 ms would spin. */
static int64_t
param_period(const char *v)
{
	int64_t	n = param_time(v);

	return n == 0 ? -1 : n;
}

/* As nginx: the methods that hash or draw take neither backup nor
 * slow_start. */
static bool
refuses_backup(int method)
{
	return method == UPSTREAM_IP_HASH || method == UPSTREAM_HASH ||
	    method == UPSTREAM_RANDOM;
}

/* Reads the parameters after the address into p; -1 after conf_error(). */
static int
server_params(struct conf *cf, struct upstream *u, struct upstream_peer *p)
{
	const char	*arg, *v;
	int64_t		 n;
	size_t		 i;

	for (i = 2; i < cf->node->nargs; i++) {
		arg = CONF_ARG(cf, i);
		n = 0;
		if ((v = param(arg, "weight")) != NULL)
			p->weight = (int)(n = param_int(v, 1, WEIGHT_MAX));
		else if ((v = param(arg, "max_fails")) != NULL)
			p->max_fails = (int)(n = param_int(v, 0, 0x7fffffff));
		else if ((v = param(arg, "max_conns")) != NULL)
			p->max_conns = (int)(n = param_int(v, 0, 0x7fffffff));
		else if ((v = param(arg, "fail_timeout")) != NULL)
			p->fail_timeout = n = param_time(v);
		else if ((v = param(arg, "slow_start")) != NULL) {
			if (refuses_backup(u->balancer)) {
				conf_error(cf, "balancing method does not "
				    "support parameter \"%s\"", arg);
				return -1;
			}
			p->slow_start = n = param_time(v);
		}
		else if (strcmp(arg, "down") == 0)
			p->down = true;
		else if (strcmp(arg, "backup") == 0) {
			if (refuses_backup(u->balancer)) {
				conf_error(cf, "balancing method does not "
				    "support parameter \"%s\"", arg);
				return -1;
			}
			p->backup = true;
		} else
			n = -1;
		if (n == -1) {
			conf_error(cf, "invalid parameter \"%s\"", arg);
			return -1;
		}
	}
	return 0;
}

static int
set_server(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct upstream		*u = cf->slots[CONF_SLOT_UPS];
	struct ups_block	*b = cf->slots[CONF_SLOT_BLOCK];
	struct upstream_peer	 tmpl;
	struct array		 addrs;
	char			 err[128];

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.server = cf->node->args[1];
	tmpl.weight = 1;
	tmpl.max_fails = 1;
	tmpl.fail_timeout = 10000;
	if (server_params(cf, u, &tmpl) == -1)
		return -1;
	if (tmpl.slow_start > 0)
		b->slow_start = true;
	if (array_init(&addrs, cf->temp, 4, sizeof(struct addr)) == -1)
		return -1;
	if (resolve(CONF_ARG(cf, 1), cf->node->args[1].len, 80, &addrs, err,
	    sizeof(err)) == -1) {
		conf_error(cf, "%s in upstream \"%s\"", err, CONF_ARG(cf, 1));
		return -1;
	}
	return add_peers(cf, tmpl.backup ? &b->backups : &b->peers, &addrs,
	    &tmpl);
}

/* Balancing methods ------------------------------------------------------ */

static int
method(struct conf *cf, int m)
{
	struct upstream		*u = cf->slots[CONF_SLOT_UPS];
	struct ups_block	*b = cf->slots[CONF_SLOT_BLOCK];

	/* nginx only warns; a second method silently winning is a trap */
	if (b->method_set) {
		conf_error(cf, "load balancing method redefined");
		return -1;
	}
	if (refuses_backup(m) && (b->backups.n > 0 || b->slow_start)) {
		conf_error(cf, "balancing method does not support parameter "
		    "\"%s\"", b->backups.n > 0 ? "backup" : "slow_start");
		return -1;
	}
	b->method_set = true;
	u->balancer = m;
	return 0;
}

static int
set_method(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return method(cf, *(const int *)cmd->extra);
}

static int
set_hash(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct upstream		*u = cf->slots[CONF_SLOT_UPS];

	if (CONF_NARGS(cf) == 2 && strcmp(CONF_ARG(cf, 2), "consistent")) {
		conf_error(cf, "invalid parameter \"%s\"", CONF_ARG(cf, 2));
		return -1;
	}
	if (method(cf, UPSTREAM_HASH) == -1)
		return -1;
	u->consistent = CONF_NARGS(cf) == 2;
	u->hash_key = cvalue_compile(cf, &h->vars, &cf->node->args[1]);
	return u->hash_key == NULL ? -1 : 0;
}

static int
set_random(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct upstream	*u = cf->slots[CONF_SLOT_UPS];
	size_t		 i;

	for (i = 1; i < cf->node->nargs; i++)
		if (strcmp(CONF_ARG(cf, i), i == 1 ? "two" : "least_conn")) {
			conf_error(cf, "invalid parameter \"%s\"",
			    CONF_ARG(cf, i));
			return -1;
		}
	if (method(cf, UPSTREAM_RANDOM) == -1)
		return -1;
	/* least_conn is the default, and only, method for two */
	u->random_two = u->random_least_conn = CONF_NARGS(cf) >= 1;
	return 0;
}

/* zone NAME [SIZE] ------------------------------------------------------- */

static int
set_zone(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct upstream	*u = cf->slots[CONF_SLOT_UPS];
	int64_t		 size = 0;

	if (u->zone_name.data != NULL)
		return conf_duplicate(cf);
	if (cf->node->args[1].len == 0) {
		conf_error(cf, "invalid zone name \"\"");
		return -1;
	}
	if (CONF_NARGS(cf) == 2 && (size = str_parse_size(CONF_ARG(cf, 2),
	    cf->node->args[2].len)) <= 0) {
		conf_error(cf, "invalid zone size \"%s\"", CONF_ARG(cf, 2));
		return -1;
	}
	u->zone_name = cf->node->args[1];
	u->zone_size = (size_t)size;
	return 0;
}

/* health_check [interval=T] [timeout=T] [fails=N] [passes=N] [uri=PATH]
 * [status=LOW[-HIGH]] [body=TEXT] */

static bool
valid_uri(const char *v)
{
	const unsigned char	*p = (const unsigned char *)v;

	/* it goes into a request line: no spaces or controls */
	if (*p != '/')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static int
parse_status(const char *v, int *lo, int *hi)
{
	const char	*dash = strchr(v, '-');
	int64_t		 a, b;

	a = str_atoi(v, dash != NULL ? (size_t)(dash - v) : strlen(v));
	b = dash != NULL ? str_atoi(dash + 1, strlen(dash + 1)) : a;
	if (a < 100 || b > 599 || a > b)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static int
set_health_check(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct upstream		*u = cf->slots[CONF_SLOT_UPS];
	struct upstream_health	*hc = &u->health;
	const char		*arg, *v;
	int64_t			 n, timeout = -1;
	size_t			 i;

	if (hc->enabled)
		return conf_duplicate(cf);
	hc->interval = 5000;
	hc->fails = hc->passes = 1;
	hc->uri.data = "/";
	hc->uri.len = 1;
	hc->status_min = 200;
	hc->status_max = 399;
	for (i = 1; i < cf->node->nargs; i++) {
		arg = CONF_ARG(cf, i);
		n = 0;
		if ((v = param(arg, "interval")) != NULL)
			n = hc->interval = param_period(v);
		else if ((v = param(arg, "timeout")) != NULL)
			n = timeout = param_period(v);
		else if ((v = param(arg, "fails")) != NULL)
			hc->fails = (int)(n = param_int(v, 1, 0x7fffffff));
		else if ((v = param(arg, "passes")) != NULL)
			hc->passes = (int)(n = param_int(v, 1, 0x7fffffff));
		else if ((v = param(arg, "uri")) != NULL) {
			if (!valid_uri(v))
				n = -1;
			hc->uri.data = (char *)v;
			hc->uri.len = strlen(v);
		} else if ((v = param(arg, "status")) != NULL)
			n = parse_status(v, &hc->status_min, &hc->status_max);
		else if ((v = param(arg, "body")) != NULL && *v != '\0') {
			hc->body.data = (char *)v;
			hc->body.len = strlen(v);
		} else
			n = -1;
		if (n == -1) {
			conf_error(cf, "invalid parameter \"%s\"", arg);
			return -1;
		}
	}
	hc->timeout = timeout > 0 ? timeout :
	    hc->interval < 2000 ? hc->interval : 2000;
	hc->enabled = true;
	return 0;
}

/* The end of the http block ---------------------------------------------- */

static struct upstream *
find_defined(struct http_main *h, const char *name, size_t len)
{
	struct upstream	*u;
	size_t		 i;

	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if (u->defined && str_eq(u->name.data, u->name.len, name, len))
			return u;
	}
	return NULL;
}

/* A group of its own for "host[:port]": one peer per address. */
static int
make_implicit(struct conf *cf, struct http_main *h, struct upstream *u)
{
	struct upstream_peer	 tmpl;
	struct array		 addrs, peers;
	struct str		 host;
	char			 err[128];
	int			 port;
	bool			 v6;

	/* "backend:8080" when a block "backend" exists: nginx's error */
	if (split_host_port(u->name.data, u->name.len, &host, &port, &v6, err,
	    sizeof(err)) == 0 && port != 0 && !v6 &&
	    find_defined(h, host.data, host.len) != NULL) {
		conf_error(cf, "upstream \"%.*s\" may not have port %d",
		    (int)host.len, host.data, port);
		return -1;
	}
	if (array_init(&addrs, cf->temp, 4, sizeof(struct addr)) == -1 ||
	    array_init(&peers, cf->temp, 4, sizeof(struct upstream_peer)) == -1)
		return -1;
	if (resolve(u->name.data, u->name.len, u->default_port, &addrs, err,
	    sizeof(err)) == -1) {
		conf_error(cf, "%s in upstream \"%s\"", err, u->name.data);
		return -1;
	}
	/* nginx's defaults for a group made from proxy_pass */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.server = u->name;
	tmpl.weight = 1;
	tmpl.max_fails = 1;
	tmpl.fail_timeout = 10000;
	if (add_peers(cf, &peers, &addrs, &tmpl) == -1 ||
	    (u->peers = lay_out(cf, &peers)) == NULL)
		return -1;
	u->npeers = peers.n;
	u->implicit = true;
	u->balancer = UPSTREAM_RR;
	u->keepalive = 0;
	u->keepalive_requests = 1000;
	u->keepalive_timeout = 60000;
	u->keepalive_time = 3600000;
	return 0;
}

/* Points cf->node at where u was defined or named, for conf_error(). */
static void
at(struct conf *cf, struct conf_node *n, const struct upstream *u)
{
	memset(n, 0, sizeof(*n));
	n->file = u->file;
	n->line = u->line;
	cf->node = n;
}

/* FNV-1a, to tell a zone laid out for other peers from ours. */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
layout_hash(uint64_t h, const struct upstream *u)
{
	size_t	i, n[2] = { u->npeers, u->nbackups };

	h = fnv(h, u->name.data, u->name.len + 1);
	h = fnv(h, n, sizeof(n));
	for (i = 0; i < u->npeers; i++)
		h = fnv(h, u->peers[i].name, strlen(u->peers[i].name) + 1);
	for (i = 0; i < u->nbackups; i++)
		h = fnv(h, u->backups[i].name, strlen(u->backups[i].name) + 1);
	return h;
}

static char *
zone_name_of(struct conf *cf, const struct upstream *u)
{
	char	*z;

	if (u->zone_name.len > 0)
		return pool_strndup(cf->pool, u->zone_name.data,
		    u->zone_name.len);
	if ((z = pool_alloc(cf->pool, u->name.len + 10)) == NULL)
		return NULL;
	memcpy(z, "upstream:", 9);
	memcpy(z + 9, u->name.data, u->name.len);
	z[u->name.len + 9] = '\0';
	return z;
}

/* shm_zone_add() would refuse it too, but without naming the line. */
static bool
zone_conflicts(struct conf *cf, struct cycle *c, const char *name,
    size_t size)
{
	struct shm_zone	*z;
	size_t		 i;

	for (i = 0; i < c->zones.n; i++) {
		z = *ARRAY_AT(&c->zones, struct shm_zone *, i);
		if (strcmp(z->name, name) == 0 && z->size != size) {
			conf_error(cf, "the size %zu of shared memory zone "
			    "\"%s\" conflicts with already declared size %zu",
			    size, name, z->size);
			return true;
		}
	}
	return false;
}

/*
 * Groups naming the same zone share it, each in its own part; a zone
 * without a size gets what its groups need.  The tag lets a reload keep
 * the state only when the zone holds the same peers in the same places,
 * and only for zones named with `zone`, as the manual says.
 */
static int
add_zones(struct conf *cf, struct http_main *h, char **names,
    struct conf_node *where)
{
	struct upstream		*u, *v;
	struct shm_zone		*z;
	size_t			 i, j, size, want, psize = sizeof(struct peer_shared);
	uint64_t		 tag;

	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if (names[i] == NULL || u->zone != NULL)
			continue;
		at(cf, where, u);
		size = want = 0;
		tag = fnv(0xcbf29ce484222325ULL, &psize, sizeof(psize));
		/* only a zone the operator named outlives a reload */
		if (u->zone_name.len == 0)
			tag = fnv(tag, &h->cycle->generation,
			    sizeof(h->cycle->generation));
		for (j = i; j < h->upstreams.n; j++) {
			v = *ARRAY_AT(&h->upstreams, struct upstream *, j);
			if (names[j] == NULL || strcmp(names[i], names[j]))
				continue;
			v->zone_offset = size;
			size += upstream_shared_size(v);
			if (v->zone_size > 0 && want > 0 && v->zone_size != want) {
				at(cf, where, v);
				conf_error(cf, "the size %zu of shared memory zone "
				    "\"%s\" conflicts with already declared size "
				    "%zu", v->zone_size, names[i], want);
				return -1;
			}
			if (v->zone_size > 0)
				want = v->zone_size;
			tag = layout_hash(tag, v);
		}
		at(cf, where, u);
		if (want > 0 && size > want) {
			conf_error(cf, "zone \"%s\" is too small for upstream "
			    "\"%s\", %zu bytes are needed", names[i],
			    u->name.data, size);
			return -1;
		}
		if (zone_conflicts(cf, h->cycle, names[i], want ? want : size))
			return -1;
		if ((z = shm_zone_add(h->cycle, names[i], want ? want : size))
		    == NULL)
			return -1;
		z->tag = tag;
		for (j = i; j < h->upstreams.n; j++)
			if (names[j] != NULL && strcmp(names[i], names[j]) == 0)
				(*ARRAY_AT(&h->upstreams, struct upstream *,
				    j))->zone = z;
	}
	return 0;
}

int
upstream_finish(struct conf *cf, struct http_main *h)
{
	struct conf_node	*saved = cf->node, where;
	struct upstream		*u, *of;
	char			**names;
	size_t			 i;
	int			 rc = -1;

	if ((names = pool_calloc(cf->temp, (h->upstreams.n + 1) *
	    sizeof(*names))) == NULL)
		return -1;
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		at(cf, &where, u);
		if (!u->defined) {
			of = find_defined(h, u->name.data, u->name.len);
			if (of != NULL) {
				u->alias_of = of;
				continue;
			}
			if (make_implicit(cf, h, u) == -1)
				goto out;
		}
		if ((names[i] = zone_name_of(cf, u)) == NULL)
			goto out;
	}
	if (add_zones(cf, h, names, &where) == -1)
		goto out;
	/* health checks speak TLS if any name of the group is https */
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if ((of = u->alias_of) != NULL && of->tls_ctx == NULL) {
			of->tls_ctx = u->tls_ctx;
			of->tls_name = u->tls_name;
			of->tls_sni = u->tls_sni;
		}
	}
	/* a copy shares the peers, ring and zone of what it stands for */
	for (i = 0; i < h->upstreams.n; i++) {
		u = *ARRAY_AT(&h->upstreams, struct upstream *, i);
		if ((of = u->alias_of) != NULL) {
			*u = *of;
			u->alias_of = of;
		}
	}
	rc = 0;
out:
	cf->node = saved;
	return rc;
}
