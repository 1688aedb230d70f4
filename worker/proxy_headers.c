/*
 * What the proxy says and hears: the target and URI of a request, the
 * request head sent upstream (proxy_set_header, hop-by-hop removal), the
 * response head parsed and turned into the client's (hidden headers,
 * proxy_redirect, framing), and the proxy's variables.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "proxy_int.h"
#include "upstream.h"

/* Never passed on, in either direction (RFC 9110 7.6.1). */
static bool
hop_by_hop(const char *n, size_t len)
{
	return STR_CASEEQ_LIT(n, len, "connection") ||
	    STR_CASEEQ_LIT(n, len, "keep-alive") ||
	    STR_CASEEQ_LIT(n, len, "te") ||
	    STR_CASEEQ_LIT(n, len, "trailer") ||
	    STR_CASEEQ_LIT(n, len, "transfer-encoding") ||
	    STR_CASEEQ_LIT(n, len, "upgrade") ||
	    STR_CASEEQ_LIT(n, len, "proxy-connection") ||
	    STR_CASEEQ_LIT(n, len, "proxy-authorization");
}

/* Whether `name` is one of the tokens of a Connection header value. */
static bool
in_token_list(const char *list, size_t llen, const char *name, size_t nlen)
{
	size_t	i = 0, s;

	while (i < llen) {
		while (i < llen && (list[i] == ' ' || list[i] == '\t' ||
		    list[i] == ','))
			i++;
		s = i;
		while (i < llen && list[i] != ',' && list[i] != ' ' &&
		    list[i] != '\t')
			i++;
		if (i > s && str_caseeq(list + s, i - s, name, nlen))
			return true;
	}
	return false;
}

/* URI ---------------------------------------------------------------------- */

static bool
needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '#' || c == '%' || c == '?';
}

/* Escapes a decoded path for the request line. */
static size_t
escape_path(char *d, const char *s, size_t len)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (needs_escape(c)) {
			if (d != NULL) {
				d[n] = '%';
				d[n + 1] = hex[c >> 4];
				d[n + 2] = hex[c & 15];
			}
			n += 3;
		} else {
			if (d != NULL)
				d[n] = (char)c;
			n++;
		}
	}
	return n;
}

/* prefix + escaped(path) + ["?" args] into the request pool. */
static int
make_uri(struct proxy_ctx *p, const struct str *prefix, const char *path,
    size_t plen)
{
	struct request	*r = p->r;
	size_t		 len, n;
	char		*u;

	len = prefix->len + escape_path(NULL, path, plen) +
	    (r->args.data != NULL ? 1 + r->args.len : 0);
	if ((u = pool_alloc(r->pool, len + 1)) == NULL)
		return -1;
	memcpy(u, prefix->data, prefix->len);
	n = prefix->len + escape_path(u + prefix->len, path, plen);
	if (r->args.data != NULL) {
		u[n++] = '?';
		memcpy(u + n, r->args.data, r->args.len);
		n += r->args.len;
	}
	p->uri.data = u;
	p->uri.len = n;
	return 0;
}

static struct upstream *
find_upstream(struct request *r, const struct str *name)
{
	struct upstream	*u;
	size_t		 i;

	for (i = 0; i < r->http->upstreams.n; i++) {
		u = *ARRAY_AT(&r->http->upstreams, struct upstream *, i);
		if (!u->implicit && str_caseeq(u->name.data, u->name.len,
		    name->data, name->len))
			return u;
	}
	return NULL;
}

/* A one-peer group for an address known only at request time. */
static struct upstream *
adhoc_upstream(struct request *r, const struct addr *a, const struct str *h)
{
	struct upstream		*u;
	struct upstream_peer	*peer;
	void			*shared;

	if ((u = pool_calloc(r->pool, sizeof(*u))) == NULL ||
	    (peer = pool_calloc(r->pool, sizeof(*peer))) == NULL)
		return NULL;
	u->name = *h;
	u->implicit = true;
	u->peers = peer;
	u->npeers = 1;
	peer->addr = *a;
	addr_format(a, peer->name, sizeof(peer->name), true);
	peer->server = *h;
	peer->weight = 1;
	peer->max_fails = 1;
	peer->fail_timeout = 10000;
	u->keepalive_requests = 1000;
	u->keepalive_timeout = 60000;
	u->keepalive_time = 3600000;
	if ((shared = pool_calloc(r->pool, upstream_shared_size(u))) == NULL)
		return NULL;
	upstream_attach_shared(u, shared, false);
	if (upstream_init_balancer(u) == -1)
		return NULL;
	return u;
}

/* proxy_pass with variables: "http://host[:port][/uri]". */
static int
resolve_dynamic(struct proxy_ctx *p)
{
	struct request	*r = p->r;
	struct str	 url, host;
	struct addr	 a;
	const char	*s, *e, *slash, *colon;
	char		 err[128];

	if (cvalue_eval(r, p->pl->url, &url) == -1)
		return 500;
	if (url.len >= 7 && strncasecmp(url.data, "http://", 7) == 0)
		s = url.data + 7;
	else if (url.len >= 8 && strncasecmp(url.data, "https://", 8) == 0 &&
	    p->pl->ssl.ctx != NULL) {
		s = url.data + 8;
		p->https = true;
	} else {
		log_conn(LOG_ERR, r->conn->number, "invalid URL prefix in "
		    "\"%.*s\"", (int)url.len, url.data);
		return 500;
	}
	e = url.data + url.len;
	slash = memchr(s, '/', (size_t)(e - s));
	host.data = (char *)s;
	host.len = (size_t)((slash ? slash : e) - s);
	if (host.len == 0)
		return 500;
	p->host = host;
	colon = memrchr(s, ':', host.len);
	if (colon != NULL && host.data[host.len - 1] != ']') {
		p->port.data = (char *)colon + 1;
		p->port.len = (size_t)(s + host.len - colon - 1);
	} else {
		p->port.data = p->https ? "443" : "80";
		p->port.len = p->https ? 3 : 2;
	}
	if ((p->up = find_upstream(r, &host)) == NULL) {
		if (addr_parse(&a, host.data, host.len, p->https ? 443 : 80,
		    false, err, sizeof(err)) == -1) {
			log_conn(LOG_ERR, r->conn->number, "no resolver defined "
			    "to resolve %.*s", (int)host.len, host.data);
			return 502;
		}
		if ((p->up = adhoc_upstream(r, &a, &host)) == NULL)
			return 500;
	}
	if (slash != NULL) {
		/* a URI given with variables is sent as it stands */
		p->uri.data = (char *)slash;
		p->uri.len = (size_t)(e - slash);
		return 0;
	}
	if (!r->uri_modified) {
		p->uri = r->unparsed_uri;
		return 0;
	}
	return make_uri(p, &(struct str)STR(""), r->uri.data, r->uri.len) == -1 ?
	    500 : 0;
}

int
proxy_resolve_target(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct proxy_loc	*pl = p->pl;
	struct str		 empty = STR("");
	int			 status;

	if (pl->url != NULL) {
		if ((status = resolve_dynamic(p)) != 0) {
			http_special(r, status);
			return -1;
		}
		return 0;
	}
	p->up = pl->upstream;
	p->https = pl->https;
	p->host = pl->host;
	p->port = pl->port;
	if (pl->has_uri && r->uri.len >= pl->location.len &&
	    memcmp(r->uri.data, pl->location.data, pl->location.len) == 0) {
		/* the location's prefix gives way to the URI part */
		status = make_uri(p, &pl->uri, r->uri.data + pl->location.len,
		    r->uri.len - pl->location.len);
	} else if (!pl->has_uri && !r->uri_modified) {
		p->uri = r->unparsed_uri;
		/* an absolute-form target: only its path goes on */
		if (r->in != NULL && r->in->path != NULL) {
			p->uri.data = (char *)r->in->path;
			p->uri.len = r->in->path_len;
		}
		status = 0;
		if (p->uri.len == 0 || p->uri.data[0] != '/')
			status = make_uri(p, &empty, r->uri.data, r->uri.len);
	} else
		status = make_uri(p, &empty, r->uri.data, r->uri.len);
	if (status == -1) {
		http_special(r, 500);
		return -1;
	}
	return 0;
}

/* The request head ------------------------------------------------------------ */

struct out_header {
	struct str	name, value;
};

static const struct str	default_names[] = { STR("Host"), STR("Connection") };

static bool
set_by_conf(const struct proxy_loc *pl, const char *n, size_t len)
{
	struct proxy_header	*h;
	size_t			 i;

	for (i = 0; i < 2; i++)
		if (str_caseeq(default_names[i].data, default_names[i].len, n,
		    len))
			return true;
	if (pl->set_headers == NULL)
		return false;
	for (i = 0; i < pl->set_headers->n; i++) {
		h = ARRAY_AT(pl->set_headers, struct proxy_header, i);
		if (str_caseeq(h->name.data, h->name.len, n, len))
			return true;
	}
	return false;
}

/* The configured value for a default header, if the level overrides it. */
static struct proxy_header *
override_of(const struct proxy_loc *pl, const struct str *name)
{
	struct proxy_header	*h;
	size_t			 i;

	if (pl->set_headers == NULL)
		return NULL;
	for (i = 0; i < pl->set_headers->n; i++) {
		h = ARRAY_AT(pl->set_headers, struct proxy_header, i);
		if (str_caseeq(h->name.data, h->name.len, name->data,
		    name->len))
			return h;
	}
	return NULL;
}

int
proxy_build_request(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct proxy_loc	*pl = p->pl;
	struct http1_req	*in = r->in;
	struct out_header	 hs[HTTP1_MAX_HEADERS + 64];
	struct proxy_header	*ph;
	const char		*conn_list = NULL;
	size_t			 nh = 0, size, i, conn_len = 0;
	char			*buf, *o, num[24];
	struct str		 method = r->method;
	bool			 body;
	int64_t			 blen;

	/* an empty proxy_method leaves the client's */
	if (pl->method != NULL) {
		if (cvalue_eval(r, pl->method, &method) == -1)
			return -1;
		if (method.len == 0)
			method = r->method;
		for (i = 0; i < method.len; i++)
			if ((unsigned char)method.data[i] <= ' ' ||
			    (unsigned char)method.data[i] >= 0x7f ||
			    strchr("()<>@,;:\\\"/[]?={}", method.data[i])) {
				/* stricter than nginx: a method is a token */
				log_conn(LOG_ERR, r->conn->number, "invalid "
				    "proxy_method \"%.*s\"", (int)method.len,
				    method.data);
				return -1;
			}
	}
	/* Host and Connection, unless the configuration says otherwise */
	for (i = 0; i < 2; i++) {
		ph = override_of(pl, &default_names[i]);
		if (ph != NULL)
			continue;
		hs[nh].name = default_names[i];
		if (i == 0)
			hs[nh].value = p->host;
		else
			hs[nh].value = (struct str)STR("close");
		nh++;
	}
	if (pl->set_headers != NULL) {
		for (i = 0; i < pl->set_headers->n && nh < 64; i++) {
			ph = ARRAY_AT(pl->set_headers, struct proxy_header, i);
			hs[nh].name = ph->name;
			if (cvalue_eval(r, ph->value, &hs[nh].value) == -1)
				return -1;
			/* an empty value removes the header */
			if (hs[nh].value.len > 0)
				nh++;
		}
	}
	if (pl->pass_request_headers && in != NULL) {
		for (i = 0; i < in->nheaders; i++)
			if (STR_CASEEQ_LIT(in->headers[i].name,
			    in->headers[i].name_len, "connection")) {
				conn_list = in->headers[i].value;
				conn_len = in->headers[i].value_len;
			}
		for (i = 0; i < in->nheaders && nh < sizeof(hs) /
		    sizeof(hs[0]); i++) {
			const struct http1_header *h = &in->headers[i];

			if (hop_by_hop(h->name, h->name_len) ||
			    STR_CASEEQ_LIT(h->name, h->name_len, "expect") ||
			    STR_CASEEQ_LIT(h->name, h->name_len,
			    "content-length") ||
			    set_by_conf(pl, h->name, h->name_len) ||
			    (conn_list != NULL && in_token_list(conn_list,
			    conn_len, h->name, h->name_len)))
				continue;
			hs[nh].name.data = (char *)h->name;
			hs[nh].name.len = h->name_len;
			hs[nh].value.data = (char *)h->value;
			hs[nh].value.len = h->value_len;
			nh++;
		}
	}
	body = pl->pass_request_body && (r->content_length >= 0 || r->chunked);
	blen = p->stream_body ? r->content_length :
	    (int64_t)r->body_in.len + r->body_in.file_len;

	size = method.len + 1 + p->uri.len + 12 + 40 + 30;
	for (i = 0; i < nh; i++)
		size += hs[i].name.len + 2 + hs[i].value.len + 2;
	if ((buf = pool_alloc(r->pool, size)) == NULL)
		return -1;
	o = buf;
	memcpy(o, method.data, method.len);
	o += method.len;
	*o++ = ' ';
	memcpy(o, p->uri.data, p->uri.len);
	o += p->uri.len;
	memcpy(o, pl->http_version == 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n",
	    11);
	o += 11;
	for (i = 0; i < nh; i++) {
		memcpy(o, hs[i].name.data, hs[i].name.len);
		o += hs[i].name.len;
		*o++ = ':';
		*o++ = ' ';
		memcpy(o, hs[i].value.data, hs[i].value.len);
		o += hs[i].value.len;
		*o++ = '\r';
		*o++ = '\n';
	}
	if (body && p->stream_chunked) {
		memcpy(o, "Transfer-Encoding: chunked\r\n", 28);
		o += 28;
	} else if (body) {
		memcpy(o, "Content-Length: ", 16);
		o += 16;
		i = str_utoa(num, (uint64_t)blen);
		memcpy(o, num, i);
		o += i;
		*o++ = '\r';
		*o++ = '\n';
	}
	*o++ = '\r';
	*o++ = '\n';
	p->out[0].iov_base = buf;
	p->out[0].iov_len = (size_t)(o - buf);
	p->nout = 1;
	p->out_first = 0;
	p->file_left = 0;
	/* a streamed body kept for $request_body is not sent twice */
	if (body && !p->stream_body && r->body_in.len > 0) {
		p->out[1].iov_base = r->body_in.mem;
		p->out[1].iov_len = r->body_in.len;
		p->nout = 2;
	}
	if (body && r->body_in.fd != -1 && r->body_in.file_len > 0) {
		p->file_fd = r->body_in.fd;
		p->file_left = r->body_in.file_len;
		p->file_off = 0;
	}
	p->out_built = true;
	return 0;
}

void
proxy_iov_consume(struct iovec *iov, int *first, int n, size_t done)
{
	while (done > 0 && *first < n) {
		if (done >= iov[*first].iov_len) {
			done -= iov[*first].iov_len;
			iov[*first].iov_len = 0;
			(*first)++;
		} else {
			iov[*first].iov_base = (char *)iov[*first].iov_base +
			    done;
			iov[*first].iov_len -= done;
			done = 0;
		}
	}
	while (*first < n && iov[*first].iov_len == 0)
		(*first)++;
}

/* A body spooled to a file, under TLS: read and encrypted in pieces. */
static ssize_t
send_file_tls(struct proxy_ctx *p)
{
	char	buf[16384];
	size_t	want = sizeof(buf);
	ssize_t	n;

	if ((int64_t)want > p->file_left)
		want = (size_t)p->file_left;
	/* a retried write sends the same bytes again from the same offset */
	n = pread(p->file_fd, buf, want, p->file_off);
	if (n <= 0)
		return IO_ERROR;
	n = conn_send(p->uc, buf, (size_t)n);
	if (n > 0) {
		p->file_off += n;
		p->file_left -= n;
	}
	return n == 0 ? IO_AGAIN : n;
}

ssize_t
proxy_send_file_body(struct proxy_ctx *p)
{
	ssize_t	n;

	if (p->uc->tls != NULL)
		return send_file_tls(p);
	n = sendfile(p->uc->io.fd, p->file_fd, &p->file_off,
	    (size_t)(p->file_left > (1 << 30) ? (1 << 30) : p->file_left));
	if (n > 0) {
		p->file_left -= n;
		return n;
	}
	if (n == -1 && errno == EAGAIN) {
		p->uc->writable = false;
		return IO_AGAIN;
	}
	return IO_ERROR;
}

/* The response head ----------------------------------------------------------- */

static bool
is_listed(const struct array *a, const char *n, size_t len)
{
	struct str	*s;
	size_t		 i;

	if (a == NULL)
		return false;
	for (i = 0; i < a->n; i++) {
		s = ARRAY_AT(a, struct str, i);
		if (str_caseeq(s->data, s->len, n, len))
			return true;
	}
	return false;
}

/* Hidden unless proxy_pass_header says otherwise (nginx's defaults). */
static bool
hidden(const struct proxy_loc *pl, const char *n, size_t len)
{
	if (is_listed(pl->pass_headers, n, len))
		return false;
	return STR_CASEEQ_LIT(n, len, "date") ||
	    STR_CASEEQ_LIT(n, len, "server") ||
	    STR_CASEEQ_LIT(n, len, "x-pad") ||
	    (len > 8 && strncasecmp(n, "x-accel-", 8) == 0) ||
	    is_listed(pl->hide_headers, n, len);
}

/*
 * proxy_redirect's default: "http://" host [uri] of proxy_pass becomes the
 * location's name (or nothing without a URI).  0 with *from and *to set,
 * -1 if it does not apply.
 */
static int
redirect_default(struct proxy_ctx *p, struct str *from, struct str *to)
{
	struct proxy_loc	*pl = p->pl;
	size_t			 flen;
	char			*f;

	if (pl->url != NULL || pl->upstream == NULL)
		return -1;
	flen = 7 + pl->host.len + (pl->has_uri ? pl->uri.len : 0);
	if ((f = pool_alloc(p->r->pool, flen + 1)) == NULL)
		return -1;
	memcpy(f, "http://", 7);
	memcpy(f + 7, pl->host.data, pl->host.len);
	if (pl->has_uri)
		memcpy(f + 7 + pl->host.len, pl->uri.data, pl->uri.len);
	from->data = f;
	from->len = flen;
	*to = pl->has_uri ? pl->location : (struct str)STR("");
	return 0;
}

/*
 * A regex rule replaces the whole value; its captures become the
 * request's $1.. for the replacement, as nginx does.  0 on a match.
 */
static int
redirect_regex(struct request *r, const struct proxy_redirect *rd,
    const char *v, size_t len, struct str *to)
{
	int	 caps[2 * REGEX_MAX_CAPTURES];
	char	*subject;

	if (!regex_match(rd->regex, v, len, caps,
	    sizeof(caps) / sizeof(caps[0])))
		return -1;
	if ((subject = pool_strndup(r->pool, v, len)) == NULL)
		return -1;
	memcpy(r->caps, caps, sizeof(caps));
	r->ncaps = rd->regex->ncaptures + 1;
	r->cap_subject.data = subject;
	r->cap_subject.len = len;
	return cvalue_eval(r, rd->to, to);
}

/*
 * proxy_redirect: the default replaces the proxy_pass URL's start with
 * the location; a list replaces prefixes (literal or with variables) or,
 * for a regex, the whole value; the first rule that matches wins.
 */
static struct str
rewrite_redirect(struct proxy_ctx *p, const char *v, size_t len)
{
	struct request		*r = p->r;
	struct proxy_loc	*pl = p->pl;
	struct str		 out = { (char *)v, len }, from, to;
	char			*buf;
	size_t			 i;

	if (pl->redirect_mode == PROXY_REDIRECT_OFF)
		return out;
	if (pl->redirect_mode == PROXY_REDIRECT_DEFAULT) {
		if (redirect_default(p, &from, &to) == -1 ||
		    len < from.len || strncasecmp(v, from.data, from.len) != 0)
			return out;
		goto replace;
	}
	for (i = 0; pl->redirects != NULL && i < pl->redirects->n; i++) {
		struct proxy_redirect *rd = ARRAY_AT(pl->redirects,
		    struct proxy_redirect, i);

		switch (rd->kind) {
		case PROXY_RD_DEFAULT:
			if (redirect_default(p, &from, &to) == -1 ||
			    len < from.len ||
			    strncasecmp(v, from.data, from.len) != 0)
				continue;
			goto replace;
		case PROXY_RD_REGEX:
			if (redirect_regex(r, rd, v, len, &to) == -1)
				continue;
			from.data = (char *)v;
			from.len = len;
			goto replace;
		default:
			from = rd->from;
			if (rd->from_value != NULL &&
			    cvalue_eval(r, rd->from_value, &from) == -1)
				return out;
			if (len < from.len ||
			    strncmp(v, from.data, from.len) != 0)
				continue;
			if (cvalue_eval(r, rd->to, &to) == -1)
				return out;
			goto replace;
		}
	}
	return out;
replace:
	if ((buf = pool_alloc(r->pool, to.len + len - from.len + 1)) == NULL)
		return out;
	memcpy(buf, to.data, to.len);
	memcpy(buf + to.len, v + from.len, len - from.len);
	out.data = buf;
	out.len = to.len + len - from.len;
	return out;
}

static int
status_cond(int status)
{
	switch (status) {
	case 500: return PROXY_NEXT_500;
	case 502: return PROXY_NEXT_502;
	case 503: return PROXY_NEXT_503;
	case 504: return PROXY_NEXT_504;
	case 403: return PROXY_NEXT_403;
	case 404: return PROXY_NEXT_404;
	case 429: return PROXY_NEXT_429;
	}
	return 0;
}

/* Whether another try could follow this one. */
static bool
can_retry(struct proxy_ctx *p)
{
	struct proxy_loc	*pl = p->pl;

	return !(pl->next_upstream & PROXY_NEXT_OFF) &&
	    (pl->next_tries == 0 || p->ntries < (unsigned)pl->next_tries) &&
	    (pl->next_timeout == 0 || clock_now.mono_ms - p->start_ms <
	    (uint64_t)pl->next_timeout) &&
	    p->ntries < p->up->npeers + p->up->nbackups &&
	    (p->r->method_id != HTTP1_M_POST &&
	    p->r->method_id != HTTP1_M_PATCH ?
	    true : (pl->next_upstream & PROXY_NEXT_NON_IDEMPOTENT) != 0);
}

/*
 * proxy_intercept_errors: the server's error answer is dropped and the
 * location's error_page serves the status instead; a 401 keeps its
 * challenge, as in nginx.
 */
static void
intercept(struct proxy_ctx *p, const struct http1_resp *u)
{
	struct request	*r = p->r;
	size_t		 i;

	if (u->status == 401)
		for (i = 0; i < u->nheaders; i++)
			if (STR_CASEEQ_LIT(u->headers[i].name,
			    u->headers[i].name_len, "WWW-Authenticate") &&
			    http_add_header(r, "WWW-Authenticate", 16,
			    u->headers[i].value, u->headers[i].value_len) == -1) {
				proxy_fail(p, 500);
				return;
			}
	p->last_status = u->status;
	proxy_fail(p, u->status);
}

/* Turns the parsed upstream head into the client's; 0 or -1. */
static int
client_head(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct proxy_loc	*pl = p->pl;
	struct http1_resp	*u = p->resp;
	const char		*conn_list = NULL;
	size_t			 i, conn_len = 0;
	struct header		*h;

	r->status = u->status;
	if (u->reason_len > 0 && http_status_text(u->status, &i) == NULL) {
		r->status_line.data = (char *)u->reason;
		r->status_line.len = u->reason_len;
	}
	for (i = 0; i < u->nheaders; i++)
		if (STR_CASEEQ_LIT(u->headers[i].name, u->headers[i].name_len,
		    "connection")) {
			conn_list = u->headers[i].value;
			conn_len = u->headers[i].value_len;
		}
	for (i = 0; i < u->nheaders; i++) {
		const struct http1_header *uh = &u->headers[i];
		const char	*n = uh->name;
		size_t		 nl = uh->name_len;

		if (STR_CASEEQ_LIT(n, nl, "content-length"))
			continue;
		if (p->upgrade && (STR_CASEEQ_LIT(n, nl, "upgrade"))) {
			/* the tunnel's protocol goes to the client */
		} else if (hop_by_hop(n, nl) || hidden(pl, n, nl) ||
		    (conn_list != NULL && in_token_list(conn_list, conn_len,
		    n, nl)))
			continue;
		if (STR_CASEEQ_LIT(n, nl, "content-type")) {
			r->content_type.data = (char *)uh->value;
			r->content_type.len = uh->value_len;
			continue;
		}
		if (STR_CASEEQ_LIT(n, nl, "location")) {
			r->location = rewrite_redirect(p, uh->value,
			    uh->value_len);
			continue;
		}
		if (STR_CASEEQ_LIT(n, nl, "server"))
			r->has_server = true;
		else if (STR_CASEEQ_LIT(n, nl, "date"))
			r->has_date = true;
		if ((h = array_push(&r->out_headers)) == NULL)
			return -1;
		h->name.data = (char *)n;
		h->name.len = nl;
		if (STR_CASEEQ_LIT(n, nl, "refresh")) {
			const char	*url = str_casefind(uh->value,
					    uh->value_len, "url=", 4);

			if (url != NULL) {
				struct str	rw;
				size_t		pre = (size_t)(url + 4 -
						    uh->value);
				char		*b;

				rw = rewrite_redirect(p, url + 4,
				    uh->value_len - pre);
				if ((b = pool_alloc(r->pool, pre + rw.len)) ==
				    NULL)
					return -1;
				memcpy(b, uh->value, pre);
				memcpy(b + pre, rw.data, rw.len);
				h->value.data = b;
				h->value.len = pre + rw.len;
				continue;
			}
		}
		h->value.data = (char *)uh->value;
		h->value.len = uh->value_len;
	}
	if (p->upgrade) {
		r->upgraded = true;
		r->out_length = -1;
		r->close_after = true;
		return 0;
	}
	/* framing for the client */
	if (p->resp_no_body) {
		r->out_length = r->head ? p->resp_length : -1;
	} else if (p->resp_length >= 0)
		r->out_length = p->resp_length;
	else if (r->version >= 11) {
		r->out_length = -1;
		r->chunked_out = true;
		p->client_chunked = true;
	} else {
		r->out_length = -1;
		r->close_after = true;
	}
	return 0;
}

int
proxy_parse_head(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct http1_resp	*u = p->resp;
	struct try_rec		*t = &p->tries_log[p->ntries - 1];
	ssize_t			 n;
	size_t			 i;
	int			 cond;

	http1_resp_init(u);
	u->max_header_line = p->hsize;
	n = http1_parse_response(u, p->hbuf, p->hlen);
	if (n == PARSE_AGAIN)
		return PROXY_AGAIN;
	if (n == PARSE_ERROR) {
		proxy_log(p, LOG_ERR, "upstream sent invalid header", 0);
		proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
		return 0;
	}
	if (u->status >= 100 && u->status < 200 && u->status != 101) {
		/* an interim answer: drop it and read on */
		memmove(p->hbuf, p->hbuf + n, p->hlen - (size_t)n);
		p->hlen -= (size_t)n;
		return p->hlen > 0 ? proxy_parse_head(p) : PROXY_AGAIN;
	}
	t->header_ms = clock_now.mono_ms;
	t->status = u->status;
	p->head_len = (size_t)n;
	if (u->status == 101) {
		if (r->in == NULL || !r->in->upgrade) {
			proxy_log(p, LOG_ERR, "upstream sent unexpected 101 "
			    "Switching Protocols", 0);
			proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
			return 0;
		}
		p->upgrade = true;
	}
	cond = status_cond(u->status);
	if (cond != 0 && (p->pl->next_upstream & cond) && can_retry(p)) {
		p->last_status = u->status;
		proxy_next(p, cond, u->status);
		return 0;
	}
	if (p->pl->intercept_errors && u->status >= 300 &&
	    !p->upgrade && http_has_error_page(r, u->status)) {
		intercept(p, u);
		return 0;
	}
	/* framing from the upstream (RFC 9112 6.3) */
	p->resp_length = -1;
	p->resp_chunked = false;
	p->resp_keepalive = u->version >= 11;
	for (i = 0; i < u->nheaders; i++) {
		const struct http1_header *h = &u->headers[i];

		if (STR_CASEEQ_LIT(h->name, h->name_len, "content-length")) {
			int64_t	v = str_atoi(h->value, h->value_len);

			if (v < 0 || (p->resp_length >= 0 &&
			    p->resp_length != v)) {
				proxy_log(p, LOG_ERR, "upstream sent invalid "
				    "\"Content-Length\" header", 0);
				proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
				return 0;
			}
			p->resp_length = v;
		} else if (STR_CASEEQ_LIT(h->name, h->name_len,
		    "transfer-encoding")) {
			if (!STR_CASEEQ_LIT(h->value, h->value_len, "chunked")) {
				proxy_log(p, LOG_ERR, "upstream sent unknown "
				    "\"Transfer-Encoding\"", 0);
				proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
				return 0;
			}
			p->resp_chunked = true;
		} else if (STR_CASEEQ_LIT(h->name, h->name_len, "connection")) {
			if (in_token_list(h->value, h->value_len, "close", 5))
				p->resp_keepalive = false;
			else if (in_token_list(h->value, h->value_len,
			    "keep-alive", 10) && u->version == 10)
				p->resp_keepalive = true;
		}
	}
	if (p->resp_chunked && p->resp_length >= 0) {
		/* both: a smuggling attempt or a broken upstream */
		proxy_log(p, LOG_ERR, "upstream sent \"Content-Length\" and "
		    "\"Transfer-Encoding\" headers at the same time", 0);
		proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
		return 0;
	}
	p->resp_no_body = r->head || u->status == 204 || u->status == 304;
	if (p->resp_chunked)
		p->resp_length = -1;
	if (client_head(p) == -1) {
		proxy_fail(p, 500);
		return 0;
	}
	proxy_stream_start(p);
	return 0;
}

/* Variables ------------------------------------------------------------------- */

static struct proxy_ctx *
ctx_of(struct request *r)
{
	return r->proxy;
}

static int
var_proxy_host(struct request *r, struct str *out, uintptr_t data)
{
	struct proxy_ctx	*p = ctx_of(r);

	if (p == NULL)
		return -1;
	*out = data ? p->port : p->host;
	return 0;
}

static int
var_add_xff(struct request *r, struct str *out, uintptr_t data)
{
	struct http1_req	*in = r->in;
	char			 ip[ADDR_STRLEN], *b;
	const char		*xff = NULL;
	size_t			 xlen = 0, il, i;

	addr_format(&r->conn->peer, ip, sizeof(ip), false);
	il = strlen(ip);
	for (i = 0; in != NULL && i < in->nheaders; i++)
		if (STR_CASEEQ_LIT(in->headers[i].name,
		    in->headers[i].name_len, "x-forwarded-for")) {
			xff = in->headers[i].value;
			xlen = in->headers[i].value_len;
		}
	if (xff == NULL || xlen == 0) {
		if ((b = pool_strndup(r->pool, ip, il)) == NULL)
			return -1;
		out->data = b;
		out->len = il;
		return 0;
	}
	if ((b = pool_alloc(r->pool, xlen + 2 + il)) == NULL)
		return -1;
	memcpy(b, xff, xlen);
	memcpy(b + xlen, ", ", 2);
	memcpy(b + xlen + 2, ip, il);
	out->data = b;
	out->len = xlen + 2 + il;
	return 0;
}

enum {
	UV_ADDR = 0,
	UV_STATUS,
	UV_RESPONSE_TIME,
	UV_CONNECT_TIME,
	UV_HEADER_TIME,
	UV_BYTES_RECEIVED,
	UV_BYTES_SENT
};

static size_t
msec_text(char *b, size_t size, uint64_t from, uint64_t to)
{
	uint64_t	ms = to >= from ? to - from : 0;
	int		n;

	n = snprintf(b, size, "%llu.%03llu", (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000));
	return n > 0 ? (size_t)n : 0;
}

/* $upstream_*: one value per try, ", " between them. */
/* The head of the last server's response, once there is one. */
static const struct http1_resp *
last_response(struct request *r)
{
	struct proxy_ctx	*p = ctx_of(r);

	if (p == NULL || p->resp == NULL || p->resp->status == 0)
		return NULL;
	return p->resp;
}

/* $upstream_http_NAME: a field of the server's response head. */
static int
var_upstream_http(struct request *r, struct str *out, uintptr_t data)
{
	const struct http1_resp	*u = last_response(r);

	if (u == NULL) {
		*out = (struct str)STR("");
		return -1;
	}
	return vars_join_fields(r, u->headers, u->nheaders,
	    (const struct str *)data, out);
}

/* $upstream_cookie_NAME: the value a Set-Cookie of the server sets. */
static int
var_upstream_cookie(struct request *r, struct str *out, uintptr_t data)
{
	const struct http1_resp	*u = last_response(r);
	const struct str	*want = (const struct str *)data;
	const char		*v, *e;
	size_t			 i;

	for (i = 0; u != NULL && want->len > 0 && i < u->nheaders; i++) {
		const struct http1_header *h = &u->headers[i];
		const char	*end = h->value + h->value_len;

		if (!STR_CASEEQ_LIT(h->name, h->name_len, "Set-Cookie") ||
		    h->value_len <= want->len ||
		    strncasecmp(h->value, want->data, want->len) != 0)
			continue;
		/* "name = value": spaces (not tabs) around '=', as nginx */
		for (v = h->value + want->len; v < end && *v == ' '; v++)
			;
		if (v == end || *v != '=')
			continue;
		for (v++; v < end && *v == ' '; v++)
			;
		if (v >= end || (e = memchr(v, ';', (size_t)(end - v))) ==
		    NULL)
			e = end;
		while (e > v && e[-1] == ' ')
			e--;
		out->data = (char *)v;
		out->len = (size_t)(e - v);
		return 0;
	}
	*out = (struct str)STR("");
	return -1;
}

static int
var_upstream(struct request *r, struct str *out, uintptr_t data)
{
	struct proxy_ctx	*p = ctx_of(r);
	struct try_rec		*t;
	char			*b;
	size_t			 size, len = 0;
	unsigned		 i;

	if (p == NULL || p->ntries == 0) {
		*out = (struct str)STR("");
		return -1;
	}
	size = p->ntries * (ADDR_STRLEN + 32);
	if ((b = pool_alloc(r->pool, size)) == NULL)
		return -1;
	for (i = 0; i < p->ntries; i++) {
		t = &p->tries_log[i];
		if (i > 0) {
			memcpy(b + len, ", ", 2);
			len += 2;
		}
		switch (data) {
		case UV_ADDR:
			len += (size_t)snprintf(b + len, size - len, "%s",
			    t->addr);
			break;
		case UV_STATUS:
			if (t->status)
				len += (size_t)snprintf(b + len, size - len,
				    "%d", t->status);
			else {
				memcpy(b + len, "-", 1);
				len++;
			}
			break;
		case UV_RESPONSE_TIME:
			len += msec_text(b + len, size - len, t->start_ms,
			    t->end_ms ? t->end_ms : clock_now.mono_ms);
			break;
		case UV_CONNECT_TIME:
		case UV_HEADER_TIME: {
			uint64_t	at = data == UV_CONNECT_TIME ?
					    t->connect_ms : t->header_ms;

			if (at == 0) {
				memcpy(b + len, "-", 1);
				len++;
			} else
				len += msec_text(b + len, size - len,
				    t->start_ms, at);
			break;
		}
		case UV_BYTES_RECEIVED:
			len += str_utoa(b + len, t->bytes_received);
			break;
		case UV_BYTES_SENT:
			len += str_utoa(b + len, t->bytes_sent);
			break;
		}
	}
	out->data = b;
	out->len = len;
	return 0;
}

int
proxy_vars_init(struct http_main *h)
{
	static const struct {
		const char	*name;
		var_get_fn	*get;
		uintptr_t	 data;
	} vars[] = {
		{ "proxy_host", var_proxy_host, 0 },
		{ "proxy_port", var_proxy_host, 1 },
		{ "proxy_add_x_forwarded_for", var_add_xff, 0 },
		{ "upstream_addr", var_upstream, UV_ADDR },
		{ "upstream_status", var_upstream, UV_STATUS },
		{ "upstream_response_time", var_upstream, UV_RESPONSE_TIME },
		{ "upstream_connect_time", var_upstream, UV_CONNECT_TIME },
		{ "upstream_header_time", var_upstream, UV_HEADER_TIME },
		{ "upstream_bytes_received", var_upstream, UV_BYTES_RECEIVED },
		{ "upstream_bytes_sent", var_upstream, UV_BYTES_SENT },
	};
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars_define(&h->vars, vars[i].name, vars[i].get,
		    vars[i].data, VAR_NOCACHE) == -1)
			return 0;	/* already there: a second http block */
	if (vars_define(&h->vars, "upstream_http_", var_upstream_http, 0,
	    VAR_PREFIX | VAR_NOCACHE) == -1 ||
	    vars_define(&h->vars, "upstream_cookie_", var_upstream_cookie, 0,
	    VAR_PREFIX | VAR_NOCACHE) == -1)
		return 0;
	return 0;
}
