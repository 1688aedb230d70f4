/*
 * A request's way from a parsed head to a response: URI normalization,
 * server selection by Host, the server rewrite phase, location lookup in
 * nginx's order, the location rewrite phase, and the content phase.
 */
#include <string.h>

#include "../common/clock.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "access.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "rewrite.h"
#include "static.h"
#include "stub_status.h"
#include "tls.h"
#include "worker_state.h"

struct request *
http_request_new(struct http_conn *hc)
{
	struct request	*r;

	if (hc->rpool == NULL && (hc->rpool = http_rpool_get()) == NULL)
		return NULL;
	if ((r = pool_calloc(hc->rpool, sizeof(*r))) == NULL)
		return NULL;
	r->conn = hc->conn;
	r->hc = hc;
	r->pool = hc->rpool;
	r->http = worker.cycle->http;
	r->srv = hc->addr->default_srv;
	r->content_length = -1;
	r->out_length = -1;
	r->start_ms = clock_now.real_ms;
	/* an error_page may redirect a request refused before it ran */
	r->uri_changes = HTTP_MAX_URI_CHANGES + 1;
	r->version = 11;
	r->body_in.fd = -1;
	r->pipelined = hc->pipelined;
	r->limit_rate = r->limit_rate_after = -1;
	hc->pipelined = false;
	array_init(&r->out_headers, r->pool, 4, sizeof(struct header));
	hc->req = r;
	return r;
}

/* URI normalization -------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* After a '/' was appended: fold a "/./" or "/../" that just ended. */
static int
fold_dots(char *d, size_t *np)
{
	size_t	n = *np, k;

	if (n >= 3 && d[n - 3] == '/' && d[n - 2] == '.') {
		*np = n - 2;
		return 0;
	}
	if (n >= 4 && d[n - 4] == '/' && d[n - 3] == '.' && d[n - 2] == '.') {
		k = n - 4;
		if (k == 0)
			return -1;	/* above the root */
		while (k > 0 && d[k - 1] != '/')
			k--;
		*np = k;
	}
	return 0;
}

/*
 * Decodes %XX, merges slashes (when asked), and resolves "." and ".."
 * segments; -1 when the path is invalid or climbs above the root.
 */
static int
normalize_path(struct request *r, const char *p, size_t len, bool merge)
{
	char	*d;
	size_t	 i, n = 0;
	int	 h1, h2;

	if (len == 0 || p[0] != '/')
		return -1;
	/* one spare byte for the virtual slash that folds a final ".." */
	if ((d = pool_alloc(r->pool, len + 2)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		char	ch = p[i];

		if (ch == '%') {
			if (i + 2 >= len || (h1 = hexval(p[i + 1])) < 0 ||
			    (h2 = hexval(p[i + 2])) < 0)
				return -1;
			ch = (char)(h1 * 16 + h2);
			if (ch == '\0')
				return -1;
			i += 2;
			r->quoted_uri = true;
		} else if (ch == '+')
			r->plus_in_uri = true;
		if (ch == '/' && merge && n > 0 && d[n - 1] == '/')
			continue;
		d[n++] = ch;
		if (ch == '/' && fold_dots(d, &n) == -1)
			return -1;
	}
	if ((n >= 2 && d[n - 2] == '/' && d[n - 1] == '.') ||
	    (n >= 3 && d[n - 3] == '/' && d[n - 2] == '.' && d[n - 1] == '.')) {
		d[n++] = '/';
		if (fold_dots(d, &n) == -1)
			return -1;
	}
	d[n] = '\0';
	r->uri.data = d;
	r->uri.len = n;
	return 0;
}

/* Sets the variables of a regex's named groups from r->caps. */
static void
set_named(struct request *r, const struct regex *re, const char *subject)
{
	struct str	v;
	size_t		k;
	int		idx;

	for (k = 0; k < re->nnames && k < REGEX_MAX_CAPTURES; k++) {
		if (re->names[k] == NULL)
			continue;
		v.data = NULL;
		v.len = 0;
		if (r->caps[2 * k] >= 0) {
			v.data = (char *)subject + r->caps[2 * k];
			v.len = (size_t)(r->caps[2 * k + 1] - r->caps[2 * k]);
		}
		/* registered at load time: this only looks the name up */
		idx = vars_add_settable(&r->http->vars, re->names[k],
		    strlen(re->names[k]));
		if (idx >= 0)
			vars_set(r, idx, &v);
	}
}

/* Server selection ------------------------------------------------------- */

/*
 * The server for a host name among those on an address (r may be NULL:
 * TLS picks a certificate before any request; then captures are not kept).
 */
struct http_srv *
http_find_server(struct http_addr *ha, struct request *r, const char *host,
    size_t len)
{
	struct http_srv		*s, *best_head = NULL, *best_tail = NULL;
	struct server_name	*sn;
	size_t			 i, j, head_len = 0, tail_len = 0;
	int			 caps[2 * REGEX_MAX_CAPTURES];

	for (i = 0; i < ha->servers.n; i++) {
		s = *ARRAY_AT(&ha->servers, struct http_srv *, i);
		for (j = 0; j < s->names.n; j++) {
			sn = ARRAY_AT(&s->names, struct server_name, j);
			switch (sn->kind) {
			case SN_EXACT:
				if (str_eq(sn->name.data, sn->name.len, host,
				    len))
					return s;
				break;
			case SN_WILD_HEAD:
				/* ".example.com" also matches "example.com" */
				if ((len > sn->name.len && memcmp(host + len -
				    sn->name.len, sn->name.data,
				    sn->name.len) == 0) || (sn->bare_too &&
				    len == sn->name.len - 1 && memcmp(host,
				    sn->name.data + 1, len) == 0)) {
					if (sn->name.len > head_len) {
						head_len = sn->name.len;
						best_head = s;
					}
				}
				break;
			case SN_WILD_TAIL:
				if (len > sn->name.len && memcmp(host,
				    sn->name.data, sn->name.len) == 0 &&
				    sn->name.len > tail_len) {
					tail_len = sn->name.len;
					best_tail = s;
				}
				break;
			}
		}
	}
	if (best_head != NULL)
		return best_head;
	if (best_tail != NULL)
		return best_tail;
	for (i = 0; i < ha->servers.n; i++) {
		s = *ARRAY_AT(&ha->servers, struct http_srv *, i);
		for (j = 0; j < s->names.n; j++) {
			sn = ARRAY_AT(&s->names, struct server_name, j);
			if (sn->kind != SN_REGEX || !regex_match(sn->regex,
			    host, len, caps, sizeof(caps) / sizeof(caps[0])))
				continue;
			if (r == NULL)
				return s;
			memcpy(r->caps, caps, sizeof(caps));
			r->ncaps = sn->regex->ncaptures + 1;
			r->cap_subject.data = (char *)host;
			r->cap_subject.len = len;
			set_named(r, sn->regex, host);
			return s;
		}
	}
	return ha->default_srv;
}

/* Location lookup ------------------------------------------------------------ */

/*
 * "/a" asked of a location "/a/" whose content is proxied: nginx answers
 * with a redirect to "/a/" (its auto_redirect).
 */
static bool
auto_redirects(const struct request *r, const struct http_loc *l)
{
	return l->proxy.pass && l->match != LOC_REGEX &&
	    l->match != LOC_NAMED && l->name.len == r->uri.len + 1 &&
	    l->name.data[r->uri.len] == '/' &&
	    memcmp(l->name.data, r->uri.data, r->uri.len) == 0;
}

/*
 * nginx's order: exact match wins at once; otherwise the longest prefix,
 * whose nested locations are searched first; "^~" stops there; else the
 * regexes of this level in order; else the longest prefix.
 */
static struct http_loc *
find_in(struct request *r, struct http_loc *level, bool *regex_done)
{
	struct http_loc	*l, *best = NULL, *nested, *autol = NULL;
	size_t		 i;
	int		 caps[2 * REGEX_MAX_CAPTURES];

	for (i = 0; i < level->children.n; i++) {
		l = *ARRAY_AT(&level->children, struct http_loc *, i);
		if (auto_redirects(r, l))
			autol = l;
		if (l->match == LOC_EXACT) {
			if (str_eq(l->name.data, l->name.len, r->uri.data,
			    r->uri.len)) {
				*regex_done = true;
				return l;
			}
			continue;
		}
		if (l->match == LOC_REGEX)
			continue;
		if (l->name.len <= r->uri.len && memcmp(l->name.data,
		    r->uri.data, l->name.len) == 0 &&
		    (best == NULL || l->name.len > best->name.len))
			best = l;
	}
	/* nginx's auto redirect ends the search unless a prefix is exact */
	if (autol != NULL && (best == NULL || best->name.len < r->uri.len)) {
		r->auto_redirect = true;
		*regex_done = true;
		return autol;
	}
	if (best != NULL && best->children.n > 0) {
		nested = find_in(r, best, regex_done);
		if (*regex_done)
			return nested;
		if (nested != NULL && nested != best &&
		    nested->match == LOC_REGEX)
			return nested;
		if (nested != NULL)
			best = nested;
	}
	if (best != NULL && best->match == LOC_NOREGEX) {
		*regex_done = true;
		return best;
	}
	for (i = 0; i < level->children.n; i++) {
		l = *ARRAY_AT(&level->children, struct http_loc *, i);
		if (l->match != LOC_REGEX)
			continue;
		if (regex_match(l->regex, r->uri.data, r->uri.len, caps,
		    sizeof(caps) / sizeof(caps[0]))) {
			char	*subject = pool_strndup(r->pool, r->uri.data,
				    r->uri.len);

			if (subject == NULL)
				return NULL;
			memcpy(r->caps, caps, sizeof(caps));
			r->ncaps = l->regex->ncaptures + 1;
			r->cap_subject.data = subject;
			r->cap_subject.len = r->uri.len;
			set_named(r, l->regex, subject);
			*regex_done = true;
			/* a regex location may nest more locations */
			if (l->children.n > 0) {
				nested = find_in(r, l, regex_done);
				if (nested != NULL)
					return nested;
			}
			return l;
		}
	}
	return best;
}

static struct http_loc *
find_location(struct request *r)
{
	struct http_loc	*l;
	bool		 done = false;

	l = find_in(r, r->srv->loc, &done);
	return l != NULL ? l : r->srv->loc;
}

/* Phases ----------------------------------------------------------------- */

static void
content(struct request *r)
{
	bool	add_uri;

	if (r->loc->handler != NULL) {
		/* as nginx: try_files first, whatever the content handler */
		if (r->loc->static_files.ntries > 0 &&
		    static_try_files(r, &add_uri))
			return;
		r->loc->handler(r);
		return;
	}
	static_handler(r);
}

/* client_max_body_size is checked as soon as the location is known. */
static bool
body_too_large(struct request *r)
{
	int64_t	max = r->loc->client_max_body_size;

	if (max > 0 && r->chunked)
		r->chunked_in.max_size = (uint64_t)max;
	if (max == 0 || r->content_length <= max)
		return false;
	log_conn(LOG_ERR, r->conn->number, "client intended to send too "
	    "large body: %lld bytes", (long long)r->content_length);
	r->close_after = true;
	r->lingering = true;
	r->discard_body = false;
	http_special(r, 413);
	return true;
}

static void
check_body(struct request *r)
{
	struct http_conn	*hc = r->hc;

	if (r->discard_body && r->expect_continue && !hc->sent_continue &&
	    hc->rend == hc->rstart) {
		static const char	cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		hc->sent_continue = true;
		conn_send(r->conn, cont, sizeof(cont) - 1);
	}
	content(r);
}

/* 301 to the URI with a slash (escaped, arguments kept). */
static void
auto_redirect(struct request *r)
{
	size_t	len = str_escape_uri(NULL, r->uri.data, r->uri.len) + 2 +
		    r->args.len;
	char	*l;

	if ((l = pool_alloc(r->pool, len + 1)) == NULL) {
		http_special(r, 500);
		return;
	}
	len = str_escape_uri(l, r->uri.data, r->uri.len);
	l[len++] = '/';
	if (r->args.len > 0) {
		l[len++] = '?';
		memcpy(l + len, r->args.data, r->args.len);
		len += r->args.len;
	}
	l[len] = '\0';
	r->location.data = l;
	r->location.len = len;
	http_special(r, 301);
}

/* A method limit_except does not list moves the request into its block. */
static struct http_loc *
limit_except(struct request *r, struct http_loc *l)
{
	if (l->lmt == NULL ||
	    (l->lmt_methods & http_lmt_method(r->method.data, r->method.len)))
		return l;
	return l->lmt;
}

static void
run_location(struct request *r)
{
	enum rewrite_result	res;

	for (;;) {
		r->auto_redirect = false;
		r->loc = limit_except(r, find_location(r));
		if (r->auto_redirect) {
			auto_redirect(r);
			return;
		}
		if (r->loc->internal && !r->internal) {
			http_special(r, 404);
			return;
		}
		if (body_too_large(r))
			return;
		res = rewrite_run(r, r->loc->script);
		if (res == REWRITE_DONE)
			return;
		if (res == REWRITE_REDIRECT) {
			if (--r->uri_changes <= 0) {
				log_conn(LOG_ERR, r->conn->number, "rewrite or "
				    "internal redirection cycle while "
				    "processing \"%.*s\"", (int)r->uri.len,
				    r->uri.data);
				http_special(r, 500);
				return;
			}
			continue;
		}
		break;
	}
	if (access_denied(r))
		return;
	check_body(r);
}

void
http_request_run(struct request *r)
{
	enum rewrite_result	res;

	r->uri_changes = HTTP_MAX_URI_CHANGES + 1;
	res = rewrite_run(r, r->srv->script);
	if (res == REWRITE_DONE)
		return;
	run_location(r);
}

void
http_request_redirect(struct request *r, const struct str *uri,
    const struct str *args)
{
	if (--r->uri_changes <= 0) {
		log_conn(LOG_ERR, r->conn->number, "rewrite or internal "
		    "redirection cycle while internally redirecting to "
		    "\"%.*s\"", (int)uri->len, uri->data);
		r->error_page = true;
		http_special(r, 500);
		return;
	}
	r->uri = *uri;
	if (args != NULL)
		r->args = *args;
	r->internal = true;
	r->uri_modified = true;
	r->ncaps = 0;
	if (rewrite_run(r, r->srv->script) == REWRITE_DONE)
		return;
	run_location(r);
}

void
http_request_named(struct request *r, struct http_loc *l)
{
	enum rewrite_result	res;

	r->internal = true;
	r->loc = l = limit_except(r, l);
	res = rewrite_run(r, l->script);
	if (res == REWRITE_DONE)
		return;
	if (res == REWRITE_REDIRECT) {
		run_location(r);
		return;
	}
	check_body(r);
}

/* Starting --------------------------------------------------------------- */

void
http_request_start(struct http_conn *hc, size_t head_len)
{
	struct http1_req	*p = hc->parsed;
	struct request		*r;
	const char		*path, *q;
	size_t			 plen;
	char			*host;
	int			 st;

	if ((r = http_request_new(hc)) == NULL) {
		log_conn(LOG_ALERT, hc->conn->number, "out of memory");
		conn_close(hc->conn);
		return;
	}
	r->in = p;
	hc->conn->requests++;
	stub_status_request();
	stub_status_move(&hc->stat, STAT_WRITING);
	r->header_len = head_len;
	r->request_length = head_len;
	r->request_line.data = (char *)p->line;
	r->request_line.len = p->line_len;
	r->method.data = (char *)p->method;
	r->method.len = p->method_len;
	r->method_id = p->method_id;
	r->version = p->version;
	r->head = p->method_id == HTTP1_M_HEAD;
	r->unparsed_uri.data = (char *)p->target;
	r->unparsed_uri.len = p->target_len;
	hc->rstart += head_len;
	hc->sent_continue = false;
	r->keepalive = true;

	if (http1_req_analyze(p) == -1) {
		log_conn(LOG_INFO, hc->conn->number, "%s while reading client "
		    "request headers", p->error ? p->error : "client sent "
		    "invalid request");
		r->keepalive = false;
		r->close_after = true;
		r->lingering = true;
		http_special(r, p->status);
		return;
	}
	r->keepalive = p->keep_alive;
	r->content_length = p->content_length;
	r->chunked = p->chunked;
	r->expect_continue = p->expect_continue;
	if (p->host != NULL) {
		size_t	hl = p->host_name_len;

		if (hl > 0 && p->host[hl - 1] == '.')
			hl--;
		if ((host = pool_alloc(r->pool, hl + 1)) == NULL) {
			http_special(r, 500);
			return;
		}
		str_lower(host, p->host, hl);
		host[hl] = '\0';
		r->host.data = host;
		r->host.len = hl;
		r->srv = http_find_server(hc->addr, r, host, hl);
	} else
		r->srv = http_find_server(hc->addr, r, "", 0);

	/* TRACE would echo the request, cookies and all: nginx refuses it */
	if (r->method_id == HTTP1_M_TRACE) {
		log_conn(LOG_INFO, hc->conn->number, "client sent TRACE method");
		r->keepalive = false;
		r->close_after = true;
		http_special(r, 405);
		return;
	}
	path = p->path ? p->path : p->target;
	plen = p->path ? p->path_len : p->target_len;
	/* a fragment is the client's business (RFC 3986 3.5): as nginx, drop
	 * it; an absolute-form target without a path means "/" */
	if ((q = memchr(path, '#', plen)) != NULL)
		plen = (size_t)(q - path);
	if ((q = memchr(path, '?', plen)) != NULL) {
		r->args.data = (char *)q + 1;
		r->args.len = plen - (size_t)(q - path) - 1;
		plen = (size_t)(q - path);
	}
	if (plen == 0 && p->host != NULL && path != p->target) {
		path = "/";
		plen = 1;
	}
	if (normalize_path(r, path, plen, r->srv->merge_slashes) == -1) {
		log_conn(LOG_INFO, hc->conn->number, "client sent invalid "
		    "request URI \"%.*s\"", (int)p->target_len, p->target);
		r->close_after = true;
		http_special(r, 400);
		return;
	}
	if (r->chunked) {
		http1_chunked_init(&r->chunked_in, 0);
		r->discard_body = true;
	} else if (r->content_length > 0) {
		hc->body_left = r->content_length;
		r->discard_body = true;
	}
	/* the client certificate, judged by the server the request chose */
	if (hc->conn->tls != NULL && (st = tls_verify_request(r)) != 0) {
		r->keepalive = false;
		r->uri_changes = HTTP_MAX_URI_CHANGES + 1;	/* error_page */
		http_special(r, st);
		return;
	}
	http_request_run(r);
}
