/*
 * The geo module: its directive, the tables it builds at load time (a
 * binary trie per address family, or sorted IPv4 ranges) and the variable
 * getter, which finds the address (the client's, another variable's, or
 * X-Forwarded-For's when the client is a trusted proxy) and looks it up.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "geo.h"
#include "http.h"
#include "http_conf.h"

/* One node of a trie over address bits; the root is node 0. */
struct geo_node {
	uint32_t		 child[2];	/* 0: none */
	const struct str	*value;		/* a network ends here */
};

/* With "ranges": each within one /16, as nginx keeps them. */
struct geo_range {
	uint32_t		 start, end;	/* host order */
	const struct str	*value;
};

struct geo_cidr {
	int			 family;
	unsigned		 bits;
	uint8_t			 addr[16];
};

struct geo {
	const char		*name;
	int			 index;		/* of the variable */
	int			 source;	/* a variable; -1: the client */
	bool			 ranges;
	bool			 proxy_recursive;
	bool			 read;		/* its block, by set_geo() */
	struct array		 proxies;	/* struct geo_cidr */
	struct array		 v4, v6;	/* struct geo_node */
	struct array		 list;		/* struct geo_range */
	const struct str	*range_default;
};

static conf_set_fn	set_geo;

/*	  name   where      args                          parser   field  extra */
const struct conf_cmd geo_cmds[] = {
	{ "geo", CONF_HTTP, CONF_BLOCK | CONF_ARGS(1, 2), set_geo, 0, 0,  NULL },
	{ NULL }
};

static const struct str	geo_empty = STR("");

/* Addresses ---------------------------------------------------------------- */

static inline int
bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static uint32_t
v4_of(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];
}

/* An IPv6 address carrying IPv4 (::ffff:a.b.c.d) is looked up as IPv4. */
static int
unmap(int family, uint8_t *a)
{
	static const uint8_t	prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	if (family == AF_INET6 && memcmp(a, prefix, 12) == 0) {
		memmove(a, a + 12, 4);
		return AF_INET;
	}
	return family;
}

/*
 * "a.b.c.d" or an IPv6 address, into a; its family, or 0.  As in nginx,
 * 255.255.255.255 (INADDR_NONE) is no address.
 */
static int
parse_addr(const char *s, size_t len, uint8_t *a)
{
	char	buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len) == NULL)
		return inet_pton(AF_INET, buf, a) == 1 &&
		    v4_of(a) != 0xffffffffu ? AF_INET : 0;
	return inet_pton(AF_INET6, buf, a) == 1 ? AF_INET6 : 0;
}

/* As parse_addr, also "a.b.c.d:port", "[v6]" and "[v6]:port". */
static int
parse_addr_port(const char *s, size_t len, uint8_t *a)
{
	const char	*c, *rb;

	if (len > 0 && s[0] == '[') {
		if ((rb = memchr(s, ']', len)) == NULL)
			return 0;
		if (rb + 1 != s + len && rb[1] != ':')
			return 0;
		return parse_addr(s + 1, (size_t)(rb - s - 1), a) == AF_INET6 ?
		    AF_INET6 : 0;
	}
	if ((c = memchr(s, ':', len)) != NULL &&
	    memchr(c + 1, ':', len - (size_t)(c - s) - 1) == NULL)
		return parse_addr(s, (size_t)(c - s), a) == AF_INET ?
		    AF_INET : 0;
	return parse_addr(s, len, a);
}

/*
 * "addr[/bits]": 0, 1 if bits below the mask were set (and are now
 * cleared), -1 if invalid.
 */
static int
parse_cidr(const struct str *s, struct geo_cidr *c)
{
	const char	*slash = memchr(s->data, '/', s->len);
	size_t		 alen;
	unsigned	 max, i;
	int64_t		 bits;
	int		 low = 0;

	alen = slash != NULL ? (size_t)(slash - s->data) : s->len;
	memset(c, 0, sizeof(*c));
	if (STR_EQ_LIT(s->data, s->len, "255.255.255.255")) {
		/* written so, and only so, nginx takes it as a network */
		memset(c->addr, 0xff, 4);
		c->family = AF_INET;
		c->bits = 32;
		return 0;
	}
	if ((c->family = parse_addr(s->data, alen, c->addr)) == 0)
		return -1;
	max = c->family == AF_INET ? 32 : 128;
	c->bits = max;
	if (slash != NULL) {
		bits = str_atoi(slash + 1, s->len - alen - 1);
		if (bits < 0 || bits > max)
			return -1;
		c->bits = (unsigned)bits;
	}
	for (i = c->bits; i < max; i++)
		if (bit_at(c->addr, i)) {
			c->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
			low = 1;
		}
	return low;
}

static bool
cidr_match(const struct geo_cidr *c, int family, const uint8_t *a)
{
	unsigned	i;

	if (c->family != family)
		return false;
	for (i = 0; i < c->bits; i++)
		if (bit_at(c->addr, i) != bit_at(a, i))
			return false;
	return true;
}

static bool
trusted(const struct geo *g, int family, const uint8_t *a)
{
	size_t	i;

	for (i = 0; i < g->proxies.n; i++)
		if (cidr_match(ARRAY_AT(&g->proxies, struct geo_cidr, i),
		    family, a))
			return true;
	return false;
}

/*
 * The client behind trusted proxies, from the right end of
 * X-Forwarded-For (all such headers read as one list): the last address,
 * or with proxy_recursive the last one that is not itself trusted.
 */
static int
forwarded(struct request *r, const struct geo *g, int family, uint8_t *a)
{
	const struct http1_req		*in = r->in;
	const struct http1_header	*h;
	const char			*s, *e, *p;
	uint8_t				 b[16];
	size_t				 i;
	int				 f;

	for (i = in != NULL ? in->nheaders : 0; i > 0; i--) {
		h = &in->headers[i - 1];
		if (!STR_CASEEQ_LIT(h->name, h->name_len, "x-forwarded-for"))
			continue;
		s = h->value;
		e = h->value + h->value_len;
		for (;;) {
			if (!trusted(g, family, a))
				return family;
			while (e > s && (e[-1] == ' ' || e[-1] == ','))
				e--;
			if (e == s)
				break;	/* on to the header before */
			for (p = e; p > s && p[-1] != ' ' && p[-1] != ',';)
				p--;
			memset(b, 0, sizeof(b));
			if ((f = parse_addr_port(p, (size_t)(e - p), b)) == 0)
				return family;
			family = unmap(f, b);
			memcpy(a, b, sizeof(b));
			if (!g->proxy_recursive)
				return family;
			e = p;
		}
	}
	return family;
}

/* The address to look up, into a; its family, or 0 if there is none. */
static int
geo_addr(struct request *r, const struct geo *g, uint8_t *a)
{
	const struct addr	*peer = &r->conn->peer;
	struct str		 v;
	int			 family = 0;

	memset(a, 0, 16);
	if (g->source != -1) {
		if (vars_get(r, g->source, &v) == 0)
			family = parse_addr(v.data, v.len, a);
	} else if (peer->u.sa.sa_family == AF_INET) {
		memcpy(a, &peer->u.sin.sin_addr, 4);
		family = AF_INET;
	} else if (peer->u.sa.sa_family == AF_INET6) {
		memcpy(a, &peer->u.sin6.sin6_addr, 16);
		family = AF_INET6;
	}
	family = unmap(family, a);
	if (family != 0 && g->proxies.n > 0)
		family = forwarded(r, g, family, a);
	return family;
}

/* Lookup ------------------------------------------------------------------ */

static const struct str *
trie_find(const struct array *t, const uint8_t *a, unsigned bits)
{
	const struct geo_node	*n = t->elts;
	const struct str	*v = NULL;
	uint32_t		 i = 0;
	unsigned		 d;

	if (t->n == 0)
		return NULL;
	for (d = 0;; d++) {
		if (n[i].value != NULL)
			v = n[i].value;
		if (d == bits || (i = n[i].child[bit_at(a, d)]) == 0)
			return v;
	}
}

/* The index of the last range starting at or before x, or -1. */
static ssize_t
range_before(const struct array *list, uint32_t x)
{
	const struct geo_range	*r = list->elts;
	size_t			 lo = 0, hi = list->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r[mid].start <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

static const struct str *
geo_find(const struct geo *g, int family, const uint8_t *a)
{
	static const uint8_t	 none[4] = { 0xff, 0xff, 0xff, 0xff };
	const struct geo_range	*r;
	const struct str	*v;
	ssize_t			 i;
	uint32_t		 x;

	/* no usable IPv4 address: nginx looks up 255.255.255.255 */
	if (g->ranges) {
		x = family == AF_INET ? v4_of(a) : 0xffffffffu;
		i = range_before(&g->list, x);
		r = i >= 0 ? ARRAY_AT(&g->list, struct geo_range, i) : NULL;
		v = r != NULL && x <= r->end ? r->value : g->range_default;
	} else if (family == AF_INET6)
		v = trie_find(&g->v6, a, 128);
	else
		v = trie_find(&g->v4, family == AF_INET ? a : none, 32);
	return v != NULL ? v : &geo_empty;
}

static int
geo_get(struct request *r, struct str *out, uintptr_t data)
{
	const struct geo	*g = (const struct geo *)data;
	uint8_t			 a[16];
	int			 family;

	if (r->vset != NULL && r->vset[g->index]) {
		*out = r->vals[g->index];
		return 0;
	}
	family = geo_addr(r, g, a);
	*out = *geo_find(g, family, a);
	vars_set(r, g->index, out);
	return 0;
}

/* Configuration ----------------------------------------------------------- */

/* The geo a declared variable of that name waits for, or NULL. */
static struct geo *
declared(const struct vars *vs, const char *name)
{
	const struct var	*v;
	struct geo		*g;
	size_t			 i;

	for (i = 0; i < vs->list.n; i++) {
		v = ARRAY_AT(&vs->list, struct var, i);
		if (v->get != geo_get || strcasecmp(v->name.data, name) != 0)
			continue;
		g = (struct geo *)v->data;
		return g->read ? NULL : g;
	}
	return NULL;
}

int
geo_declare(struct vars *vs, struct pool *pool, const struct conf_node *http)
{
	const struct conf_node	*n;
	const struct str	*var;
	struct geo		*g;
	size_t			 i;

	for (i = 0; i < http->nchildren; i++) {
		n = &http->children[i];
		var = &n->args[n->nargs - 1];
		if (!n->block || n->nargs < 2 || n->nargs > 3 ||
		    !STR_EQ_LIT(n->args[0].data, n->args[0].len, "geo") ||
		    var->len < 2 || var->data[0] != '$')
			continue;
		if ((g = pool_calloc(pool, sizeof(*g))) == NULL)
			return -1;
		g->name = var->data + 1;
		g->index = vars_define(vs, g->name, geo_get, (uintptr_t)g, VAR_CHANGEABLE);
	}
	return 0;
}

__attribute__((format(printf, 2, 3)))
static void
geo_warn(struct conf *cf, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cf->node->file == NULL)
		log_error(LOG_WARN, "%s in command line", msg);
	else
		log_error(LOG_WARN, "%s in %s:%u", msg, cf->node->file,
		    cf->node->line);
}

/* Walks to the node of c's network, creating the path if asked; -1 if
 * absent (or out of memory when creating). */
static int64_t
trie_walk(struct array *t, const struct geo_cidr *c, bool create)
{
	struct geo_node	*n;
	uint32_t	 i = 0, next;
	unsigned	 d;
	int		 b;

	if (t->n == 0 && (!create || array_push(t) == NULL))
		return -1;
	for (d = 0; d < c->bits; d++) {
		b = bit_at(c->addr, d);
		next = ARRAY_AT(t, struct geo_node, i)->child[b];
		if (next == 0) {
			if (!create || (n = array_push(t)) == NULL)
				return -1;
			next = (uint32_t)(t->n - 1);
			ARRAY_AT(t, struct geo_node, i)->child[b] = next;
		}
		i = next;
	}
	return i;
}

static int
trie_add(struct conf *cf, struct geo *g, const struct geo_cidr *c,
    const struct str *value, const char *net)
{
	struct array	*t = c->family == AF_INET ? &g->v4 : &g->v6;
	struct geo_node	*n;
	int64_t		 i;

	if ((i = trie_walk(t, c, true)) == -1)
		return -1;
	n = ARRAY_AT(t, struct geo_node, i);
	if (n->value != NULL)
		geo_warn(cf, "duplicate network \"%s\", value: \"%.*s\", old "
		    "value: \"%.*s\"", net, (int)value->len, value->data,
		    (int)n->value->len, n->value->data);
	n->value = value;
	return 0;
}

static void
trie_delete(struct conf *cf, struct geo *g, const struct geo_cidr *c,
    const char *net)
{
	struct array	*t = c->family == AF_INET ? &g->v4 : &g->v6;
	struct geo_node	*n;
	int64_t		 i;

	if ((i = trie_walk(t, c, false)) == -1 ||
	    (n = ARRAY_AT(t, struct geo_node, i))->value == NULL) {
		geo_warn(cf, "no network \"%s\" to delete", net);
		return;
	}
	n->value = NULL;
}

/* Room for k more ranges at index i. */
static struct geo_range *
range_open(struct array *list, size_t i, size_t k)
{
	struct geo_range	*r;
	size_t			 j;

	for (j = 0; j < k; j++)
		if (array_push(list) == NULL)
			return NULL;
	r = list->elts;
	memmove(&r[i + k], &r[i], (list->n - k - i) * sizeof(*r));
	return &r[i];
}

static void
format_range(char *buf, size_t size, uint32_t s, uint32_t e)
{
	snprintf(buf, size, "%u.%u.%u.%u-%u.%u.%u.%u", s >> 24,
	    (s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff, e >> 24,
	    (e >> 16) & 0xff, (e >> 8) & 0xff, e & 0xff);
}

/*
 * Adds [s, e], within one /16, among ranges that stay disjoint: beside
 * the others, over one exactly (the new value wins), or inside one (which
 * is split around it).  Any other overlap is an error.
 */
static int
range_piece(struct conf *cf, struct geo *g, uint32_t s, uint32_t e,
    const struct str *value, const char *net)
{
	struct geo_range	*r, old;
	ssize_t			 i = range_before(&g->list, e);
	char			 buf[40];

	if (i < 0 || ARRAY_AT(&g->list, struct geo_range, i)->end < s) {
		if ((r = range_open(&g->list, (size_t)(i + 1), 1)) == NULL)
			return -1;
		*r = (struct geo_range){ s, e, value };
		return 0;
	}
	old = *ARRAY_AT(&g->list, struct geo_range, i);
	if (s == old.start && e == old.end) {
		geo_warn(cf, "duplicate range \"%s\", value: \"%.*s\", old "
		    "value: \"%.*s\"", net, (int)value->len, value->data,
		    (int)old.value->len, old.value->data);
		ARRAY_AT(&g->list, struct geo_range, i)->value = value;
		return 0;
	}
	if (s < old.start || e > old.end) {
		format_range(buf, sizeof(buf), old.start, old.end);
		conf_error(cf, "range \"%s\" overlaps \"%s\"", net, buf);
		return -1;
	}
	if (s > old.start && e < old.end) {
		if ((r = range_open(&g->list, (size_t)i + 1, 2)) == NULL)
			return -1;
		r[-1].end = s - 1;
		r[0] = (struct geo_range){ s, e, value };
		r[1] = (struct geo_range){ e + 1, old.end, old.value };
		return 0;
	}
	if ((r = range_open(&g->list, (size_t)i + 1, 1)) == NULL)
		return -1;
	if (s == old.start) {
		r[-1] = (struct geo_range){ s, e, value };
		r[0] = (struct geo_range){ e + 1, old.end, old.value };
	} else {
		r[-1].end = s - 1;
		r[0] = (struct geo_range){ s, e, value };
	}
	return 0;
}

/* Removes the pieces of [s, e] that were added as such; false if one is
 * missing. */
static bool
range_delete(struct geo *g, uint32_t s, uint32_t e)
{
	struct geo_range	*r;
	uint64_t		 n;
	uint32_t		 pe;
	ssize_t			 i;
	bool			 all = true;

	for (n = s; n <= e; n = (n | 0xffff) + 1) {
		pe = (uint32_t)(n | 0xffff) < e ? (uint32_t)(n | 0xffff) : e;
		i = range_before(&g->list, (uint32_t)n);
		r = i >= 0 ? ARRAY_AT(&g->list, struct geo_range, i) : NULL;
		if (r == NULL || r->start != n || r->end != pe) {
			all = false;
			continue;
		}
		memmove(r, r + 1, (g->list.n - (size_t)i - 1) * sizeof(*r));
		g->list.n--;
	}
	return all;
}

static int
range_entry(struct conf *cf, struct geo *g, const struct str *net,
    const struct str *value, bool del)
{
	const char	*dash = memchr(net->data, '-', net->len);
	uint8_t		 a[16], b[16];
	uint32_t	 s, e, pe;
	uint64_t	 n;

	if (dash == NULL ||
	    parse_addr(net->data, (size_t)(dash - net->data), a) != AF_INET ||
	    parse_addr(dash + 1, net->len - (size_t)(dash - net->data) - 1,
	    b) != AF_INET || (s = v4_of(a)) > (e = v4_of(b))) {
		conf_error(cf, "invalid range \"%s\"", net->data);
		return -1;
	}
	if (del) {
		if (!range_delete(g, s, e))
			geo_warn(cf, "no address range \"%s\" to delete",
			    net->data);
		return 0;
	}
	for (n = s; n <= e; n = (n | 0xffff) + 1) {
		pe = (uint32_t)(n | 0xffff) < e ? (uint32_t)(n | 0xffff) : e;
		if (range_piece(cf, g, (uint32_t)n, pe, value, net->data) == -1)
			return -1;
	}
	return 0;
}

static int
cidr_entry(struct conf *cf, struct geo *g, const struct str *net,
    const struct str *value, bool del)
{
	struct geo_cidr	c;
	int		rc;

	if (!del && STR_EQ_LIT(net->data, net->len, "default")) {
		memset(&c, 0, sizeof(c));
		c.family = AF_INET;
		if (trie_add(cf, g, &c, value, net->data) == -1)
			return -1;
		c.family = AF_INET6;
		return trie_add(cf, g, &c, value, net->data);
	}
	if ((rc = parse_cidr(net, &c)) == -1) {
		conf_error(cf, "invalid network \"%s\"", net->data);
		return -1;
	}
	if (rc == 1)
		geo_warn(cf, "low address bits of %s are meaningless",
		    net->data);
	if (del) {
		trie_delete(cf, g, &c, net->data);
		return 0;
	}
	return trie_add(cf, g, &c, value, net->data);
}

static int
geo_entry(struct conf *cf, struct geo *g)
{
	const struct conf_node	*e = cf->node;
	const struct str	*a = e->args;
	struct geo_cidr		*c;
	struct str		*value;
	bool			 del;

	if (e->nargs == 1 && !e->block) {
		if (STR_EQ_LIT(a[0].data, a[0].len, "ranges")) {
			/* entries before it went to the trie, never looked at */
			if (g->v4.n > 0 || g->v6.n > 0) {
				conf_error(cf, "the \"ranges\" directive must "
				    "be the first directive inside \"geo\" "
				    "block");
				return -1;
			}
			g->ranges = true;
			return 0;
		}
		if (STR_EQ_LIT(a[0].data, a[0].len, "proxy_recursive")) {
			g->proxy_recursive = true;
			return 0;
		}
	}
	if (e->nargs != 2 || e->block) {
		conf_error(cf, "invalid number of the geo parameters");
		return -1;
	}
	if (STR_EQ_LIT(a[0].data, a[0].len, "proxy")) {
		if ((c = array_push(&g->proxies)) == NULL)
			return -1;
		if (parse_cidr(&a[1], c) == -1) {
			conf_error(cf, "invalid network \"%s\"", a[1].data);
			return -1;
		}
		return 0;
	}
	del = STR_EQ_LIT(a[0].data, a[0].len, "delete");
	if ((value = pool_alloc(cf->pool, sizeof(*value))) == NULL)
		return -1;
	*value = a[1];
	if (!g->ranges)
		return cidr_entry(cf, g, del ? &a[1] : &a[0], value, del);
	if (STR_EQ_LIT(a[0].data, a[0].len, "default")) {
		if (g->range_default != NULL)
			geo_warn(cf, "duplicate default geo range value: "
			    "\"%.*s\", old value: \"%.*s\"", (int)value->len,
			    value->data, (int)g->range_default->len,
			    g->range_default->data);
		g->range_default = value;
		return 0;
	}
	return range_entry(cf, g, del ? &a[1] : &a[0], value, del);
}

static int
set_geo(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct conf_node	*block = cf->node;
	const struct str	*a = block->args, *var;
	struct geo		*g;
	size_t			 i;

	var = &a[CONF_NARGS(cf)];
	for (i = 1; i <= CONF_NARGS(cf); i++)
		if (a[i].len < 2 || a[i].data[0] != '$') {
			conf_error(cf, "invalid variable name \"%s\"",
			    a[i].data);
			return -1;
		}
	if ((g = declared(&h->vars, var->data + 1)) == NULL &&
	    (g = pool_calloc(cf->pool, sizeof(*g))) == NULL)
		return -1;
	g->read = true;
	if (array_init(&g->proxies, cf->pool, 2, sizeof(struct geo_cidr)) ==
	    -1 ||
	    array_init(&g->v4, cf->pool, 64, sizeof(struct geo_node)) == -1 ||
	    array_init(&g->v6, cf->pool, 16, sizeof(struct geo_node)) == -1 ||
	    array_init(&g->list, cf->pool, 16, sizeof(struct geo_range)) == -1)
		return -1;
	g->source = -1;
	if (CONF_NARGS(cf) == 2 && (g->source = vars_index(&h->vars, cf,
	    a[1].data + 1, a[1].len - 1)) == -1)
		return -1;
	if (g->name == NULL) {
		g->name = var->data + 1;
		g->index = vars_define(&h->vars, g->name, geo_get,
		    (uintptr_t)g, VAR_CHANGEABLE);
	}
	if (g->index == -1) {
		conf_error(cf, "the duplicate \"%s\" variable", g->name);
		return -1;
	}
	for (i = 0; i < block->nchildren; i++) {
		cf->node = &block->children[i];
		if (geo_entry(cf, g) == -1)
			return -1;
	}
	cf->node = block;
	return 0;
}
