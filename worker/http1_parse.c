/*
 * The HTTP/1 request and response head parsers and the chunked body
 * decoder (RFC 9110, RFC 9112).  They hand back slices of the caller's
 * buffer and never allocate; what to answer and what to log is the
 * caller's business.
 */
#include <string.h>

#include "http1_parse.h"

/* Classes of header name bytes, as bits so one pass can collect them. */
#define NC_VALID	0x01	/* A-Z a-z 0-9 '-': the names nginx keeps */
#define NC_TCHAR	0x02	/* the rest of RFC 9110 tchar, but '_' */
#define NC_UNDER	0x04	/* '_' */
#define NC_OTHER	0x08	/* printable but not tchar, and obs-text */
#define NC_COLON	0x10
#define NC_TOKEN	(NC_VALID | NC_TCHAR | NC_UNDER)

static const unsigned char name_class[256] = {
	['0' ... '9'] = NC_VALID, ['A' ... 'Z'] = NC_VALID,
	['a' ... 'z'] = NC_VALID, ['-'] = NC_VALID,
	['!'] = NC_TCHAR, ['#'] = NC_TCHAR, ['$'] = NC_TCHAR, ['%'] = NC_TCHAR,
	['&'] = NC_TCHAR, ['\''] = NC_TCHAR, ['*'] = NC_TCHAR, ['+'] = NC_TCHAR,
	['.'] = NC_TCHAR, ['^'] = NC_TCHAR, ['`'] = NC_TCHAR, ['|'] = NC_TCHAR,
	['~'] = NC_TCHAR,
	['_'] = NC_UNDER,
	['"'] = NC_OTHER, ['('] = NC_OTHER, [')'] = NC_OTHER, [','] = NC_OTHER,
	['/'] = NC_OTHER, [';'] = NC_OTHER, ['<'] = NC_OTHER, ['='] = NC_OTHER,
	['>'] = NC_OTHER, ['?'] = NC_OTHER, ['@'] = NC_OTHER, ['['] = NC_OTHER,
	['\\'] = NC_OTHER, [']'] = NC_OTHER, ['{'] = NC_OTHER, ['}'] = NC_OTHER,
	[0x80 ... 0xff] = NC_OTHER,
	[':'] = NC_COLON,
};

/* RFC 9112 3.2: no CTL, SP or DEL; obs-text is let through, as nginx does */
static const unsigned char target_ok[256] = {
	['!' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* RFC 9110 5.5: field-vchar, SP and HTAB */
static const unsigned char value_ok[256] = {
	['\t'] = 1, [' ' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* RFC 3986 3.2.2 reg-name: unreserved, sub-delims and pct-encoded */
static const unsigned char host_ok[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['%'] = 1,
	['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
	['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
};

/* Why a field line was refused; indexes the message tables below. */
enum {
	FE_NONE = 0,
	FE_BARE_CR,
	FE_BARE_LF,
	FE_FOLD,
	FE_EMPTY_NAME,
	FE_SPACE,
	FE_NO_COLON,
	FE_NAME,
	FE_VALUE,
	FE_LONG,
	FE_MANY
};

/* The messages for each FE_ code, said of the client or of the upstream. */
#define FIELD_ERRORS(who) {						\
	[FE_NONE] = who " sent invalid header line",			\
	[FE_BARE_CR] = who " sent invalid header line: CR without LF",	\
	[FE_BARE_LF] = who " sent invalid header line: LF without CR",	\
	[FE_FOLD] = who " sent invalid header line: obsolete line folding", \
	[FE_EMPTY_NAME] = who " sent invalid header line: empty name",	\
	[FE_SPACE] = who " sent invalid header line: whitespace before colon", \
	[FE_NO_COLON] = who " sent invalid header line: no colon",	\
	[FE_NAME] = who " sent invalid header line: bad character in name", \
	[FE_VALUE] = who " sent invalid header line: bad character in value", \
	[FE_LONG] = who " sent too long header line",			\
	[FE_MANY] = who " sent too many header lines",			\
}

static const char *const req_field_errors[] = FIELD_ERRORS("client");
static const char *const resp_field_errors[] = FIELD_ERRORS("upstream");

/* How parse_fields() stores lines and judges names: kept, dropped or 400. */
struct fields {
	struct http1_header	*h;
	size_t			*n;
	size_t			*dropped;
	size_t			 max_line;
	unsigned		 keep;		/* name classes kept */
	unsigned		 drop;		/* name classes dropped */
};

/* The first byte at or after p whose class has no bit of mask, or end. */
static inline const char *
scan(const char *p, const char *end, const unsigned char *tab, unsigned mask)
{
	/* unrolled: lines run tens of bytes of one class before a stop */
	for (; end - p >= 4; p += 4) {
		if ((tab[(unsigned char)p[0]] & mask) == 0)
			return p;
		if ((tab[(unsigned char)p[1]] & mask) == 0)
			return p + 1;
		if ((tab[(unsigned char)p[2]] & mask) == 0)
			return p + 2;
		if ((tab[(unsigned char)p[3]] & mask) == 0)
			return p + 3;
	}
	while (p < end && (tab[(unsigned char)*p] & mask) != 0)
		p++;
	return p;
}

/* Length of an unfinished line, not counting a CR that may start its end. */
static size_t
partial_len(const char *line, const char *end)
{
	size_t	n = (size_t)(end - line);

	if (n > 0 && end[-1] == '\r')
		n--;
	return n;
}

/*
 * Length of the prefix of p[0..end) that matches pat, where '#' stands for
 * any digit.  Less than min(patlen, end - p) means a mismatch there.
 */
static size_t
match(const char *p, const char *end, const char *pat, size_t patlen)
{
	size_t	i, n = (size_t)(end - p);

	if (n > patlen)
		n = patlen;
	for (i = 0; i < n; i++) {
		if (pat[i] == '#' ? (p[i] < '0' || p[i] > '9') : p[i] != pat[i])
			break;
	}
	return i;
}

/*
 * The line starting at line is bad at q.  If it was too long before q, that
 * is the error, as it would have been had the bytes come one by one.
 */
static ssize_t
field_fail(const struct fields *f, const char *line, const char *q, int *err,
    int code)
{
	if (f->max_line != 0 && partial_len(line, q) > f->max_line)
		code = FE_LONG;
	*err = code;
	return PARSE_ERROR;
}

/*
 * Parses field lines from p through the empty line after them.  Returns the
 * offset in buf past that line, PARSE_AGAIN with *stop at the first
 * unfinished line, or PARSE_ERROR with *err.
 */
static ssize_t
parse_fields(const struct fields *f, const char *buf, const char *p,
    const char *end, const char **stop, int *err)
{
	struct http1_header	*h;
	const char		*line, *v, *ve;
	unsigned		 seen, c;
	size_t			 name_len;

	for (;;) {
		line = p;
		if (p == end)
			goto again;
		if (*p == '\r') {
			if (p + 1 == end)
				goto again;
			if (p[1] != '\n')
				return field_fail(f, line, p + 1, err,
				    FE_BARE_CR);
			return p + 2 - buf;
		}
		/* RFC 9112 2.2: a bare LF may end a line (nginx-tests and
		 * old clients send them); the head is rebuilt for upstreams,
		 * so this leniency cannot smuggle anything */
		if (*p == '\n')
			return p + 1 - buf;
		/* RFC 9112 5.2: obs-fold is refused, not unfolded */
		if (*p == ' ' || *p == '\t')
			return field_fail(f, line, p, err, FE_FOLD);

		seen = 0;
		for (;;) {
			p = scan(p, end, name_class, NC_VALID);
			if (p == end)
				goto again;
			c = name_class[(unsigned char)*p];
			if (c == NC_COLON)
				break;
			if (c == 0) {
				/* RFC 9112 5.1: no whitespace before ':' */
				if (*p == ' ' || *p == '\t')
					c = FE_SPACE;
				else if (*p == '\r' || *p == '\n')
					c = FE_NO_COLON;
				else
					c = FE_NAME;
				return field_fail(f, line, p, err, (int)c);
			}
			seen |= c;
			p++;
		}
		if (p == line)
			return field_fail(f, line, p, err, FE_EMPTY_NAME);
		name_len = (size_t)(p - line);

		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		p = scan(p, end, value_ok, 1);
		if (p == end || (*p == '\r' && p + 1 == end))
			goto again;
		if (*p != '\r' && *p != '\n')
			return field_fail(f, line, p, err, FE_VALUE);
		if (*p == '\r' && p[1] != '\n')
			return field_fail(f, line, p + 1, err, FE_BARE_CR);
		if (f->max_line != 0 && (size_t)(p - line) > f->max_line)
			return field_fail(f, line, p, err, FE_LONG);
		for (ve = p; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		p += *p == '\r' ? 2 : 1;

		if ((seen & ~f->keep) != 0) {
			if ((seen & ~(f->keep | f->drop)) != 0)
				return field_fail(f, line, line, err, FE_NAME);
			(*f->dropped)++;
			continue;
		}
		if (*f->n == HTTP1_MAX_HEADERS)
			return field_fail(f, line, line, err, FE_MANY);
		h = &f->h[(*f->n)++];
		h->name = line;
		h->name_len = name_len;
		h->value = v;
		h->value_len = (size_t)(ve - v);
	}

again:
	if (f->max_line != 0 && partial_len(line, end) > f->max_line)
		return field_fail(f, line, end, err, FE_LONG);
	*stop = line;
	return PARSE_AGAIN;
}

static ssize_t
req_fail(struct http1_req *r, int status, const char *error)
{
	r->status = status;
	r->error = error;
	r->resume_buf = NULL;
	return PARSE_ERROR;
}

/* As field_fail(), for the request line starting at start. */
static ssize_t
line_fail(struct http1_req *r, const char *start, const char *q, int status,
    const char *error)
{
	if (r->max_request_line != 0 &&
	    partial_len(start, q) > r->max_request_line)
		return req_fail(r, 414, "client sent too long URI");
	return req_fail(r, status, error);
}

static int
method_id(const char *m, size_t len)
{
	switch (len) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return HTTP1_M_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return HTTP1_M_PUT;
		break;
	case 4:
		if (memcmp(m, "POST", 4) == 0)
			return HTTP1_M_POST;
		if (memcmp(m, "HEAD", 4) == 0)
			return HTTP1_M_HEAD;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return HTTP1_M_PATCH;
		if (memcmp(m, "TRACE", 5) == 0)
			return HTTP1_M_TRACE;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return HTTP1_M_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return HTTP1_M_OPTIONS;
		if (memcmp(m, "CONNECT", 7) == 0)
			return HTTP1_M_CONNECT;
		break;
	}
	return HTTP1_M_UNKNOWN;
}

/*
 * RFC 9112 3: method SP request-target SP HTTP-version CRLF, after any
 * empty lines (2.2).  Returns 0 with *next past the CRLF, PARSE_AGAIN or
 * PARSE_ERROR.
 */
static ssize_t
parse_request_line(struct http1_req *r, const char *buf, const char *end,
    const char **next)
{
	const char	*p = buf, *start, *t;
	size_t		 m;

	while (p < end && (*p == '\r' || *p == '\n')) {
		if (*p == '\n') {
			p++;
			continue;
		}
		if (p + 1 == end)
			return PARSE_AGAIN;
		if (p[1] != '\n')
			return req_fail(r, 400, "client sent invalid request");
		p += 2;
	}
	start = p;

	p = scan(p, end, name_class, NC_TOKEN);
	if (p == end)
		goto again;
	if (p == start)
		return req_fail(r, 400, "client sent invalid request");
	if (*p != ' ')
		return line_fail(r, start, p, 400,
		    "client sent invalid method");
	r->method = start;
	r->method_len = (size_t)(p - start);

	t = ++p;
	p = scan(p, end, target_ok, 1);
	if (p == end)
		goto again;
	if (*p != ' ' || p == t)
		return line_fail(r, start, p, 400,
		    "client sent invalid request");
	r->target = t;
	r->target_len = (size_t)(p - t);

	p++;
	/* CRLF, or a bare LF (RFC 9112 2.2) */
	m = match(p, end, "HTTP/#.#\r\n", 10);
	if (m == 8 && p + 8 < end && p[8] == '\n')
		m = 10;
	else if (m < 10 && p + m == end)
		goto again;
	else if (m < 10)
		return line_fail(r, start, p + m, 400,
		    "client sent invalid request");
	r->line = start;
	r->line_len = (size_t)(p + 8 - start);
	if (r->max_request_line != 0 && r->line_len > r->max_request_line)
		return req_fail(r, 414, "client sent too long URI");
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return req_fail(r, 505, "client sent unsupported HTTP version");
	r->version = p[7] == '1' ? 11 : 10;
	r->method_id = method_id(r->method, r->method_len);
	*next = p + (p[8] == '\n' ? 9 : 10);
	return 0;

again:
	if (r->max_request_line != 0 &&
	    partial_len(start, end) > r->max_request_line)
		return req_fail(r, 414, "client sent too long URI");
	return PARSE_AGAIN;
}

void
http1_req_init(struct http1_req *r)
{
	/* field by field: clearing headers[] would cost 4 KB per request */
	r->max_request_line = 0;
	r->max_header_line = 0;
	r->underscores_in_headers = false;
	r->ignore_invalid_headers = true;
	r->line = r->method = r->target = NULL;
	r->line_len = r->method_len = r->target_len = 0;
	r->method_id = HTTP1_M_UNKNOWN;
	r->version = 0;
	r->nheaders = r->ndropped = 0;
	r->status = 0;
	r->error = NULL;
	r->host = r->path = NULL;
	r->host_len = r->host_name_len = r->path_len = 0;
	r->content_length = -1;
	r->chunked = r->keep_alive = r->upgrade = false;
	r->expect_continue = r->has_te_trailers = false;
	r->resume_buf = NULL;
	r->resume_off = 0;
}

ssize_t
http1_parse_request(struct http1_req *r, const char *buf, size_t len)
{
	const char	*p, *end = buf + len, *stop;
	struct fields	 f;
	ssize_t		 rc;
	int		 err;

	/*
	 * After PARSE_AGAIN the lines before resume_off are known good, so a
	 * head that trickles in is not parsed again from its start each time.
	 */
	if (r->resume_buf == buf && r->resume_off <= len) {
		p = buf + r->resume_off;
	} else {
		r->resume_buf = NULL;
		r->nheaders = r->ndropped = 0;
		r->status = 0;
		r->error = NULL;
		rc = parse_request_line(r, buf, end, &p);
		if (rc != 0)
			return rc;
	}

	f.h = r->headers;
	f.n = &r->nheaders;
	f.dropped = &r->ndropped;
	f.max_line = r->max_header_line;
	f.keep = NC_VALID;
	f.drop = 0;
	if (r->underscores_in_headers)
		f.keep |= NC_UNDER;
	else
		f.drop |= NC_UNDER;
	if (r->ignore_invalid_headers)
		f.drop |= NC_TCHAR | NC_OTHER;

	rc = parse_fields(&f, buf, p, end, &stop, &err);
	if (rc == PARSE_AGAIN) {
		r->resume_buf = buf;
		r->resume_off = (size_t)(stop - buf);
		return PARSE_AGAIN;
	}
	if (rc == PARSE_ERROR)
		return req_fail(r, err == FE_LONG || err == FE_MANY ? 431 : 400,
		    req_field_errors[err]);
	r->resume_buf = NULL;
	return rc;
}

/*
 * Compares a field token with a lowercase literal.  OR-ing 0x20 folds case
 * for letters; the literals hold only letters, digits and '-', and the
 * bytes that would fold onto those are CTLs, which no field value holds.
 */
static bool
token_eq(const char *p, size_t len, const char *lit, size_t litlen)
{
	size_t	i;

	if (len != litlen)
		return false;
	for (i = 0; i < len; i++)
		if ((p[i] | 0x20) != lit[i])
			return false;
	return true;
}

#define TOKEN_EQ(p, len, lit)	token_eq((p), (len), (lit), sizeof(lit) - 1)

/*
 * Steps through a #list (RFC 9110 5.6.1): the next element, OWS trimmed,
 * skipping empty ones.  Returns false at the end.
 */
static bool
list_next(const char **pp, const char *end, const char **e, size_t *elen)
{
	const char	*p = *pp, *s, *t;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
		p++;
	if (p == end)
		return false;
	for (s = p; p < end && *p != ','; p++)
		;
	for (t = p; t[-1] == ' ' || t[-1] == '\t'; t--)
		;
	*e = s;
	*elen = (size_t)(t - s);
	*pp = p;
	return true;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') ||
	    ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/*
 * RFC 9110 7.2: uri-host [ ":" port ], the host a reg-name, IPv4 or an IP
 * literal in brackets.  Returns the length of the host part, or -1.
 */
static ssize_t
host_check(const char *s, size_t len)
{
	const char	*p = s, *end = s + len, *host_end;

	if (p < end && *p == '[') {
		for (p++; p < end; p++)
			if (!host_ok[(unsigned char)*p] && *p != ':')
				break;
		if (p == end || *p != ']' || p == s + 1)
			return -1;
		p++;
	} else {
		for (; p < end && host_ok[(unsigned char)*p]; p++) {
			if (*p == '%' &&
			    (end - p < 3 || !is_hex(p[1]) || !is_hex(p[2])))
				return -1;
			/* $host may end up in a file path: no ".." there */
			if (*p == '.' && p + 1 < end && p[1] == '.')
				return -1;
		}
		/* "." alone leaves no name once its root dot is dropped */
		if (p == s || (p == s + 1 && *s == '.'))
			return -1;
	}
	host_end = p;
	if (p < end) {
		if (*p != ':')
			return -1;
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p != end)
			return -1;
	}
	return host_end - s;
}

/*
 * RFC 9112 3.2: origin-form, absolute-form (whose authority becomes the
 * host, 3.2.2), "*" for OPTIONS; CONNECT's authority-form is the caller's.
 */
static int
analyze_target(struct http1_req *r)
{
	const char	*t = r->target, *end = t + r->target_len, *p, *a;
	ssize_t		 n;

	r->path = t;
	r->path_len = r->target_len;
	if (*t == '/' || r->method_id == HTTP1_M_CONNECT)
		return 0;
	if (r->target_len == 1 && *t == '*')
		return r->method_id == HTTP1_M_OPTIONS ? 0 : -1;

	/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if ((*t | 0x20) < 'a' || (*t | 0x20) > 'z')
		return -1;
	for (p = t; p < end && (name_class[(unsigned char)*p] == NC_VALID ||
	    *p == '+' || *p == '.'); p++)
		;
	if (end - p < 3 || memcmp(p, "://", 3) != 0)
		return -1;
	a = p + 3;
	for (p = a; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	/* RFC 9110 4.2.4: host_check() refuses userinfo, as '@' hides a host */
	if ((n = host_check(a, (size_t)(p - a))) < 0)
		return -1;
	r->host = a;
	r->host_len = (size_t)(p - a);
	r->host_name_len = (size_t)n;
	r->path = p;
	r->path_len = (size_t)(end - p);
	return 0;
}

/* RFC 9110 8.6: 1*DIGIT; a list of equal values stands for one value. */
static int
add_content_length(const struct http1_header *h, int64_t *cl)
{
	const char	*p = h->value, *end = p + h->value_len, *s;
	int64_t		 v;
	int		 d;

	for (;;) {
		for (s = p, v = 0; p < end && *p >= '0' && *p <= '9'; p++) {
			d = *p - '0';
			if (v > (INT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
		}
		/* strict: a second value, even an equal one, is refused */
		if (p == s || *cl != -1)
			return -1;
		*cl = v;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return 0;
		if (*p++ != ',')
			return -1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
}

/* What the Transfer-Encoding lines said, in order. */
struct te_state {
	bool	seen, chunked, last_chunked, unknown, bad;
};

/* RFC 9112 6.1, 7: transfer-coding = token *( OWS ";" OWS parameter ) */
static void
add_transfer_encoding(struct te_state *te, const struct http1_header *h)
{
	const char	*p = h->value, *end = p + h->value_len, *e, *q;
	size_t		 elen, n;

	te->seen = true;
	while (list_next(&p, end, &e, &elen)) {
		n = (size_t)(scan(e, e + elen, name_class, NC_TOKEN) - e);
		for (q = e + n; q < e + elen && (*q == ' ' || *q == '\t'); q++)
			;
		if (n == 0 || (q < e + elen && *q != ';')) {
			te->bad = true;
		} else if (TOKEN_EQ(e, n, "chunked")) {
			/* twice, or with parameters, it frames nothing */
			if (te->chunked || n != elen)
				te->bad = true;
			te->chunked = te->last_chunked = true;
		} else {
			te->unknown = true;
			te->last_chunked = false;
		}
	}
}

/* The Connection, Expect, TE and Upgrade tokens that matter to us. */
enum { TOK_CONNECTION = 0, TOK_EXPECT, TOK_TE };

struct conn_state {
	bool	close, keep_alive, upgrade, has_upgrade, expect_other;
};

static void
add_tokens(struct http1_req *r, struct conn_state *cs,
    const struct http1_header *h, int which)
{
	const char	*p = h->value, *end = p + h->value_len, *e;
	size_t		 elen;

	while (list_next(&p, end, &e, &elen)) {
		if (which == TOK_CONNECTION) {
			if (TOKEN_EQ(e, elen, "close"))
				cs->close = true;
			else if (TOKEN_EQ(e, elen, "keep-alive"))
				cs->keep_alive = true;
			else if (TOKEN_EQ(e, elen, "upgrade"))
				cs->upgrade = true;
		} else if (which == TOK_EXPECT) {
			if (TOKEN_EQ(e, elen, "100-continue"))
				r->expect_continue = true;
			else
				cs->expect_other = true;
		} else {
			elen = (size_t)(scan(e, e + elen, name_class,
			    NC_TOKEN) - e);
			if (TOKEN_EQ(e, elen, "trailers"))
				r->has_te_trailers = true;
		}
	}
}

static int
analyze_fail(struct http1_req *r, int status, const char *error)
{
	r->status = status;
	r->error = error;
	return -1;
}

/* Framing (RFC 9112 6): Content-Length and Transfer-Encoding. */
static int
analyze_framing(struct http1_req *r, const struct te_state *te, bool bad_cl)
{
	if (bad_cl)
		return analyze_fail(r, 400,
		    "client sent invalid \"Content-Length\" header");
	if (!te->seen)
		return 0;
	if (r->version == 10)
		return analyze_fail(r, 400, "client sent HTTP/1.0 request "
		    "with \"Transfer-Encoding\" header");
	/* RFC 9112 6.1: both at once is the classic smuggling vector */
	if (r->content_length != -1)
		return analyze_fail(r, 400, "client sent \"Content-Length\" "
		    "and \"Transfer-Encoding\" headers at the same time");
	if (te->bad || (te->chunked && !te->last_chunked) ||
	    (!te->chunked && !te->unknown))
		return analyze_fail(r, 400,
		    "client sent invalid \"Transfer-Encoding\" header");
	if (te->unknown)
		return analyze_fail(r, 501,
		    "client sent unknown \"Transfer-Encoding\"");
	r->chunked = true;
	return 0;
}

/*
 * Fields nginx takes once only: a second one is refused with 400 rather
 * than one of the values picked.  The bit of name, or 0.
 */
static unsigned
unique_field(const char *name, size_t len)
{
#define F(s)	{ s, sizeof(s) - 1 }
	static const struct { const char *s; size_t len; } names[] = {
		F("authorization"), F("if-modified-since"),
		F("if-unmodified-since"), F("if-match"), F("if-none-match"),
		F("content-range"), F("if-range"), F("transfer-encoding"),
		F("expect")
	};
#undef F
	size_t	i;

	/* most fields are none of these: their length tells at once */
	if (len < 6 || len > 19)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (token_eq(name, len, names[i].s, names[i].len))
			return 1u << i;
	return 0;
}

int
http1_req_analyze(struct http1_req *r)
{
	const struct http1_header	*h, *host = NULL;
	struct te_state			 te = { 0 };
	struct conn_state		 cs = { 0 };
	ssize_t				 n;
	size_t				 i;
	unsigned			 bit, seen = 0;
	bool				 bad_cl = false;

	r->host = NULL;
	r->host_len = r->host_name_len = 0;
	r->content_length = -1;
	r->chunked = r->upgrade = r->expect_continue = false;
	r->has_te_trailers = false;

	for (i = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		if ((bit = unique_field(h->name, h->name_len)) != 0) {
			if (seen & bit)
				return analyze_fail(r, 400, "client sent "
				    "duplicate header line");
			seen |= bit;
		}
		/* the length picks the one name to compare against */
		switch (h->name_len) {
		case 2:
			if (TOKEN_EQ(h->name, 2, "te"))
				add_tokens(r, &cs, h, TOK_TE);
			break;
		case 4:
			if (!TOKEN_EQ(h->name, 4, "host"))
				break;
			if (host != NULL)
				return analyze_fail(r, 400,
				    "client sent duplicate host header");
			host = h;
			break;
		case 6:
			if (TOKEN_EQ(h->name, 6, "expect"))
				add_tokens(r, &cs, h, TOK_EXPECT);
			break;
		case 7:
			if (TOKEN_EQ(h->name, 7, "upgrade") &&
			    h->value_len != 0)
				cs.has_upgrade = true;
			break;
		case 10:
			if (TOKEN_EQ(h->name, 10, "connection"))
				add_tokens(r, &cs, h, TOK_CONNECTION);
			break;
		case 14:
			if (TOKEN_EQ(h->name, 14, "content-length") &&
			    add_content_length(h, &r->content_length) == -1)
				bad_cl = true;
			break;
		case 17:
			if (TOKEN_EQ(h->name, 17, "transfer-encoding"))
				add_transfer_encoding(&te, h);
			break;
		}
	}

	if (host != NULL) {
		if ((n = host_check(host->value, host->value_len)) < 0)
			return analyze_fail(r, 400,
			    "client sent invalid host header");
		r->host = host->value;
		r->host_len = host->value_len;
		r->host_name_len = (size_t)n;
	} else if (r->version == 11) {
		return analyze_fail(r, 400,
		    "client sent HTTP/1.1 request without \"Host\" header");
	}
	if (analyze_target(r) == -1)
		return analyze_fail(r, 400,
		    "client sent invalid request-target");
	if (analyze_framing(r, &te, bad_cl) == -1)
		return -1;

	if (cs.expect_other)
		return analyze_fail(r, 417,
		    "client sent unsupported \"Expect\" header");
	/* RFC 9110 10.1.1: 100-continue from HTTP/1.0 is ignored */
	if (r->version == 10)
		r->expect_continue = false;
	if (r->version == 11)
		r->keep_alive = !cs.close;
	else
		r->keep_alive = cs.keep_alive && !cs.close;
	/* RFC 9110 7.8: Upgrade from HTTP/1.0 is ignored */
	r->upgrade = r->version == 11 && cs.has_upgrade && cs.upgrade;
	return 0;
}

void
http1_resp_init(struct http1_resp *r)
{
	r->max_header_line = 0;
	r->version = 0;
	r->status = 0;
	r->reason = NULL;
	r->reason_len = 0;
	r->nheaders = 0;
	r->error = NULL;
	r->resume_buf = NULL;
	r->resume_off = 0;
}

static ssize_t
resp_fail(struct http1_resp *r, const char *error)
{
	r->error = error;
	r->resume_buf = NULL;
	return PARSE_ERROR;
}

/* As field_fail(), for the status line. */
static ssize_t
status_fail(struct http1_resp *r, const char *buf, const char *q,
    const char *error)
{
	if (r->max_header_line != 0 && partial_len(buf, q) > r->max_header_line)
		error = "upstream sent too long status line";
	return resp_fail(r, error);
}

/*
 * RFC 9112 4: HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF; the SP
 * before an empty reason may be missing too.
 */
static ssize_t
parse_status_line(struct http1_resp *r, const char *buf, const char *end,
    const char **next)
{
	const char	*p = buf, *reason;
	size_t		 m;

	m = match(p, end, "HTTP/#.# ###", 12);
	if (m < 12 && p + m == end)
		goto again;
	if (m < 12 || p[9] == '0')
		return status_fail(r, buf, p + m,
		    "upstream sent invalid status line");
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return status_fail(r, buf, p + m,
		    "upstream sent unsupported HTTP version");
	r->version = p[7] == '1' ? 11 : 10;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

	p += 12;
	if (p < end && *p == ' ')
		p++;
	reason = p;
	p = scan(p, end, value_ok, 1);
	if (reason == buf + 12 && p != reason)
		return status_fail(r, buf, reason,
		    "upstream sent invalid status line");
	if (p == end || (*p == '\r' && p + 1 == end))
		goto again;
	if (*p != '\n' && (*p != '\r' || p[1] != '\n'))
		return status_fail(r, buf, *p == '\r' ? p + 1 : p,
		    "upstream sent invalid status line");
	if (r->max_header_line != 0 && (size_t)(p - buf) > r->max_header_line)
		return resp_fail(r, "upstream sent too long status line");
	r->reason = reason;
	r->reason_len = (size_t)(p - reason);
	*next = p + (*p == '\n' ? 1 : 2);
	return 0;

again:
	if (r->max_header_line != 0 &&
	    partial_len(buf, end) > r->max_header_line)
		return resp_fail(r, "upstream sent too long status line");
	return PARSE_AGAIN;
}

ssize_t
http1_parse_response(struct http1_resp *r, const char *buf, size_t len)
{
	const char	*p, *end = buf + len, *stop;
	struct fields	 f;
	ssize_t		 rc;
	size_t		 dropped = 0;
	int		 err;

	if (r->resume_buf == buf && r->resume_off <= len) {
		p = buf + r->resume_off;
	} else {
		r->resume_buf = NULL;
		r->nheaders = 0;
		r->error = NULL;
		rc = parse_status_line(r, buf, end, &p);
		if (rc != 0)
			return rc;
	}

	/* an upstream's names are passed on if they are tokens at all */
	f.h = r->headers;
	f.n = &r->nheaders;
	f.dropped = &dropped;
	f.max_line = r->max_header_line;
	f.keep = NC_TOKEN;
	f.drop = 0;

	rc = parse_fields(&f, buf, p, end, &stop, &err);
	if (rc == PARSE_AGAIN) {
		r->resume_buf = buf;
		r->resume_off = (size_t)(stop - buf);
		return PARSE_AGAIN;
	}
	if (rc == PARSE_ERROR)
		return resp_fail(r, resp_field_errors[err]);
	r->resume_buf = NULL;
	return rc;
}

/* States of the chunked decoder, in the order their bytes come. */
enum {
	CS_SIZE_FIRST = 0,
	CS_SIZE,
	CS_SEMI,		/* BWS that must lead to ';' */
	CS_EXT_START,		/* after ';', before the name */
	CS_EXT_NAME,
	CS_EXT_NAME_WS,		/* BWS after the name: '=' or ';' */
	CS_EXT_VAL_START,
	CS_EXT_VAL,
	CS_EXT_QUOTED,
	CS_EXT_QPAIR,
	CS_EXT_QUOTED_END,
	CS_SIZE_LF,
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TRAILER,		/* start of a trailer line, or the end */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,
	CS_FINAL_LF
};

void
http1_chunked_init(struct http1_chunked *c, uint64_t max_size)
{
	c->max_size = max_size;
	c->total = 0;
	c->done = false;
	c->status = 0;
	c->error = NULL;
	c->left = 0;
	c->state = CS_SIZE_FIRST;
	c->ndigits = 0;
	c->line_len = 0;
}

static int
hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The chunk-size line is over: on to the data, or to the trailers. */
static const char *
chunk_size_end(struct http1_chunked *c)
{
	c->line_len = 0;
	if (c->left == 0) {
		c->state = CS_TRAILER;
		return NULL;
	}
	if (c->max_size != 0 && c->left > c->max_size - c->total) {
		c->status = 413;
		return "too large chunked body";
	}
	c->state = CS_DATA;
	return NULL;
}

/*
 * Feeds one byte outside chunk data (RFC 9112 7.1).  Returns NULL, or why
 * the body is invalid.
 */
static const char *
chunk_step(struct http1_chunked *c, unsigned char ch)
{
	bool	ws = ch == ' ' || ch == '\t';
	bool	tchar = (name_class[ch] & NC_TOKEN) != 0;
	int	d;

	switch (c->state) {
	case CS_SIZE_FIRST:
	case CS_SIZE:
		if ((d = hex_value(ch)) >= 0) {
			/* 16 digits cannot wrap; 2^62 leaves room for sums */
			if (c->ndigits == 16)
				return "too large chunk size";
			c->ndigits++;
			c->left = c->left << 4 | (uint64_t)d;
			if (c->left > 1ULL << 62)
				return "too large chunk size";
			c->state = CS_SIZE;
			return NULL;
		}
		if (c->state == CS_SIZE_FIRST)
			return "invalid chunk size";
		if (ch == '\r')
			c->state = CS_SIZE_LF;
		else if (ch == ';')
			c->state = CS_EXT_START;
		else if (ws)
			c->state = CS_SEMI;
		else
			return "invalid chunk size";
		return NULL;
	case CS_SEMI:
		if (ch == ';')
			c->state = CS_EXT_START;
		else if (!ws)
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_START:
		if (tchar)
			c->state = CS_EXT_NAME;
		else if (!ws)
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_NAME:
	case CS_EXT_NAME_WS:
		if (ch == '=')
			c->state = CS_EXT_VAL_START;
		else if (ch == ';')
			c->state = CS_EXT_START;
		else if (ws)
			c->state = CS_EXT_NAME_WS;
		else if (c->state == CS_EXT_NAME && ch == '\r')
			c->state = CS_SIZE_LF;
		else if (c->state != CS_EXT_NAME || !tchar)
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_VAL_START:
		if (ch == '"')
			c->state = CS_EXT_QUOTED;
		else if (tchar)
			c->state = CS_EXT_VAL;
		else if (!ws)
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_VAL:
	case CS_EXT_QUOTED_END:
		if (ch == ';')
			c->state = CS_EXT_START;
		else if (ws)
			c->state = CS_SEMI;
		else if (ch == '\r')
			c->state = CS_SIZE_LF;
		else if (c->state != CS_EXT_VAL || !tchar)
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_QUOTED:
		if (ch == '"')
			c->state = CS_EXT_QUOTED_END;
		else if (ch == '\\')
			c->state = CS_EXT_QPAIR;
		else if (!value_ok[ch])
			return "invalid chunk extension";
		return NULL;
	case CS_EXT_QPAIR:
		if (!value_ok[ch])
			return "invalid chunk extension";
		c->state = CS_EXT_QUOTED;
		return NULL;
	case CS_SIZE_LF:
		if (ch != '\n')
			return "invalid chunk size line: CR without LF";
		c->ndigits = 0;
		return chunk_size_end(c);
	case CS_DATA_CR:
		if (ch != '\r')
			return "chunk data not followed by CRLF";
		c->state = CS_DATA_LF;
		return NULL;
	case CS_DATA_LF:
		if (ch != '\n')
			return "chunk data not followed by CRLF";
		c->line_len = 0;
		c->state = CS_SIZE_FIRST;
		return NULL;
	case CS_TRAILER:
		if (ch == '\r')
			c->state = CS_FINAL_LF;
		else if (tchar)
			c->state = CS_TR_NAME;
		else
			return "invalid trailer line";
		return NULL;
	case CS_TR_NAME:
		if (ch == ':')
			c->state = CS_TR_VALUE;
		else if (!tchar)
			return "invalid trailer line";
		return NULL;
	case CS_TR_VALUE:
		if (ch == '\r')
			c->state = CS_TR_LF;
		else if (!value_ok[ch])
			return "invalid trailer line";
		return NULL;
	case CS_TR_LF:
		if (ch != '\n')
			return "invalid trailer line: CR without LF";
		c->state = CS_TRAILER;
		return NULL;
	case CS_FINAL_LF:
		if (ch != '\n')
			return "invalid end of chunked body";
		c->done = true;
		return NULL;
	}
	return "invalid chunked decoder state";
}

ssize_t
http1_chunked_decode(struct http1_chunked *c, char *buf, size_t *len)
{
	const char	*error;
	size_t		 i = 0, out = 0, n = *len, take;

	if (c->error != NULL) {
		*len = 0;
		return PARSE_ERROR;
	}
	if (c->done) {
		*len = 0;
		return (ssize_t)n;
	}
	while (i < n) {
		if (c->state == CS_DATA) {
			take = n - i < c->left ? n - i : (size_t)c->left;
			/* a chunk that began in an earlier call stays put */
			if (out != i)
				memmove(buf + out, buf + i, take);
			out += take;
			i += take;
			c->left -= take;
			c->total += take;
			if (c->left == 0)
				c->state = CS_DATA_CR;
			continue;
		}
		if (++c->line_len > (c->state >= CS_TRAILER ?
		    HTTP1_TRAILER_MAX : HTTP1_CHUNK_LINE_MAX)) {
			error = c->state >= CS_TRAILER ? "too long trailers" :
			    "too long chunk size line";
			goto fail;
		}
		if ((error = chunk_step(c, (unsigned char)buf[i++])) != NULL)
			goto fail;
		if (c->done) {
			/* the rest stays put: the body written never reaches it */
			*len = out;
			return (ssize_t)(n - i);
		}
	}
	*len = out;
	return PARSE_AGAIN;

fail:
	if (c->status == 0)
		c->status = 400;
	c->error = error;
	*len = out;
	return PARSE_ERROR;
}
