/*
 * The variable registry of an http block, the getters of the built-in
 * variables, and complex values (strings with $name and $1 in them).
 * What a value is used for (headers, rewrites, logs) is left to callers.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../common/clock.h"
#include "../common/conf.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "static.h"
#include "stub_status.h"
#include "vars.h"

/* Values of at most this many parts are evaluated without allocating a
 * scratch array. */
#define CV_STACK_PARTS	16

/* Helpers for getters ----------------------------------------------------- */

static int
not_found(struct str *out)
{
	out->data = (char *)"";
	out->len = 0;
	return -1;
}

static int
set_lit(struct str *out, const char *s, size_t len)
{
	out->data = (char *)s;
	out->len = len;
	return 0;
}

#define SET_LIT(out, lit)	set_lit((out), (lit), sizeof(lit) - 1)

/* A slice of the request: found when it was ever set (data != NULL). */
static int
set_slice(struct str *out, const struct str *s)
{
	if (s->data == NULL)
		return not_found(out);
	*out = *s;
	return 0;
}

static int
set_uint(struct request *r, struct str *out, uint64_t v)
{
	char	*p;

	if ((p = pool_alloc(r->pool, 21)) == NULL)
		return not_found(out);
	out->data = p;
	out->len = str_utoa(p, v);
	return 0;
}

/* "S.mmm" from milliseconds, as $msec and $request_time print. */
static int
set_msec(struct request *r, struct str *out, uint64_t ms)
{
	char	*p;
	size_t	 n;
	unsigned frac = (unsigned)(ms % 1000);

	if ((p = pool_alloc(r->pool, 26)) == NULL)
		return not_found(out);
	n = str_utoa(p, ms / 1000);
	p[n++] = '.';
	p[n++] = (char)('0' + frac / 100);
	p[n++] = (char)('0' + frac / 10 % 10);
	p[n++] = (char)('0' + frac % 10);
	out->data = p;
	out->len = n;
	return 0;
}

static int
set_copy(struct request *r, struct str *out, const char *s, size_t len)
{
	char	*p;

	if ((p = pool_alloc(r->pool, len + 1)) == NULL)
		return not_found(out);
	memcpy(p, s, len);
	out->data = p;
	out->len = len;
	return 0;
}

static const struct str *
first_server_name(const struct request *r)
{
	const struct http_srv	*s = r->srv;

	if (s == NULL || s->names.n == 0)
		return NULL;
	return &ARRAY_AT(&s->names, struct server_name, 0)->shown;
}

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/*
 * Whether a header name matches a variable's suffix, which is lowercase
 * with '_' standing for '-' (nginx's rule for $http_NAME).
 */
static bool
header_name_matches(const char *h, size_t hlen, const struct str *want)
{
	size_t		i;
	unsigned char	c;

	if (hlen != want->len)
		return false;
	for (i = 0; i < hlen; i++) {
		c = lower((unsigned char)h[i]);
		if (c == '-')
			c = '_';
		if (c != (unsigned char)want->data[i])
			return false;
	}
	return true;
}

/* Request headers --------------------------------------------------------- */

const struct http1_header *
http_req_header(const struct request *r, const char *name, size_t len)
{
	const struct http1_req	*in = r->in;
	size_t			 i;

	if (in == NULL)
		return NULL;
	for (i = 0; i < in->nheaders; i++)
		if (str_caseeq(in->headers[i].name, in->headers[i].name_len,
		    name, len))
			return &in->headers[i];
	return NULL;
}

/*
 * $http_NAME: one header's value as it came, several joined with ", "
 * ("; " for Cookie, RFC 6265 5.4), as nginx does since 1.23.
 */
int
vars_join_fields(struct request *r, const struct http1_header *hs,
    size_t nh, const struct str *want, struct str *out)
{
	const struct http1_header *h, *first = NULL;
	size_t			 i, n = 0, total = 0, sep;
	char			*p;

	for (i = 0; i < nh; i++) {
		h = &hs[i];
		if (!header_name_matches(h->name, h->name_len, want))
			continue;
		if (first == NULL)
			first = h;
		n++;
		total += h->value_len;
	}
	if (first == NULL)
		return not_found(out);
	if (n == 1)
		return set_lit(out, first->value, first->value_len);
	/* header bytes fit in the read buffer, so this cannot overflow */
	total += (n - 1) * 2;
	if ((p = pool_alloc(r->pool, total)) == NULL)
		return not_found(out);
	sep = STR_EQ_LIT(want->data, want->len, "cookie") ? ';' : ',';
	out->data = p;
	for (i = 0; i < nh; i++) {
		h = &hs[i];
		if (!header_name_matches(h->name, h->name_len, want))
			continue;
		if (p != out->data) {
			*p++ = (char)sep;
			*p++ = ' ';
		}
		memcpy(p, h->value, h->value_len);
		p += h->value_len;
	}
	out->len = (size_t)(p - out->data);
	return 0;
}

static int
get_http(struct request *r, struct str *out, uintptr_t data)
{
	if (r->in == NULL)
		return not_found(out);
	return vars_join_fields(r, r->in->headers, r->in->nheaders,
	    (const struct str *)data, out);
}

static int
get_in_header(struct request *r, struct str *out, uintptr_t data)
{
	const struct str		*name = (const struct str *)data;
	const struct http1_header	*h;

	if ((h = http_req_header(r, name->data, name->len)) == NULL)
		return not_found(out);
	return set_lit(out, h->value, h->value_len);
}

/*
 * $cookie_NAME: the first "NAME=value" pair of the Cookie headers, the
 * name compared case-insensitively as nginx does.
 */
static bool
cookie_find(const char *p, size_t len, const struct str *want,
    struct str *out)
{
	const char	*end = p + len, *name, *v;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		name = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		if (p == end || *p == ';')
			continue;
		v = ++p;
		while (p < end && *p != ';')
			p++;
		if (!str_caseeq(name, (size_t)(v - 1 - name), want->data,
		    want->len))
			continue;
		while (p > v && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		out->data = (char *)v;
		out->len = (size_t)(p - v);
		return true;
	}
	return false;
}

static int
get_cookie(struct request *r, struct str *out, uintptr_t data)
{
	const struct str	*want = (const struct str *)data;
	const struct http1_req	*in = r->in;
	const struct http1_header *h;
	size_t			 i;

	if (in == NULL || want->len == 0)
		return not_found(out);
	for (i = 0; i < in->nheaders; i++) {
		h = &in->headers[i];
		if (STR_CASEEQ_LIT(h->name, h->name_len, "cookie") &&
		    cookie_find(h->value, h->value_len, want, out))
			return 0;
	}
	return not_found(out);
}

/*
 * $arg_NAME: the raw value of the first argument NAME (compared
 * case-insensitively, as nginx does); "a" alone or "a=" is found, empty.
 */
static int
get_arg(struct request *r, struct str *out, uintptr_t data)
{
	const struct str	*want = (const struct str *)data;
	const char		*p = r->args.data, *end, *name, *name_end;

	if (p == NULL || want->len == 0)
		return not_found(out);
	end = p + r->args.len;
	while (p < end) {
		name = p;
		while (p < end && *p != '=' && *p != '&')
			p++;
		name_end = p;
		if (p < end && *p == '=')
			p++;
		out->data = (char *)p;
		while (p < end && *p != '&')
			p++;
		if (str_caseeq(name, (size_t)(name_end - name), want->data,
		    want->len)) {
			out->len = (size_t)(p - out->data);
			return 0;
		}
		if (p < end)
			p++;
	}
	return not_found(out);
}

/* Response headers -------------------------------------------------------- */

/* $sent_http_NAME: the header as usher sends it, several joined by ", ". */
/* The values of the headers of list called want, joined with ", ". */
static int
join_headers(struct request *r, const struct array *list,
    const struct str *want, struct str *out)
{
	const struct header	*h;
	size_t			 i, n = 0, total = 0;
	const struct header	*first = NULL;
	char			*p;

	for (i = 0; list != NULL && i < list->n; i++) {
		h = ARRAY_AT(list, struct header, i);
		if (!header_name_matches(h->name.data, h->name.len, want))
			continue;
		if (first == NULL)
			first = h;
		n++;
		total += h->value.len;
	}
	if (first == NULL)
		return not_found(out);
	if (n == 1)
		return set_slice(out, &first->value);
	total += (n - 1) * 2;
	if ((p = pool_alloc(r->pool, total)) == NULL)
		return not_found(out);
	out->data = p;
	for (i = 0; i < list->n; i++) {
		h = ARRAY_AT(list, struct header, i);
		if (!header_name_matches(h->name.data, h->name.len, want))
			continue;
		if (p != out->data) {
			*p++ = ',';
			*p++ = ' ';
		}
		memcpy(p, h->value.data, h->value.len);
		p += h->value.len;
	}
	out->len = (size_t)(p - out->data);
	return 0;
}

static int
get_sent_http(struct request *r, struct str *out, uintptr_t data)
{
	const struct str	*want = (const struct str *)data;

	if (STR_EQ_LIT(want->data, want->len, "content_type") &&
	    r->content_type.len > 0)
		return set_slice(out, &r->content_type);
	if (STR_EQ_LIT(want->data, want->len, "content_length") &&
	    r->out_length >= 0)
		return set_uint(r, out, (uint64_t)r->out_length);
	if (STR_EQ_LIT(want->data, want->len, "location") &&
	    r->location.len > 0)
		return set_slice(out, &r->location);
	return join_headers(r, &r->out_headers, want, out);
}

/* $sent_trailer_NAME: the trailers add_trailer added so far. */
static int
get_sent_trailer(struct request *r, struct str *out, uintptr_t data)
{
	return join_headers(r, r->out_trailers, (const struct str *)data, out);
}

/* The request line and URI ------------------------------------------------ */

enum {
	RQ_REQUEST = 1,
	RQ_METHOD,
	RQ_REQUEST_URI,
	RQ_URI,
	RQ_ARGS
};

static int
get_request_field(struct request *r, struct str *out, uintptr_t data)
{
	switch (data) {
	case RQ_REQUEST:	return set_slice(out, &r->request_line);
	case RQ_METHOD:		return set_slice(out, &r->method);
	case RQ_REQUEST_URI:	return set_slice(out, &r->unparsed_uri);
	case RQ_URI:
		/* a request refused before its URI was known: empty, as
		 * nginx logs it, not "-" */
		if (r->uri.data == NULL)
			return SET_LIT(out, "");
		return set_slice(out, &r->uri);
	case RQ_ARGS:
		/* no '?' at all: not found, so logs show "-" as nginx's do */
		if (r->args.data == NULL)
			return not_found(out);
		out->data = r->args.data;
		out->len = r->args.len;
		return 0;
	}
	return not_found(out);
}

static int
get_is_args(struct request *r, struct str *out, uintptr_t data)
{
	return r->args.len > 0 ? SET_LIT(out, "?") : SET_LIT(out, "");
}

static int
get_host(struct request *r, struct str *out, uintptr_t data)
{
	const struct str	*name;

	if (r->host.len > 0)
		return set_slice(out, &r->host);
	if ((name = first_server_name(r)) != NULL)
		return set_slice(out, name);
	return SET_LIT(out, "");
}

static int
get_server_name(struct request *r, struct str *out, uintptr_t data)
{
	const struct str	*name;

	if ((name = first_server_name(r)) != NULL)
		return set_slice(out, name);
	return SET_LIT(out, "");
}

static int
get_hostname(struct request *r, struct str *out, uintptr_t data)
{
	const char	*h = str_hostname();

	return set_lit(out, h, strlen(h));
}

static int
get_server_protocol(struct request *r, struct str *out, uintptr_t data)
{
	if (r->version == 10)
		return SET_LIT(out, "HTTP/1.0");
	if (r->version == 11)
		return SET_LIT(out, "HTTP/1.1");
	return not_found(out);
}

/* The connection ---------------------------------------------------------- */

static int
get_remote_addr(struct request *r, struct str *out, uintptr_t data)
{
	const struct addr	*a = &r->conn->peer;
	char			*p;

	if (a->u.sa.sa_family == AF_UNIX)
		return SET_LIT(out, "unix:");
	if ((p = pool_alloc(r->pool, INET6_ADDRSTRLEN)) == NULL)
		return not_found(out);
	out->data = p;
	out->len = addr_format(a, p, INET6_ADDRSTRLEN, false);
	return 0;
}

/* $binary_remote_addr: 4 or 16 bytes, the key of rate-limiting zones. */
static int
get_binary_remote_addr(struct request *r, struct str *out, uintptr_t data)
{
	const struct addr	*a = &r->conn->peer;

	if (a->u.sa.sa_family == AF_INET)
		return set_lit(out, (const char *)&a->u.sin.sin_addr, 4);
	if (a->u.sa.sa_family == AF_INET6)
		return set_lit(out, (const char *)&a->u.sin6.sin6_addr, 16);
	return SET_LIT(out, "");
}

static int
get_remote_port(struct request *r, struct str *out, uintptr_t data)
{
	int	port = addr_port(&r->conn->peer);

	if (port <= 0)
		return SET_LIT(out, "");
	return set_uint(r, out, (uint64_t)port);
}

static int
get_server_addr(struct request *r, struct str *out, uintptr_t data)
{
	struct conn	*c = r->conn;
	char		*p;

	if (conn_local_addr(c) == -1)
		return not_found(out);
	if ((p = pool_alloc(r->pool, ADDR_STRLEN)) == NULL)
		return not_found(out);
	out->data = p;
	out->len = addr_format(&c->local, p, ADDR_STRLEN, false);
	return 0;
}

static int
get_server_port(struct request *r, struct str *out, uintptr_t data)
{
	int	port;

	if (conn_local_addr(r->conn) == -1)
		return not_found(out);
	if ((port = addr_port(&r->conn->local)) <= 0)
		return SET_LIT(out, "");
	return set_uint(r, out, (uint64_t)port);
}

static int
get_scheme(struct request *r, struct str *out, uintptr_t data)
{
	return r->conn->tls != NULL ? SET_LIT(out, "https") :
	    SET_LIT(out, "http");
}

static int
get_https(struct request *r, struct str *out, uintptr_t data)
{
	return r->conn->tls != NULL ? SET_LIT(out, "on") : SET_LIT(out, "");
}

enum {
	NUM_CONNECTION = 1,
	NUM_CONNECTION_REQUESTS,
	NUM_BYTES_SENT,
	NUM_BODY_BYTES_SENT,
	NUM_REQUEST_LENGTH,
	NUM_PID
};

static int
get_number(struct request *r, struct str *out, uintptr_t data)
{
	uint64_t	v = 0;

	switch (data) {
	case NUM_CONNECTION:		v = r->conn->number; break;
	case NUM_CONNECTION_REQUESTS:	v = r->conn->requests; break;
	case NUM_BYTES_SENT:		v = r->bytes_sent; break;
	case NUM_BODY_BYTES_SENT:	v = r->body_bytes_sent; break;
	case NUM_REQUEST_LENGTH:	v = r->request_length; break;
	case NUM_PID:
		v = (uint64_t)(log_pid != 0 ? log_pid : getpid());
		break;
	}
	return set_uint(r, out, v);
}

/* stub_status's counters, as nginx's $connections_* */
static int
get_connections(struct request *r, struct str *out, uintptr_t data)
{
	return set_uint(r, out, stub_status_value((enum stat_value)data));
}

/* The response and timing ------------------------------------------------- */

static int
get_status(struct request *r, struct str *out, uintptr_t data)
{
	char		*p;
	unsigned	 s;

	/* no status yet (the client went away first): nginx prints 000 */
	if (r->status <= 0)
		return SET_LIT(out, "000");
	if (r->status > 999)
		return set_uint(r, out, (uint64_t)r->status);
	if ((p = pool_alloc(r->pool, 3)) == NULL)
		return not_found(out);
	s = (unsigned)r->status;
	p[0] = (char)('0' + s / 100);
	p[1] = (char)('0' + s / 10 % 10);
	p[2] = (char)('0' + s % 10);
	return set_lit(out, p, 3);
}

static int
get_request_time(struct request *r, struct str *out, uintptr_t data)
{
	uint64_t	now = clock_now.real_ms;

	/* the wall clock may step back; never print a negative time */
	return set_msec(r, out, now > r->start_ms && r->start_ms != 0 ?
	    now - r->start_ms : 0);
}

static int
get_connection_time(struct request *r, struct str *out, uintptr_t data)
{
	uint64_t	now = clock_now.real_ms, from = r->conn->start_ms;

	return set_msec(r, out, now > from && from != 0 ? now - from : 0);
}

static int
get_msec(struct request *r, struct str *out, uintptr_t data)
{
	return set_msec(r, out, clock_now.real_ms);
}

/* Copies, since clock_now changes under a request that lasts a second. */
static int
get_time_local(struct request *r, struct str *out, uintptr_t data)
{
	return set_copy(r, out, clock_now.local_time,
	    strlen(clock_now.local_time));
}

static int
get_time_iso8601(struct request *r, struct str *out, uintptr_t data)
{
	return set_copy(r, out, clock_now.iso8601, strlen(clock_now.iso8601));
}

static int
get_request_completion(struct request *r, struct str *out, uintptr_t data)
{
	return r->done ? SET_LIT(out, "OK") : SET_LIT(out, "");
}

static int
get_document_root(struct request *r, struct str *out, uintptr_t data)
{
	char		 in[PATH_MAX], path[PATH_MAX];
	struct str	 root;

	/* the root or alias, variables evaluated */
	if (r->loc == NULL || static_document_root(r, &root) == -1)
		return not_found(out);
	if (data == 0) {
		*out = root;
		return 0;
	}
	/* $realpath_root: symlinks resolved, for atomic deploys by symlink */
	if (root.len >= sizeof(in))
		return not_found(out);
	memcpy(in, root.data, root.len);
	in[root.len] = '\0';
	if (realpath(in, path) == NULL)
		return not_found(out);
	return set_copy(r, out, path, strlen(path));
}

/* The body only when it is whole in memory, as nginx gives it. */
static int
get_request_body(struct request *r, struct str *out, uintptr_t data)
{
	const struct req_body	*b = &r->body_in;

	if (!b->done || b->fd != -1 || b->len == 0)
		return not_found(out);
	return set_lit(out, b->mem, b->len);
}

static int
get_request_body_file(struct request *r, struct str *out, uintptr_t data)
{
	const char	*path;

	if (!r->body_in.done || (path = http_body_file_name(r)) == NULL)
		return not_found(out);
	return set_lit(out, path, strlen(path));
}

/*
 * $limit_rate: what "set $limit_rate" stored or sending worked out; 0
 * before that, as nginx evaluates limit_rate's variables only then.
 */
static int
get_limit_rate(struct request *r, struct str *out, uintptr_t data)
{
	return set_uint(r, out, r->limit_rate > 0 ? (uint64_t)r->limit_rate :
	    0);
}

static int
get_pipe(struct request *r, struct str *out, uintptr_t data)
{
	return r->pipelined ? SET_LIT(out, "p") : SET_LIT(out, ".");
}

/* RFC 4648 base64 into dst (room for 3/4 of len); its length, or -1. */
static ssize_t
base64_decode(char *dst, const char *src, size_t len)
{
	size_t		 i, n = 0;
	unsigned	 acc = 0, bits = 0;
	int		 v;
	char		 c;

	while (len > 0 && src[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		c = src[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[n++] = (char)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

/*
 * $remote_user: the user name of Basic credentials in Authorization, as
 * nginx reads it whether or not auth_basic checks it.
 */
static int
get_remote_user(struct request *r, struct str *out, uintptr_t data)
{
	const struct http1_header	*h;
	const char			*v, *colon;
	size_t				 len;
	ssize_t				 n;
	char				*buf;

	if ((h = http_req_header(r, "Authorization", 13)) == NULL ||
	    h->value_len < 6 || !str_caseeq(h->value, 5, "Basic", 5) ||
	    h->value[5] != ' ')
		return not_found(out);
	v = h->value + 6;
	len = h->value_len - 6;
	while (len > 0 && *v == ' ') {
		v++;
		len--;
	}
	if (len == 0 || (buf = pool_alloc(r->pool, len / 4 * 3 + 3)) == NULL ||
	    (n = base64_decode(buf, v, len)) <= 0 ||
	    (colon = memchr(buf, ':', (size_t)n)) == NULL)
		return not_found(out);
	return set_lit(out, buf, (size_t)(colon - buf));
}


/* $request_id ------------------------------------------------------------- */

/*
 * xoshiro256** seeded through splitmix64 from one getrandom() per
 * process: request ids must not repeat across workers, but need no
 * cryptographic strength, and a system call per request is too dear.
 */
static uint64_t	rng_state[4];
static pid_t	rng_pid;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(pid_t pid)
{
	uint64_t	seed[4], x;
	size_t		i;

	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(seed)) {
		/* early boot without entropy: still distinct per worker */
		seed[0] = clock_now.real_ms ^ ((uint64_t)pid << 32);
		seed[1] = clock_now.mono_ms;
		seed[2] = (uint64_t)(uintptr_t)&seed;
		seed[3] = (uint64_t)pid;
	}
	x = seed[0] ^ seed[1] ^ seed[2] ^ seed[3];
	for (i = 0; i < 4; i++)
		rng_state[i] = seed[i] ^ splitmix64(&x);
	rng_pid = pid;
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(void)
{
	uint64_t	*s = rng_state;
	uint64_t	 result = rotl(s[1] * 5, 7) * 9;
	uint64_t	 t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static int
get_request_id(struct request *r, struct str *out, uintptr_t data)
{
	static const char	hex[] = "0123456789abcdef";
	pid_t			pid = log_pid != 0 ? log_pid : getpid();
	uint64_t		v;
	int			i, j;

	if (r->request_id[0] == '\0') {
		/* a forked worker must not replay its parent's sequence */
		if (rng_pid != pid)
			rng_seed(pid);
		for (i = 0; i < 2; i++) {
			v = rng_next();
			for (j = 0; j < 16; j++, v >>= 4)
				r->request_id[i * 16 + j] = hex[v & 0xf];
		}
		r->request_id[32] = '\0';
	}
	return set_lit(out, r->request_id, 32);
}

/* The registry ------------------------------------------------------------ */

struct var_def {
	const char	*name;
	var_get_fn	*get;
	uintptr_t	 data;
	unsigned	 flags;
};

static const struct str	hdr_content_length = STR("Content-Length");
static const struct str	var_content_type = STR("content_type");

static const struct var_def	builtin_vars[] = {
	{ "host",		get_host,		0, 0 },
	{ "hostname",		get_hostname,		0, 0 },
	{ "remote_addr",	get_remote_addr,	0, 0 },
	{ "binary_remote_addr",	get_binary_remote_addr,	0, 0 },
	{ "remote_port",	get_remote_port,	0, 0 },
	{ "remote_user",	get_remote_user,	0, 0 },
	{ "server_addr",	get_server_addr,	0, 0 },
	{ "server_port",	get_server_port,	0, 0 },
	{ "server_name",	get_server_name,	0, 0 },
	{ "server_protocol",	get_server_protocol,	0, 0 },
	{ "scheme",		get_scheme,		0, 0 },
	{ "https",		get_https,		0, 0 },
	{ "request",		get_request_field,	RQ_REQUEST, 0 },
	{ "request_method",	get_request_field,	RQ_METHOD, 0 },
	{ "request_uri",	get_request_field,	RQ_REQUEST_URI, 0 },
	{ "uri",		get_request_field,	RQ_URI, VAR_NOCACHE },
	{ "document_uri",	get_request_field,	RQ_URI, VAR_NOCACHE },
	{ "args",		get_request_field,	RQ_ARGS, VAR_NOCACHE },
	{ "query_string",	get_request_field,	RQ_ARGS, VAR_NOCACHE },
	{ "is_args",		get_is_args,		0, VAR_NOCACHE },
	{ "content_length",	get_in_header,
	    (uintptr_t)&hdr_content_length, 0 },
	/* several are joined, as nginx since 1.23 does */
	{ "content_type",	get_http,
	    (uintptr_t)&var_content_type, 0 },
	{ "status",		get_status,		0, VAR_NOCACHE },
	{ "body_bytes_sent",	get_number,	NUM_BODY_BYTES_SENT, VAR_NOCACHE },
	{ "bytes_sent",		get_number,	NUM_BYTES_SENT, VAR_NOCACHE },
	{ "request_length",	get_number,	NUM_REQUEST_LENGTH, VAR_NOCACHE },
	{ "connection",		get_number,	NUM_CONNECTION, 0 },
	{ "connection_requests", get_number,	NUM_CONNECTION_REQUESTS, 0 },
	{ "pid",		get_number,		NUM_PID, 0 },
	{ "request_time",	get_request_time,	0, VAR_NOCACHE },
	{ "connection_time",	get_connection_time,	0, VAR_NOCACHE },
	{ "request_completion",	get_request_completion,	0, VAR_NOCACHE },
	{ "msec",		get_msec,		0, VAR_NOCACHE },
	{ "time_local",		get_time_local,		0, VAR_NOCACHE },
	{ "time_iso8601",	get_time_iso8601,	0, VAR_NOCACHE },
	{ "request_id",		get_request_id,		0, 0 },
	{ "request_body",	get_request_body,	0, VAR_NOCACHE },
	{ "pipe",		get_pipe,		0, 0 },
	{ "limit_rate",		get_limit_rate,		0, VAR_NOCACHE },
	{ "request_body_file",	get_request_body_file,	0, VAR_NOCACHE },
	{ "document_root",	get_document_root,	0, VAR_NOCACHE },
	{ "connections_active",	get_connections,	STAT_ACTIVE, VAR_NOCACHE },
	{ "connections_reading", get_connections, STAT_VAL_READING,
	    VAR_NOCACHE },
	{ "connections_writing", get_connections, STAT_VAL_WRITING,
	    VAR_NOCACHE },
	{ "connections_waiting", get_connections, STAT_VAL_WAITING,
	    VAR_NOCACHE },
	{ "realpath_root",	get_document_root,	1, VAR_NOCACHE },
	/* families: the rest of the name is passed as a struct str * */
	{ "http_",		get_http,		0, VAR_PREFIX },
	{ "sent_http_",		get_sent_http,		0,
	    VAR_PREFIX | VAR_NOCACHE },
	{ "sent_trailer_",	get_sent_trailer,	0,
	    VAR_PREFIX | VAR_NOCACHE },
	{ "cookie_",		get_cookie,		0, VAR_PREFIX },
	{ "arg_",		get_arg,		0,
	    VAR_PREFIX | VAR_NOCACHE },
	{ NULL, NULL, 0, 0 }
};

/* Adds an entry; the name is copied lowercase.  NULL if out of memory. */
static struct var *
vars_add(struct vars *vs, const char *name, size_t len)
{
	struct var	*v;
	char		*p;

	if ((p = pool_alloc(vs->pool, len + 1)) == NULL)
		return NULL;
	str_lower(p, name, len);
	p[len] = '\0';
	if ((v = array_push(&vs->list)) == NULL)
		return NULL;
	v->name.data = p;
	v->name.len = len;
	return v;
}

int
vars_init(struct vars *vs, struct pool *pool)
{
	const struct var_def	*d;
	struct var		*v;

	vs->pool = pool;
	vs->nsettable = 0;
	if (array_init(&vs->list, pool, 64, sizeof(struct var)) == -1)
		return -1;
	for (d = builtin_vars; d->name != NULL; d++) {
		if ((v = vars_add(vs, d->name, strlen(d->name))) == NULL)
			return -1;
		v->get = d->get;
		v->data = d->data;
		v->flags = d->flags;
	}
	return 0;
}

/* The index of an exact (non-family) entry, or -1. */
static int
vars_find(const struct vars *vs, const char *name, size_t len)
{
	const struct var	*v;
	size_t			 i;

	for (i = 0; i < vs->list.n; i++) {
		v = ARRAY_AT(&vs->list, struct var, i);
		if (!(v->flags & VAR_PREFIX) &&
		    str_caseeq(v->name.data, v->name.len, name, len))
			return (int)i;
	}
	return -1;
}

int
vars_index(struct vars *vs, struct conf *cf, const char *name, size_t len)
{
	const struct var	*fam;
	struct var		*v;
	struct str		*suffix;
	var_get_fn		*get;
	unsigned		 flags;
	size_t			 i, plen;
	int			 idx;

	if ((idx = vars_find(vs, name, len)) != -1) {
		if (str_caseeq(name, len, "request_body", 12))
			vs->request_body_used = true;
		return idx;
	}
	for (i = 0; i < vs->list.n; i++) {
		fam = ARRAY_AT(&vs->list, struct var, i);
		/* "$arg_" alone is a name nginx takes, always empty */
		if (!(fam->flags & VAR_PREFIX) || len < fam->name.len ||
		    !str_caseeq(name, fam->name.len, fam->name.data,
		    fam->name.len))
			continue;
		/* copy what we need: array_push may move *fam */
		get = fam->get;
		flags = fam->flags & ~(unsigned)VAR_PREFIX;
		plen = fam->name.len;
		if ((suffix = pool_alloc(vs->pool, sizeof(*suffix))) == NULL ||
		    (v = vars_add(vs, name, len)) == NULL)
			return -1;
		suffix->data = v->name.data + plen;
		suffix->len = len - plen;
		v->get = get;
		v->data = (uintptr_t)suffix;
		v->flags = flags;
		return (int)(vs->list.n - 1);
	}
	conf_error(cf, "unknown \"%.*s\" variable", (int)len, name);
	return -1;
}

int
vars_define(struct vars *vs, const char *name, var_get_fn *get,
    uintptr_t data, unsigned flags)
{
	struct var	*v;
	int		 idx;

	if ((idx = vars_find(vs, name, strlen(name))) != -1) {
		/* "set $x" read before "map ... $x": the map defines it */
		v = ARRAY_AT(&vs->list, struct var, idx);
		if (!(flags & VAR_CHANGEABLE) || v->get != NULL ||
		    !(v->flags & VAR_SETTABLE))
			return -1;
		vs->nsettable--;
		v->get = get;
		v->data = data;
		v->flags = flags;
		return idx;
	}
	if ((v = vars_add(vs, name, strlen(name))) == NULL)
		return -1;
	v->get = get;
	v->data = data;
	v->flags = flags;
	return (int)(vs->list.n - 1);
}

int
vars_add_settable(struct vars *vs, const char *name, size_t len)
{
	struct var	*v;
	int		 idx;

	if ((idx = vars_find(vs, name, len)) != -1) {
		v = ARRAY_AT(&vs->list, struct var, idx);
		/*
		 * A built-in cannot be overwritten by set or a capture; a
		 * map's, geo's or split_clients' value can (its getter
		 * returns a value stored in the request first).
		 */
		return (v->flags & (VAR_SETTABLE | VAR_CHANGEABLE)) ? idx : -1;
	}
	if ((v = vars_add(vs, name, len)) == NULL)
		return -1;
	v->get = NULL;
	v->data = 0;
	v->flags = VAR_SETTABLE | VAR_NOCACHE;
	vs->nsettable++;
	return (int)(vs->list.n - 1);
}

int
vars_get(struct request *r, int idx, struct str *out)
{
	const struct vars	*vs = &r->http->vars;
	const struct var	*v;

	if (idx < 0 || (size_t)idx >= vs->list.n)
		return not_found(out);
	v = ARRAY_AT(&vs->list, struct var, idx);
	if (v->flags & VAR_SETTABLE) {
		if (r->vset == NULL || !r->vset[idx])
			return not_found(out);
		*out = r->vals[idx];
		return 0;
	}
	return v->get(r, out, v->data);
}

void
vars_set(struct request *r, int idx, const struct str *val)
{
	const struct vars	*vs = &r->http->vars;
	size_t			 n = vs->list.n;

	if (idx < 0 || (size_t)idx >= n)
		return;
	if (r->vset == NULL) {
		if (val == NULL)
			return;
		/* indexed by variable, sized once: the registry is frozen
		 * after the configuration is loaded */
		r->vals = pool_alloc(r->pool, n * sizeof(*r->vals));
		r->vset = pool_calloc(r->pool, n);
		if (r->vals == NULL || r->vset == NULL) {
			r->vset = NULL;
			return;
		}
	}
	if (val == NULL) {
		r->vset[idx] = 0;
		return;
	}
	r->vals[idx] = *val;
	r->vset[idx] = 1;
}

/* Complex values ---------------------------------------------------------- */

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/*
 * Splits s[0..len) into parts; with parts NULL only counts them.
 * Returns the count, or -1 after conf_error().
 */
static ssize_t
cv_scan(struct conf *cf, struct vars *vs, const char *s, size_t len,
    struct cv_part *parts)
{
	size_t		 i = 0, start, nlen, lit = 0;
	ssize_t		 n = 0;
	const char	*name;
	int		 idx;

	while (i < len) {
		if (s[i] != '$') {
			i++;
			continue;
		}
		/* nginx has no literal '$': one without a name is an error */
		if (i + 1 == len || !(is_name_char(s[i + 1]) ||
		    s[i + 1] == '{')) {
			conf_error(cf, "invalid variable name");
			return -1;
		}
		if (i > lit) {
			if (parts != NULL) {
				parts[n].kind = CV_LITERAL;
				parts[n].lit.data = (char *)s + lit;
				parts[n].lit.len = i - lit;
			}
			n++;
		}
		start = ++i;
		if (s[i] >= '0' && s[i] <= '9') {
			/* $1..$9: one digit, so "$10" is $1 then "0" */
			if (parts != NULL) {
				parts[n].kind = CV_CAPTURE;
				parts[n].n = s[i] - '0';
			}
			n++;
			lit = ++i;
			continue;
		}
		if (s[i] == '{') {
			start = ++i;
			while (i < len && s[i] != '}')
				i++;
			if (i == len) {
				conf_error(cf, "the closing bracket in "
				    "\"%.*s\" variable is missing",
				    (int)(i - start), s + start);
				return -1;
			}
			name = s + start;
			nlen = i++ - start;
			if (nlen == 0) {
				conf_error(cf, "invalid variable name in "
				    "\"%.*s\"", (int)len, s);
				return -1;
			}
		} else {
			while (i < len && is_name_char(s[i]))
				i++;
			name = s + start;
			nlen = i - start;
		}
		if (nlen == 1 && name[0] >= '0' && name[0] <= '9') {
			/* ${1}: a capture followed by name characters */
			idx = name[0] - '0';
			if (parts != NULL) {
				parts[n].kind = CV_CAPTURE;
				parts[n].n = idx;
			}
		} else if (parts != NULL) {
			if ((idx = vars_index(vs, cf, name, nlen)) == -1)
				return -1;
			parts[n].kind = CV_VAR;
			parts[n].n = idx;
		}
		n++;
		lit = i;
	}
	if (len > lit) {
		if (parts != NULL) {
			parts[n].kind = CV_LITERAL;
			parts[n].lit.data = (char *)s + lit;
			parts[n].lit.len = len - lit;
		}
		n++;
	}
	return n;
}

struct cvalue *
cvalue_compile(struct conf *cf, struct vars *vs, const struct str *src)
{
	struct cvalue	*cv;
	char		*copy;
	ssize_t		 n;
	size_t		 i;

	if ((cv = pool_calloc(cf->pool, sizeof(*cv))) == NULL ||
	    (copy = pool_strndup(cf->pool, src->data, src->len)) == NULL)
		return NULL;
	cv->literal.data = copy;
	cv->literal.len = src->len;
	if ((n = cv_scan(cf, vs, copy, src->len, NULL)) == -1)
		return NULL;
	if (n == 0 || (n == 1 && memchr(copy, '$', src->len) == NULL))
		return cv;
	if ((cv->parts = pool_alloc(cf->pool,
	    (size_t)n * sizeof(*cv->parts))) == NULL)
		return NULL;
	if (cv_scan(cf, vs, copy, src->len, cv->parts) != n)
		return NULL;
	cv->nparts = (size_t)n;
	for (i = 0; i < cv->nparts; i++)
		if (cv->parts[i].kind != CV_LITERAL)
			cv->dynamic = true;
	return cv;
}

static void
capture_value(const struct request *r, int n, struct str *out)
{
	int	from, to;

	out->data = (char *)"";
	out->len = 0;
	if (n < 0 || n >= r->ncaps || n >= REGEX_MAX_CAPTURES)
		return;
	from = r->caps[2 * n];
	to = r->caps[2 * n + 1];
	if (from < 0 || to < from || (size_t)to > r->cap_subject.len)
		return;
	out->data = r->cap_subject.data + from;
	out->len = (size_t)(to - from);
}

int
cvalue_eval(struct request *r, const struct cvalue *cv, struct str *out)
{
	struct str		 stack[CV_STACK_PARTS], *vals = stack;
	const struct cv_part	*p;
	size_t			 i, total = 0;
	char			*d;

	if (!cv->dynamic) {
		*out = cv->literal;
		return 0;
	}
	if (cv->nparts > CV_STACK_PARTS &&
	    (vals = pool_alloc(r->pool, cv->nparts * sizeof(*vals))) == NULL)
		return -1;
	for (i = 0; i < cv->nparts; i++) {
		p = &cv->parts[i];
		switch (p->kind) {
		case CV_LITERAL:
			vals[i] = p->lit;
			break;
		case CV_VAR:
			/* not found evaluates to empty, whatever the getter
			 * left in vals[i] */
			if (vars_get(r, p->n, &vals[i]) == -1)
				vals[i] = (struct str)STR("");
			break;
		default:
			capture_value(r, p->n, &vals[i]);
		}
		if (vals[i].len > SIZE_MAX - 1 - total)
			return -1;
		total += vals[i].len;
	}
	if ((d = pool_alloc(r->pool, total + 1)) == NULL)
		return -1;
	out->data = d;
	out->len = total;
	for (i = 0; i < cv->nparts; i++) {
		memcpy(d, vals[i].data, vals[i].len);
		d += vals[i].len;
	}
	*d = '\0';
	return 0;
}

int
cvalue_eval_rewrite(struct request *r, const struct cvalue *cv,
    bool redirect, struct str *out)
{
	struct str		 stack[CV_STACK_PARTS], *vals = stack, c;
	const struct cv_part	*p;
	size_t			 i, total = 0;
	bool			 is_args = false;
	char			*d;

	if (!cv->dynamic || (!r->quoted_uri && !r->plus_in_uri))
		return cvalue_eval(r, cv, out);
	if (cv->nparts > CV_STACK_PARTS &&
	    (vals = pool_alloc(r->pool, cv->nparts * sizeof(*vals))) == NULL)
		return -1;
	for (i = 0; i < cv->nparts; i++) {
		p = &cv->parts[i];
		switch (p->kind) {
		case CV_LITERAL:
			vals[i] = p->lit;
			if (memchr(p->lit.data, '?', p->lit.len) != NULL)
				is_args = true;
			break;
		case CV_VAR:
			if (vars_get(r, p->n, &vals[i]) == -1)
				vals[i] = (struct str)STR("");
			break;
		default:
			capture_value(r, p->n, &c);
			vals[i] = c;
			if (!is_args && !redirect)
				break;
			if (c.len > SIZE_MAX / 3 ||
			    (d = pool_alloc(r->pool, 3 * c.len + 1)) == NULL)
				return -1;
			vals[i].data = d;
			vals[i].len = str_escape_args(d, c.data, c.len);
		}
		if (vals[i].len > SIZE_MAX - 1 - total)
			return -1;
		total += vals[i].len;
	}
	if ((d = pool_alloc(r->pool, total + 1)) == NULL)
		return -1;
	out->data = d;
	out->len = total;
	for (i = 0; i < cv->nparts; i++) {
		memcpy(d, vals[i].data, vals[i].len);
		d += vals[i].len;
	}
	*d = '\0';
	return 0;
}
