/*
 * The rewrite module: return, rewrite and break, compiled per level into
 * a script that runs in configuration order.
 */
#include <string.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "rewrite.h"

enum rw_kind {
	RW_RETURN = 1,
	RW_REWRITE,
	RW_BREAK
};

enum rw_flag {
	RW_NONE = 0,
	RW_LAST,
	RW_BRK,
	RW_REDIRECT,
	RW_PERMANENT
};

struct rw_op {
	int		 kind;
	int		 code;		/* return */
	struct cvalue	*value;		/* return text/URL, rewrite target */
	struct regex	*re;
	int		*name_vars;	/* variable index per named group */
	int		 flag;
	bool		 keep_args;	/* no '?' in the replacement */
};

struct rewrite_script {
	struct array	 ops;		/* struct rw_op */
};

static conf_set_fn	set_return, set_rewrite, set_break, set_ignore;

/*	  name                          where                                          args             parser        field           extra */
const struct conf_cmd rewrite_cmds[] = {
	{ "return",                     CONF_SERVER | CONF_LOCATION | CONF_SIF | CONF_LIF, CONF_ARGS(1, 2), set_return,  LOC(script),    NULL },
	{ "rewrite",                    CONF_SERVER | CONF_LOCATION | CONF_SIF | CONF_LIF, CONF_ARGS(2, 3), set_rewrite, LOC(script),    NULL },
	{ "break",                      CONF_SERVER | CONF_LOCATION | CONF_SIF | CONF_LIF, CONF_ARGS(0, 0), set_break,   LOC(script),    NULL },
	{ "rewrite_log",                CONF_HTTP_ALL | CONF_SIF | CONF_LIF,           CONF_FLAG,       conf_set_flag, LOC(rewrite_log), NULL },
	{ "uninitialized_variable_warn", CONF_HTTP_ALL | CONF_SIF | CONF_LIF,          CONF_FLAG,       set_ignore,    0, 0,          NULL },
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
		array_init(&(*s)->ops, cf->pool, 4, sizeof(struct rw_op));
	}
	if ((op = array_push(&(*s)->ops)) == NULL)
		return NULL;
	op->kind = kind;
	return op;
}

static bool
is_redirect_url(const struct str *s)
{
	return (s->len >= 7 && strncmp(s->data, "http://", 7) == 0) ||
	    (s->len >= 8 && strncmp(s->data, "https://", 8) == 0) ||
	    (s->len >= 7 && strncmp(s->data, "$scheme", 7) == 0);
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
	char			 err[512];

	if ((op = add_op(cf, field, RW_REWRITE)) == NULL)
		return -1;
	if ((op->re = pool_calloc(cf->pool, sizeof(*op->re))) == NULL)
		return -1;
	if (regex_compile(op->re, cf->pool, a[1].data, false, err,
	    sizeof(err)) == -1) {
		conf_error(cf, "%s", err);
		return -1;
	}
	if (op->re->nnames > 0 && (op->name_vars = pool_alloc(cf->pool,
	    op->re->nnames * sizeof(int))) == NULL)
		return -1;
	for (size_t k = 0; k < op->re->nnames; k++) {
		op->name_vars[k] = -1;
		if (op->re->names[k] != NULL && (op->name_vars[k] =
		    vars_add_settable(&h->vars, op->re->names[k],
		    strlen(op->re->names[k]))) == -1)
			return -1;
	}
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

static int
set_ignore(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return 0;
}

/* Running ----------------------------------------------------------------- */

static enum rewrite_result
run_return(struct request *r, const struct rw_op *op)
{
	struct str	v;

	if (op->code == 444) {
		r->status = 444;
		r->close_after = true;
		http_respond(r);
		return REWRITE_DONE;
	}
	if (op->value == NULL) {
		http_special(r, op->code);
		return REWRITE_DONE;
	}
	if (cvalue_eval(r, op->value, &v) == -1) {
		http_special(r, 500);
		return REWRITE_DONE;
	}
	if (op->code == 301 || op->code == 302 || op->code == 303 ||
	    op->code == 307 || op->code == 308) {
		r->location = v;
		http_special(r, op->code);
		return REWRITE_DONE;
	}
	r->status = op->code;
	r->body = v;
	r->content_type = r->loc ? r->loc->default_type :
	    r->srv->loc->default_type;
	http_respond(r);
	return REWRITE_DONE;
}

static enum rewrite_result
run_rewrite(struct request *r, const struct rw_op *op, bool *stop)
{
	struct str	 v, uri, args;
	char		*subject, *q, *p;
	int		 caps[2 * REGEX_MAX_CAPTURES];

	if (!regex_match(op->re, r->uri.data, r->uri.len, caps, 2 *
	    REGEX_MAX_CAPTURES))
		return REWRITE_NEXT;
	/* captures must outlive the URI they index into */
	if ((subject = pool_strndup(r->pool, r->uri.data, r->uri.len)) == NULL)
		goto fail;
	memcpy(r->caps, caps, sizeof(caps));
	r->ncaps = op->re->ncaptures + 1;
	r->cap_subject.data = subject;
	r->cap_subject.len = r->uri.len;
	for (size_t k = 0; k < op->re->nnames; k++) {
		struct str	val = STR_NULL;

		if (op->name_vars[k] < 0)
			continue;
		if (k < REGEX_MAX_CAPTURES && caps[2 * k] >= 0) {
			val.data = subject + caps[2 * k];
			val.len = (size_t)(caps[2 * k + 1] - caps[2 * k]);
		}
		vars_set(r, op->name_vars[k], &val);
	}
	if (cvalue_eval(r, op->value, &v) == -1)
		goto fail;
	if (op->flag == RW_REDIRECT || op->flag == RW_PERMANENT) {
		if (v.len > 0 && v.data[v.len - 1] == '?')
			v.len--;	/* "...?" drops the old arguments */
		else if (r->args.len > 0) {
			char	sep = op->keep_args ? '?' : '&';

			if ((p = pool_alloc(r->pool, v.len + 1 + r->args.len))
			    == NULL)
				goto fail;
			memcpy(p, v.data, v.len);
			p[v.len] = sep;
			memcpy(p + v.len + 1, r->args.data, r->args.len);
			v.data = p;
			v.len += 1 + r->args.len;
		}
		r->location = v;
		http_special(r, op->flag == RW_PERMANENT ? 301 : 302);
		*stop = true;
		return REWRITE_DONE;
	}
	uri = v;
	args = r->args;
	if ((q = memchr(v.data, '?', v.len)) != NULL) {
		bool	drop = v.data[v.len - 1] == '?';

		uri.len = (size_t)(q - v.data);
		args.data = q + 1;
		args.len = v.len - uri.len - 1;
		if (drop && args.len > 0)
			args.len--;	/* the final '?' only says "no old args" */
		if (args.len > 0 && r->args.len > 0 && !drop) {
			/* "new?a=1" keeps the old arguments after the new */
			if ((p = pool_alloc(r->pool, args.len + 1 +
			    r->args.len)) == NULL)
				goto fail;
			memcpy(p, args.data, args.len);
			p[args.len] = '&';
			memcpy(p + args.len + 1, r->args.data, r->args.len);
			args.data = p;
			args.len += 1 + r->args.len;
		}
	}
	if (uri.len == 0) {
		log_conn(LOG_ERR, r->conn->number, "the rewritten URI has a "
		    "zero length");
		goto fail;
	}
	r->uri = uri;
	r->args = args;
	r->uri_changed = true;
	r->uri_modified = true;
	if (op->flag == RW_LAST) {
		*stop = true;
		return REWRITE_REDIRECT;
	}
	if (op->flag == RW_BRK) {
		r->uri_changed = false;
		*stop = true;
		return REWRITE_NEXT;
	}
	return REWRITE_NEXT;
fail:
	http_special(r, 500);
	*stop = true;
	return REWRITE_DONE;
}

enum rewrite_result
rewrite_run(struct request *r, const struct rewrite_script *s)
{
	const struct rw_op	*op;
	enum rewrite_result	 res;
	size_t			 i;
	bool			 stop = false;

	r->uri_changed = false;
	if (s == NULL)
		return REWRITE_NEXT;
	for (i = 0; i < s->ops.n; i++) {
		op = ARRAY_AT(&s->ops, struct rw_op, i);
		switch (op->kind) {
		case RW_RETURN:
			return run_return(r, op);
		case RW_BREAK:
			return REWRITE_NEXT;
		case RW_REWRITE:
			res = run_rewrite(r, op, &stop);
			if (stop)
				return res;
			break;
		}
	}
	return r->uri_changed ? REWRITE_REDIRECT : REWRITE_NEXT;
}
