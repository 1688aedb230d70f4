/*
 * The proxy module's request path: pick a peer, connect (or reuse a
 * pooled connection), send the request, read the response head, decide
 * on failover, and hand the body to proxy_stream.c.  Header rewriting is
 * proxy_headers.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "proxy.h"
#include "proxy_int.h"
#include "tls_client.h"
#include "upstream.h"
#include "upstream_keepalive.h"
#include "buf.h"

static void	connect_peer(struct proxy_ctx *);
static int	stream_body(struct proxy_ctx *);
static void	on_upstream_write(struct conn *);
static void	on_upstream_read(struct conn *);

/* Logging context for error lines, as nginx writes it. */
void
proxy_log(struct proxy_ctx *p, int level, const char *what, int err)
{
	struct request	*r = p->r;
	char		 client[ADDR_STRLEN];
	const char	*scheme = p->https ? "https" : "http";

	addr_format(&r->conn->peer, client, sizeof(client), false);
	if (err)
		log_conn(level, r->conn->number, "%s (%d: %s) while %s, "
		    "client: %s, server: %.*s, request: \"%.*s\", upstream: "
		    "\"%s://%s%.*s\", host: \"%.*s\"", what, err,
		    strerror(err), p->doing, client, (int)p->server_name.len,
		    p->server_name.data, (int)r->request_line.len,
		    r->request_line.data, scheme, p->peer ? p->peer->name : "?",
		    (int)p->uri.len, p->uri.data, (int)r->host.len,
		    r->host.data);
	else
		log_conn(level, r->conn->number, "%s while %s, client: %s, "
		    "server: %.*s, request: \"%.*s\", upstream: "
		    "\"%s://%s%.*s\", host: \"%.*s\"", what, p->doing, client,
		    (int)p->server_name.len, p->server_name.data,
		    (int)r->request_line.len, r->request_line.data, scheme,
		    p->peer ? p->peer->name : "?", (int)p->uri.len,
		    p->uri.data, (int)r->host.len, r->host.data);
}

static struct try_rec *
cur_try(struct proxy_ctx *p)
{
	return p->ntries > 0 ? &p->tries_log[p->ntries - 1] : NULL;
}

/* Closes (or pools) the upstream connection and ends the peer's use. */
void
proxy_release(struct proxy_ctx *p, bool failed, bool keep)
{
	struct try_rec	*t = cur_try(p);

	if (p->uc != NULL) {
		timer_del(&p->uc->timer);
		p->uc->on_read = NULL;
		p->uc->on_write = NULL;
		p->uc->data = NULL;
		if (t != NULL)
			t->bytes_sent += p->sent;
		if (keep) {
			p->uc->requests++;
			keepalive_put(p->up, p->peer, p->uc);
		} else
			conn_close(p->uc);
		p->uc = NULL;
	}
	if (p->peer != NULL) {
		upstream_release(p->up, p->peer, failed);
		p->peer = NULL;
	}
	if (t != NULL && t->end_ms == 0)
		t->end_ms = clock_now.mono_ms;
}

/* The request pool is going: whatever is still open goes with it. */
static void
proxy_cleanup(void *arg)
{
	struct proxy_ctx	*p = arg;

	proxy_stream_free(p);
	proxy_release(p, false, false);
	/* the response headers point into it until the request's very end */
	if (p->hbuf != NULL)
		buf_put(p->hbuf, p->hsize);
	p->hbuf = NULL;
}

static bool
idempotent(const struct request *r)
{
	return !(r->method_id == HTTP1_M_POST || r->method_id == HTTP1_M_PATCH ||
	    STR_EQ_LIT(r->method.data, r->method.len, "LOCK"));
}

/*
 * Fails this try: on to the next peer if `cond` is allowed and time and
 * tries remain, else answer `status`.
 */
void
proxy_next(struct proxy_ctx *p, int cond, int status)
{
	struct request		*r = p->r;
	struct proxy_loc	*pl = p->pl;
	bool			 counted = cond != PROXY_NEXT_404 &&
				    cond != PROXY_NEXT_403;
	struct try_rec		*t = cur_try(p);

	if (t != NULL && t->status == 0)
		t->status = status;
	p->last_status = status;
	/* a reused connection that failed before any answer is not the
	 * peer's fault: try it again on a fresh connection */
	if (p->reused && !p->got_byte && (cond == PROXY_NEXT_ERROR)) {
		struct upstream_peer	*peer = p->peer;

		conn_close(p->uc);
		p->uc = NULL;
		p->reused = false;
		p->retry_fresh = true;
		p->peer = peer;
		t->end_ms = clock_now.mono_ms;
		connect_peer(p);
		return;
	}
	/* as nginx: every reason but 403 and 404 counts towards max_fails,
	 * an http_500 and kin included */
	proxy_release(p, counted, false);
	if ((pl->next_upstream & cond) == 0 ||
	    (p->stream_body && p->body_started) ||
	    (pl->next_upstream & PROXY_NEXT_OFF) ||
	    (p->sent_any && !idempotent(r) &&
	    !(pl->next_upstream & PROXY_NEXT_NON_IDEMPOTENT)) ||
	    (pl->next_tries > 0 && p->ntries >= (unsigned)pl->next_tries) ||
	    (pl->next_timeout > 0 && clock_now.mono_ms - p->start_ms >=
	    (uint64_t)pl->next_timeout) ||
	    p->ntries >= PROXY_MAX_TRIES) {
		proxy_fail(p, status);
		return;
	}
	proxy_start_try(p);
}

/* Answers the client with an error; nothing was sent to it yet. */
void
proxy_fail(struct proxy_ctx *p, int status)
{
	struct request	*r = p->r;

	proxy_release(p, false, false);
	p->finished = true;
	if (r->conn->closed)
		return;
	r->conn->on_write = NULL;
	r->conn->on_read = NULL;
	http_special(r, status);
}

/* Connecting ------------------------------------------------------------ */

static void
on_upstream_timeout(struct timer *t)
{
	struct conn		*c = (struct conn *)((char *)t -
				    offsetof(struct conn, timer));
	struct proxy_ctx	*p = c->data;

	if (p == NULL) {
		conn_close(c);
		return;
	}
	if (p->state == PROXY_STREAM || p->state == PROXY_TUNNEL) {
		proxy_stream_timeout(p);
		return;
	}
	proxy_log(p, LOG_ERR, "upstream timed out", ETIMEDOUT);
	proxy_next(p, PROXY_NEXT_TIMEOUT, 504);
}

/* A pooled connection serves us if it speaks the same TLS, or none. */
static bool
conn_fits(const struct conn *c, const void *arg)
{
	const struct proxy_ctx	*p = arg;

	return tls_client_fits(c, p->https ? p->pl->ssl.ctx : NULL,
	    p->ssl_name.data, p->ssl_name.len);
}

/* proxy_ssl_name (default $proxy_host) without its port, once. */
static int
eval_ssl_name(struct proxy_ctx *p)
{
	struct str	v;

	if (p->ssl_name.data != NULL)
		return 0;
	if (p->pl->ssl.name != NULL) {
		if (cvalue_eval(p->r, p->pl->ssl.name, &v) == -1)
			return -1;
	} else
		v = p->host;
	p->ssl_name.data = v.data != NULL ? v.data : "";
	p->ssl_name.len = tls_client_name_len(v.data, v.len);
	return 0;
}

static void
connect_peer(struct proxy_ctx *p)
{
	struct try_rec	*t;
	struct conn	*c;
	int		 fd, on = 1;

	if (p->ntries < PROXY_MAX_TRIES) {
		t = &p->tries_log[p->ntries++];
		memset(t, 0, sizeof(*t));
		t->addr = p->peer->name;
		t->start_ms = clock_now.mono_ms;
	}
	p->got_byte = false;
	p->sent = 0;
	/* a new try sends the whole request again and reads a new answer */
	p->out_built = false;
	p->hlen = 0;
	p->head_len = 0;
	p->received = 0;
	p->doing = "connecting to upstream";
	if (p->https && eval_ssl_name(p) == -1) {
		proxy_fail(p, 500);
		return;
	}
	if (!p->retry_fresh &&
	    (c = keepalive_get(p->up, p->peer, conn_fits, p)) != NULL) {
		p->reused = true;
		p->uc = c;
		c->data = p;
		c->on_read = on_upstream_read;
		c->on_write = on_upstream_write;
		c->timer.fn = on_upstream_timeout;
		cur_try(p)->connect_ms = clock_now.mono_ms;
		p->state = PROXY_SEND;
		on_upstream_write(c);
		return;
	}
	p->retry_fresh = false;
	p->reused = false;
	fd = socket(p->peer->addr.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		proxy_log(p, LOG_ALERT, "socket() failed", errno);
		proxy_fail(p, 500);
		return;
	}
	if (p->peer->addr.u.sa.sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (p->pl->socket_keepalive)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	if (connect(fd, &p->peer->addr.u.sa, p->peer->addr.len) == -1 &&
	    errno != EINPROGRESS) {
		int	err = errno;

		close(fd);
		proxy_log(p, LOG_ERR, "connect() failed", err);
		proxy_next(p, PROXY_NEXT_ERROR, 502);
		return;
	}
	if ((c = conn_new(fd, NULL)) == NULL) {
		proxy_log(p, LOG_ALERT, "no free connection for upstream", 0);
		proxy_release(p, false, false);
		proxy_fail(p, 502);
		return;
	}
	c->peer = p->peer->addr;
	c->data = p;
	c->on_read = on_upstream_read;
	c->on_write = on_upstream_write;
	c->timer.fn = on_upstream_timeout;
	/* conn_new assumed nothing: a connect in progress is not writable */
	c->readable = c->writable = false;
	p->uc = c;
	p->state = PROXY_CONNECT;
	timer_set(&c->timer, (uint64_t)p->pl->connect_timeout);
}

/* Picks a peer and starts a try. */
void
proxy_start_try(struct proxy_ctx *p)
{
	p->peer = upstream_pick(p->up, p->r, &p->tries);
	if (p->peer == NULL) {
		if (p->ntries == 0)
			log_conn(LOG_ERR, p->r->conn->number, "no live "
			    "upstreams while connecting to upstream \"%.*s\"",
			    (int)p->up->name.len, p->up->name.data);
		proxy_fail(p, p->last_status ? p->last_status : 502);
		return;
	}
	p->peer->shared->requests++;
	connect_peer(p);
}

/* TLS ---------------------------------------------------------------------- */

static void
handshake(struct proxy_ctx *p)
{
	struct conn	*c = p->uc;
	char		 why[1024];
	int		 rc, err;

	rc = tls_client_handshake(c, why, sizeof(why), &err);
	if (rc == TLS_CLIENT_AGAIN)
		return;		/* still under proxy_connect_timeout */
	if (rc == TLS_CLIENT_ERROR) {
		proxy_log(p, LOG_ERR, why, err);
		proxy_next(p, PROXY_NEXT_ERROR, 502);
		return;
	}
	/* $upstream_connect_time covers the handshake, as in nginx */
	cur_try(p)->connect_ms = clock_now.mono_ms;
	p->state = PROXY_SEND;
	on_upstream_write(c);
}

static void
start_tls(struct proxy_ctx *p)
{
	struct proxy_ssl	*s = &p->pl->ssl;

	p->doing = "SSL handshaking to upstream";
	p->state = PROXY_HANDSHAKE;
	/* a name from variables may be no name at all (too long): the
	 * request's fault, not the server's, so 500 as in nginx */
	if (tls_client_start(p->uc, s->ctx, p->ssl_name.data, p->ssl_name.len,
	    s->server_name) == -1) {
		proxy_log(p, LOG_ERR, "cannot start SSL with the upstream name",
		    0);
		proxy_fail(p, 500);
		return;
	}
	handshake(p);
}

/* Sending the request ------------------------------------------------------ */

static void
on_upstream_write(struct conn *c)
{
	struct proxy_ctx	*p = c->data;
	int			 err = 0;
	socklen_t		 elen = sizeof(err);
	ssize_t			 n;

	if (p == NULL)
		return;
	if (p->state == PROXY_STREAM || p->state == PROXY_TUNNEL) {
		proxy_stream_upstream_writable(p);
		return;
	}
	if (p->state == PROXY_CONNECT) {
		if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &elen) ==
		    -1)
			err = errno;
		if (err != 0) {
			proxy_log(p, LOG_ERR, "connect() failed", err);
			proxy_next(p, PROXY_NEXT_ERROR, 502);
			return;
		}
		if (p->https) {
			start_tls(p);
			return;
		}
		cur_try(p)->connect_ms = clock_now.mono_ms;
		p->state = PROXY_SEND;
	}
	if (p->state == PROXY_HANDSHAKE) {
		handshake(p);
		return;
	}
	if (p->state != PROXY_SEND)
		return;
	p->doing = "sending request to upstream";
	if (!p->out_built && proxy_build_request(p) == -1) {
		proxy_fail(p, 500);
		return;
	}
	while (p->out_first < p->nout || p->file_left > 0) {
		if (p->out_first < p->nout) {
			n = conn_writev(c, &p->out[p->out_first],
			    p->nout - p->out_first);
		} else
			n = proxy_send_file_body(p);
		if (n == IO_AGAIN) {
			timer_set(&c->timer, (uint64_t)p->pl->send_timeout);
			return;
		}
		if (n == IO_ERROR) {
			proxy_log(p, LOG_ERR, "writev() failed", errno);
			proxy_next(p, PROXY_NEXT_ERROR, 502);
			return;
		}
		p->sent_any = true;
		p->sent += (uint64_t)n;
		if (p->out_first < p->nout)
			proxy_iov_consume(p->out, &p->out_first, p->nout,
			    (size_t)n);
	}
	if (p->stream_body) {
		int	rc = stream_body(p);

		if (rc != 0)
			return;
		p->r->conn->on_read = NULL;
	}
	/* all sent: the answer is next */
	p->state = PROXY_HEAD;
	p->doing = "reading response header from upstream";
	timer_set(&c->timer, (uint64_t)p->pl->read_timeout);
	if (c->readable)
		on_upstream_read(c);
}

/*
 * proxy_request_buffering off: passes body bytes on as they arrive.
 * 0 when the whole body is sent, PROXY_AGAIN to wait, -1 when answered.
 */
#define CHUNK_ROOM	18

static void
on_client_body(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct proxy_ctx	*p = hc->req->proxy;

	if (p != NULL && p->state == PROXY_SEND && p->uc != NULL)
		on_upstream_write(p->uc);
}

static int
stream_body(struct proxy_ctx *p)
{
	struct request	*r = p->r;
	struct conn	*uc = p->uc;
	size_t		 room;
	ssize_t		 n;
	bool		 done;
	char		 hdr[CHUNK_ROOM];
	int		 hl;

	if (p->sbuf == NULL && (p->sbuf = pool_alloc(r->pool,
	    p->pl->buffer_size)) == NULL) {
		proxy_fail(p, 500);
		return -1;
	}
	for (;;) {
		if (p->spos < p->slen) {
			if (!uc->writable)
				return PROXY_AGAIN;
			n = conn_send(uc, p->sbuf + p->spos, p->slen - p->spos);
			if (n == IO_AGAIN)
				return PROXY_AGAIN;
			if (n == IO_ERROR) {
				proxy_log(p, LOG_ERR, "send() failed", errno);
				proxy_next(p, PROXY_NEXT_ERROR, 502);
				return -1;
			}
			p->spos += (size_t)n;
			p->sent += (uint64_t)n;
			continue;
		}
		if (p->body_eof) {
			if (!p->stream_chunked || p->last_sent)
				return 0;
			memcpy(p->sbuf, "0\r\n\r\n", 5);
			p->spos = 0;
			p->slen = 5;
			p->last_sent = true;
			continue;
		}
		room = p->pl->buffer_size - CHUNK_ROOM - 2;
		n = http_body_read_some(r, p->sbuf + CHUNK_ROOM, room, &done);
		if (n == IO_AGAIN) {
			r->conn->on_read = on_client_body;
			timer_set(&uc->timer, (uint64_t)r->loc->client_body_timeout);
			return PROXY_AGAIN;
		}
		if (n < 0) {
			log_conn(LOG_INFO, r->conn->number, "client %s while "
			    "sending request body to upstream", n ==
			    HTTP_BODY_INVALID ? "sent invalid chunked body" :
			    "prematurely closed connection");
			r->keepalive = false;
			proxy_fail(p, n == HTTP_BODY_INVALID ? 400 : 499);
			return -1;
		}
		p->body_started = true;
		p->body_eof = done;
		p->spos = CHUNK_ROOM;
		p->slen = CHUNK_ROOM + (size_t)n;
		if (p->stream_chunked && n > 0) {
			hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)n);
			p->spos = CHUNK_ROOM - (size_t)hl;
			memcpy(p->sbuf + p->spos, hdr, (size_t)hl);
			memcpy(p->sbuf + p->slen, "\r\n", 2);
			p->slen += 2;
		}
	}
}

/* Reading the response head ------------------------------------------------- */

static void
on_upstream_read(struct conn *c)
{
	struct proxy_ctx	*p = c->data;
	ssize_t			 n;

	if (p == NULL)
		return;
	if (p->state == PROXY_STREAM || p->state == PROXY_TUNNEL) {
		proxy_stream_upstream_readable(p);
		return;
	}
	if (p->state == PROXY_HANDSHAKE) {
		handshake(p);
		return;
	}
	if (p->state != PROXY_HEAD) {
		/* the upstream spoke (or closed) before we finished sending */
		if (p->state == PROXY_SEND && c->peer_closed && !c->writable) {
			proxy_log(p, LOG_ERR, "upstream prematurely closed "
			    "connection", 0);
			proxy_next(p, PROXY_NEXT_ERROR, 502);
		}
		return;
	}
	for (;;) {
		if (p->hlen == p->hsize) {
			proxy_log(p, LOG_ERR, "upstream sent too big header", 0);
			proxy_next(p, PROXY_NEXT_INVALID_HEADER, 502);
			return;
		}
		n = conn_recv(c, p->hbuf + p->hlen, p->hsize - p->hlen);
		if (n == IO_AGAIN)
			return;
		if (n == IO_ERROR || n == 0) {
			int	err = n == IO_ERROR ? errno : 0;

			proxy_log(p, LOG_ERR, n == 0 ? "upstream prematurely "
			    "closed connection" : "recv() failed", err);
			proxy_next(p, PROXY_NEXT_ERROR, 502);
			return;
		}
		p->got_byte = true;
		p->received += (uint64_t)n;
		p->hlen += (size_t)n;
		if (proxy_parse_head(p) != PROXY_AGAIN)
			return;
	}
}

/* Entry ----------------------------------------------------------------- */

static void
body_read_done(struct request *r)
{
	struct proxy_ctx	*p = r->proxy;

	p->body_ready = true;
	proxy_start_try(p);
}

void
proxy_handler(struct request *r)
{
	struct proxy_loc	*pl = &r->loc->proxy;
	struct proxy_ctx	*p;

	if ((p = pool_calloc(r->pool, sizeof(*p))) == NULL ||
	    pool_cleanup_add(r->pool, proxy_cleanup, p) == -1) {
		http_special(r, 500);
		return;
	}
	r->proxy = p;
	p->r = r;
	p->pl = pl;
	p->start_ms = clock_now.mono_ms;
	p->file_fd = -1;
	p->temp_fd = -1;
	if (r->srv->names.n > 0)
		p->server_name = ARRAY_AT(&r->srv->names, struct server_name,
		    0)->name;
	if (proxy_resolve_target(p) == -1)
		return;		/* answered */
	if ((p->resp = pool_alloc(r->pool, sizeof(*p->resp))) == NULL) {
		http_special(r, 500);
		return;
	}
	p->hsize = pl->buffer_size;
	if ((p->hbuf = buf_get(p->hsize)) == NULL) {
		http_special(r, 500);
		return;
	}
	if (!pl->pass_request_body) {
		/* the body is not wanted upstream; it is skipped later */
		p->body_ready = true;
		proxy_start_try(p);
		return;
	}
	/* unbuffered: a chunked body needs HTTP/1.1 to stay chunked */
	if (!pl->request_buffering && r->discard_body &&
	    (!r->chunked || pl->http_version == 11)) {
		p->stream_body = true;
		p->stream_chunked = r->chunked;
		proxy_start_try(p);
		return;
	}
	http_read_body(r, body_read_done);
}
