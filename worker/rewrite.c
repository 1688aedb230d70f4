/*
 * Running the rewrite module's script of a level: return, rewrite, break,
 * set and if, in configuration order.  Building the script is
 * rewrite_conf.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/addr.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "rewrite.h"
#include "rewrite_int.h"
#include "static.h"

int
rewrite_regex_exec(struct request *r, const struct regex *re,
    const int *name_vars, const struct str *subject)
{
	int		 caps[2 * REGEX_MAX_CAPTURES];
	char		*copy;
	struct str	 val;
	size_t		 k;

	if (!regex_match(re, subject->data, subject->len, caps,
	    2 * REGEX_MAX_CAPTURES))
		return 0;
	/* the captures must outlive the value they index into */
	if ((copy = pool_strndup(r->pool, subject->data, subject->len)) ==
	    NULL)
		return -1;
	memcpy(r->caps, caps, sizeof(caps));
	r->ncaps = re->ncaptures + 1;
	r->cap_subject.data = copy;
	r->cap_subject.len = subject->len;
	for (k = 0; name_vars != NULL && k < re->nnames; k++) {
		if (name_vars[k] < 0)
			continue;
		val.data = (char *)"";
		val.len = 0;
		if (k < REGEX_MAX_CAPTURES && caps[2 * k] >= 0) {
			val.data = copy + caps[2 * k];
			val.len = (size_t)(caps[2 * k + 1] - caps[2 * k]);
		}
		vars_set(r, name_vars[k], &val);
	}
	return 1;
}

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

/* rewrite_log: a notice with the request's context, as nginx words it. */
__attribute__((format(printf, 2, 3)))
static void
rewrite_notice(struct request *r, const char *fmt, ...)
{
	const struct http1_req		*in = r->in;
	const struct str		*sn = NULL;
	const char			*host = NULL;
	char				 msg[2048], client[ADDR_STRLEN];
	size_t				 i, hlen = 0;
	va_list				 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	addr_format(&r->conn->peer, client, sizeof(client), false);
	if (r->srv->names.n > 0)
		sn = &ARRAY_AT(&r->srv->names, struct server_name, 0)->name;
	for (i = 0; in != NULL && i < in->nheaders; i++)
		if (STR_CASEEQ_LIT(in->headers[i].name, in->headers[i].name_len,
		    "host")) {
			host = in->headers[i].value;
			hlen = in->headers[i].value_len;
			break;
		}
	log_conn(LOG_NOTICE, r->conn->number, "%s, client: %s, server: %.*s, "
	    "request: \"%.*s\"%s%.*s%s", msg, client, sn ? (int)sn->len : 0,
	    sn ? sn->data : "", (int)r->request_line.len,
	    r->request_line.data, host ? ", host: \"" : "", (int)hlen,
	    host ? host : "", host ? "\"" : "");
}

/* Matches a script's regex: 1, 0 (which forgets $1..$9, as nginx does),
 * or -1. */
static int
script_match(struct request *r, const struct rw_op *op,
    const struct str *subject, bool log)
{
	int	rc;

	rc = rewrite_regex_exec(r, op->re, op->name_vars, subject);
	if (rc == 0)
		r->ncaps = 0;
	if (log && rc != -1)
		rewrite_notice(r, "\"%s\" %s \"%.*s\"", op->re->pattern,
		    rc == 1 ? "matches" : "does not match", (int)subject->len,
		    subject->data);
	return rc;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * nginx decodes a redirect's target before sending it: %XX of a printable
 * character after '%' becomes it, others stay encoded, and an encoded or
 * literal '?' ends the decoding (so "$arg_url" with an encoded URL works,
 * and an encoded CR LF cannot split the header).  0 or -1.
 */
static int
redirect_unescape(struct request *r, struct str *v)
{
	const char	*s = v->data, *end = s + v->len;
	char		*d, *out;
	int		 h1, h2, ch;

	if (memchr(s, '%', v->len) == NULL)
		return 0;
	if ((out = d = pool_alloc(r->pool, v->len + 1)) == NULL)
		return -1;
	while (s < end) {
		if (*s == '?')
			break;
		if (*s != '%' || end - s < 3 || (h1 = hex_digit(s[1])) < 0 ||
		    (h2 = hex_digit(s[2])) < 0) {
			*d++ = *s++;
			continue;
		}
		ch = h1 * 16 + h2;
		if (ch == '?') {
			*d++ = '?';
			s += 3;
			break;
		}
		if (ch > '%' && ch < 0x7f)
			*d++ = (char)ch;
		else {
			memcpy(d, s, 3);
			d += 3;
		}
		s += 3;
	}
	memcpy(d, s, (size_t)(end - s));
	d += end - s;
	*d = '\0';
	v->data = out;
	v->len = (size_t)(d - out);
	return 0;
}

/* A redirect's Location: the old arguments follow unless "?" ends it. */
static int
redirect_target(struct request *r, const struct rw_op *op, struct str *v)
{
	char	*p;
	bool	 drop = v->len > 0 && v->data[v->len - 1] == '?';

	if (drop)
		v->len--;
	if (redirect_unescape(r, v) == -1)
		return -1;
	if (drop || r->args.len == 0)
		return 0;
	if ((p = pool_alloc(r->pool, v->len + 1 + r->args.len)) == NULL)
		return -1;
	memcpy(p, v->data, v->len);
	p[v->len] = op->keep_args ? '?' : '&';
	memcpy(p + v->len + 1, r->args.data, r->args.len);
	v->data = p;
	v->len += 1 + r->args.len;
	return 0;
}

/*
 * Splits a rewritten "uri?args": new arguments come before the old ones,
 * and a final '?' drops the old ones.
 */
static int
split_target(struct request *r, const struct str *v, struct str *uri,
    struct str *args)
{
	char	*q, *p;
	bool	 drop;

	*uri = *v;
	*args = r->args;
	if ((q = memchr(v->data, '?', v->len)) == NULL)
		return 0;
	drop = v->data[v->len - 1] == '?';
	uri->len = (size_t)(q - v->data);
	args->data = q + 1;
	args->len = v->len - uri->len - 1;
	if (drop && args->len > 0)
		args->len--;
	if (args->len == 0 || r->args.len == 0 || drop)
		return 0;
	if ((p = pool_alloc(r->pool, args->len + 1 + r->args.len)) == NULL)
		return -1;
	memcpy(p, args->data, args->len);
	p[args->len] = '&';
	memcpy(p + args->len + 1, r->args.data, r->args.len);
	args->data = p;
	args->len += 1 + r->args.len;
	return 0;
}

static enum rewrite_result
run_rewrite(struct request *r, const struct rw_op *op, bool log, bool *stop)
{
	struct str	v, uri, args;
	int		rc;

	if ((rc = script_match(r, op, &r->uri, log)) == 0)
		return REWRITE_NEXT;
	if (rc == -1 || cvalue_eval_rewrite(r, op->value, op->flag ==
	    RW_REDIRECT || op->flag == RW_PERMANENT, &v) == -1)
		goto fail;
	if (op->flag == RW_REDIRECT || op->flag == RW_PERMANENT) {
		if (redirect_target(r, op, &v) == -1)
			goto fail;
		if (log)
			rewrite_notice(r, "rewritten redirect: \"%.*s\"",
			    (int)v.len, v.data);
		r->location = v;
		http_special(r, op->flag == RW_PERMANENT ? 301 : 302);
		*stop = true;
		return REWRITE_DONE;
	}
	if (split_target(r, &v, &uri, &args) == -1)
		goto fail;
	if (uri.len == 0) {
		log_conn(LOG_ERR, r->conn->number, "the rewritten URI has a "
		    "zero length");
		goto fail;
	}
	if (log)
		rewrite_notice(r, "rewritten data: \"%.*s\", args: \"%.*s\"",
		    (int)uri.len, uri.data, (int)args.len, args.data);
	r->uri = uri;
	r->args = args;
	r->uri_changed = true;
	r->uri_modified = true;
	/* a rewritten request is internal: it may reach internal locations */
	r->internal = true;
	if (op->flag == RW_LAST || op->flag == RW_BRK) {
		/* break: the URI changed, the location stays */
		if (op->flag == RW_BRK)
			r->uri_changed = false;
		*stop = true;
		return op->flag == RW_LAST ? REWRITE_REDIRECT : REWRITE_NEXT;
	}
	return REWRITE_NEXT;
fail:
	http_special(r, 500);
	*stop = true;
	return REWRITE_DONE;
}

static int
run_set(struct request *r, const struct rw_op *op)
{
	struct str	v;

	if (cvalue_eval(r, op->value, &v) == -1)
		return -1;
	if (op->kind == RW_SET_ARGS) {
		r->args = v;
		/* the request line no longer says what is proxied */
		r->uri_modified = true;
		return 0;
	}
	if (op->kind == RW_SET_LIMIT_RATE) {
		static_set_limit_rate(r, &v);
		return 0;
	}
	vars_set(r, op->var, &v);
	return 0;
}

/* -f, -d, -e, -x on a path: 1 true, 0 false, -1 error. */
static int
test_file(struct request *r, const struct rw_op *op)
{
	struct stat	st;
	struct str	path;
	bool		yes;

	/* values are NUL-terminated, so the path can go to stat() as is */
	if (cvalue_eval(r, op->value, &path) == -1)
		return -1;
	if (stat(path.data, &st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR &&
		    errno != ENAMETOOLONG)
			log_conn(LOG_CRIT, r->conn->number, "stat() \"%s\" "
			    "failed (%d: %s)", path.data, errno,
			    strerror(errno));
		return op->negate;
	}
	switch (op->test) {
	case 'f':
		yes = S_ISREG(st.st_mode);
		break;
	case 'd':
		yes = S_ISDIR(st.st_mode);
		break;
	case 'x':
		/* nginx's test: the owner's execute bit, directories too */
		yes = (st.st_mode & S_IXUSR) != 0;
		break;
	default:
		yes = true;
	}
	return yes != op->negate;
}

/* An if's condition: 1 true, 0 false, -1 error. */
static int
test_cond(struct request *r, const struct rw_op *op, bool log)
{
	struct str	v, w;
	int		rc;

	if (op->cond == RW_COND_FILE)
		return test_file(r, op);
	/* not found reads as empty */
	(void)vars_get(r, op->var, &v);
	switch (op->cond) {
	case RW_COND_VAR:
		return v.len > 0 && !(v.len == 1 && v.data[0] == '0');
	case RW_COND_EQ:
	case RW_COND_NE:
		if (cvalue_eval(r, op->value, &w) == -1)
			return -1;
		return str_eq(v.data, v.len, w.data, w.len) ==
		    (op->cond == RW_COND_EQ);
	default:
		if ((rc = script_match(r, op, &v, log)) == -1)
			return -1;
		return rc != op->negate;
	}
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
			/* a URI changed before break keeps its location */
			r->uri_changed = false;
			return REWRITE_NEXT;
		case RW_REWRITE:
			res = run_rewrite(r, op, s->log, &stop);
			if (stop)
				return res;
			break;
		case RW_SET:
		case RW_SET_ARGS:
		case RW_SET_LIMIT_RATE:
			if (run_set(r, op) == -1)
				goto fail;
			break;
		case RW_IF:
			switch (test_cond(r, op, s->log)) {
			case -1:
				goto fail;
			case 0:
				i = op->next - 1;	/* skip the body */
				break;
			default:
				/* from here on the request uses the block's
				 * configuration, content handler included */
				if (op->loc != NULL)
					r->loc = op->loc;
			}
			break;
		}
	}
	return r->uri_changed ? REWRITE_REDIRECT : REWRITE_NEXT;
fail:
	http_special(r, 500);
	return REWRITE_DONE;
}
