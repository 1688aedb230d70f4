/*
 * The split_clients module: its directive, the buckets it builds at load
 * time, and the variable getter.  The same key must land in the bucket
 * nginx would give it, so the hash and the bucket bounds follow nginx's
 * arithmetic exactly.
 */
#include <string.h>
#include <strings.h>

#include "../common/pool.h"
#include "http.h"
#include "http_conf.h"
#include "split_clients.h"

struct split_part {
	uint32_t	 bound;		/* hashes below; 0: all ("*") */
	struct str	 value;
};

struct split {
	struct cvalue	*key;
	int		 index;		/* the variable it defines */
	struct array	 parts;		/* struct split_part */
	bool		 declared;	/* by split_clients_declare() */
};

static conf_set_fn	set_split_clients;

/*	  name             where      args                          parser             field  extra */
const struct conf_cmd split_clients_cmds[] = {
	{ "split_clients", CONF_HTTP, CONF_BLOCK | CONF_ARGS(2, 2), set_split_clients, 0, 0,  NULL },
	{ NULL }
};

/*
 * Austin Appleby's MurmurHash2 with seed 0, reading blocks little-endian
 * whatever the host's byte order.
 */
uint32_t
split_clients_hash(const void *data, size_t len)
{
	const uint32_t		 m = 0x5bd1e995;
	const unsigned char	*p = data;
	uint32_t		 h = (uint32_t)len, k;

	for (; len >= 4; p += 4, len -= 4) {
		k = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		k *= m;
		k ^= k >> 24;
		k *= m;
		h = h * m ^ k;
	}
	switch (len) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= p[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

static int
split_get(struct request *r, struct str *out, uintptr_t data)
{
	const struct split	*s = (const struct split *)data;
	const struct split_part	*p;
	struct str		 key;
	uint32_t		 hash;
	size_t			 i;

	if (r->vset != NULL && r->vset[s->index]) {
		*out = r->vals[s->index];
		return 0;
	}
	out->data = (char *)"";
	out->len = 0;
	if (cvalue_eval(r, s->key, &key) == -1)
		return -1;
	hash = split_clients_hash(key.data, key.len);
	for (i = 0; i < s->parts.n; i++) {
		p = ARRAY_AT(&s->parts, struct split_part, i);
		if (p->bound == 0 || hash < p->bound) {
			*out = p->value;
			break;
		}
	}
	vars_set(r, s->index, out);
	return 0;
}

/* The split a declared variable of that name waits for, or NULL. */
static struct split *
declared(const struct vars *vs, const char *name)
{
	const struct var	*v;
	struct split		*s;
	size_t			 i;

	for (i = 0; i < vs->list.n; i++) {
		v = ARRAY_AT(&vs->list, struct var, i);
		if (v->get != split_get || strcasecmp(v->name.data, name) != 0)
			continue;
		s = (struct split *)v->data;
		return s->key == NULL ? s : NULL;
	}
	return NULL;
}

int
split_clients_declare(struct vars *vs, struct pool *pool,
    const struct conf_node *http)
{
	const struct conf_node	*n;
	struct split		*s;
	size_t			 i;

	for (i = 0; i < http->nchildren; i++) {
		n = &http->children[i];
		if (!n->block || n->nargs != 3 || !STR_EQ_LIT(n->args[0].data,
		    n->args[0].len, "split_clients") ||
		    n->args[2].len < 2 || n->args[2].data[0] != '$')
			continue;
		if ((s = pool_calloc(pool, sizeof(*s))) == NULL)
			return -1;
		s->index = vars_define(vs, n->args[2].data + 1, split_get,
		    (uintptr_t)s, VAR_CHANGEABLE);
		s->declared = true;
	}
	return 0;
}

/* "12.34%" in hundredths of a percent (two decimals at most); 0 if
 * invalid. */
static uint32_t
parse_percent(const struct str *s)
{
	uint32_t	v = 0;
	size_t		i, len = s->len, decimals = 0;
	bool		dot = false, digits = false;

	if (len < 2 || s->data[len - 1] != '%')
		return 0;
	for (i = 0; i < len - 1; i++) {
		char	c = s->data[i];

		if (c == '.' && !dot) {
			dot = true;
			continue;
		}
		if (c < '0' || c > '9' || (dot && ++decimals > 2) ||
		    v > 100000)
			return 0;
		v = v * 10 + (uint32_t)(c - '0');
		digits = true;
	}
	if (!digits)
		return 0;
	for (; decimals < 2; decimals++)
		v *= 10;
	return v;
}

static int
split_entry(struct conf *cf, struct split *s, uint32_t *sum, uint32_t *last)
{
	const struct conf_node	*e = cf->node;
	struct split_part	*p;
	uint32_t		 pct = 0;

	if (e->block) {
		conf_error(cf, "invalid number of the split_clients "
		    "parameters");
		return -1;
	}
	if (!STR_EQ_LIT(e->args[0].data, e->args[0].len, "*") &&
	    (pct = parse_percent(&e->args[0])) == 0) {
		conf_error(cf, "invalid percent value \"%s\"", e->args[0].data);
		return -1;
	}
	/* "*" takes whatever is left: nothing may follow with a share */
	*sum = pct != 0 ? *sum + pct : 10000;
	if (*sum > 10000) {
		conf_error(cf, "percent total is greater than 100%%");
		return -1;
	}
	if ((p = array_push(&s->parts)) == NULL)
		return -1;
	if (pct != 0) {
		*last += (uint32_t)(pct * (uint64_t)0xffffffff / 10000);
		p->bound = *last;
	}
	/* nginx takes a missing value as empty and ignores extra words */
	if (e->nargs >= 2)
		p->value = e->args[1];
	else
		p->value = (struct str)STR("");
	return 0;
}

static int
set_split_clients(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct conf_node	*block = cf->node;
	const struct str	*a = block->args;
	struct split		*s;
	uint32_t		 sum = 0, last = 0;
	size_t			 i;

	if (a[2].len < 2 || a[2].data[0] != '$') {
		conf_error(cf, "invalid variable name \"%s\"", a[2].data);
		return -1;
	}
	if ((s = declared(&h->vars, a[2].data + 1)) == NULL &&
	    (s = pool_calloc(cf->pool, sizeof(*s))) == NULL)
		return -1;
	if (array_init(&s->parts, cf->pool, 4, sizeof(struct split_part)) ==
	    -1)
		return -1;
	if ((s->key = cvalue_compile(cf, &h->vars, &a[1])) == NULL)
		return -1;
	if (!s->declared)
		s->index = vars_define(&h->vars, a[2].data + 1, split_get,
		    (uintptr_t)s, VAR_CHANGEABLE);
	if (s->index == -1) {
		conf_error(cf, "the duplicate \"%s\" variable", a[2].data + 1);
		return -1;
	}
	for (i = 0; i < block->nchildren; i++) {
		cf->node = &block->children[i];
		if (split_entry(cf, s, &sum, &last) == -1)
			return -1;
	}
	cf->node = block;
	return 0;
}
