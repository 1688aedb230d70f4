/*
 * Tests of worker/http1_parse.c: every rule of the request and response
 * head parsers with an input that passes and one that fails, limits,
 * partial input, pipelining, and the chunked decoder at every split.
 * Inputs sit right before an unreadable page, so any over-read crashes.
 */
#include <sys/mman.h>

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "worker/http1_parse.h"

#define S(lit)		(lit), (sizeof(lit) - 1)
#define HOST		"Host: a\r\n"
#define GET11		"GET / HTTP/1.1\r\n"
#define POST11		"POST / HTTP/1.1\r\n" HOST
#define ACCEPTED	200	/* parsed and analyzed without error */
#define AGAIN		(-2)
#define SHORT		(-3)	/* head ended before the end of the input */

static char	*guard_end;	/* first byte of the PROT_NONE page */
static size_t	 guard_room;

/* Writable pages followed by an unreadable one. */
static void
guard_setup(void)
{
	size_t	 page = (size_t)sysconf(_SC_PAGESIZE);
	char	*p;

	guard_room = 32 * page;
	p = mmap(NULL, guard_room + page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + guard_room, page, PROT_NONE) != 0) {
		perror("mmap");
		exit(2);
	}
	guard_end = p + guard_room;
}

/* Copies in[0..len) so that it ends where the unreadable page begins. */
static char *
guarded(const char *in, size_t len)
{
	if (len > guard_room)
		abort();
	memmove(guard_end - len, in, len);
	return guard_end - len;
}

/* Options the request helpers apply after http1_req_init(). */
static size_t	opt_max_line, opt_max_header;
static bool	opt_underscores, opt_ignore_invalid = true;

static void
req_setup(struct http1_req *r)
{
	http1_req_init(r);
	r->max_request_line = opt_max_line;
	r->max_header_line = opt_max_header;
	r->underscores_in_headers = opt_underscores;
	r->ignore_invalid_headers = opt_ignore_invalid;
}

static void
opt_reset(void)
{
	opt_max_line = opt_max_header = 0;
	opt_underscores = false;
	opt_ignore_invalid = true;
}

/* What a caller would do with rc from parsing len bytes. */
static int
req_outcome(struct http1_req *r, ssize_t rc, size_t len)
{
	if (rc == PARSE_AGAIN)
		return AGAIN;
	if (rc == PARSE_ERROR)
		return r->status;
	if ((size_t)rc != len)
		return SHORT;
	if (http1_req_analyze(r) == -1)
		return r->status;
	return ACCEPTED;
}

static int
req_once(struct http1_req *r, const char *in, size_t len)
{
	req_setup(r);
	return req_outcome(r, http1_parse_request(r, guarded(in, len), len),
	    len);
}

/* A client that sends one byte at a time: same buffer, growing length. */
static int
req_trickle(struct http1_req *r, const char *in, size_t len)
{
	const char	*p = guarded(in, len);
	ssize_t		 rc = PARSE_AGAIN;
	size_t		 l;

	req_setup(r);
	for (l = 0; l <= len && rc == PARSE_AGAIN; l++)
		rc = http1_parse_request(r, p, l);
	return req_outcome(r, rc, l - 1);
}

/* Every proper prefix is PARSE_AGAIN, or the error the whole input gets. */
static bool
req_prefixes_ok(const char *in, size_t len, int want)
{
	struct http1_req	r;
	ssize_t			rc;
	size_t			l;

	for (l = 0; l < len; l++) {
		req_setup(&r);
		rc = http1_parse_request(&r, guarded(in, l), l);
		if (rc == PARSE_AGAIN)
			continue;
		if (rc != PARSE_ERROR || r.status != want) {
			printf("#   prefix of %zu bytes: rc %zd status %d\n",
			    l, rc, r.status);
			return false;
		}
	}
	return true;
}

static bool
same_headers(const struct http1_req *a, const struct http1_req *b)
{
	return a->nheaders == b->nheaders && a->ndropped == b->ndropped &&
	    memcmp(a->headers, b->headers,
	    a->nheaders * sizeof(a->headers[0])) == 0;
}

struct req_case {
	const char	*in;
	size_t		 len;
	int		 want;
	const char	*name;
};

#define C(lit, want, name)	{ (lit), sizeof(lit) - 1, (want), (name) }

static const struct req_case req_cases[] = {
	/* request line */
	C(GET11 HOST "\r\n", ACCEPTED, "simple GET"),
	C("GET / HTTP/1.0\r\n\r\n", ACCEPTED, "HTTP/1.0 without Host"),
	C("get / HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "lowercase method is a token"),
	C("M-SEARCH! / HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "unknown tchar method"),
	C("G(T / HTTP/1.1\r\n" HOST "\r\n", 400, "method with a non-tchar"),
	C("GE\x01T / HTTP/1.1\r\n" HOST "\r\n", 400, "method with a CTL"),
	C(" GET / HTTP/1.1\r\n" HOST "\r\n", 400, "space before method"),
	C("GET  / HTTP/1.1\r\n" HOST "\r\n", 400, "two spaces after method"),
	C("GET /  HTTP/1.1\r\n" HOST "\r\n", 400, "two spaces after target"),
	C("GET\t/ HTTP/1.1\r\n" HOST "\r\n", 400, "HTAB after method"),
	C("GET /\tHTTP/1.1\r\n" HOST "\r\n", 400, "HTAB after target"),
	C("GET / HTTP/1.1 \r\n" HOST "\r\n", 400, "space after version"),
	C("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "obs-text in target"),
	C("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", 400, "DEL in target"),
	C("GET /a\x00 HTTP/1.1\r\n" HOST "\r\n", 400, "NUL in target"),
	C("GET /a\x1b HTTP/1.1\r\n" HOST "\r\n", 400, "ESC in target"),
	C("GET /\r\n\r\n", 400, "HTTP/0.9 request without version"),
	C("GET / HTTP/2.0\r\n" HOST "\r\n", 505, "HTTP/2.0"),
	C("GET / HTTP/1.2\r\n" HOST "\r\n", 505, "HTTP/1.2"),
	C("GET / HTTP/0.9\r\n" HOST "\r\n", 505, "HTTP/0.9 with version"),
	C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2 preface"),
	C("GET / http/1.1\r\n" HOST "\r\n", 400, "lowercase version"),
	C("GET / HTTP/1.1x\r\n" HOST "\r\n", 400, "junk after version"),
	C("GET / HTTP/11.1\r\n" HOST "\r\n", 400, "two-digit major"),
	C("GET / HTTP/1\r\n" HOST "\r\n", 400, "version without minor"),
	C("GET / HTTP/1.1\n" HOST "\r\n", ACCEPTED, "bare LF after request line"),
	C("GET / HTTP/1.1\nHost: a\nX: b\n\n", ACCEPTED, "bare LF everywhere (RFC 9112 2.2)"),
	C("GET / HTTP/1.1\n\rHost: a\n\n", 400, "bare CR after a bare LF"),
	C("GET / HTTP/1.1\r\r\n" HOST "\r\n", 400, "CR CR LF after request line"),
	C("GET / HTTP/1.1\rX" HOST "\r\n", 400, "bare CR after request line"),
	C("\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "leading empty lines"),
	C("\nGET / HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "leading bare LF"),
	C("\rGET / HTTP/1.1\r\n" HOST "\r\n", 400, "leading bare CR"),
	/* field lines */
	C(GET11 "Host : a\r\n\r\n", 400, "space before colon"),
	C(GET11 "Host\t: a\r\n\r\n", 400, "HTAB before colon"),
	C(GET11 " X: y\r\n" HOST "\r\n", 400, "whitespace before first field"),
	C(GET11 HOST "X: a\r\n b\r\n\r\n", 400, "obs-fold with SP"),
	C(GET11 HOST "X: a\r\n\tb\r\n\r\n", 400, "obs-fold with HTAB"),
	C(GET11 HOST ": v\r\n\r\n", 400, "empty field name"),
	C(GET11 HOST "NoColon\r\n\r\n", 400, "field without colon"),
	C(GET11 HOST "X: a\x01" "b\r\n\r\n", 400, "CTL in value"),
	C(GET11 HOST "X: a\x7f" "b\r\n\r\n", 400, "DEL in value"),
	C(GET11 HOST "X: a\x00" "b\r\n\r\n", 400, "NUL in value"),
	C(GET11 HOST "X: caf\xc3\xa9\tz\r\n\r\n", ACCEPTED, "obs-text and HTAB in value"),
	C(GET11 HOST "X:\r\n\r\n", ACCEPTED, "empty value"),
	C(GET11 HOST "X: a\rb\r\n\r\n", 400, "bare CR in value"),
	C(GET11 HOST "X: a\nY: b\r\n\r\n", ACCEPTED, "bare LF ends a field"),
	C(GET11 HOST "X: a \t\nY: b\r\n\r\n", ACCEPTED, "bare LF after trailing whitespace"),
	C(GET11 HOST "X: a\r\n\n", ACCEPTED, "bare LF ends the head"),
	C(GET11 HOST "X: a\r\n\r\r\n", 400, "CR CR LF ends the head"),
	C(GET11 HOST "X\x01Y: a\r\n\r\n", 400, "CTL in name"),
	C(GET11 HOST "X\x7fY: a\r\n\r\n", 400, "DEL in name"),
	C(GET11 HOST "X_Y: a\r\n\r\n", ACCEPTED, "underscore name dropped"),
	C(GET11 HOST "X.Y: a\r\n\r\n", ACCEPTED, "tchar name dropped"),
	C(GET11 HOST "X@Y: a\r\n\r\n", ACCEPTED, "non-token name dropped"),
	C(GET11 HOST "X\xffY: a\r\n\r\n", ACCEPTED, "obs-text name dropped"),
	/* Host */
	C(GET11 "\r\n", 400, "HTTP/1.1 without Host"),
	C(GET11 "Host: a\r\nhost: a\r\n\r\n", 400, "two Host fields"),
	C("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields in 1.0"),
	C(GET11 "Host: a b\r\n\r\n", 400, "Host with space"),
	C(GET11 "Host: a/b\r\n\r\n", 400, "Host with slash"),
	C(GET11 "Host: a\\b\r\n\r\n", 400, "Host with backslash"),
	C(GET11 "Host: \r\n\r\n", 400, "empty Host"),
	C(GET11 "Host: a..b\r\n\r\n", 400, "Host with dot dot"),
	C(GET11 "Host: u@a\r\n\r\n", 400, "Host with userinfo"),
	C(GET11 "Host: a:8x\r\n\r\n", 400, "Host with bad port"),
	C(GET11 "Host: a:1:2\r\n\r\n", 400, "Host with two colons"),
	C(GET11 "Host: %zz\r\n\r\n", 400, "Host with bad pct-encoding"),
	C(GET11 "Host: a%4\r\n\r\n", 400, "Host with short pct-encoding"),
	C(GET11 "Host: [::1\r\n\r\n", 400, "unclosed IP literal"),
	C(GET11 "Host: []\r\n\r\n", 400, "empty IP literal"),
	C(GET11 "Host: [::1]x\r\n\r\n", 400, "junk after IP literal"),
	C(GET11 "Host: :80\r\n\r\n", 400, "Host with port only"),
	C(GET11 "Host: caf\xc3\xa9\r\n\r\n", 400, "Host with obs-text"),
	C(GET11 "Host: [::1]:8080\r\n\r\n", ACCEPTED, "IPv6 Host"),
	C(GET11 "Host: 10.0.0.1:80\r\n\r\n", ACCEPTED, "IPv4 Host"),
	C(GET11 "Host: a.example:\r\n\r\n", ACCEPTED, "Host with empty port"),
	C(GET11 "Host: a%41.b-c_d~\r\n\r\n", ACCEPTED, "Host with unreserved and pct"),
	/* request-target forms */
	C("GET http://e.example/x HTTP/1.1\r\nHost: o\r\n\r\n", ACCEPTED, "absolute-form"),
	C("GET http://u@e.example/ HTTP/1.1\r\n" HOST "\r\n", 400, "absolute-form with userinfo"),
	C("GET http:///x HTTP/1.1\r\n" HOST "\r\n", 400, "absolute-form without host"),
	C("GET http://a b/ HTTP/1.1\r\n" HOST "\r\n", 400, "space in absolute-form"),
	C("GET http://e..x/ HTTP/1.1\r\n" HOST "\r\n", 400, "absolute-form with bad host"),
	C("GET 1http://e/ HTTP/1.1\r\n" HOST "\r\n", 400, "scheme starting with a digit"),
	C("GET http:/e/ HTTP/1.1\r\n" HOST "\r\n", 400, "scheme without //"),
	C("GET foo HTTP/1.1\r\n" HOST "\r\n", 400, "target in no form"),
	C("OPTIONS * HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "asterisk-form for OPTIONS"),
	C("GET * HTTP/1.1\r\n" HOST "\r\n", 400, "asterisk-form for GET"),
	C("CONNECT e:443 HTTP/1.1\r\n" HOST "\r\n", ACCEPTED, "authority-form left to the caller"),
	/* Content-Length */
	C(POST11 "Content-Length: 5\r\n\r\n", ACCEPTED, "Content-Length"),
	C(POST11 "Content-Length: 007\r\n\r\n", ACCEPTED, "Content-Length with leading zeros"),
	C(POST11 "Content-Length: +5\r\n\r\n", 400, "Content-Length +5"),
	C(POST11 "Content-Length: -1\r\n\r\n", 400, "Content-Length -1"),
	C(POST11 "Content-Length: 5 5\r\n\r\n", 400, "Content-Length 5 5"),
	C(POST11 "Content-Length: 0x5\r\n\r\n", 400, "Content-Length 0x5"),
	C(POST11 "Content-Length: \r\n\r\n", 400, "empty Content-Length"),
	C(POST11 "Content-Length: 5,\r\n\r\n", 400, "Content-Length trailing comma"),
	C(POST11 "Content-Length: ,5\r\n\r\n", 400, "Content-Length leading comma"),
	C(POST11 "Content-Length: 5, 5\r\n\r\n", 400, "Content-Length equal list (strict)"),
	C(POST11 "Content-Length: 5, 6\r\n\r\n", 400, "Content-Length differing list"),
	C(POST11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "two equal Content-Length (strict)"),
	C(POST11 "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", 400, "two differing Content-Length"),
	C(POST11 "Content-Length: 9223372036854775807\r\n\r\n", ACCEPTED, "Content-Length INT64_MAX"),
	C(POST11 "Content-Length: 9223372036854775808\r\n\r\n", 400, "Content-Length overflow"),
	C(POST11 "Content-Length: 99999999999999999999999\r\n\r\n", 400, "Content-Length huge"),
	/* Transfer-Encoding */
	C(POST11 "Transfer-Encoding: chunked\r\n\r\n", ACCEPTED, "chunked"),
	C(POST11 "transfer-encoding: CHUNKED\r\n\r\n", ACCEPTED, "chunked in capitals"),
	C(POST11 "Transfer-Encoding: , chunked\r\n\r\n", ACCEPTED, "empty list element"),
	C(POST11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "Transfer-Encoding with Content-Length"),
	C(POST11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Content-Length with Transfer-Encoding"),
	C(POST11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip, chunked"),
	C(POST11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "chunked not last"),
	C(POST11 "Transfer-Encoding: gzip\r\n\r\n", 501, "unknown coding"),
	C(POST11 "Transfer-Encoding: identity\r\n\r\n", 501, "identity coding"),
	C(POST11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, "chunked twice"),
	C(POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked in two fields"),
	C(POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "chunked then gzip in two fields"),
	C(POST11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "gzip then chunked in two fields: a duplicate, as nginx"),
	C(POST11 "Transfer-Encoding:\r\n\r\n", 400, "empty Transfer-Encoding"),
	C(POST11 "Transfer-Encoding: chunked;a=b\r\n\r\n", 400, "chunked with a parameter"),
	C(POST11 "Transfer-Encoding: chunked x\r\n\r\n", 400, "chunked with junk"),
	C(POST11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, "quoted coding"),
	C("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding in HTTP/1.0"),
	/* Expect */
	C(POST11 "Expect: 100-continue\r\n\r\n", ACCEPTED, "Expect 100-continue"),
	C(POST11 "Expect: 100-Continue\r\n\r\n", ACCEPTED, "Expect in mixed case"),
	C(POST11 "Expect: foo\r\n\r\n", 417, "unknown expectation"),
	C(POST11 "Expect: 100-continue, foo\r\n\r\n", 417, "unknown expectation in a list"),
	C("POST / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n", 417, "unknown expectation in 1.0"),
	/* fields nginx takes once only */
	C(POST11 "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n", 400, "Expect twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nauthorization: b\r\n\r\n", 400, "Authorization twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n", 400, "If-None-Match twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-Match: a\r\nIf-Match: b\r\n\r\n", 400, "If-Match twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-Range: a\r\nIf-Range: b\r\n\r\n", 400, "If-Range twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n", 400, "If-Modified-Since twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: a\r\nIf-Unmodified-Since: b\r\n\r\n", 400, "If-Unmodified-Since twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nContent-Range: a\r\nContent-Range: b\r\n\r\n", 400, "Content-Range twice"),
	C("GET / HTTP/1.1\r\nHost: a\r\nIf-Match: a\r\nIf-None-Match: b\r\nAccept: x\r\nAccept: y\r\n\r\n", ACCEPTED, "different fields once each, others repeated"),
};

static void
test_req_cases(void)
{
	struct http1_req	 one, slow;
	const struct req_case	*c;
	size_t			 i;
	int			 got, again;

	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		c = &req_cases[i];
		got = req_once(&one, c->in, c->len);
		is_int(got, c->want, "%s: %d", c->name, c->want);
		if (got != c->want && one.error != NULL)
			printf("#   error: %s\n", one.error);
		ok(req_prefixes_ok(c->in, c->len, c->want),
		    "%s: prefixes are incomplete or the same error", c->name);
		again = req_trickle(&slow, c->in, c->len);
		ok(again == got &&
		    (got != ACCEPTED || same_headers(&one, &slow)),
		    "%s: byte by byte gives the same result", c->name);
	}
}

static void
test_req_fields(void)
{
	static const char	 in[] = "\r\nPOST /p?q=1 HTTP/1.1\r\n"
	    "Host:  Example.COM:8080 \r\n"
	    "X-Empty:\r\n"
	    "X_Under: 1\r\n"
	    "Dotted.Name: 2\r\n"
	    "X-Tab:\t a b \t\r\n"
	    "Content-Length: 12\r\n\r\n";
	struct http1_req	 r;
	const char		*p;
	ssize_t			 rc;

	req_setup(&r);
	p = guarded(in, sizeof(in) - 1);
	rc = http1_parse_request(&r, p, sizeof(in) - 1);
	is_int(rc, sizeof(in) - 1, "consumed the whole head");
	ok(r.line == p + 2 && r.line_len == 20, "request line slice");
	ok(r.method == p + 2 && r.method_len == 4 &&
	    r.method_id == HTTP1_M_POST, "method");
	ok(r.target_len == 6 && memcmp(r.target, "/p?q=1", 6) == 0, "target");
	is_int(r.version, 11, "version 11");
	is_int(r.nheaders, 4, "four fields kept");
	is_int(r.ndropped, 2, "two fields dropped");
	ok(r.headers[0].name_len == 4 && r.headers[0].value_len == 16 &&
	    memcmp(r.headers[0].value, "Example.COM:8080", 16) == 0,
	    "value trimmed of SP");
	ok(r.headers[1].value_len == 0 && r.headers[1].name_len == 7,
	    "empty value");
	ok(r.headers[2].value_len == 3 &&
	    memcmp(r.headers[2].value, "a b", 3) == 0,
	    "value trimmed of HTAB, inner SP kept");
	is_int(http1_req_analyze(&r), 0, "analyzed");
	ok(r.host == r.headers[0].value && r.host_len == 16 &&
	    r.host_name_len == 11, "host and host name");
	ok(r.path == r.target && r.path_len == 6, "origin-form path");
	is_int(r.content_length, 12, "content length");
	ok(!r.chunked && r.keep_alive && !r.upgrade && !r.expect_continue,
	    "flags");
}

static void
test_methods(void)
{
	static const struct {
		const char	*m;
		int		 id;
	} ms[] = {
		{ "GET", HTTP1_M_GET }, { "HEAD", HTTP1_M_HEAD },
		{ "POST", HTTP1_M_POST }, { "PUT", HTTP1_M_PUT },
		{ "DELETE", HTTP1_M_DELETE }, { "OPTIONS", HTTP1_M_OPTIONS },
		{ "TRACE", HTTP1_M_TRACE }, { "CONNECT", HTTP1_M_CONNECT },
		{ "PATCH", HTTP1_M_PATCH }, { "get", HTTP1_M_UNKNOWN },
		{ "PROPFIND", HTTP1_M_UNKNOWN }, { "GETS", HTTP1_M_UNKNOWN },
		{ "PUTS", HTTP1_M_UNKNOWN }, { "X", HTTP1_M_UNKNOWN },
	};
	struct http1_req	r;
	char			buf[128];
	size_t			i;
	int			n;

	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		n = snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\n" HOST "\r\n",
		    ms[i].m);
		req_setup(&r);
		ok(http1_parse_request(&r, guarded(buf, (size_t)n),
		    (size_t)n) == n && r.method_id == ms[i].id,
		    "method %s has id %d", ms[i].m, ms[i].id);
	}
}

/* One analysis outcome of a head, as flags. */
static void
check_flags(const char *in, size_t len, bool keep_alive, bool upgrade,
    bool expect, bool trailers, const char *name)
{
	struct http1_req	r;
	int			got;

	got = req_once(&r, in, len);
	ok(got == ACCEPTED && r.keep_alive == keep_alive &&
	    r.upgrade == upgrade && r.expect_continue == expect &&
	    r.has_te_trailers == trailers, "%s", name);
}

static void
test_connection(void)
{
	check_flags(S(GET11 HOST "\r\n"),
	    true, false, false, false, "1.1 keeps alive by default");
	check_flags(S(GET11 HOST "Connection: close\r\n\r\n"),
	    false, false, false, false, "1.1 with close");
	check_flags(S(GET11 HOST "Connection: x, CLOSE\r\n\r\n"),
	    false, false, false, false, "close in a list, any case");
	check_flags(S("GET / HTTP/1.0\r\n\r\n"),
	    false, false, false, false, "1.0 closes by default");
	check_flags(S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
	    true, false, false, false, "1.0 with keep-alive");
	check_flags(S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Connection: close\r\n\r\n"),
	    false, false, false, false, "close wins over keep-alive");
	check_flags(S(GET11 HOST "Connection: keep-alive-x\r\n\r\n"),
	    true, false, false, false, "tokens compare whole");
	check_flags(S(GET11 HOST "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n"),
	    true, true, false, false, "upgrade");
	check_flags(S(GET11 HOST "Upgrade: websocket\r\n\r\n"),
	    true, false, false, false, "Upgrade without Connection: upgrade");
	check_flags(S(GET11 HOST "Connection: upgrade\r\n\r\n"),
	    true, false, false, false, "Connection: upgrade without Upgrade");
	check_flags(S("GET / HTTP/1.0\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n"),
	    false, false, false, false, "upgrade ignored in 1.0");
	check_flags(S(POST11 "Expect: 100-CONTINUE\r\n\r\n"),
	    true, false, true, false, "expect_continue");
	check_flags(S("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"),
	    false, false, false, false, "100-continue ignored in 1.0");
	check_flags(S(GET11 HOST "TE: gzip, trailers\r\n\r\n"),
	    true, false, false, true, "TE: trailers");
	check_flags(S(GET11 HOST "TE: trailersx\r\n\r\n"),
	    true, false, false, false, "TE: trailersx is not trailers");
}

static void
test_framing_values(void)
{
	struct http1_req	r;

	req_once(&r, S(POST11 "Content-Length: 007\r\n\r\n"));
	is_int(r.content_length, 7, "leading zeros");
	req_once(&r, S("POST / HTTP/1.1\r\n" HOST
	    "Content-Length: 9223372036854775807\r\n\r\n"));
	ok(r.content_length == INT64_MAX, "largest Content-Length");
	req_once(&r, S(POST11 "Content-Length: 4 , 4\r\n\r\n"));
	ok(r.content_length == 4 && !r.chunked, "equal list is one value");
	req_once(&r, S(POST11 "Transfer-Encoding: chunked\r\n\r\n"));
	ok(r.chunked && r.content_length == -1, "chunked, no length");
	req_once(&r, S(GET11 HOST "\r\n"));
	ok(!r.chunked && r.content_length == -1, "no body framing");
	req_once(&r, S(POST11 "Transfer-Encoding: gzip\r\n\r\n"));
	ok(r.error != NULL && strstr(r.error, "Transfer-Encoding") != NULL,
	    "unknown coding says why: %s", r.error);
}

static void
test_targets(void)
{
	struct http1_req	r;

	is_int(req_once(&r, S("GET http://e.example:81/x?y HTTP/1.1\r\n"
	    "Host: other\r\n\r\n")), ACCEPTED, "absolute-form accepted");
	ok(r.host_len == 12 && memcmp(r.host, "e.example:81", 12) == 0 &&
	    r.host_name_len == 9, "absolute-form host wins over Host");
	ok(r.path_len == 4 && memcmp(r.path, "/x?y", 4) == 0,
	    "absolute-form path");
	is_int(req_once(&r, S("GET HTTPS://e HTTP/1.1\r\nHost: e\r\n\r\n")),
	    ACCEPTED, "absolute-form without path");
	ok(r.host_len == 1 && r.path_len == 0, "empty path");
	is_int(req_once(&r, S("GET http://e?q HTTP/1.1\r\nHost: e\r\n\r\n")),
	    ACCEPTED, "absolute-form with query, no path");
	ok(r.path_len == 2 && r.path[0] == '?', "path starts with '?'");
	is_int(req_once(&r, S("GET http://e/ HTTP/1.1\r\nHost: a b\r\n\r\n")),
	    400, "Host still checked in absolute-form");
	is_int(req_once(&r, S("GET http://e/ HTTP/1.1\r\n\r\n")), 400,
	    "absolute-form in 1.1 still needs Host");
	is_int(req_once(&r, S("GET http://e/ HTTP/1.0\r\n\r\n")), ACCEPTED,
	    "absolute-form in 1.0 without Host");
	ok(r.host_len == 1 && *r.host == 'e', "host from the target in 1.0");
	is_int(req_once(&r, S("GET / HTTP/1.0\r\n\r\n")), ACCEPTED, "1.0");
	ok(r.host == NULL && r.version == 10, "no host in 1.0 without Host");
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n")),
	    ACCEPTED, "IP literal");
	is_int(r.host_name_len, 5, "IP literal name length");
}

static void
test_names_options(void)
{
	static const char	under[] = GET11 HOST "X_Y: a\r\n\r\n";
	static const char	dot[] = GET11 HOST "X.Y: a\r\n\r\n";
	static const char	at[] = GET11 HOST "X@Y: a\r\n\r\n";
	struct http1_req	r;

	is_int(req_once(&r, S(under)), ACCEPTED, "underscore by default");
	ok(r.nheaders == 1 && r.ndropped == 1, "underscore name dropped");
	opt_underscores = true;
	is_int(req_once(&r, S(under)), ACCEPTED, "underscores allowed");
	ok(r.nheaders == 2 && r.ndropped == 0 && r.headers[1].name_len == 3,
	    "underscore name kept when allowed");
	opt_underscores = false;
	opt_ignore_invalid = false;
	is_int(req_once(&r, S(under)), ACCEPTED,
	    "underscore without ignore_invalid_headers");
	ok(r.nheaders == 1 && r.ndropped == 1,
	    "underscore name still dropped");
	is_int(req_once(&r, S(dot)), 400, "tchar name rejected");
	is_int(req_once(&r, S(at)), 400, "non-token name rejected");
	is_int(req_once(&r, S(GET11 HOST "X\xffY: a\r\n\r\n")), 400,
	    "obs-text name rejected");
	is_str(r.error,
	    "client sent invalid header line: bad character in name",
	    "rejected name says why");
	opt_reset();
	is_int(req_once(&r, S(dot)), ACCEPTED, "tchar name by default");
	ok(r.nheaders == 1 && r.ndropped == 1, "tchar name dropped");
}

/* n "X-n: v" lines after the request line. */
static size_t
many_headers(char *buf, size_t size, int n)
{
	size_t	len;
	int	i, w;

	len = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n" HOST);
	for (i = 1; i < n; i++) {
		w = snprintf(buf + len, size - len, "X-%d: v\r\n", i);
		len += (size_t)w;
	}
	len += (size_t)snprintf(buf + len, size - len, "\r\n");
	return len;
}

static void
test_limits(void)
{
	static const char	at_limit[] = "GET /1234567 HTTP/1.0\r\n\r\n";
	static const char	over_limit[] = "GET /12345678 HTTP/1.0\r\n\r\n";
	char			buf[8192];
	struct http1_req	r;
	size_t			len;

	opt_max_line = 21;
	is_int(req_once(&r, S(at_limit)), ACCEPTED,
	    "request line at the limit");
	is_int(req_once(&r, S(over_limit)), 414, "request line over the limit");
	is_str(r.error, "client sent too long URI", "414 says why");
	is_int(req_once(&r, at_limit, 21), AGAIN,
	    "unfinished line at the limit");
	is_int(req_once(&r, at_limit, 22), AGAIN,
	    "unfinished line at the limit and a CR");
	is_int(req_once(&r, over_limit, 22), 414,
	    "unfinished line over the limit is 414 at once");
	is_int(req_once(&r, S("GET /aaaaaaaaaaaaaaaaaaaaaaa")), 414,
	    "unfinished target over the limit");
	is_int(req_once(&r, S("GETGETGETGETGETGETGETGET")), 414,
	    "unfinished method over the limit");
	is_int(req_once(&r, S("GET /123456789012345678\x01 HTTP/1.1\r\n")),
	    414, "a bad byte past the limit: 414, as byte by byte");
	is_int(req_trickle(&r, S("GET /123456789012345678\x01 HTTP/1.1\r\n")),
	    414, "the same byte by byte");
	is_int(req_once(&r, S("GET /1234567 HTTP/1.1\x01")), 400,
	    "a bad byte before the limit: 400");
	is_int(req_once(&r, S("GET /123456789 HTTP/2.0\r\n\r\n")), 414,
	    "too long beats unsupported version");
	opt_reset();
	memset(buf, 'a', 6000);
	memcpy(buf, "GET /", 5);
	is_int(req_once(&r, buf, 6000), AGAIN, "no limit: long line waits");

	opt_max_header = 10;
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHost: 1234\r\n\r\n")),
	    ACCEPTED, "field line at the limit");
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHost: 12345\r\n\r\n")), 431,
	    "field line over the limit");
	is_str(r.error, "client sent too long header line", "431 says why");
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHost: 1234\r")), AGAIN,
	    "unfinished field line at the limit");
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHost: 12345")), 431,
	    "unfinished field line over the limit");
	is_int(req_once(&r, S("GET / HTTP/1.1\r\nHostHostHost")), 431,
	    "unfinished field name over the limit");
	is_int(req_once(&r, S(GET11 "X_Y: 123456\r\n" HOST "\r\n")), 431,
	    "dropped line over the limit");
	is_int(req_once(&r, S(GET11 "X: 123456789\x01\r\n\r\n")), 431,
	    "a bad byte past the field limit: 431, as byte by byte");
	is_int(req_once(&r, S(GET11 "X: 1234\x01\r\n\r\n")), 400,
	    "a bad byte before the field limit: 400");
	is_int(req_once(&r, S("GET /0123456789012345 HTTP/1.1\r\n"
	    "Host: 1\r\n\r\n")), ACCEPTED,
	    "field limit does not apply to the request line");
	opt_reset();

	len = many_headers(buf, sizeof(buf), HTTP1_MAX_HEADERS);
	is_int(req_once(&r, buf, len), ACCEPTED, "HTTP1_MAX_HEADERS fields");
	is_int(r.nheaders, HTTP1_MAX_HEADERS, "all of them kept");
	len = many_headers(buf, sizeof(buf), HTTP1_MAX_HEADERS + 1);
	is_int(req_once(&r, buf, len), 431, "one field too many");
	ok(req_prefixes_ok(buf, len, 431), "too many: prefixes");
	is_int(req_trickle(&r, buf, len), 431, "too many: byte by byte");
}

static void
test_pipelining(void)
{
	static const char	in[] = "POST /a HTTP/1.1\r\n" HOST
	    "Content-Length: 3\r\n\r\nabc"
	    "GET /b HTTP/1.1\r\n" HOST "\r\n"
	    "GET /c HTTP/1.1\r\n" HOST "\r\n";
	struct http1_req	r;
	const char		*p = guarded(in, sizeof(in) - 1);
	size_t			 off, len = sizeof(in) - 1;
	ssize_t			 rc;

	req_setup(&r);
	rc = http1_parse_request(&r, p, len);
	is_int(rc, 48, "first head ends before its body");
	ok(http1_req_analyze(&r) == 0 && r.content_length == 3, "first body");
	off = (size_t)rc + 3;
	req_setup(&r);
	rc = http1_parse_request(&r, p + off, len - off);
	is_int(rc, 28, "second head");
	ok(r.target_len == 2 && r.target[1] == 'b', "second target");
	off += (size_t)rc;
	req_setup(&r);
	rc = http1_parse_request(&r, p + off, len - off);
	ok(rc == 28 && off + 28 == len && r.target[1] == 'c', "third head");
}

/* After PARSE_AGAIN, moving the bytes elsewhere restarts the parse there. */
static void
test_resume(void)
{
	static const char	in[] = GET11 HOST "X: 1\r\n\r\n";
	struct http1_req	r;
	char			a[64], b[64];

	req_setup(&r);
	memcpy(a, in, sizeof(in));
	is_int(http1_parse_request(&r, a, 30), PARSE_AGAIN, "first part");
	memcpy(b, in, sizeof(in));
	memset(a, 'z', sizeof(a));
	is_int(http1_parse_request(&r, b, sizeof(in) - 1), sizeof(in) - 1,
	    "moved buffer parsed");
	ok(r.nheaders == 2 && r.headers[0].name == b + 16 &&
	    r.headers[1].value == b + 28, "slices point into the new buffer");
	ok(r.line == b && r.target == b + 4, "request line re-parsed");

	req_setup(&r);
	is_int(http1_parse_request(&r, b, 26), PARSE_AGAIN, "resume: part");
	is_int(http1_parse_request(&r, b, 26), PARSE_AGAIN,
	    "resume: same length again");
	is_int(http1_parse_request(&r, b, sizeof(in) - 1), sizeof(in) - 1,
	    "resume: the rest");
	is_int(r.nheaders, 2, "resume: both fields");
	req_setup(&r);
	memcpy(b, "GET / HTTP/1.1\r\nX\x01: 1\r\n\r\n", 26);
	is_int(http1_parse_request(&r, b, 19), PARSE_ERROR,
	    "resume: error in the unfinished line");
}

/* Random bytes changed in valid heads: no crash, the same answer slowly. */
static void
test_mutations(void)
{
	static const char *const base[] = {
		"GET /a?b HTTP/1.1\r\nHost: e.example\r\nX-A: 1\r\n\r\n",
		("POST http://e/ HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"),
		"\r\nOPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	};
	static const char	 bytes[] = "\r\n \t:,;_@\x00\x7f\x80" "a0/";
	struct http1_req	 one, slow;
	char			 buf[256];
	uint32_t		 x = 2463534242u;
	size_t			 len, k;
	ssize_t			 rc;
	int			 i, j, bad = 0, a, b;

	for (i = 0; i < 3000; i++) {
		len = strlen(base[i % 3]);
		memcpy(buf, base[i % 3], len);
		for (j = 0; j < 1 + i % 3; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			k = x % len;
			buf[k] = bytes[(x >> 8) % (sizeof(bytes) - 1)];
		}
		/* a mutation may end the head early (a bare LF makes an
		 * empty line): judge the head the parser found */
		req_setup(&one);
		rc = http1_parse_request(&one, guarded(buf, len), len);
		if (rc > 0 && (size_t)rc < len)
			len = (size_t)rc;
		a = req_once(&one, buf, len);
		b = req_trickle(&slow, buf, len);
		if (a != b || !req_prefixes_ok(buf, len, a) ||
		    (a == ACCEPTED && !same_headers(&one, &slow)))
			bad++;
	}
	is_int(bad, 0, "3000 mutated heads: one pass and byte by byte agree");
}

/* Response heads */

static int
resp_once(struct http1_resp *r, const char *in, size_t len, size_t max)
{
	ssize_t	rc;

	http1_resp_init(r);
	r->max_header_line = max;
	rc = http1_parse_response(r, guarded(in, len), len);
	if (rc >= 0 && (size_t)rc != len)
		return SHORT;
	return rc >= 0 ? 0 : (int)rc;
}

/* Prefixes are PARSE_AGAIN, and feeding byte by byte gives the same fields. */
static bool
resp_prefixes_again(const char *in, size_t len)
{
	struct http1_resp	 one, r, s;
	const char		*p;
	size_t			 l;
	ssize_t			 rc = PARSE_AGAIN;

	if (resp_once(&one, in, len, 0) != 0)
		return false;
	for (l = 0; l < len; l++)
		if (resp_once(&r, in, l, 0) != PARSE_AGAIN)
			return false;
	http1_resp_init(&s);
	p = guarded(in, len);
	for (l = 0; l <= len && rc == PARSE_AGAIN; l++)
		rc = http1_parse_response(&s, p, l);
	return rc == (ssize_t)len && s.nheaders == one.nheaders &&
	    s.status == one.status && s.reason == one.reason &&
	    memcmp(s.headers, one.headers,
	    one.nheaders * sizeof(one.headers[0])) == 0;
}

static void
test_response(void)
{
	static const struct {
		const char	*in;
		size_t		 len;
		int		 want;
		const char	*name;
	} cases[] = {
		C("HTTP/1.1 200 OK\r\nA: b\r\n\r\n", 0, "status line"),
		C("HTTP/1.0 404 Not Found\r\n\r\n", 0, "HTTP/1.0"),
		C("HTTP/1.1 200\r\n\r\n", 0, "no reason, no SP"),
		C("HTTP/1.1 200 \r\n\r\n", 0, "empty reason"),
		C("HTTP/1.1 200 \xc3\xa9 t\tx\r\n\r\n", 0, "obs-text reason"),
		C("HTTP/1.1 999 x\r\n\r\n", 0, "status 999"),
		C("HTTP/1.1 200 OK\r\nX_Y: a\r\nX.Y: b\r\n\r\n", 0, "tchar names kept"),
		C("HTTP/1.1 20 OK\r\n\r\n", PARSE_ERROR, "two-digit status"),
		C("HTTP/1.1 2000 OK\r\n\r\n", PARSE_ERROR, "four-digit status"),
		C("HTTP/1.1 099 OK\r\n\r\n", PARSE_ERROR, "status below 100"),
		C("HTTP/1.1 2x0 OK\r\n\r\n", PARSE_ERROR, "status with a letter"),
		C("HTTP/2.0 200 OK\r\n\r\n", PARSE_ERROR, "HTTP/2.0"),
		C("HTTP/1.2 200 OK\r\n\r\n", PARSE_ERROR, "HTTP/1.2"),
		C("http/1.1 200 OK\r\n\r\n", PARSE_ERROR, "lowercase version"),
		C("HTTP/1.1  200 OK\r\n\r\n", PARSE_ERROR, "two spaces"),
		C("HTTP/1.1 200OK\r\n\r\n", PARSE_ERROR, "no SP before reason"),
		C("HTTP/1.1 200 O\x01K\r\n\r\n", PARSE_ERROR, "CTL in reason"),
		C("HTTP/1.1 200 OK\n\r\n", 0, "bare LF after status"),
		C("\r\nHTTP/1.1 200 OK\r\n\r\n", PARSE_ERROR, "leading empty line"),
		C("HTTP/1.1 200 OK\r\nX Y: a\r\n\r\n", PARSE_ERROR, "space in name"),
		C("HTTP/1.1 200 OK\r\nX@Y: a\r\n\r\n", PARSE_ERROR, "non-token name"),
		C("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", PARSE_ERROR, "space before colon"),
		C("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", PARSE_ERROR, "obs-fold"),
		C("HTTP/1.1 200 OK\r\nA: b\x00\r\n\r\n", PARSE_ERROR, "NUL in value"),
		C("HTTP/1.1 200 OK\r\nA: b\n\r\n", 0, "bare LF in fields"),
		C("HTTP/1.1 200 OK\r\nA: b\r\n\n", 0, "bare LF at the end"),
	};
	struct http1_resp	r;
	size_t			i;
	int			got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = resp_once(&r, cases[i].in, cases[i].len, 0);
		is_int(got, cases[i].want, "response %s", cases[i].name);
		if (cases[i].want == 0)
			ok(resp_prefixes_again(cases[i].in, cases[i].len),
			    "response %s: prefixes, byte by byte",
			    cases[i].name);
		else
			ok(r.error != NULL, "response %s: %s", cases[i].name,
			    r.error);
	}

	resp_once(&r, S("HTTP/1.0 404 Not Found\r\nA:  b \r\n\r\n"), 0);
	ok(r.version == 10 && r.status == 404 && r.reason_len == 9 &&
	    memcmp(r.reason, "Not Found", 9) == 0, "status line fields");
	ok(r.nheaders == 1 && r.headers[0].value_len == 1 &&
	    *r.headers[0].value == 'b', "response field");
	resp_once(&r, S("HTTP/1.1 204\r\n\r\n"), 0);
	ok(r.status == 204 && r.reason_len == 0 && r.version == 11,
	    "no reason");
	is_int(resp_once(&r, S("HTTP/1.1 200 OK\r\nA: 123456789012\r\n\r\n"),
	    15), 0, "status and field lines at the limit");
	is_int(resp_once(&r, S("HTTP/1.1 200 OK\r\nA: 1234567890123\r\n\r\n"),
	    15), PARSE_ERROR, "response field over the limit");
	is_int(resp_once(&r, S("HTTP/1.1 200 OK\r\nA: 1234567890123"), 15),
	    PARSE_ERROR, "unfinished response field over the limit");
	is_int(resp_once(&r, S("HTTP/1.1 200 OK!\r\n\r\n"), 15), PARSE_ERROR,
	    "status line over the limit");
	is_int(resp_once(&r, S("HTTP/1.1 200 Very Long"), 15), PARSE_ERROR,
	    "unfinished status line over the limit");
	is_int(resp_once(&r, S("HTTP/1.1 200 OK\r\n\r\nbody"), 0), SHORT,
	    "body is not part of the head");
	is_int(r.nheaders, 0, "no fields");
}

/* Chunked decoder */

#define CH_ERROR(status)	(-1000 - (status))

/*
 * Decodes in, handed over in pieces: cut at split (and every byte after
 * it when step).  Returns the decoder's verdict; body and rest collect
 * what came out.
 */
static int
chunk_run(const char *in, size_t len, size_t split, bool step, uint64_t max,
    char *body, size_t *blen, char *rest, size_t *rlen)
{
	struct http1_chunked	 c;
	char			*p;
	size_t			 off = 0, n, got;
	ssize_t			 rc = PARSE_AGAIN;
	bool			 first = true;

	http1_chunked_init(&c, max);
	*blen = *rlen = 0;
	while (rc == PARSE_AGAIN && (first || off < len)) {
		n = first ? split : step ? 1 : len - off;
		first = false;
		p = guarded(in + off, n);
		got = n;
		rc = http1_chunked_decode(&c, p, &got);
		if (rc == PARSE_ERROR)
			return CH_ERROR(c.status);
		if (got > n || (rc >= 0 && got + (size_t)rc > n))
			return -98;
		memcpy(body + *blen, p, got);
		*blen += got;
		off += n;
		if (rc >= 0) {
			memcpy(rest, p + n - rc, (size_t)rc);
			memcpy(rest + rc, in + off, len - off);
			*rlen = (size_t)rc + len - off;
			if (!c.done || c.total != *blen)
				return -99;
		}
	}
	return rc == PARSE_AGAIN ? AGAIN : 0;
}

/* The same verdict, body and rest for every way of cutting the input. */
static void
chunk_case(const char *in, size_t len, int want, const char *body,
    const char *rest, const char *name)
{
	char	b[4096], r[4096], b1[4096], r1[4096];
	size_t	bl, rl, bl1, rl1, k;
	int	got, g, step, bad = 0;

	got = chunk_run(in, len, len, false, 0, b, &bl, r, &rl);
	is_int(got, want, "chunked %s", name);
	if (want == 0)
		ok(bl == strlen(body) && memcmp(b, body, bl) == 0 &&
		    rl == strlen(rest) && memcmp(r, rest, rl) == 0,
		    "chunked %s: body and rest", name);
	for (k = 0; k <= len; k++) {
		for (step = 0; step < 2; step++) {
			g = chunk_run(in, len, k, step, 0, b1, &bl1, r1, &rl1);
			if (g != got || (got == 0 && (bl1 != bl ||
			    memcmp(b1, b, bl) != 0 || rl1 != rl ||
			    memcmp(r1, r, rl) != 0)))
				bad++;
		}
	}
	is_int(bad, 0, "chunked %s: split at every position", name);
}

static void
test_chunked(void)
{
	static const char	two_chunks[] =
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	char			buf[16384], b[16384], r[64];
	struct http1_chunked	c;
	size_t			bl, rl, len;
	ssize_t			rc;

	chunk_case(S("5\r\nhello\r\n0\r\n\r\n"), 0, "hello", "", "one chunk");
	chunk_case(S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" GET11), 0,
	    "hello world", GET11, "two chunks and a pipeline");
	chunk_case(S("0\r\n\r\n"), 0, "", "", "empty body");
	chunk_case(S("1\r\nx\r\n0\r\n\r\nGET /a-longer-target HTTP/1.1\r\n"),
	    0, "x", "GET /a-longer-target HTTP/1.1\r\n",
	    "a rest longer than the framing stays intact");
	chunk_case(S("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n"), 0,
	    "0123456789abcdefghij", "", "hex in either case");
	chunk_case(S("0005\r\nhello\r\n000\r\n\r\n"), 0, "hello", "",
	    "leading zeros");
	chunk_case(S("5;a=b\r\nhello\r\n0;x\r\n\r\n"), 0, "hello", "",
	    "extensions");
	chunk_case(S("5 ; a = \"q\\\"x;\" ;b\t;c=d\r\nhello\r\n0\r\n\r\n"), 0,
	    "hello", "", "extensions with BWS and a quoted-string");
	chunk_case(S("0\r\nA: b\r\nC-D:e f\r\n\r\nX"), 0, "", "X", "trailers");
	chunk_case(S("5;\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "extension without name");
	chunk_case(S("5;=b\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "extension with empty name");
	chunk_case(S("5;a=\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "extension with empty value");
	chunk_case(S("5;a=\"x\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "unterminated quoted-string");
	chunk_case(S("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "junk after quoted-string");
	chunk_case(S("5;a=b c\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "two values");
	chunk_case(S("5;a@b\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "non-token extension name");
	chunk_case(S("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), CH_ERROR(400),
	    "", "", "CTL in quoted-string");
	chunk_case(S("5 \r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "whitespace after size");
	chunk_case(S("5;a \r\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "whitespace after extension");
	chunk_case(S("5\nhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "bare LF after size");
	chunk_case(S("5\rhello\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "bare CR after size");
	chunk_case(S("5\r\nhello\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "bare LF after data");
	chunk_case(S("5\r\nhelloX\r\n0\r\n\r\n"), CH_ERROR(400), "", "",
	    "data longer than its size");
	chunk_case(S("0\r\n\n"), CH_ERROR(400), "", "", "bare LF at the end");
	chunk_case(S("0\n\r\n"), CH_ERROR(400), "", "",
	    "bare LF after last size");
	chunk_case(S("0\r\n\rX"), CH_ERROR(400), "", "",
	    "CR without LF at the end");
	chunk_case(S("x\r\n"), CH_ERROR(400), "", "", "size not hex");
	chunk_case(S("\r\n"), CH_ERROR(400), "", "", "empty size");
	chunk_case(S("+5\r\n"), CH_ERROR(400), "", "", "size with sign");
	chunk_case(S(" 5\r\n"), CH_ERROR(400), "", "", "space before size");
	chunk_case(S("0x5\r\n"), CH_ERROR(400), "", "", "size with 0x");
	chunk_case(S("4000000000000000\r\n"), AGAIN, "", "",
	    "size 2^62 waits for data");
	chunk_case(S("4000000000000001\r\n"), CH_ERROR(400), "", "",
	    "size over 2^62");
	chunk_case(S("ffffffffffffffff\r\n"), CH_ERROR(400), "", "",
	    "size 2^64 - 1");
	chunk_case(S("10000000000000000\r\n"), CH_ERROR(400), "", "",
	    "size 2^64 would wrap");
	chunk_case(S("00000000000000001\r\n"), CH_ERROR(400), "", "",
	    "17 hex digits");
	chunk_case(S("0000000000000001\r\nx\r\n0\r\n\r\n"), 0, "x", "",
	    "16 hex digits");
	chunk_case(S("0\r\nA : b\r\n\r\n"), CH_ERROR(400), "", "",
	    "trailer with space before colon");
	chunk_case(S("0\r\n b\r\n\r\n"), CH_ERROR(400), "", "",
	    "trailer obs-fold");
	chunk_case(S("0\r\nA: b\x01\r\n\r\n"), CH_ERROR(400), "", "",
	    "CTL in trailer");
	chunk_case(S("0\r\nA: b\n\r\n"), CH_ERROR(400), "", "",
	    "bare LF in trailer");
	chunk_case(S("0\r\n:b\r\n\r\n"), CH_ERROR(400), "", "",
	    "trailer with empty name");
	chunk_case(S("0\r\nA\r\n\r\n"), CH_ERROR(400), "", "",
	    "trailer without colon");

	len = sizeof(two_chunks) - 1;
	is_int(chunk_run(two_chunks, len, len, false, 11, b, &bl, r, &rl), 0,
	    "max_size reached exactly");
	is_int(chunk_run(two_chunks, len, len, false, 10, b, &bl, r, &rl),
	    CH_ERROR(413), "max_size exceeded is 413");
	is_int(chunk_run(S("5\r\nhello\r\n"), 10, false, 4, b, &bl, r, &rl),
	    CH_ERROR(413), "413 before the data arrives");

	len = (size_t)snprintf(buf, sizeof(buf), "5;a=");
	memset(buf + len, 'x', 5000);
	len += 5000;
	is_int(chunk_run(buf, len, len, false, 0, b, &bl, r, &rl),
	    CH_ERROR(400), "too long extension");
	len = (size_t)snprintf(buf, sizeof(buf), "0\r\nA: ");
	memset(buf + len, 'x', 9000);
	len += 9000;
	is_int(chunk_run(buf, len, len, false, 0, b, &bl, r, &rl),
	    CH_ERROR(400), "too long trailers");

	/* a large chunk that spans calls is decoded without moving it */
	http1_chunked_init(&c, 0);
	memcpy(buf, "1000\r\n", 6);
	memset(buf + 6, 'y', 2000);
	len = 2006;
	rc = http1_chunked_decode(&c, buf, &len);
	ok(rc == PARSE_AGAIN && len == 2000 && c.total == 2000 && !c.done,
	    "first part of a large chunk");
	len = 2096;
	memset(buf, 'z', len);
	rc = http1_chunked_decode(&c, buf, &len);
	ok(rc == PARSE_AGAIN && len == 2096 && c.total == 4096,
	    "rest of a large chunk");
	memcpy(buf, "\r\n0\r\n\r\nNEXT", 11);
	len = 11;
	rc = http1_chunked_decode(&c, buf, &len);
	ok(rc == 4 && len == 0 && c.done && memcmp(buf + 7, "NEXT", 4) == 0,
	    "the rest is left where it was");
	len = 3;
	rc = http1_chunked_decode(&c, buf, &len);
	ok(rc == 3 && len == 0, "after the end everything is left over");

	http1_chunked_init(&c, 0);
	memcpy(buf, "zz", 2);
	len = 2;
	ok(http1_chunked_decode(&c, buf, &len) == PARSE_ERROR &&
	    c.status == 400 && c.error != NULL, "error: %s", c.error);
	memcpy(buf, "0\r\n\r\n", 5);
	len = 5;
	ok(http1_chunked_decode(&c, buf, &len) == PARSE_ERROR,
	    "an error stays");
}

int
main(void)
{
	guard_setup();
	test_req_cases();
	test_req_fields();
	test_methods();
	test_connection();
	test_framing_values();
	test_targets();
	test_names_options();
	test_limits();
	test_pipelining();
	test_resume();
	test_mutations();
	test_response();
	test_chunked();
	return done_testing();
}
