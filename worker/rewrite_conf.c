/*
 * Directives of the rewrite module (return, rewrite, break, set, if),
 * compiled into a script per level, and the inheritance of the location
 * structs that if blocks carry.  Running the script is rewrite.c.
 */
#include <string.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "http_conf.h"
#include "rewrite.h"
#include "rewrite_int.h"

static conf_set_fn	set_return, set_rewrite, set_break, set_set, set_if,
			set_ignore;

#define RW_WHERE	(CONF_SERVER | CONF_LOCATION | CONF_SIF | CONF_LIF)

/*	  name                          where                                 args                          parser         field             extra */
const struct conf_cmd rewrite_cmds[] = {
	{ "return",                     RW_WHERE,                             CONF_ARGS(1, 2),              set_return,    LOC(script),      NULL },
	{ "rewrite",                    RW_WHERE,                             CONF_ARGS(2, 3),              set_rewrite,   LOC(script),      NULL },
	{ "break",                      RW_WHERE,                             CONF_ARGS(0, 0),              set_break,     LOC(script),      NULL },
	{ "set",                        RW_WHERE,                             CONF_ARGS(2, 2),              set_set,       LOC(script),      NULL },
	{ "if",                         CONF_SERVER | CONF_LOCATION,          CONF_BLOCK | CONF_ARGS_MIN(1), set_if,       LOC(script),      NULL },
	{ "rewrite_log",                CONF_HTTP_ALL | CONF_SIF | CONF_LIF,  CONF_FLAG,                    conf_set_flag, LOC(rewrite_log), NULL },
	{ "uninitialized_variable_warn", CONF_HTTP_ALL | CONF_SIF | CONF_LIF, CONF_FLAG,                    set_ignore,    0, 0,             NULL },
	{ NULL }
};

static struct rw_op *
add_op(struct conf *cf, void *field, int kind)
{
	struct rewrite_script	**s = field;
	struct rw_op		 *op;

	if (*s == NULL) {
		if ((*s = pool_calloc(cf->pool, sizeof(**s))) == NULL)
			return NULL;
		if (array_init(&(*s)->ops, cf->pool, 4, sizeof(struct rw_op))
		    == -1)
			return NULL;
	}
	if ((op = array_push(&(*s)->ops)) == NULL)
		return NULL;
	op->kind = kind;
	op->var = -1;
	return op;
}

static bool
is_redirect_url(const struct str *s)
{
	return (s->len >= 7 && strncmp(s->data, "http://", 7) == 0) ||
	    (s->len >= 8 && strncmp(s->data, "https://", 8) == 0) ||
	    (s->len >= 7 && strncmp(s->data, "$scheme", 7) == 0);
}

int
rewrite_regex_names(struct conf *cf, struct vars *vs, const struct regex *re,
    int **out)
{
	int	*idx;
	size_t	 k;

	*out = NULL;
	if (re->nnames == 0)
		return 0;
	if ((idx = pool_alloc(cf->pool, re->nnames * sizeof(int))) == NULL)
		return -1;
	for (k = 0; k < re->nnames; k++) {
		idx[k] = -1;
		if (re->names[k] == NULL)
			continue;
		idx[k] = vars_add_settable(vs, re->names[k],
		    strlen(re->names[k]));
		if (idx[k] == -1) {
			conf_error(cf, "the duplicate \"%s\" variable",
			    re->names[k]);
			return -1;
		}
	}
	*out = idx;
	return 0;
}

/* Compiles pattern (not NUL-terminated) with its named groups. */
static int
compile_regex(struct conf *cf, struct rw_op *op, const struct str *pattern,
    bool caseless)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	char			 err[512], *p;

	if ((op->re = pool_calloc(cf->pool, sizeof(*op->re))) == NULL ||
	    (p = pool_strndup(cf->pool, pattern->data, pattern->len)) == NULL)
		return -1;
	if (regex_compile(op->re, cf->pool, p, caseless, err,
	    sizeof(err)) == -1) {
		conf_error(cf, "%s", err);
		return -1;
	}
	return rewrite_regex_names(cf, &h->vars, op->re, &op->name_vars);
}

static int
set_return(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct str		*a = cf->node->args;
	struct rw_op		*op;
	int64_t			 code;

	if ((op = add_op(cf, field, RW_RETURN)) == NULL)
		return -1;
	code = str_atoi(a[1].data, a[1].len);
	if (code < 0) {
		if (CONF_NARGS(cf) != 1 || !is_redirect_url(&a[1])) {
			conf_error(cf, "invalid return code \"%s\"", a[1].data);
			return -1;
		}
		op->code = 302;
		op->value = cvalue_compile(cf, &h->vars, &a[1]);
		return op->value == NULL ? -1 : 0;
	}
	if (code > 999) {
		conf_error(cf, "invalid return code \"%s\"", a[1].data);
		return -1;
	}
	op->code = (int)code;
	if (CONF_NARGS(cf) == 2 &&
	    (op->value = cvalue_compile(cf, &h->vars, &a[2])) == NULL)
		return -1;
	return 0;
}

static int
set_rewrite(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct str		*a = cf->node->args;
	struct rw_op		*op;

	if ((op = add_op(cf, field, RW_REWRITE)) == NULL)
		return -1;
	if (compile_regex(cf, op, &a[1], false) == -1)
		return -1;
	if ((op->value = cvalue_compile(cf, &h->vars, &a[2])) == NULL)
		return -1;
	op->keep_args = memchr(a[2].data, '?', a[2].len) == NULL;
	if (is_redirect_url(&a[2]))
		op->flag = RW_REDIRECT;
	if (CONF_NARGS(cf) == 3) {
		const char	*f = a[3].data;

		if (strcmp(f, "last") == 0)
			op->flag = RW_LAST;
		else if (strcmp(f, "break") == 0)
			op->flag = RW_BRK;
		else if (strcmp(f, "redirect") == 0)
			op->flag = RW_REDIRECT;
		else if (strcmp(f, "permanent") == 0)
			op->flag = RW_PERMANENT;
		else {
			conf_error(cf, "invalid parameter \"%s\"", f);
			return -1;
		}
	}
	return 0;
}

static int
set_break(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return add_op(cf, field, RW_BREAK) == NULL ? -1 : 0;
}

/*
 * set $name value: the variable becomes one stored per request.  $args
 * is the one built-in nginx lets a script change; any other built-in is
 * "the duplicate" variable, in nginx's words.
 */
static int
set_set(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct str		*a = cf->node->args;
	struct rw_op		*op;
	const char		*name;
	size_t			 len;

	if (a[1].len < 2 || a[1].data[0] != '$') {
		conf_error(cf, "invalid variable name \"%s\"", a[1].data);
		return -1;
	}
	name = a[1].data + 1;
	len = a[1].len - 1;
	if (STR_CASEEQ_LIT(name, len, "args")) {
		if ((op = add_op(cf, field, RW_SET_ARGS)) == NULL)
			return -1;
	} else if (STR_CASEEQ_LIT(name, len, "limit_rate")) {
		if ((op = add_op(cf, field, RW_SET_LIMIT_RATE)) == NULL)
			return -1;
	} else {
		if ((op = add_op(cf, field, RW_SET)) == NULL)
			return -1;
		/* before the value, which may read the variable itself */
		if ((op->var = vars_add_settable(&h->vars, name, len)) == -1) {
			conf_error(cf, "the duplicate \"%s\" variable", name);
			return -1;
		}
	}
	op->value = cvalue_compile(cf, &h->vars, &a[2]);
	return op->value == NULL ? -1 : 0;
}

/* Walks server, location and if blocks for "set $name ...". */
void
rewrite_declare(struct vars *vs, const struct conf_node *block)
{
	const struct conf_node	*n;
	const struct str	*a;
	size_t			 i;

	for (i = 0; i < block->nchildren; i++) {
		n = &block->children[i];
		a = n->args;
		if (n->block && (STR_EQ_LIT(a[0].data, a[0].len, "server") ||
		    STR_EQ_LIT(a[0].data, a[0].len, "location") ||
		    STR_EQ_LIT(a[0].data, a[0].len, "if"))) {
			rewrite_declare(vs, n);
			continue;
		}
		if (n->block || n->nargs != 3 ||
		    !STR_EQ_LIT(a[0].data, a[0].len, "set") ||
		    a[1].len < 2 || a[1].data[0] != '$' ||
		    STR_CASEEQ_LIT(a[1].data + 1, a[1].len - 1, "args") ||
		    STR_CASEEQ_LIT(a[1].data + 1, a[1].len - 1, "limit_rate"))
			continue;
		/* a built-in's name fails here, and in set_set() with a
		 * message */
		(void)vars_add_settable(vs, a[1].data + 1, a[1].len - 1);
	}
}

/* if (...) ---------------------------------------------------------------- */

/*
 * The words between the parentheses: "(" may stand alone or start the
 * first word, ")" alone or end the last, as nginx reads them.  Fills
 * w[0..*n); -1 after conf_error().
 */
static int
condition_words(struct conf *cf, struct str *w, size_t *n)
{
	struct str	*a = cf->node->args;
	size_t		 nargs = cf->node->nargs - 1, i, k = 0;

	if (a[1].len == 0 || a[1].data[0] != '(') {
		conf_error(cf, "invalid condition \"%s\"", a[1].data);
		return -1;
	}
	if (a[nargs].len == 0 || a[nargs].data[a[nargs].len - 1] != ')') {
		conf_error(cf, "invalid condition \"%s\"", a[nargs].data);
		return -1;
	}
	for (i = 1; i <= nargs; i++) {
		w[k] = a[i];
		if (i == 1) {
			w[k].data++;
			w[k].len--;
		}
		if (i == nargs && w[k].len > 0)
			w[k].len--;
		/* "(" and ")" written apart leave nothing behind */
		if (w[k].len > 0 || (i != 1 && i != nargs))
			k++;
	}
	if (k == 0) {
		/* nginx finds the ")" where the condition should be */
		conf_error(cf, "invalid condition \")\"");
		return -1;
	}
	*n = k;
	return 0;
}

static int
invalid_condition(struct conf *cf, const struct str *w)
{
	conf_error(cf, "invalid condition \"%.*s\"", (int)w->len, w->data);
	return -1;
}

/* ($var), ($var = v), ($var != v), ($var ~ re) and its kin. */
static int
variable_condition(struct conf *cf, struct rw_op *op, const struct str *w,
    size_t n)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	const struct str	*o = &w[1];

	if (n != 1 && n != 3)
		return invalid_condition(cf, &w[0]);
	if ((op->var = vars_index(&h->vars, cf, w[0].data + 1,
	    w[0].len - 1)) == -1)
		return -1;
	if (n == 1) {
		op->cond = RW_COND_VAR;
		return 0;
	}
	if (STR_EQ_LIT(o->data, o->len, "=") ||
	    STR_EQ_LIT(o->data, o->len, "!=")) {
		op->cond = o->len == 1 ? RW_COND_EQ : RW_COND_NE;
		op->value = cvalue_compile(cf, &h->vars, &w[2]);
		return op->value == NULL ? -1 : 0;
	}
	if (STR_EQ_LIT(o->data, o->len, "~") ||
	    STR_EQ_LIT(o->data, o->len, "~*") ||
	    STR_EQ_LIT(o->data, o->len, "!~") ||
	    STR_EQ_LIT(o->data, o->len, "!~*")) {
		op->cond = RW_COND_MATCH;
		op->negate = o->data[0] == '!';
		return compile_regex(cf, op, &w[2], o->data[o->len - 1] == '*');
	}
	conf_error(cf, "unexpected \"%.*s\" in condition", (int)o->len,
	    o->data);
	return -1;
}

static int
parse_condition(struct conf *cf, struct rw_op *op)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct str		 w[256];
	size_t			 n;
	const char		*p;

	if (condition_words(cf, w, &n) == -1)
		return -1;
	p = w[0].data;
	if (w[0].len > 1 && p[0] == '$')
		return variable_condition(cf, op, w, n);
	if ((w[0].len == 2 && p[0] == '-') ||
	    (w[0].len == 3 && p[0] == '!' && p[1] == '-')) {
		if (n != 2)
			return invalid_condition(cf, &w[0]);
		op->test = p[w[0].len - 1];
		if (strchr("fdex", op->test) == NULL)
			return invalid_condition(cf, &w[0]);
		op->cond = RW_COND_FILE;
		op->negate = p[0] == '!';
		op->value = cvalue_compile(cf, &h->vars, &w[1]);
		return op->value == NULL ? -1 : 0;
	}
	return invalid_condition(cf, &w[0]);
}

/*
 * if (condition) { ... }: the body's rewrite directives are compiled
 * inline into the enclosing script (the RW_IF op skips them when false).
 * In a location the block is also a location of its own, nameless, that
 * the request moves into when the condition holds: nginx's "if is evil".
 */
static int
set_if(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct rewrite_script	**s = field;
	struct http_loc		 *parent = cf->slots[CONF_SLOT_LOC];
	struct http_loc		 *l = NULL;
	struct rw_op		 *op;
	size_t			  at;
	bool			  in_server = cf->where == CONF_SERVER;
	int			  rc;

	if ((op = add_op(cf, field, RW_IF)) == NULL)
		return -1;
	at = (*s)->ops.n - 1;
	if (parse_condition(cf, op) == -1)
		return -1;
	if (!in_server) {
		if ((l = http_loc_new(cf)) == NULL)
			return -1;
		l->parent = parent;
		l->srv = parent->srv;
		l->name = parent->name;
		/* nameless, as a regex location is: proxy_pass takes no URI */
		l->match = LOC_REGEX;
		l->script = *s;
		op->loc = l;
		cf->slots[CONF_SLOT_LOC] = l;
	}
	rc = conf_run_block(cf, cf->node, in_server ? CONF_SIF : CONF_LIF);
	if (l != NULL) {
		/* its directives live in the parent's script */
		l->script = NULL;
		cf->slots[CONF_SLOT_LOC] = parent;
	}
	if (rc == -1)
		return -1;
	/* the array may have moved while the body grew it */
	op = ARRAY_AT(&(*s)->ops, struct rw_op, at);
	op->next = (*s)->ops.n;
	return 0;
}

static int
set_ignore(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return 0;
}

/* Inheritance ------------------------------------------------------------- */

/*
 * A block without proxy_pass keeps the enclosing location's content
 * handler, as nginx keeps r->content_handler when it switches to the
 * configuration of an if or limit_except block.
 */
void
http_loc_inherit_handler(struct http_loc *b, const struct http_loc *l)
{
	struct proxy_loc	*p = &b->proxy;
	const struct proxy_loc	*q = &l->proxy;

	b->handler = l->handler;
	p->pass = q->pass;
	p->url = q->url;
	p->upstream = q->upstream;
	p->host = q->host;
	p->port = q->port;
	p->uri = q->uri;
	p->has_uri = q->has_uri;
	p->https = q->https;
	p->location = q->location;
	p->file = q->file;
	p->line = q->line;
}

int
rewrite_loc_merge(struct conf *cf, struct http_loc *l)
{
	struct rw_op	*op;
	struct http_loc	*b;
	size_t		 i;

	/* the server level's script was moved out of its location */
	if (l->srv != NULL && l->srv->loc == l && l->srv->script != NULL)
		l->srv->script->log = l->rewrite_log == 1;
	if (l->script == NULL)
		return 0;
	l->script->log = l->rewrite_log == 1;
	for (i = 0; i < l->script->ops.n; i++) {
		op = ARRAY_AT(&l->script->ops, struct rw_op, i);
		if (op->kind != RW_IF || (b = op->loc) == NULL)
			continue;
		b->name = l->name;
		b->match = l->match;
		b->regex = l->regex;
		b->internal = l->internal;
		if (http_loc_merge(cf, b, l) == -1)
			return -1;
		if (!b->proxy.pass)
			http_loc_inherit_handler(b, l);
	}
	return 0;
}
