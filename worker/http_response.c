/*
 * Building and sending response heads, the built-in error pages, and
 * error_page redirection.
 */
#include <stdio.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "charset.h"
#include "encode.h"
#include "http_conf.h"
#include "static.h"
#include "worker_state.h"

#define SERVER_FULL	"usher/" PACKAGE_VERSION

struct status_text {
	int		 code;
	const char	*text;
};

static const struct status_text	statuses[] = {
	{ 100, "Continue" }, { 101, "Switching Protocols" },
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
	{ 205, "Reset Content" }, { 206, "Partial Content" },
	{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
	{ 302, "Moved Temporarily" }, { 303, "See Other" },
	{ 304, "Not Modified" }, { 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 402, "Payment Required" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Not Allowed" },
	{ 406, "Not Acceptable" }, { 408, "Request Time-out" },
	{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
	{ 412, "Precondition Failed" }, { 413, "Request Entity Too Large" },
	{ 414, "Request-URI Too Large" }, { 415, "Unsupported Media Type" },
	{ 416, "Requested Range Not Satisfiable" },
	{ 417, "Expectation Failed" }, { 421, "Misdirected Request" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 494, "Request Header Or Cookie Too Large" },
	{ 495, "The SSL certificate error" },
	{ 496, "No required SSL certificate was sent" },
	{ 497, "The plain HTTP request was sent to HTTPS port" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 502, "Bad Gateway" }, { 503, "Service Temporarily Unavailable" },
	{ 504, "Gateway Time-out" }, { 505, "HTTP Version Not Supported" },
	{ 507, "Insufficient Storage" },
	{ 0, NULL }
};

const char *
http_status_text(int status, size_t *len)
{
	const struct status_text	*s;

	for (s = statuses; s->code != 0; s++)
		if (s->code == status) {
			*len = strlen(s->text);
			return s->text;
		}
	*len = 0;
	return NULL;
}

int
http_add_header(struct request *r, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct header	*h;

	if ((h = array_push(&r->out_headers)) == NULL)
		return -1;
	h->name.data = (char *)name;
	h->name.len = nlen;
	h->value.data = pool_strndup(r->pool, value, vlen);
	h->value.len = vlen;
	return h->value.data == NULL ? -1 : 0;
}

/* add_header applies to these unless "always" is given. */
static bool
add_header_status(int s)
{
	return s == 200 || s == 201 || s == 204 || s == 206 || s == 301 ||
	    s == 302 || s == 303 || s == 304 || s == 307 || s == 308;
}

/* An absolute Location for a relative one, as absolute_redirect wants. */
static struct str
absolute_location(struct request *r)
{
	struct http_loc		*l = r->loc ? r->loc : r->srv->loc;
	struct str		 loc = r->location, host = r->host;
	char			 ip[ADDR_STRLEN], ip6[ADDR_STRLEN + 2], *p;
	int			 port = 0, n;
	size_t			 size;

	if (loc.len == 0 || loc.data[0] != '/' || !l->absolute_redirect)
		return loc;
	if (l->server_name_in_redirect || host.len == 0) {
		struct server_name	*sn = r->srv->names.n > 0 ?
					    ARRAY_AT(&r->srv->names,
					    struct server_name, 0) : NULL;

		/* without a Host (or with a bad one) nginx names the local
		 * address, unless server_name_in_redirect says otherwise */
		if (l->server_name_in_redirect && sn != NULL &&
		    sn->kind == SN_EXACT && sn->name.len > 0)
			host = sn->name;
		else if (host.len == 0 && conn_local_addr(r->conn) == 0) {
			addr_format(&r->conn->local, ip, sizeof(ip), false);
			host.data = ip;
			host.len = strlen(ip);
			if (r->conn->local.u.sa.sa_family == AF_INET6) {
				/* brackets go around an IPv6 literal */
				n = snprintf(ip6, sizeof(ip6), "[%.*s]",
				    (int)host.len, host.data);
				host.data = ip6;
				host.len = n > 0 ? (size_t)n : 0;
			}
		}
	}
	if (l->port_in_redirect && conn_local_addr(r->conn) == 0) {
		port = addr_port(&r->conn->local);
		if (port == (r->conn->tls != NULL ? 443 : 80))
			port = 0;
	}
	size = 8 + host.len + 6 + loc.len + 1;
	if ((p = pool_alloc(r->pool, size)) == NULL)
		return loc;
	if (port)
		n = snprintf(p, size, "%s://%.*s:%d%.*s", r->conn->tls != NULL ?
		    "https" : "http", (int)host.len, host.data, port,
		    (int)loc.len, loc.data);
	else
		n = snprintf(p, size, "%s://%.*s%.*s", r->conn->tls != NULL ?
		    "https" : "http", (int)host.len, host.data, (int)loc.len,
		    loc.data);
	if (n < 0 || (size_t)n >= size)
		return loc;
	loc.data = p;
	loc.len = (size_t)n;
	return loc;
}

static char *
put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

static void	builtin_page(struct request *, int);

static void
drop_header(struct request *r, const struct str *name)
{
	struct header	*h;
	size_t		 i;

	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		if (!str_caseeq(h->name.data, h->name.len, name->data,
		    name->len))
			continue;
		memmove(h, h + 1, (r->out_headers.n - i - 1) * sizeof(*h));
		r->out_headers.n--;
		i--;
	}
}

/* The response's Last-Modified time (a proxied one's), or -1. */
static time_t
last_modified(const struct request *r)
{
	const struct header	*h;
	size_t			 i;

	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		if (str_caseeq(h->name.data, h->name.len, "Last-Modified", 13))
			return clock_parse_http_date(h->value.data,
			    h->value.len);
	}
	return -1;
}

#define PUT_LIT(p, lit)	put((p), (lit), sizeof(lit) - 1)

/*
 * keepalive_disable: browsers known to mishandle a reused connection, as
 * nginx recognises them by User-Agent (MSIE 4-6 after a POST; Safari on
 * Mac OS X).
 */
static bool
keepalive_disabled(const struct request *r, const struct http_loc *l)
{
	const struct http1_header	*h = NULL;
	const char			*ua, *m, *end;
	size_t				 i, n;

	if (l->keepalive_disable == 0 || r->in == NULL)
		return false;
	for (i = 0; i < r->in->nheaders; i++)
		if (STR_CASEEQ_LIT(r->in->headers[i].name,
		    r->in->headers[i].name_len, "User-Agent")) {
			h = &r->in->headers[i];
			break;
		}
	if (h == NULL)
		return false;
	ua = h->value;
	n = h->value_len;
	end = ua + n;
	if ((l->keepalive_disable & KEEPALIVE_DISABLE_MSIE6) &&
	    r->method_id == HTTP1_M_POST &&
	    (m = memmem(ua, n, "MSIE ", 5)) != NULL && m + 7 < end &&
	    memmem(ua, n, "Opera", 5) == NULL && m[6] == '.' &&
	    (m[5] == '4' || m[5] == '5' || (m[5] == '6' &&
	    memmem(m + 8, (size_t)(end - m - 8), "SV1", 3) == NULL)))
		return true;
	return (l->keepalive_disable & KEEPALIVE_DISABLE_SAFARI) &&
	    memmem(ua, n, "Gecko/", 6) == NULL &&
	    memmem(ua, n, "Chrome/", 7) == NULL &&
	    memmem(ua, n, "Safari/", 7) != NULL &&
	    memmem(ua, n, "Mac OS X", 8) != NULL;
}

char *
http_build_head(struct request *r, size_t *len)
{
	struct http_loc		*l = r->loc ? r->loc : r->srv->loc;
	struct conn		*c = r->conn;
	struct header		*h;
	struct header_add	*ha;
	struct str		 v, location = STR_NULL, reason, ctype;
	size_t			 size, i, rlen;
	const char		*rtext;
	char			*buf, *p, num[24];
	int			 status = r->status, line_status;
	bool			 body_allowed;

	/* the charset and coding filters first: they change the framing */
	charset_header(r);
	encode_header(r);
	if (!r->keepalive || worker.quitting ||
	    c->requests >= (unsigned)l->keepalive_requests ||
	    l->keepalive_timeout == 0 ||
	    clock_now.real_ms - c->start_ms > (uint64_t)l->keepalive_time ||
	    keepalive_disabled(r, l))
		r->close_after = true;
	line_status = status >= 494 && status <= 497 ? 400 : status;
	rtext = http_status_text(line_status, &rlen);
	if (r->status_line.len > 0) {
		reason = r->status_line;
	} else {
		reason.data = (char *)(rtext ? rtext : "");
		reason.len = rlen;
	}
	body_allowed = status != 204 && status != 304 && status >= 200;
	if (r->location.len > 0)
		location = absolute_location(r);
	ctype = r->content_type;
	if (!r->expires_done && r->loc != NULL &&
	    r->loc->static_files.expires != STATIC_EXPIRES_OFF &&
	    static_expires(r, last_modified(r)) == -1)
		return NULL;

	/* size first, then one allocation for the whole head */
	size = 64 + reason.len + sizeof(SERVER_FULL) + 48 + 80 +
	    ctype.len + 40 + location.len + 64 + 32;
	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		size += h->name.len + h->value.len + 4;
	}
	if (l->add_headers != NULL) {
		for (i = 0; i < l->add_headers->n; i++) {
			ha = ARRAY_AT(l->add_headers, struct header_add, i);
			if (!ha->always && !add_header_status(status))
				continue;
			if (cvalue_eval(r, ha->value, &v) == -1)
				continue;
			/* as nginx: these replace the response's own, "" drops */
			if (STR_CASEEQ_LIT(ha->name.data, ha->name.len,
			    "Last-Modified") || STR_CASEEQ_LIT(ha->name.data,
			    ha->name.len, "ETag"))
				drop_header(r, &ha->name);
			/* evaluated once here, appended below */
			if (v.len == 0)
				continue;
			if (http_add_header(r, ha->name.data, ha->name.len,
			    v.data, v.len) == -1)
				break;
			size += ha->name.len + v.len + 4;
		}
	}
	if ((buf = pool_alloc(r->pool, size)) == NULL)
		return NULL;
	p = buf;
	/* formatted by hand: snprintf showed in profiles */
	p = PUT_LIT(p, "HTTP/1.1 ");
	*p++ = (char)('0' + line_status / 100 % 10);
	*p++ = (char)('0' + line_status / 10 % 10);
	*p++ = (char)('0' + line_status % 10);
	*p++ = ' ';
	p = put(p, reason.data, reason.len);
	p = PUT_LIT(p, "\r\n");
	if (r->has_server)
		;	/* passed from the upstream (proxy_pass_header) */
	else if (l->server_tokens)
		p = PUT_LIT(p, "Server: " SERVER_FULL "\r\n");
	else
		p = PUT_LIT(p, "Server: usher\r\n");
	if (!r->has_date) {
		p = PUT_LIT(p, "Date: ");
		p = put(p, clock_now.http_date, strlen(clock_now.http_date));
		p = PUT_LIT(p, "\r\n");
	}
	if (r->content_type.len > 0 && body_allowed) {
		p = PUT_LIT(p, "Content-Type: ");
		p = put(p, ctype.data, ctype.len);
		p = PUT_LIT(p, "\r\n");
	}
	if (r->out_length >= 0 && (body_allowed || r->head)) {
		p = PUT_LIT(p, "Content-Length: ");
		p = put(p, num, str_utoa(num, (uint64_t)r->out_length));
		p = PUT_LIT(p, "\r\n");
	} else if (r->chunked_out && body_allowed)
		p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
	if (location.len > 0) {
		p = PUT_LIT(p, "Location: ");
		p = put(p, location.data, location.len);
		p = PUT_LIT(p, "\r\n");
	}
	if (r->upgraded)
		p = PUT_LIT(p, "Connection: upgrade\r\n");
	else if (r->close_after)
		p = PUT_LIT(p, "Connection: close\r\n");
	else {
		p = PUT_LIT(p, "Connection: keep-alive\r\n");
		if (l->keepalive_header > 0) {
			p = PUT_LIT(p, "Keep-Alive: timeout=");
			p = put(p, num, str_utoa(num,
			    (uint64_t)(l->keepalive_header / 1000)));
			p = PUT_LIT(p, "\r\n");
		}
	}
	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		p = put(p, h->name.data, h->name.len);
		p = PUT_LIT(p, ": ");
		p = put(p, h->value.data, h->value.len);
		p = PUT_LIT(p, "\r\n");
	}
	p = PUT_LIT(p, "\r\n");
	r->header_sent = true;
	*len = (size_t)(p - buf);
	return buf;
}

/* add_trailer has something for this response. */
static bool
trailers_apply(const struct request *r, int status)
{
	const struct http_loc	*l = r->loc ? r->loc : r->srv->loc;
	const struct header_add	*ha;
	size_t			 i;

	if (l->add_trailers == NULL || r->version < 11 || r->head)
		return false;
	for (i = 0; i < l->add_trailers->n; i++) {
		ha = ARRAY_AT(l->add_trailers, struct header_add, i);
		if (ha->always || add_header_status(status))
			return true;
	}
	return false;
}

/*
 * The end of a chunked body in memory (after the CRLF that ends a chunk,
 * if crlf): the last chunk and add_trailer's fields, evaluated in order so
 * that $sent_trailer_ sees those before.
 */
static int
build_trailers(struct request *r, int status, bool crlf, struct str *out)
{
	const struct http_loc	*l = r->loc ? r->loc : r->srv->loc;
	const struct header_add	*ha;
	struct header		*h;
	struct str		 v;
	size_t			 i, size = 9;
	char			*p;

	if ((r->out_trailers = pool_alloc(r->pool,
	    sizeof(*r->out_trailers))) == NULL ||
	    array_init(r->out_trailers, r->pool, 4, sizeof(struct header)) ==
	    -1)
		return -1;
	for (i = 0; i < l->add_trailers->n; i++) {
		ha = ARRAY_AT(l->add_trailers, struct header_add, i);
		if (!ha->always && !add_header_status(status))
			continue;
		if (cvalue_eval(r, ha->value, &v) == -1)
			return -1;
		if (v.len == 0)
			continue;
		if ((h = array_push(r->out_trailers)) == NULL)
			return -1;
		h->name = ha->name;
		h->value = v;
		size += ha->name.len + v.len + 4;
	}
	if ((p = pool_alloc(r->pool, size)) == NULL)
		return -1;
	out->data = p;
	if (crlf)
		p = PUT_LIT(p, "\r\n");
	p = PUT_LIT(p, "0\r\n");
	for (i = 0; i < r->out_trailers->n; i++) {
		h = ARRAY_AT(r->out_trailers, struct header, i);
		p = put(p, h->name.data, h->name.len);
		p = PUT_LIT(p, ": ");
		p = put(p, h->value.data, h->value.len);
		p = PUT_LIT(p, "\r\n");
	}
	p = PUT_LIT(p, "\r\n");
	out->len = (size_t)(p - out->data);
	return 0;
}

void
http_respond(struct request *r)
{
	struct conn		*c = r->conn;
	struct iovec		 iov[4];
	char			*buf;
	size_t			 hlen;
	int			 status;
	bool			 body_allowed, trailers;

	/* a malformed body already here turns the answer into a 400 */
	if (r->discard_body && http_conn_check_body(r) == -1) {
		log_conn(LOG_INFO, c->number, "client sent invalid chunked body");
		r->discard_body = false;
		r->keepalive = false;
		r->close_after = true;
		r->lingering = true;
		r->err_status = 0;
		r->location.len = 0;
		r->status = 0;
		builtin_page(r, 400);
		return;
	}
	if (r->err_status > 0)
		r->status = r->err_status;
	status = r->status;
	/* the body will be read (to drop it): tell a waiting client to send */
	if (r->discard_body && r->expect_continue && !r->hc->sent_continue &&
	    r->hc->rend == r->hc->rstart) {
		static const char	cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		r->hc->sent_continue = true;
		conn_send(c, cont, sizeof(cont) - 1);
	}
	if (status == 444) {
		r->close_after = true;
		r->lingering = false;
		http_conn_request_done(r);
		return;
	}
	body_allowed = status != 204 && status != 304 && status >= 200;
	/* trailers need chunked framing, even for a length known here */
	trailers = body_allowed && trailers_apply(r, status);
	if (trailers) {
		r->out_length = -1;
		r->chunked_out = true;
	} else if (body_allowed)
		r->out_length = (int64_t)r->body.len;
	if ((buf = http_build_head(r, &hlen)) == NULL) {
		r->close_after = true;
		http_conn_request_done(r);
		return;
	}
	iov[0].iov_base = buf;
	iov[0].iov_len = hlen;
	iov[1].iov_base = r->body.data;
	iov[1].iov_len = (r->head || !body_allowed) ? 0 : r->body.len;
	/* compressed: encode_memory frames the chunks, without trailers */
	if (trailers && r->coder == NULL) {
		struct str	end;
		int		n = 1;

		if (build_trailers(r, status, r->body.len > 0, &end) == -1) {
			r->close_after = true;
			http_conn_request_done(r);
			return;
		}
		if (r->body.len > 0) {
			char	*line = pool_alloc(r->pool, 20);
			int	 ll;

			if (line == NULL) {
				r->close_after = true;
				http_conn_request_done(r);
				return;
			}
			ll = snprintf(line, 20, "%zx\r\n", r->body.len);
			iov[n].iov_base = line;
			iov[n++].iov_len = (size_t)ll;
			iov[n].iov_base = r->body.data;
			iov[n++].iov_len = r->body.len;
		}
		iov[n].iov_base = end.data;
		iov[n++].iov_len = end.len;
		r->body_bytes_sent = r->body.len;
		if (http_conn_write(r, iov, n) == -1) {
			r->close_after = true;
			http_conn_request_done(r);
		}
		return;
	}
	if (r->coder != NULL && !r->head && body_allowed) {
		struct str	coded;

		if (encode_memory(r, r->body.data, r->body.len, &coded) == -1) {
			r->close_after = true;
			http_conn_request_done(r);
			return;
		}
		iov[1].iov_base = coded.data;
		iov[1].iov_len = coded.len;
	}
	r->body_bytes_sent = iov[1].iov_len;
	if (http_conn_write(r, iov, 2) == -1) {
		r->close_after = true;
		http_conn_request_done(r);
	}
}

/* The built-in page for an error or a redirect. */
static void
builtin_page(struct request *r, int status)
{
	struct http_loc	*l = r->loc ? r->loc : r->srv->loc;
	const char	*text;
	size_t		 tlen, size;
	char		*b;
	int		 n, shown = status >= 494 && status <= 497 ? 400 : status;

	r->status = status;
	r->body.len = 0;
	r->content_type.len = 0;
	if (status == 204 || status == 304 || status < 300) {
		http_respond(r);
		return;
	}
	text = http_status_text(status, &tlen);
	if (text == NULL) {
		http_respond(r);
		return;
	}
	size = 2 * tlen + 256;
	if ((b = pool_alloc(r->pool, size)) == NULL) {
		http_respond(r);
		return;
	}
	if (shown != status)	/* nginx's 400 pages that tell why */
		n = snprintf(b, size, "<html>\r\n<head><title>400 %s</title>"
		    "</head>\r\n<body>\r\n<center><h1>400 Bad Request</h1>"
		    "</center>\r\n<center>%s</center>\r\n<hr><center>%s"
		    "</center>\r\n</body>\r\n</html>\r\n", text, text,
		    l->server_tokens ? SERVER_FULL : "usher");
	else
		n = snprintf(b, size, "<html>\r\n<head><title>%d %s</title>"
		    "</head>\r\n<body>\r\n<center><h1>%d %s</h1></center>"
		    "\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
		    shown, text, shown, text, l->server_tokens ? SERVER_FULL :
		    "usher");
	if (n > 0 && (size_t)n < size) {
		r->body.data = b;
		r->body.len = (size_t)n;
		r->content_type.data = "text/html";
		r->content_type.len = 9;
	}
	http_respond(r);
}

static bool
closes_connection(int status)
{
	return status == 400 || status == 408 || status == 413 ||
	    status == 414 || (status >= 494 && status <= 497) || status == 500 ||
	    status == 501 || status == 505;
}

static struct error_page *
find_error_page(struct request *r, int status)
{
	struct http_loc		*l = r->loc ? r->loc : r->srv->loc;
	struct error_page	*ep;
	size_t			 i;

	if (l->error_pages == NULL)
		return NULL;
	if (r->error_page && !l->recursive_error_pages)
		return NULL;
	/* out of URI changes: the built-in page, or this would loop forever */
	if (r->error_page && r->uri_changes <= 1)
		return NULL;
	for (i = 0; i < l->error_pages->n; i++) {
		ep = ARRAY_AT(l->error_pages, struct error_page, i);
		if (ep->status == status)
			return ep;
	}
	return NULL;
}

bool
http_has_error_page(struct request *r, int status)
{
	return find_error_page(r, status) != NULL;
}

void
http_special(struct request *r, int status)
{
	struct error_page	*ep;
	struct str		 uri, args = STR_NULL;
	char			*q;
	size_t			 i;

	if (closes_connection(status)) {
		r->keepalive = false;
		r->close_after = true;
	}
	if (r->header_sent)
		return;
	if (r->error_page && r->uri_changes <= 1 && r->loc != NULL &&
	    r->loc->recursive_error_pages && r->loc->error_pages != NULL) {
		/* error pages that keep failing: nginx's cycle 500 */
		log_conn(LOG_ERR, r->conn->number, "rewrite or internal "
		    "redirection cycle while internally redirecting to "
		    "\"%.*s\"", (int)r->uri.len, r->uri.data);
		r->err_status = 0;
		r->keepalive = false;
		r->close_after = true;
		builtin_page(r, 500);
		return;
	}
	if ((ep = find_error_page(r, status)) == NULL ||
	    cvalue_eval(r, ep->uri, &uri) == -1 || uri.len == 0) {
		/*
		 * An error or redirect raised while serving an error page is
		 * sent with its own status (nginx since 1.15.4), not the
		 * first error's.
		 */
		if (status >= 300)
			r->err_status = 0;
		builtin_page(r, status);
		return;
	}
	r->error_page = true;
	r->err_status = ep->overwrite > 0 ? ep->overwrite :
	    ep->overwrite == 0 ? 0 : status;
	if (uri.data[0] == '@') {
		for (i = 0; i < r->srv->named.n; i++) {
			struct http_loc	*n = *ARRAY_AT(&r->srv->named,
					    struct http_loc *, i);

			if (str_eq(n->name.data, n->name.len, uri.data,
			    uri.len)) {
				http_request_named(r, n);
				return;
			}
		}
		log_conn(LOG_ERR, r->conn->number, "could not find named "
		    "location \"%.*s\"", (int)uri.len, uri.data);
		r->err_status = 0;
		builtin_page(r, 500);
		return;
	}
	if (uri.data[0] != '/') {
		/* a URL: send the client there */
		r->location = uri;
		r->err_status = 0;
		builtin_page(r, ep->overwrite == 301 || ep->overwrite == 303 ||
		    ep->overwrite == 307 || ep->overwrite == 308 ?
		    ep->overwrite : 302);
		return;
	}
	if ((q = memchr(uri.data, '?', uri.len)) != NULL) {
		args.data = q + 1;
		args.len = uri.len - (size_t)(q - uri.data) - 1;
		uri.len = (size_t)(q - uri.data);
	}
	/* the error page is fetched with GET, as nginx does */
	if (!r->head) {
		r->method.data = "GET";
		r->method.len = 3;
		r->method_id = HTTP1_M_GET;
	}
	http_request_redirect(r, &uri, q ? &args : NULL);
}
