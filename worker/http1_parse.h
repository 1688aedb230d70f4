/*
 * The HTTP/1 message head parsers (request head, upstream response head)
 * and the chunked body decoder.  They only parse and check; answering,
 * logging and URI normalization belong to the callers.  Depends on libc only.
 */
#ifndef USHER_WORKER_HTTP1_PARSE_H
#define USHER_WORKER_HTTP1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PARSE_ERROR		(-1)
#define PARSE_AGAIN		(-2)
#define HTTP1_MAX_HEADERS	128
/* Longer chunk-size lines (with extensions) or trailer sections: 400. */
#define HTTP1_CHUNK_LINE_MAX	4096
#define HTTP1_TRAILER_MAX	8192

struct http1_header {
	const char	*name;		/* slices into the caller's buffer */
	size_t		 name_len;
	const char	*value;		/* OWS trimmed on both sides */
	size_t		 value_len;
};

enum http1_method {
	HTTP1_M_UNKNOWN = 0,		/* a valid token without an id */
	HTTP1_M_GET,
	HTTP1_M_HEAD,
	HTTP1_M_POST,
	HTTP1_M_PUT,
	HTTP1_M_DELETE,
	HTTP1_M_OPTIONS,
	HTTP1_M_TRACE,
	HTTP1_M_CONNECT,
	HTTP1_M_PATCH
};

struct http1_req {
	/*
	 * Set by the caller after http1_req_init().  Limits count a line
	 * without its CRLF; 0 is no limit.  A name with '_' is dropped unless
	 * underscores_in_headers; one with another byte outside [A-Za-z0-9-]
	 * is dropped if ignore_invalid_headers (the default), else 400.
	 */
	size_t			 max_request_line;	/* longer: 414 */
	size_t			 max_header_line;	/* longer: 431 */
	bool			 underscores_in_headers;
	bool			 ignore_invalid_headers;

	/* filled by http1_parse_request(); slices point into its buffer */
	const char		*line;		/* request line without CRLF */
	size_t			 line_len;
	const char		*method;
	size_t			 method_len;
	int			 method_id;	/* enum http1_method */
	const char		*target;	/* raw request-target */
	size_t			 target_len;
	int			 version;	/* 10 or 11 */
	struct http1_header	 headers[HTTP1_MAX_HEADERS];
	size_t			 nheaders;
	size_t			 ndropped;	/* lines dropped for a name */
	int			 status;	/* on error: what to answer */
	const char		*error;		/* on error: text to log */

	/* filled by http1_req_analyze() */
	const char		*host;		/* target's, Host's or NULL */
	size_t			 host_len;
	size_t			 host_name_len;	/* without ":port" */
	const char		*path;		/* target less scheme:// and */
	size_t			 path_len;	/* authority: maybe "?..." */
	int64_t			 content_length; /* -1 if none */
	bool			 chunked;
	bool			 keep_alive;
	bool			 upgrade;	/* with Connection: upgrade */
	bool			 expect_continue;
	bool			 has_te_trailers; /* "TE: trailers" */

	/* private: where a PARSE_AGAIN stopped, to resume there */
	const char		*resume_buf;
	size_t			 resume_off;
};

struct http1_resp {
	size_t			 max_header_line; /* also for the status line */
	int			 version;	/* 10 or 11 */
	int			 status;	/* 100 to 999 */
	const char		*reason;	/* may be empty */
	size_t			 reason_len;
	struct http1_header	 headers[HTTP1_MAX_HEADERS];
	size_t			 nheaders;
	const char		*error;		/* on error: text to log */

	/* private, as in struct http1_req */
	const char		*resume_buf;
	size_t			 resume_off;
};

struct http1_chunked {
	uint64_t		 max_size;	/* 0: no limit; beyond: 413 */
	uint64_t		 total;		/* body bytes decoded so far */
	bool			 done;		/* the body has ended */
	int			 status;	/* on error: 400 or 413 */
	const char		*error;		/* on error: static text */

	/* private */
	uint64_t		 left;		/* this chunk's data to come */
	unsigned		 state;
	unsigned		 ndigits;
	size_t			 line_len;	/* size line or trailer bytes */
};

/* Sets every field to its default and no limits; call before each request. */
void	 http1_req_init(struct http1_req *r);
/*
 * Parses a request head in buf[0..len).  Returns the bytes through the
 * empty line that ends it, PARSE_AGAIN when more is needed, or PARSE_ERROR
 * with r->status (400, 414, 431 or 505) and r->error.  After PARSE_AGAIN
 * call again with the same bytes and more after them; if buf is the same
 * pointer, the parse resumes at the unfinished line, so a head that comes
 * byte by byte is not parsed again from its start each time.
 */
ssize_t	 http1_parse_request(struct http1_req *r, const char *buf,
	    size_t len);
/*
 * Checks the parsed head as a whole (framing, Host, target form,
 * Connection, Expect) and fills the fields after it; 0, or -1 with
 * r->status (400, 417 or 501) and r->error.
 */
int	 http1_req_analyze(struct http1_req *r);

/* Sets every field to its default and no limit; call before each response. */
void	 http1_resp_init(struct http1_resp *r);
/*
 * As http1_parse_request(), for an upstream's response head; the reason
 * for a PARSE_ERROR is only in r->error (the caller answers 502).
 */
ssize_t	 http1_parse_response(struct http1_resp *r, const char *buf,
	    size_t len);

/* Starts decoding a chunked body of at most max_size bytes (0: any). */
void	 http1_chunked_init(struct http1_chunked *c, uint64_t max_size);
/*
 * Decodes buf[0..n) in place, n being *len on entry; on return
 * buf[0..*len) holds the body bytes found.  Returns PARSE_AGAIN when all
 * input was used and more is needed, PARSE_ERROR (c->status, c->error; it
 * stays), or, once the last chunk and the trailers have ended (c->done),
 * the count r of bytes after them, left in place at buf[n - r..n): the
 * next pipelined message.
 */
ssize_t	 http1_chunked_decode(struct http1_chunked *c, char *buf,
	    size_t *len);

#endif
