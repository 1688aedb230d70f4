/*
 * What the proxy module's files share: the per-request state.  Private to
 * proxy.c, proxy_headers.c and proxy_stream.c.
 */
#ifndef USHER_WORKER_PROXY_INT_H
#define USHER_WORKER_PROXY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../common/addr.h"
#include "../common/str.h"
#include "http1_parse.h"
#include "loop.h"
#include "upstream.h"

struct conn;
struct proxy_loc;
struct request;

#define PROXY_MAX_TRIES		16
#define PROXY_MAX_BUFS		64
#define PROXY_AGAIN		1

enum proxy_state {
	PROXY_CONNECT = 1,
	PROXY_SEND,
	PROXY_HEAD,
	PROXY_STREAM,
	PROXY_TUNNEL,
	PROXY_HANDSHAKE		/* TLS, after the connect */
};

/* One try, for the $upstream_* variables. */
struct try_rec {
	const char	*addr;		/* the peer's name; lives as long */
	int		 status;
	uint64_t	 start_ms, connect_ms, header_ms, end_ms;
	uint64_t	 bytes_received, bytes_sent;
};

/* A buffer of the response body on its way to the client. */
struct pbuf {
	char		*data;
	size_t		 start, end;	/* bytes not yet sent */
	char		 chunk_hdr[20];	/* "%zx\r\n" when re-chunking */
	size_t		 hdr_len;
	size_t		 hdr_sent;
	size_t		 tail_sent;	/* of the CRLF after chunk data */
};

struct proxy_ctx {
	struct request		*r;
	struct proxy_loc	*pl;
	struct upstream		*up;
	struct upstream_peer	*peer;
	struct upstream_tries	 tries;
	struct try_rec		 tries_log[PROXY_MAX_TRIES];
	unsigned		 ntries;
	int			 last_status;
	struct conn		*uc;		/* upstream connection */
	bool			 reused;	/* it came from the pool */
	bool			 retry_fresh;
	bool			 got_byte;	/* of this try's answer */
	bool			 sent_any;	/* of the request, any try */
	bool			 body_ready;
	bool			 finished;
	uint64_t		 start_ms;
	uint64_t		 sent, received;
	const char		*doing;		/* for the error log */
	int			 state;		/* enum proxy_state */
	bool			 https;		/* this request's upstream */
	struct str		 ssl_name;	/* proxy_ssl_name, no port */

	/* the target */
	struct str		 host;		/* $proxy_host */
	struct str		 port;		/* $proxy_port */
	struct str		 uri;		/* what is sent upstream */
	struct str		 server_name;

	/* the request to send */
	bool			 out_built;
	struct iovec		 out[4];
	int			 nout, out_first;
	int			 file_fd;	/* body in a file: sent after */
	int64_t			 file_left;
	off_t			 file_off;

	/* the response head */
	char			*hbuf;		/* proxy_buffer_size */
	size_t			 hsize, hlen;
	size_t			 head_len;	/* of the parsed head in hbuf */
	struct http1_resp	*resp;		/* uncleared: 4 KB of slots */
	int64_t			 resp_length;	/* -1: not given */
	bool			 resp_chunked;
	bool			 resp_keepalive;
	bool			 resp_no_body;
	bool			 upgrade;	/* 101 accepted: tunnel */

	/* streaming the body to the client */
	struct http1_chunked	 dechunk;
	int64_t			 resp_left;	/* fixed length left to read */
	bool			 client_chunked;
	bool			 resp_done;	/* upstream body complete */
	bool			 upstream_eof;
	bool			 trailer_done;	/* "0\r\n\r\n" written */
	size_t			 trailer_sent;	/* of its 5 bytes */
	bool			 head_out;	/* client head fully written */
	char			*chead;		/* client head */
	size_t			 chead_len, chead_sent;
	struct pbuf		*bufs;		/* nbufs of them, in the pool */
	int			 nbufs, bhead, bcount;
	size_t			 bsize;
	int			 temp_fd;	/* spooled body */
	int64_t			 temp_w, temp_r;
	uint64_t		 unspilled;	/* bytes moved back, ever */
	struct timer		 repump;	/* more to do after a fair share */
	uint64_t		 client_sent;	/* body bytes to the client */

	/* a coded body (gzip and kin, r->coder): raw bytes not yet coded */
	const char		*zin;
	size_t			 zlen;
	char			*zbuf;		/* for reads */
	size_t			 zbuf_size;
	bool			 zgather;	/* a small body: read it whole */
	bool			 zdirty;	/* coded since the last flush */
	bool			 zflush;	/* a flush is under way */
	bool			 coded_done;	/* the coder has ended */

	/* proxy_request_buffering off: the body streams as it comes */
	bool			 stream_body;
	bool			 stream_chunked;	/* re-chunked upstream */
	bool			 body_started, body_eof, last_sent;
	char			*sbuf;
	size_t			 spos, slen;

	/* tunnel (WebSocket): client -> upstream buffer */
	char			*tbuf;
	size_t			 tstart, tend;
};

/* proxy.c */
void	proxy_log(struct proxy_ctx *, int level, const char *what, int err);
void	proxy_release(struct proxy_ctx *, bool failed, bool keep);
void	proxy_next(struct proxy_ctx *, int cond, int status);
void	proxy_fail(struct proxy_ctx *, int status);
void	proxy_start_try(struct proxy_ctx *);

/* proxy_headers.c */
/* Works out host, port, URI and upstream for r; -1 after answering. */
int	proxy_resolve_target(struct proxy_ctx *);
/* Builds the request head (and body iovecs) in p->out; 0 or -1. */
int	proxy_build_request(struct proxy_ctx *);
/* Parses what hbuf holds; PROXY_AGAIN for more, else 0 (handled). */
int	proxy_parse_head(struct proxy_ctx *);
void	proxy_iov_consume(struct iovec *, int *first, int n, size_t done);
ssize_t	proxy_send_file_body(struct proxy_ctx *);

/* proxy_stream.c */
/* Starts sending the client head and the body that follows. */
void	proxy_stream_start(struct proxy_ctx *);
void	proxy_stream_upstream_readable(struct proxy_ctx *);
void	proxy_stream_upstream_writable(struct proxy_ctx *);
void	proxy_stream_timeout(struct proxy_ctx *);
void	proxy_stream_free(struct proxy_ctx *);

#endif
