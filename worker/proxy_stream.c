/*
 * Streaming a proxied response body to the client with bounded memory:
 * a ring of proxy_buffers filled from the upstream and drained to the
 * client, spilling to a temporary file when the ring is full (buffering
 * on), or pausing the upstream when it may not (buffering off, or the
 * file is at proxy_max_temp_file_size).  Also the WebSocket tunnel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "buf.h"
#include "conn.h"
#include "encode.h"
#include "http.h"
#include "http_conf.h"
#include "proxy_int.h"

#define MAX_IOV		64
#define SPILL_CHUNK	16384
/* A coded body up to this long is read whole when it is all there: one
 * call then codes it, much faster than streaming (libdeflate). */
#define ZGATHER_MAX	65536

static const char	last_chunk[] = "0\r\n\r\n";

static void	pump(struct proxy_ctx *);
static void	tunnel_pump(struct proxy_ctx *);

static struct pbuf *
ring_at(struct proxy_ctx *p, int i)
{
	return &p->bufs[(p->bhead + i) % p->nbufs];
}

/* The buffer the next upstream bytes go to, or NULL when the ring is full. */
static struct pbuf *
ring_tail(struct proxy_ctx *p)
{
	struct pbuf	*b;

	if (p->bcount == p->nbufs)
		return NULL;
	b = ring_at(p, p->bcount);
	if (b->data == NULL && (b->data = buf_get(p->bsize)) == NULL)
		return NULL;
	b->start = b->end = 0;
	b->hdr_len = b->hdr_sent = 0;
	b->tail_sent = 0;
	return b;
}

/* A buffer just got n body bytes: frame them for the client. */
static void
ring_commit(struct proxy_ctx *p, struct pbuf *b)
{
	if (b->end == b->start)
		return;
	if (p->client_chunked) {
		int	n = snprintf(b->chunk_hdr, sizeof(b->chunk_hdr),
			    "%zx\r\n", b->end - b->start);

		b->hdr_len = n > 0 ? (size_t)n : 0;
	}
	p->bcount++;
}

/*
 * Applies the upstream's framing to n bytes at d: decodes chunks in
 * place, stops at Content-Length.  Returns the body bytes kept, or -1 if
 * the upstream broke the framing.
 */
static ssize_t
deframe(struct proxy_ctx *p, char *d, size_t n)
{
	size_t	len = n;
	ssize_t	rest;

	if (p->resp_no_body) {
		p->resp_done = true;
		p->resp_keepalive = false;
		return 0;
	}
	if (p->resp_chunked) {
		rest = http1_chunked_decode(&p->dechunk, d, &len);
		if (rest == PARSE_ERROR)
			return -1;
		if (rest >= 0) {
			p->resp_done = true;
			if (rest > 0)
				p->resp_keepalive = false;
		}
		return (ssize_t)len;
	}
	if (p->resp_length >= 0) {
		if ((int64_t)n >= p->resp_left) {
			if ((int64_t)n > p->resp_left)
				p->resp_keepalive = false;
			n = (size_t)p->resp_left;
			p->resp_done = true;
		}
		p->resp_left -= (int64_t)n;
		return (ssize_t)n;
	}
	return (ssize_t)n;
}

/* Upstream side -------------------------------------------------------------- */

static bool
spill_allowed(struct proxy_ctx *p)
{
	/* a tunnel is interactive: it waits for the client instead */
	return p->pl->buffering && p->state != PROXY_TUNNEL &&
	    p->temp_w - p->temp_r + SPILL_CHUNK <= p->pl->max_temp_file_size;
}

static int
spill(struct proxy_ctx *p, const char *d, size_t n)
{
	ssize_t	w;

	if (p->temp_fd == -1) {
		p->temp_fd = open(p->pl->temp_path, O_TMPFILE | O_RDWR |
		    O_CLOEXEC, 0600);
		if (p->temp_fd == -1)
			p->temp_fd = open("/tmp", O_TMPFILE | O_RDWR |
			    O_CLOEXEC, 0600);
		if (p->temp_fd == -1) {
			proxy_log(p, LOG_CRIT, "cannot create a temporary "
			    "file", errno);
			return -1;
		}
		log_conn(LOG_WARN, p->r->conn->number, "an upstream response "
		    "is buffered to a temporary file");
	}
	while (n > 0) {
		w = pwrite(p->temp_fd, d, n, p->temp_w);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			proxy_log(p, LOG_CRIT, "pwrite() to a temporary file "
			    "failed", errno);
			return -1;
		}
		d += w;
		n -= (size_t)w;
		p->temp_w += w;
	}
	return 0;
}

/* Moves spilled bytes back into the ring, oldest first. */
static int
unspill(struct proxy_ctx *p)
{
	struct pbuf	*b;
	ssize_t		 n;
	size_t		 want;

	while (p->temp_r < p->temp_w && (b = ring_tail(p)) != NULL) {
		want = p->bsize;
		if ((int64_t)want > p->temp_w - p->temp_r)
			want = (size_t)(p->temp_w - p->temp_r);
		n = pread(p->temp_fd, b->data, want, p->temp_r);
		if (n <= 0) {
			proxy_log(p, LOG_CRIT, "pread() from a temporary file "
			    "failed", errno);
			return -1;
		}
		p->temp_r += n;
		p->unspilled += (uint64_t)n;
		b->end = (size_t)n;
		ring_commit(p, b);
	}
	if (p->temp_r == p->temp_w) {
		p->temp_r = p->temp_w = 0;
		if (p->temp_fd != -1 && ftruncate(p->temp_fd, 0) == -1)
			return -1;
	}
	return 0;
}

/* Handles the end of the upstream's stream; -1 if it came too early. */
static int
upstream_eof(struct proxy_ctx *p)
{
	p->upstream_eof = true;
	p->resp_keepalive = false;
	if (p->resp_length < 0 && !p->resp_chunked) {
		p->resp_done = true;
		return 0;
	}
	proxy_log(p, LOG_ERR, "upstream prematurely closed connection", 0);
	return -1;
}

/*
 * Fills every free ring buffer with one readv(); only for bodies whose
 * bytes all stay (no chunk framing to strip).  Bytes, 0 at EOF, or
 * IO_AGAIN/IO_ERROR.
 */
static ssize_t
read_into_ring(struct proxy_ctx *p)
{
	struct iovec	 iov[PROXY_MAX_BUFS];
	struct pbuf	*b;
	ssize_t		 n, left, take, kept;
	int		 k, nfree = p->nbufs - p->bcount;

	for (k = 0; k < nfree; k++) {
		b = ring_at(p, p->bcount + k);
		if (b->data == NULL && (b->data = buf_get(p->bsize)) == NULL)
			break;
		iov[k].iov_base = b->data;
		iov[k].iov_len = p->bsize;
	}
	if (k == 0)
		return IO_AGAIN;
	n = conn_readv(p->uc, iov, k);
	if (n <= 0)
		return n;
	p->received += (uint64_t)n;
	for (left = n; left > 0; left -= take) {
		b = ring_at(p, p->bcount);
		take = left < (ssize_t)p->bsize ? left : (ssize_t)p->bsize;
		b->start = 0;
		b->hdr_len = b->hdr_sent = b->tail_sent = 0;
		if ((kept = deframe(p, b->data, (size_t)take)) <= 0)
			break;
		b->end = (size_t)kept;
		ring_commit(p, b);
	}
	return n;
}

/* Coded bodies (gzip and kin) ------------------------------------------------ */

/*
 * Codes the raw bytes waiting, and at the end the coder's tail, into the
 * ring (or the temporary file when the client is blocked).  0 when the
 * raw bytes are all taken (and a flush or the end is complete),
 * PROXY_AGAIN when it waits for room, -1 on error.
 */
static int
code_pending(struct proxy_ctx *p)
{
	struct coder	*c = p->r->coder;
	struct pbuf	*b;
	char		 scratch[SPILL_CHUNK];
	char		*o, *start;
	size_t		 room, olen, zlen;
	int		 mode, rc;
	bool		 to_file;

	while (!p->coded_done) {
		mode = p->resp_done ? CODER_FINISH : p->zflush ? CODER_FLUSH :
		    CODER_RUN;
		if (mode == CODER_RUN && p->zlen == 0)
			return 0;
		if (p->temp_w > p->temp_r || p->bcount == p->nbufs) {
			/* as read_upstream(): spill only for a blocked client */
			if ((p->temp_w == p->temp_r && p->r->conn->writable) ||
			    !spill_allowed(p))
				return PROXY_AGAIN;
			o = scratch;
			room = sizeof(scratch);
			to_file = true;
			b = NULL;
		} else {
			if ((b = ring_tail(p)) == NULL)
				return PROXY_AGAIN;
			o = b->data;
			room = p->bsize;
			to_file = false;
		}
		start = o;
		olen = room;
		zlen = p->zlen;
		rc = c->run(c, &p->zin, &p->zlen, &o, &olen, mode);
		if (rc == CODER_ERROR) {
			proxy_log(p, LOG_ERR, c->coding == CODING_GUNZIP ?
			    "inflate() failed on the upstream response" :
			    "coding the upstream response failed", 0);
			return -1;
		}
		if (olen < room) {
			if (to_file) {
				if (spill(p, start, room - olen) == -1)
					return -1;
			} else {
				b->end = room - olen;
				ring_commit(p, b);
			}
		}
		if (rc == CODER_END) {
			p->coded_done = true;
			break;
		}
		/* room left over: whatever the mode asked for is done */
		if (olen > 0 && p->zlen == 0) {
			if (mode == CODER_FINISH) {
				proxy_log(p, LOG_ERR, "upstream sent a truncated "
				    "coded response", 0);
				return -1;
			}
			if (mode == CODER_FLUSH)
				p->zflush = p->zdirty = false;
			return 0;
		}
		if (olen == room && p->zlen == zlen)
			return 0;	/* no progress: wants input */
	}
	return 0;
}

/* read_upstream() for a coded body: raw bytes go through the coder,
 * which is flushed whenever the upstream pauses, so the client sees
 * what arrived without waiting for the end. */
static int
read_upstream_coded(struct proxy_ctx *p)
{
	struct conn	*uc = p->uc;
	ssize_t		 n, kept;
	int		 rc;

	/* a small body that is all there is coded in one go */
	while (p->zgather) {
		if (p->resp_done || !uc->readable) {
			p->zgather = false;
			break;
		}
		n = conn_recv(uc, p->zbuf + p->zlen, p->zbuf_size - p->zlen);
		if (n == IO_AGAIN) {
			p->zgather = false;
			break;
		}
		if (n == IO_ERROR) {
			proxy_log(p, LOG_ERR, "recv() failed", errno);
			return -1;
		}
		if (n == 0) {
			if (upstream_eof(p) == -1)
				return -1;
			p->zgather = false;
			break;
		}
		p->received += (uint64_t)n;
		kept = deframe(p, p->zbuf + p->zlen, (size_t)n);
		p->zlen += (size_t)kept;
		p->zdirty = p->zlen > 0;
	}
	for (;;) {
		if ((rc = code_pending(p)) == -1)
			return -1;
		if (rc == PROXY_AGAIN || p->coded_done || p->resp_done)
			break;
		if (!uc->readable) {
			if (!p->zdirty)
				break;
			p->zflush = true;
			continue;
		}
		if (p->zbuf == NULL) {
			if ((p->zbuf = buf_get(p->bsize)) == NULL)
				return -1;
			p->zbuf_size = p->bsize;
		}
		n = conn_recv(uc, p->zbuf, p->zbuf_size);
		if (n == IO_AGAIN) {
			if (!p->zdirty)
				break;
			p->zflush = true;
			continue;
		}
		if (n == IO_ERROR) {
			proxy_log(p, LOG_ERR, "recv() failed", errno);
			return -1;
		}
		if (n == 0) {
			if (upstream_eof(p) == -1)
				return -1;
			continue;
		}
		p->received += (uint64_t)n;
		if ((kept = deframe(p, p->zbuf, (size_t)n)) == -1) {
			proxy_log(p, LOG_ERR, "upstream sent invalid chunked "
			    "response", 0);
			return -1;
		}
		p->zin = p->zbuf;
		p->zlen = (size_t)kept;
		if (kept > 0)
			p->zdirty = true;
	}
	if (!p->resp_done && !uc->readable)
		timer_set(&uc->timer, (uint64_t)p->pl->read_timeout);
	else
		timer_del(&uc->timer);
	return 0;
}

/* Reads what the upstream has, as far as there is room; -1 on error. */
static int
read_upstream(struct proxy_ctx *p)
{
	struct conn	*uc = p->uc;
	struct pbuf	*b;
	char		 scratch[SPILL_CHUNK];
	char		*d;
	size_t		 room;
	ssize_t		 n, kept;
	bool		 to_file;

	if (p->r->coder != NULL)
		return read_upstream_coded(p);
	while (!p->resp_done && uc->readable) {
		to_file = false;
		if (p->temp_w > p->temp_r || p->bcount == p->nbufs) {
			/*
			 * Full: a client that can take more drains the ring
			 * first; only a blocked one makes us spill.
			 */
			if (p->temp_w == p->temp_r && p->r->conn->writable &&
			    p->state != PROXY_TUNNEL)
				return 0;
			if (!spill_allowed(p))
				return 0;	/* wait for the client */
			d = scratch;
			room = sizeof(scratch);
			to_file = true;
			b = NULL;
		} else if (!p->resp_chunked && p->nbufs - p->bcount > 1) {
			n = read_into_ring(p);
			if (n == IO_AGAIN)
				break;
			if (n == IO_ERROR) {
				proxy_log(p, LOG_ERR, "readv() failed", errno);
				return -1;
			}
			if (n == 0 && upstream_eof(p) == -1)
				return -1;
			continue;
		} else {
			if ((b = ring_tail(p)) == NULL)
				return 0;
			d = b->data;
			room = p->bsize;
		}
		n = conn_recv(uc, d, room);
		if (n == IO_AGAIN)
			break;
		if (n == IO_ERROR) {
			proxy_log(p, LOG_ERR, "recv() failed", errno);
			return -1;
		}
		if (n == 0) {
			if (upstream_eof(p) == -1)
				return -1;
			break;
		}
		p->received += (uint64_t)n;
		if ((kept = deframe(p, d, (size_t)n)) == -1) {
			proxy_log(p, LOG_ERR, "upstream sent invalid chunked "
			    "response", 0);
			return -1;
		}
		if (kept == 0)
			continue;
		if (to_file) {
			if (spill(p, d, (size_t)kept) == -1)
				return -1;
		} else {
			b->end = (size_t)kept;
			ring_commit(p, b);
		}
	}
	if (!p->resp_done && !uc->readable)
		timer_set(&uc->timer, (uint64_t)p->pl->read_timeout);
	else
		timer_del(&uc->timer);
	return 0;
}

/* Client side ------------------------------------------------------------------- */

/* Whether the body is complete and only the last chunk is left to add. */
static bool
last_chunk_due(const struct proxy_ctx *p)
{
	return p->client_chunked && !p->trailer_done && p->resp_done &&
	    (p->r->coder == NULL || p->coded_done) && p->temp_w == p->temp_r;
}

/* Gathers what is ready for the client; returns the iovec count. */
static int
gather(struct proxy_ctx *p, struct iovec *iov)
{
	struct pbuf	*b;
	int		 n = 0, i;

	if (p->chead_sent < p->chead_len) {
		iov[n].iov_base = p->chead + p->chead_sent;
		iov[n++].iov_len = p->chead_len - p->chead_sent;
	}
	for (i = 0; i < p->bcount && n < MAX_IOV - 3; i++) {
		b = ring_at(p, i);
		if (b->hdr_sent < b->hdr_len) {
			iov[n].iov_base = b->chunk_hdr + b->hdr_sent;
			iov[n++].iov_len = b->hdr_len - b->hdr_sent;
		}
		if (b->end > b->start) {
			iov[n].iov_base = b->data + b->start;
			iov[n++].iov_len = b->end - b->start;
		}
		if (p->client_chunked && b->tail_sent < 2) {
			iov[n].iov_base = (char *)"\r\n" + b->tail_sent;
			iov[n++].iov_len = 2 - b->tail_sent;
		}
	}
	/* the last chunk in the same write as the data before it */
	if (i == p->bcount && last_chunk_due(p)) {
		iov[n].iov_base = (char *)last_chunk + p->trailer_sent;
		iov[n++].iov_len = sizeof(last_chunk) - 1 - p->trailer_sent;
	}
	return n;
}

static size_t
take(size_t *have, size_t want)
{
	size_t	k = want < *have ? want : *have;

	*have -= k;
	return k;
}

/* Accounts w bytes written to the client against head and ring. */
static void
consume(struct proxy_ctx *p, size_t w)
{
	struct pbuf	*b;
	size_t		 k;

	p->chead_sent += take(&w, p->chead_len - p->chead_sent);
	while (w > 0 && p->bcount > 0) {
		b = ring_at(p, 0);
		b->hdr_sent += take(&w, b->hdr_len - b->hdr_sent);
		k = take(&w, b->end - b->start);
		b->start += k;
		p->client_sent += k;
		if (p->client_chunked && b->start == b->end)
			b->tail_sent += take(&w, 2 - b->tail_sent);
		if (b->start < b->end || b->hdr_sent < b->hdr_len ||
		    (p->client_chunked && b->tail_sent < 2))
			break;
		/* empty: back to the ring (the hbuf one is not ours) */
		if (b->data == p->hbuf)
			b->data = NULL;
		b->start = b->end = 0;
		p->bhead = (p->bhead + 1) % p->nbufs;
		p->bcount--;
	}
	if (w > 0 && p->bcount == 0 && last_chunk_due(p)) {
		p->trailer_sent += take(&w, sizeof(last_chunk) - 1 -
		    p->trailer_sent);
		if (p->trailer_sent == sizeof(last_chunk) - 1)
			p->trailer_done = true;
	}
}

/* Writes what is ready; -1 when the client is gone. */
static int
write_client(struct proxy_ctx *p)
{
	struct conn	*c = p->r->conn;
	struct iovec	 iov[MAX_IOV];
	ssize_t		 w;
	int		 n;

	while (c->writable) {
		n = gather(p, iov);
		if (n == 0)
			break;
		w = conn_writev(c, iov, n);
		if (w == IO_AGAIN)
			break;
		if (w == IO_ERROR) {
			log_conn(LOG_INFO, c->number, "writev() failed (%d: %s) "
			    "while sending to client", errno, strerror(errno));
			return -1;
		}
		p->r->bytes_sent += (uint64_t)w;
		consume(p, (size_t)w);
	}
	return 0;
}

static bool
all_sent(struct proxy_ctx *p)
{
	return p->resp_done && (p->r->coder == NULL || p->coded_done) &&
	    p->chead_sent == p->chead_len &&
	    p->bcount == 0 && p->temp_w == p->temp_r &&
	    (!p->client_chunked || p->trailer_done);
}

/* The response is out: pool or close the upstream, end the request. */
static void
finish(struct proxy_ctx *p)
{
	struct request	*r = p->r;
	struct conn	*c = r->conn;
	bool		 keep;

	keep = p->resp_keepalive && !p->upstream_eof && p->up->keepalive > 0 &&
	    (p->resp_length >= 0 || p->resp_chunked || p->resp_no_body);
	p->tries_log[p->ntries - 1].bytes_received = p->received;
	proxy_release(p, false, keep);
	proxy_stream_free(p);
	p->finished = true;
	r->body_bytes_sent = p->client_sent;
	timer_del(&c->timer);
	c->on_write = NULL;
	c->on_read = NULL;
	http_conn_request_done(r);
}

/* Something broke after the client got the head: all it can get now is a
 * closed connection. */
static void
abort_stream(struct proxy_ctx *p)
{
	struct request	*r = p->r;

	p->tries_log[p->ntries - 1].bytes_received = p->received;
	proxy_release(p, true, false);
	proxy_stream_free(p);
	p->finished = true;
	r->body_bytes_sent = p->client_sent;
	r->close_after = true;
	r->lingering = false;
	r->conn->on_write = NULL;
	r->conn->on_read = NULL;
	http_conn_request_done(r);
}

static void
on_repump(struct timer *t)
{
	pump((struct proxy_ctx *)((char *)t - offsetof(struct proxy_ctx,
	    repump)));
}

/* A measure of progress: bytes read, coded, refilled or written. */
static uint64_t
moved(const struct proxy_ctx *p)
{
	return p->client_sent + p->received + (uint64_t)p->chead_sent +
	    p->unspilled + (p->r->coder != NULL ? p->r->coder->out_total : 0);
}

static void
pump(struct proxy_ctx *p)
{
	struct conn	*c = p->r->conn;
	int		 rounds;

	for (rounds = 0;; rounds++) {
		if (rounds == 64) {
			/* a fair share done: the rest after the other events */
			p->repump.fn = on_repump;
			timer_set(&p->repump, 0);
			return;
		}
		/* anything that moved: refilling from the file counts too */
		uint64_t	before = moved(p);
		/* and so does the end: a close read alone still owes the
		 * client the last chunk */
		bool		was_done = p->resp_done;

		/* a coded body: code first, so the head does not go alone */
		if (rounds == 0 && p->r->coder != NULL && p->chead_sent == 0 &&
		    p->uc != NULL && read_upstream(p) == -1) {
			abort_stream(p);
			return;
		}
		if (write_client(p) == -1) {
			abort_stream(p);
			return;
		}
		if (p->temp_w > p->temp_r && unspill(p) == -1) {
			abort_stream(p);
			return;
		}
		if (p->uc != NULL && read_upstream(p) == -1) {
			abort_stream(p);
			return;
		}
		if (all_sent(p)) {
			finish(p);
			return;
		}
		if (moved(p) == before && p->resp_done == was_done)
			break;
	}
	if (!c->writable && (p->bcount > 0 || p->chead_sent < p->chead_len))
		timer_set(&c->timer, (uint64_t)p->r->loc->send_timeout);
	else
		timer_del(&c->timer);
}

static void
on_client_writable(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct proxy_ctx	*p = hc->req->proxy;

	if (p->state == PROXY_TUNNEL)
		tunnel_pump(p);
	else
		pump(p);
}

static void
on_client_readable(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct proxy_ctx	*p = hc->req->proxy;

	if (p->state == PROXY_TUNNEL) {
		tunnel_pump(p);
		return;
	}
	/* nothing is read now; but a client that went away ends it all */
	if (c->peer_closed) {
		log_conn(LOG_INFO, c->number, "client prematurely closed "
		    "connection, so upstream connection is closed too");
		p->r->close_after = true;
		abort_stream(p);
	}
}

void
proxy_stream_upstream_readable(struct proxy_ctx *p)
{
	if (p->state == PROXY_TUNNEL)
		tunnel_pump(p);
	else
		pump(p);
}

void
proxy_stream_upstream_writable(struct proxy_ctx *p)
{
	if (p->state == PROXY_TUNNEL)
		tunnel_pump(p);
}

void
proxy_stream_timeout(struct proxy_ctx *p)
{
	proxy_log(p, LOG_ERR, "upstream timed out", ETIMEDOUT);
	abort_stream(p);
}

void
proxy_stream_free(struct proxy_ctx *p)
{
	int	i;

	timer_del(&p->repump);
	for (i = 0; p->bufs != NULL && i < p->nbufs; i++) {
		if (p->bufs[i].data != NULL && p->bufs[i].data != p->hbuf)
			buf_put(p->bufs[i].data, p->bsize);
		p->bufs[i].data = NULL;
	}
	p->nbufs = 0;
	p->bcount = 0;
	if (p->temp_fd != -1)
		close(p->temp_fd);
	p->temp_fd = -1;
	if (p->tbuf != NULL)
		buf_put(p->tbuf, p->bsize);
	p->tbuf = NULL;
	if (p->zbuf != NULL)
		buf_put(p->zbuf, p->zbuf_size);
	p->zbuf = NULL;
	p->zlen = 0;
}

/* A coded body of a small known length is gathered whole first (what
 * came with the head is in zin). */
static int
start_gather(struct proxy_ctx *p)
{
	if (p->resp_chunked || p->resp_length <= 0 ||
	    p->resp_length > ZGATHER_MAX)
		return 0;
	if ((p->zbuf = buf_get(ZGATHER_MAX)) == NULL)
		return -1;
	p->zbuf_size = ZGATHER_MAX;
	if (p->zlen > 0)
		memcpy(p->zbuf, p->zin, p->zlen);
	p->zin = p->zbuf;
	p->zgather = true;
	return 0;
}

void
proxy_stream_start(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct conn		*c = r->conn;
	struct pbuf		*b;
	size_t			 extra = p->hlen - p->head_len;
	ssize_t			 kept;

	if ((p->chead = http_build_head(r, &p->chead_len)) == NULL) {
		proxy_fail(p, 500);
		return;
	}
	p->chead_sent = 0;
	/* the coding filter may have changed the framing */
	p->client_chunked = r->chunked_out;
	p->state = p->upgrade ? PROXY_TUNNEL : PROXY_STREAM;
	p->doing = "reading upstream";
	p->nbufs = p->pl->buffering && !p->upgrade ? p->pl->nbufs : 1;
	if (p->nbufs > PROXY_MAX_BUFS)
		p->nbufs = PROXY_MAX_BUFS;
	p->bsize = p->pl->buffering ? p->pl->buf_size : p->pl->buffer_size;
	p->bhead = p->bcount = 0;
	if ((p->bufs = pool_calloc(r->pool, sizeof(struct pbuf) *
	    (size_t)p->nbufs)) == NULL) {
		proxy_fail(p, 500);
		return;
	}
	p->resp_left = p->resp_length;
	http1_chunked_init(&p->dechunk, 0);
	if (p->upgrade) {
		p->resp_length = -1;
		p->resp_chunked = false;
		p->resp_no_body = false;
	}
	/* body bytes that came with the head: the first buffer is hbuf */
	if (extra > 0) {
		b = &p->bufs[0];
		b->data = p->hbuf;
		b->start = p->head_len;
		b->end = p->head_len;
		b->hdr_len = b->hdr_sent = 0;
		b->tail_sent = 0;
		if ((kept = deframe(p, p->hbuf + p->head_len, extra)) == -1) {
			proxy_log(p, LOG_ERR, "upstream sent invalid chunked "
			    "response", 0);
			p->resp_done = true;
			p->resp_keepalive = false;
			r->close_after = true;
			kept = 0;
		}
		b->end = p->head_len + (size_t)kept;
		if (r->coder != NULL) {
			/* raw bytes for the coder, not for the client */
			p->zin = p->hbuf + p->head_len;
			p->zlen = (size_t)kept;
			p->zdirty = kept > 0;
			b->data = NULL;
			b->start = b->end = 0;
			if (start_gather(p) == -1) {
				proxy_fail(p, 500);
				return;
			}
		} else if (kept > 0)
			ring_commit(p, b);
		else
			b->data = NULL;
	} else if (p->resp_no_body || (p->resp_length == 0 &&
	    !p->resp_chunked))
		p->resp_done = true;
	else if (r->coder != NULL && start_gather(p) == -1) {
		proxy_fail(p, 500);
		return;
	}
	if (p->resp_no_body)
		p->resp_done = true;
	http_conn_set_writing(r);
	c->on_write = on_client_writable;
	c->on_read = on_client_readable;
	if (p->upgrade) {
		tunnel_pump(p);
		return;
	}
	pump(p);
}

/* The tunnel ------------------------------------------------------------------- */

/* Moves client bytes to the upstream; -1 when either side is done. */
static int
tunnel_up(struct proxy_ctx *p)
{
	struct request		*r = p->r;
	struct http_conn	*hc = r->hc;
	struct conn		*c = r->conn, *uc = p->uc;
	ssize_t			 n;

	if (p->tbuf == NULL) {
		if ((p->tbuf = buf_get(p->bsize)) == NULL)
			return -1;
		p->tstart = p->tend = 0;
		/* frames the client sent right behind its request */
		if (hc->rend > hc->rstart) {
			size_t	k = hc->rend - hc->rstart;

			if (k > p->bsize)
				k = p->bsize;
			memcpy(p->tbuf, hc->rbuf + hc->rstart, k);
			hc->rstart += k;
			p->tend = k;
		}
	}
	for (;;) {
		if (p->tend > p->tstart && uc->writable) {
			n = conn_send(uc, p->tbuf + p->tstart,
			    p->tend - p->tstart);
			if (n == IO_ERROR)
				return -1;
			if (n > 0) {
				p->tstart += (size_t)n;
				p->sent += (uint64_t)n;
				r->request_length += (uint64_t)n;
			}
		}
		if (p->tstart == p->tend)
			p->tstart = p->tend = 0;
		if (p->tend == p->bsize || !c->readable)
			return 0;
		n = conn_recv(c, p->tbuf + p->tend, p->bsize - p->tend);
		if (n == IO_AGAIN)
			return 0;
		if (n <= 0)
			return -1;
		p->tend += (size_t)n;
	}
}

static void
tunnel_pump(struct proxy_ctx *p)
{
	uint64_t	before;

	do {
		before = p->client_sent + p->received + p->sent;
		if (write_client(p) == -1 || tunnel_up(p) == -1 ||
		    (p->uc != NULL && read_upstream(p) == -1) ||
		    write_client(p) == -1) {
			abort_stream(p);
			return;
		}
		if (p->resp_done && p->bcount == 0) {
			/* the upstream closed: so does the tunnel */
			abort_stream(p);
			return;
		}
	} while (p->client_sent + p->received + p->sent != before);
	/* idle limit in both directions */
	timer_set(&p->uc->timer, (uint64_t)p->pl->read_timeout);
}
