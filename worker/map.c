/*
 * The map module: its directive, the tables it builds at load time, and
 * the variable getter that looks a value up per request (once: the result
 * is kept in the request unless the map is volatile).  How variables are
 * stored and evaluated is vars.c's business.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "map.h"
#include "rewrite.h"

/* Maps whose source reads another map nest; this deep is a cycle. */
#define MAP_MAX_DEPTH	32

struct map_key {
	struct str	 key;		/* lowercase */
	struct cvalue	*value;
	size_t		 entry;		/* its line in the block */
};

struct map_regex {
	struct regex	 re;
	int		*name_vars;
	struct cvalue	*value;
};

struct map {
	const char	*name;		/* of the variable */
	struct cvalue	*source;
	int		 index;		/* of the variable */
	bool		 hostnames;
	bool		 is_volatile;
	struct array	 exact;		/* struct map_key, sorted */
	struct array	 heads;		/* "*.a.com" kept as ".a.com" */
	struct array	 tails;		/* "www.a.*" kept as "www.a." */
	struct array	 regexes;	/* struct map_regex, in order */
	struct cvalue	*deflt;		/* NULL: the empty string */
};

static conf_set_fn	set_map;

/*	  name   where      args                          parser   field  extra */
const struct conf_cmd map_cmds[] = {
	{ "map", CONF_HTTP, CONF_BLOCK | CONF_ARGS(2, 2), set_map, 0, 0,  NULL },
	{ NULL }
};

/* Lookup ------------------------------------------------------------------ */

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static const struct map_key *
find_key(const struct array *a, const char *s, size_t len)
{
	const struct map_key	*k = a->elts;
	size_t			 lo = 0, hi = a->n, mid;
	int			 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = key_cmp(s, len, k[mid].key.data, k[mid].key.len);
		if (c == 0)
			return &k[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Host name wildcards, the most specific first: "*.b.example.com" before
 * "*.example.com", "www.example.*" before "www.*".
 */
static const struct map_key *
find_wildcard(const struct map *m, const char *s, size_t len)
{
	const struct map_key	*k;
	size_t			 i;

	for (i = 0; i < len && m->heads.n > 0; i++)
		if (s[i] == '.' && (k = find_key(&m->heads, s + i,
		    len - i)) != NULL)
			return k;
	for (i = len; i > 0 && m->tails.n > 0; i--)
		if (s[i - 1] == '.' && i < len && (k = find_key(&m->tails, s,
		    i)) != NULL)
			return k;
	return NULL;
}

/* The value for key: exact (case-insensitive), wildcards, regexes. */
static const struct cvalue *
map_find(struct request *r, const struct map *m, const struct str *key,
    int *err)
{
	const struct map_key	*k = NULL;
	const struct map_regex	*x;
	char			*low;
	size_t			 i;
	int			 rc;

	if (m->exact.n > 0 || m->heads.n > 0 || m->tails.n > 0) {
		if ((low = pool_alloc(r->pool, key->len + 1)) == NULL) {
			*err = -1;
			return NULL;
		}
		str_lower(low, key->data, key->len);
		if ((k = find_key(&m->exact, low, key->len)) == NULL &&
		    m->hostnames)
			k = find_wildcard(m, low, key->len);
		if (k != NULL)
			return k->value;
	}
	for (i = 0; i < m->regexes.n; i++) {
		x = ARRAY_AT(&m->regexes, struct map_regex, i);
		rc = rewrite_regex_exec(r, &x->re, x->name_vars, key);
		if (rc == -1) {
			*err = -1;
			return NULL;
		}
		if (rc == 1)
			return x->value;
	}
	return m->deflt;
}

static int
map_get(struct request *r, struct str *out, uintptr_t data)
{
	static unsigned		 depth;
	const struct map	*m = (const struct map *)data;
	const struct cvalue	*cv;
	struct str		 key;
	int			 err = 0;

	if (!m->is_volatile && r->vset != NULL && r->vset[m->index]) {
		*out = r->vals[m->index];
		return 0;
	}
	out->data = (char *)"";
	out->len = 0;
	if (depth >= MAP_MAX_DEPTH) {
		log_conn(LOG_ERR, r->conn->number, "cycle while evaluating "
		    "variable \"%s\"", m->name);
		return -1;
	}
	depth++;
	if (cvalue_eval(r, m->source, &key) == -1) {
		depth--;
		return -1;
	}
	/* "example.com." is the same host as "example.com" */
	if (m->hostnames && key.len > 0 && key.data[key.len - 1] == '.')
		key.len--;
	cv = map_find(r, m, &key, &err);
	if (err == 0 && cv != NULL && cvalue_eval(r, cv, out) == -1)
		err = -1;
	depth--;
	if (err == -1) {
		out->data = (char *)"";
		out->len = 0;
		return -1;
	}
	if (!m->is_volatile)
		vars_set(r, m->index, out);
	return 0;
}

/* Configuration ----------------------------------------------------------- */

/* The map a declared variable of that name waits for, or NULL. */
static struct map *
declared(const struct vars *vs, const char *name)
{
	const struct var	*v;
	struct map		*m;
	size_t			 i;

	for (i = 0; i < vs->list.n; i++) {
		v = ARRAY_AT(&vs->list, struct var, i);
		if (v->get != map_get || strcasecmp(v->name.data, name) != 0)
			continue;
		m = (struct map *)v->data;
		return m->source == NULL ? m : NULL;
	}
	return NULL;
}

int
map_declare(struct vars *vs, struct pool *pool, const struct conf_node *http)
{
	const struct conf_node	*n;
	struct map		*m;
	size_t			 i;

	for (i = 0; i < http->nchildren; i++) {
		n = &http->children[i];
		if (!n->block || n->nargs != 3 ||
		    !STR_EQ_LIT(n->args[0].data, n->args[0].len, "map") ||
		    n->args[2].len < 2 || n->args[2].data[0] != '$')
			continue;
		if ((m = pool_calloc(pool, sizeof(*m))) == NULL)
			return -1;
		m->name = n->args[2].data + 1;
		/* a name already taken is set_map's to report */
		m->index = vars_define(vs, m->name, map_get, (uintptr_t)m, VAR_CHANGEABLE);
	}
	return 0;
}

static int
add_key(struct conf *cf, struct array *a, const char *s, size_t len,
    struct cvalue *value, size_t entry)
{
	struct map_key	*k;

	if ((k = array_push(a)) == NULL ||
	    (k->key.data = pool_alloc(cf->pool, len + 1)) == NULL)
		return -1;
	str_lower(k->key.data, s, len);
	k->key.data[len] = '\0';
	k->key.len = len;
	k->value = value;
	k->entry = entry;
	return 0;
}

/*
 * A key in hostnames mode: ".example.com" is example.com and its
 * subdomains, "*.example.com" the subdomains only, "www.example.*" any
 * ending; one '*' at most, no empty label.
 */
static int
add_host_key(struct conf *cf, struct map *m, const struct str *key,
    struct cvalue *value, size_t entry)
{
	const char	*s = key->data;
	size_t		 len = key->len, i, stars = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '*' && ++stars > 1)
			goto invalid;
		if (s[i] == '.' && i + 1 < len && s[i + 1] == '.')
			goto invalid;
	}
	if (len > 1 && s[0] == '.')
		return add_key(cf, &m->exact, s + 1, len - 1, value, entry) ==
		    -1 ? -1 : add_key(cf, &m->heads, s, len, value, entry);
	if (len > 2 && s[0] == '*' && s[1] == '.')
		return add_key(cf, &m->heads, s + 1, len - 1, value, entry);
	if (len > 2 && s[len - 2] == '.' && s[len - 1] == '*')
		return add_key(cf, &m->tails, s, len - 1, value, entry);
	if (stars > 0)
		goto invalid;
	return add_key(cf, &m->exact, s, len, value, entry);
invalid:
	conf_error(cf, "invalid hostname or wildcard \"%s\"", s);
	return -1;
}

static int
add_regex(struct conf *cf, struct map *m, const struct str *key,
    const struct str *value)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct map_regex	*x;
	char			 err[512];
	bool			 caseless;

	caseless = key->len > 1 && key->data[1] == '*';
	if ((x = array_push(&m->regexes)) == NULL)
		return -1;
	if (regex_compile(&x->re, cf->pool, key->data + (caseless ? 2 : 1),
	    caseless, err, sizeof(err)) == -1) {
		conf_error(cf, "%s", err);
		return -1;
	}
	/* the names first: the value may use them */
	if (rewrite_regex_names(cf, &h->vars, &x->re, &x->name_vars) == -1)
		return -1;
	x->value = cvalue_compile(cf, &h->vars, value);
	return x->value == NULL ? -1 : 0;
}

static int
map_entry(struct conf *cf, struct map *m, size_t entry)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	const struct conf_node	*e = cf->node;
	struct str		 key;
	struct cvalue		*value;

	if (e->nargs == 1 && !e->block &&
	    STR_EQ_LIT(e->args[0].data, e->args[0].len, "hostnames")) {
		m->hostnames = true;
		return 0;
	}
	if (e->nargs == 1 && !e->block &&
	    STR_EQ_LIT(e->args[0].data, e->args[0].len, "volatile")) {
		m->is_volatile = true;
		return 0;
	}
	if (e->nargs != 2 || e->block) {
		conf_error(cf, "invalid number of the map parameters");
		return -1;
	}
	key = e->args[0];
	if (key.len > 0 && key.data[0] == '~')
		return add_regex(cf, m, &key, &e->args[1]);
	if ((value = cvalue_compile(cf, &h->vars, &e->args[1])) == NULL)
		return -1;
	if (STR_EQ_LIT(key.data, key.len, "default")) {
		if (m->deflt != NULL) {
			conf_error(cf, "duplicate default map parameter");
			return -1;
		}
		m->deflt = value;
		return 0;
	}
	/* "\default", "\~x": the key as written after the backslash */
	if (key.len > 0 && key.data[0] == '\\') {
		key.data++;
		key.len--;
	}
	if (m->hostnames)
		return add_host_key(cf, m, &key, value, entry);
	return add_key(cf, &m->exact, key.data, key.len, value, entry);
}

static int
map_key_cmp(const void *a, const void *b)
{
	const struct map_key	*x = a, *y = b;
	int			 c;

	c = key_cmp(x->key.data, x->key.len, y->key.data, y->key.len);
	if (c != 0)
		return c;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/*
 * Sorts a table for binary search; a key given twice is an error at the
 * later of its lines, as nginx reports it.
 */
static int
sort_keys(struct conf *cf, struct array *a, const struct conf_node *block)
{
	struct map_key	*k = a->elts;
	size_t		 i, bad = (size_t)-1;

	qsort(k, a->n, sizeof(*k), map_key_cmp);
	for (i = 1; i < a->n; i++)
		if (key_cmp(k[i - 1].key.data, k[i - 1].key.len,
		    k[i].key.data, k[i].key.len) == 0 &&
		    (bad == (size_t)-1 || k[i].entry < k[bad].entry))
			bad = i;
	if (bad == (size_t)-1)
		return 0;
	cf->node = &block->children[k[bad].entry];
	conf_error(cf, "conflicting parameter \"%s\"", cf->node->args[0].data);
	return -1;
}

static int
set_map(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct conf_node	*block = cf->node;
	const struct str	*a = block->args;
	struct map		*m;
	size_t			 i;

	if (a[2].len < 2 || a[2].data[0] != '$') {
		conf_error(cf, "invalid variable name \"%s\"", a[2].data);
		return -1;
	}
	if ((m = declared(&h->vars, a[2].data + 1)) == NULL &&
	    (m = pool_calloc(cf->pool, sizeof(*m))) == NULL)
		return -1;
	if (array_init(&m->exact, cf->pool, 16, sizeof(struct map_key)) == -1 ||
	    array_init(&m->heads, cf->pool, 4, sizeof(struct map_key)) == -1 ||
	    array_init(&m->tails, cf->pool, 4, sizeof(struct map_key)) == -1 ||
	    array_init(&m->regexes, cf->pool, 4, sizeof(struct map_regex)) ==
	    -1)
		return -1;
	if ((m->source = cvalue_compile(cf, &h->vars, &a[1])) == NULL)
		return -1;
	/* defined before its values, which may refer to it (a cycle found
	 * at run time) */
	if (m->name == NULL) {
		m->name = a[2].data + 1;
		m->index = vars_define(&h->vars, m->name, map_get,
		    (uintptr_t)m, VAR_CHANGEABLE);
	}
	if (m->index == -1) {
		conf_error(cf, "the duplicate \"%s\" variable", m->name);
		return -1;
	}
	for (i = 0; i < block->nchildren; i++) {
		cf->node = &block->children[i];
		if (map_entry(cf, m, i) == -1)
			return -1;
	}
	if (sort_keys(cf, &m->exact, block) == -1 ||
	    sort_keys(cf, &m->heads, block) == -1 ||
	    sort_keys(cf, &m->tails, block) == -1)
		return -1;
	cf->node = block;
	if (m->is_volatile)
		ARRAY_AT(&h->vars.list, struct var, m->index)->flags |=
		    VAR_NOCACHE;
	return 0;
}
