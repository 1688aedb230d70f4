/*
 * An HTTP/1.x request as it travels through the worker: what the client
 * sent (slices into the connection's read buffer), where it was routed,
 * and the response being built.  The connection state machine is
 * http_conn.c; the processing phases http_request.c; responses
 * http_response.c.
 */
#ifndef USHER_WORKER_HTTP_H
#define USHER_WORKER_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../common/array.h"
#include "../common/regex.h"
#include "../common/str.h"
#include "http1_parse.h"

struct coder;
struct conn;
struct http_addr;
struct http_loc;
struct http_main;
struct http_srv;
struct pool;

#define HTTP_MAX_URI_CHANGES	10

/* A request body read in full: memory first, then an unlinked file. */
struct req_body {
	char		*mem;
	size_t		 len, cap;
	int		 fd;		/* -1: none */
	int64_t		 file_len;
	const char	*dir;		/* where the file is */
	char		*path;		/* the file's name once it has one */
	bool		 done;
	bool		 too_big;	/* streamed, not kept */
};

struct request;
typedef void http_done_fn(struct request *);

/* A response header set by usher (not passed through). */
struct header {
	struct str	name;
	struct str	value;
};

struct request {
	struct conn		*conn;
	struct http_conn	*hc;
	struct pool		*pool;
	struct http_main	*http;

	/* as received; slices into the read buffer */
	struct http1_req	*in;
	struct str		 request_line;
	struct str		 method;
	int			 method_id;
	int			 version;	/* 10, 11 */
	struct str		 unparsed_uri;	/* $request_uri */
	struct str		 uri;		/* decoded, normalized: $uri */
	struct str		 args;		/* $args */
	struct str		 exten;
	struct str		 host;		/* lowercase, no port; $host */
	bool			 host_from_header;
	int64_t			 content_length;	/* -1: none */
	bool			 chunked;
	bool			 keepalive;
	bool			 expect_continue;
	bool			 head;		/* HEAD: no body sent */
	bool			 pipelined;	/* $pipe */
	size_t			 header_len;	/* bytes of the head */

	/* routing */
	struct http_srv		*srv;
	struct http_loc		*loc;
	int			 uri_changes;
	bool			 uri_changed;	/* rewrite ... last */
	bool			 internal;	/* redirected inside usher */
	bool			 error_page;	/* an error_page redirect ran */
	bool			 rewrite_break;
	bool			 auto_redirect;	/* "/a" for location "/a/" */
	bool			 quoted_uri;	/* the path had %XX */
	bool			 plus_in_uri;	/* the path had '+' */
	int			 caps[2 * REGEX_MAX_CAPTURES];
	int			 ncaps;		/* pairs in caps */
	struct str		 cap_subject;	/* what caps index into */

	/* variables stored per request */
	struct str		*vals;
	unsigned char		*vset;
	char			 request_id[33];

	/* the response */
	int			 status;
	int			 err_status;	/* error_page's status to send */
	struct str		 status_line;	/* "HTTP/1.1 200 OK" override */
	struct str		 content_type;
	int64_t			 out_length;	/* -1: unknown */
	struct str		 location;
	struct array		 out_headers;	/* struct header */
	struct array		*out_trailers;	/* add_trailer's, once sent */
	struct str		 body;		/* a body held in memory */
	bool			 header_sent;
	bool			 expires_done;	/* expires was applied */
	bool			 chunked_out;	/* Transfer-Encoding: chunked */
	bool			 upgraded;	/* 101: a tunnel follows */
	bool			 has_server;	/* Server/Date came from upstream */
	bool			 has_date;
	bool			 uri_modified;	/* by rewrite or redirect */
	bool			 close_after;	/* Connection: close */
	bool			 lingering;	/* unread body: linger on close */
	bool			 discard_body;	/* body to be read and dropped */
	bool			 done;
	bool			 encode_tested;	/* encode_header ran */
	bool			 charset_tested; /* charset_header ran */
	bool			 recode_resizes; /* recoded through utf-8 */
	struct coder		*coder;		/* gzip and kin (encode.c) */
	void			*coded_send;	/* encode.c's file sender */

	/* framing state of a chunked request body */
	struct http1_chunked	 chunked_in;
	/* a response in memory being written */
	struct iovec		 iov[4];
	int			 niov, iov_first;

	/* the request body, when a handler reads it */
	struct req_body		 body_in;
	http_done_fn		*body_done;
	void			*proxy;		/* proxy.c's state */
	/* content phase handler of the location (proxy) */

	/* limit_rate and limit_rate_after, once known (-1: not yet) */
	int64_t			 limit_rate;
	int64_t			 limit_rate_after;

	/* accounting, for logs */
	uint64_t		 start_ms;	/* clock_now.real_ms at start */
	uint64_t		 bytes_sent;
	uint64_t		 body_bytes_sent;
	uint64_t		 request_length;
	uint64_t		 body_received;
};

/* State of a client connection speaking HTTP/1.x. */
struct http_conn {
	struct conn		*conn;
	struct http_addr	*addr;		/* servers reachable here */
	char			*rbuf;		/* read buffer (malloc) */
	size_t			 rsize;		/* its capacity */
	size_t			 rstart, rend;	/* unprocessed bytes */
	struct request		*req;		/* the current one */
	struct pool		*rpool;		/* the request's pool */
	struct http1_req	*parsed;	/* in rpool, while a head is read */
	int64_t			 body_left;	/* fixed-length body to read */
	int			 state;		/* HC_* */
	int			 stat;		/* for stub_status */
	bool			 sent_continue;
	bool			 pipelined;	/* the next head came early */
	uint64_t		 linger_until;
};

/* A request pool from the worker's free list (reset), or a new one. */
struct pool	*http_rpool_get(void);
/* Resets p and keeps it for the next request of any connection. */
void		 http_rpool_put(struct pool *p);

/* Starts HTTP on an accepted connection. */
void	http_conn_start(struct conn *);
/* Graceful shutdown: closes the connection if it is idle, and makes it
 * close after its current request otherwise. */
void	http_conn_shutdown(struct conn *);

/* Phases (http_request.c) */
/* A new request on hc, with its pool; NULL if out of memory. */
struct request *http_request_new(struct http_conn *);
/* Takes the parsed head (head_len bytes of hc's buffer) and runs it. */
void	http_request_start(struct http_conn *, size_t head_len);
/* The server for host among those on ha (captures into r unless NULL). */
struct http_srv *http_find_server(struct http_addr *ha, struct request *r,
	    const char *host, size_t len);
/* Routes a parsed request and runs it to a response. */
void	http_request_run(struct request *);
/* Re-runs location lookup for a new URI (rewrite last, error_page). */
void	http_request_redirect(struct request *, const struct str *uri,
	    const struct str *args);
/* Runs a named location (@name). */
void	http_request_named(struct request *, struct http_loc *);

/* Responses (http_response.c) */
/* Finishes r with a status and a body already set in r. */
void	http_respond(struct request *);
/* An error or redirect status: error_page or the built-in page. */
void	http_special(struct request *, int status);
/* An error_page would handle status for r (proxy_intercept_errors). */
bool	http_has_error_page(struct request *, int status);
/*
 * Builds the response head from r (status, headers, framing, add_header)
 * in the request pool; NULL if out of memory.
 */
char	*http_build_head(struct request *, size_t *len);
/* The first request header called name (case-insensitive), or NULL. */
const struct http1_header *http_req_header(const struct request *,
	    const char *name, size_t len);
/* Sets a response header (copied into the request pool); 0 or -1. */
int	http_add_header(struct request *, const char *name, size_t nlen,
	    const char *value, size_t vlen);
const char *http_status_text(int status, size_t *len);

/* Called by http_response.c once the response is out. */
void	http_conn_request_done(struct request *);
/*
 * Reads the whole request body (memory up to client_body_buffer_size,
 * then a temporary file) and calls done(r).  On a client error it answers
 * (400, 408, 413) itself and done is never called.
 */
void	http_read_body(struct request *, http_done_fn *done);
/*
 * Reads and decodes the next piece of the request body into buf, for a
 * handler that streams it: bytes (*done at its end), IO_AGAIN, IO_ERROR
 * (the client went away) or HTTP_BODY_INVALID (bad chunked framing).
 */
#define HTTP_BODY_INVALID	(-3)
ssize_t	http_body_read_some(struct request *, char *buf, size_t size,
	    bool *done);
/*
 * Gives the body's unlinked file a name in client_body_temp_path, for
 * $request_body_file and client_body_in_file_only; the name, or NULL.
 */
const char *http_body_file_name(struct request *);
/* Releases the body's memory and file (the request pool does the rest). */
void	http_body_free(struct request *);
/* Consumes the request body bytes already read; -1 if they are malformed. */
int	http_conn_check_body(struct request *);
/* A handler streams the response itself: client timeouts are send ones. */
void	http_conn_set_writing(struct request *);
/* Queues bytes for the client; 0 or -1. */
int	http_conn_write(struct request *, struct iovec *, int n);

#endif
