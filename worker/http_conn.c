/*
 * An HTTP/1.x client connection: reading request heads (growing the
 * buffer up to large_client_header_buffers), skipping unread bodies,
 * writing responses, keep-alive, pipelining, timeouts and lingering
 * close.  What a request means is http_request.c's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "access_log.h"
#include "buf.h"
#include "stub_status.h"
#include "tls.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "worker_state.h"

#define LINGERING_TIME_MS	30000
#define LINGERING_TIMEOUT_MS	5000
#define SHUTDOWN_GRACE_MS	1000

enum hc_state {
	HC_HEAD = 1,		/* reading a request head */
	HC_BUSY,		/* a request is being processed */
	HC_WRITE,		/* flushing a response */
	HC_DISCARD,		/* skipping the rest of a request body */
	HC_IDLE,		/* keep-alive, waiting */
	HC_LINGER		/* closing: draining input */
};

static void	read_head(struct conn *);
static void	on_write(struct conn *);
static void	discard_body(struct conn *);
static void	next_request(struct http_conn *);
static void	linger(struct conn *);

static void
on_timeout(struct timer *t)
{
	struct conn	*c = (struct conn *)((char *)t -
			    offsetof(struct conn, timer));
	struct http_conn *hc = c->data;

	if (hc->state == HC_HEAD && hc->rend > hc->rstart)
		log_conn(LOG_INFO, c->number, "client timed out (110: "
		    "Connection timed out) while reading client request "
		    "headers");
	else if (hc->state == HC_WRITE)
		log_conn(LOG_INFO, c->number, "client timed out (110: "
		    "Connection timed out) while sending response to client");
	conn_close(c);
}

/* struct http_conn comes from a free list, like struct conn. */
static struct http_conn	*hc_free_list;

/* Runs when the connection closes, however it ended. */
static void
hc_free(struct conn *c)
{
	struct http_conn	*hc = c->data;

	if (hc == NULL)
		return;
	stub_status_move(&hc->stat, STAT_NONE);
	stub_status_active(-1);
	if (hc->rpool != NULL)
		http_rpool_put(hc->rpool);
	hc->rpool = NULL;
	hc->parsed = NULL;
	buf_put(hc->rbuf, hc->rsize);
	hc->rbuf = NULL;
	c->data = NULL;
	*(struct http_conn **)hc = hc_free_list;
	hc_free_list = hc;
}

/* Request pools are recycled: a request then costs no malloc. */
#define RPOOL_SIZE	16384
#define RPOOL_KEEP	256

static struct pool	*rpools[RPOOL_KEEP];
static int		 nrpools;

struct pool *
http_rpool_get(void)
{
	if (nrpools > 0)
		return rpools[--nrpools];
	return pool_create(RPOOL_SIZE);
}

void
http_rpool_put(struct pool *p)
{
	pool_reset(p);
	if (nrpools < RPOOL_KEEP)
		rpools[nrpools++] = p;
	else
		pool_destroy(p);
}

static void
hc_close(struct http_conn *hc)
{
	conn_close(hc->conn);
}

static struct http_srv *
default_server(struct http_conn *hc)
{
	return hc->addr->default_srv;
}

void
http_conn_start(struct conn *c)
{
	struct http_conn	*hc;
	struct http_addr	*ha = c->listener->servers, *sp;

	if ((hc = hc_free_list) != NULL)
		hc_free_list = *(struct http_conn **)hc;
	else if ((hc = malloc(sizeof(*hc))) == NULL) {
		conn_close(c);
		return;
	}
	memset(hc, 0, sizeof(*hc));
	c->on_close = hc_free;
	/* "Waiting" until its first bytes come, as nginx counts it */
	stub_status_active(1);
	/* a wildcard listener may cover specific addresses of its port */
	if (ha->specific != NULL && conn_local_addr(c) == 0) {
		for (sp = ha->specific; sp != NULL; sp = sp->specific)
			if (addr_equal(&sp->addr, &c->local)) {
				ha = sp;
				break;
			}
	}
	hc->conn = c;
	hc->addr = ha;
	if (ha->ssl && tls_accept(c, ha) == -1) {
		log_conn(LOG_ALERT, c->number, "SSL_new() failed");
		memset(hc, 0, sizeof(*hc));
		*(struct http_conn **)hc = hc_free_list;
		hc_free_list = hc;
		c->on_close = NULL;
		conn_close(c);
		return;
	}
	hc->state = HC_IDLE;
	c->data = hc;
	/* not idle: its first request is on the way and will be served */
	c->idle = false;
	c->on_read = read_head;
	c->on_write = NULL;
	c->on_shutdown = http_conn_shutdown;
	c->timer.fn = on_timeout;
	timer_set(&c->timer, (uint64_t)default_server(hc)->client_header_timeout);
	if (c->readable)
		read_head(c);
}

/* Reading heads ---------------------------------------------------------- */

static int
grow_buffer(struct http_conn *hc, struct http_srv *s)
{
	size_t	max = s->large_header_size * (size_t)s->large_header_num;
	size_t	size;
	char	*n;

	if (hc->rbuf == NULL) {
		size = s->client_header_buffer_size;
		if ((hc->rbuf = buf_get(size)) == NULL)
			return -1;
		hc->rsize = size;
		hc->rstart = hc->rend = 0;
		return 0;
	}
	if (hc->rstart > 0) {
		memmove(hc->rbuf, hc->rbuf + hc->rstart, hc->rend - hc->rstart);
		hc->rend -= hc->rstart;
		hc->rstart = 0;
		if (hc->rend < hc->rsize)
			return 0;
	}
	if (hc->rsize >= max)
		return 1;
	size = hc->rsize < s->large_header_size ? s->large_header_size :
	    hc->rsize + s->large_header_size;
	if (size > max)
		size = max;
	if ((n = buf_get(size)) == NULL)
		return -1;
	memcpy(n, hc->rbuf, hc->rend);
	buf_put(hc->rbuf, hc->rsize);
	hc->rbuf = n;
	hc->rsize = size;
	/* the parser's resume point referred to the old buffer */
	hc->parsed->resume_buf = NULL;
	return 0;
}

/* Answers a request that could not even be parsed, then closes. */
static void
bad_request(struct http_conn *hc, int status, const char *why)
{
	struct request	*r;

	log_conn(LOG_INFO, hc->conn->number, "%s while reading client request "
	    "headers", why ? why : "client sent invalid request");
	if ((r = http_request_new(hc)) == NULL) {
		hc_close(hc);
		return;
	}
	r->keepalive = false;
	r->close_after = true;
	r->lingering = true;
	if (hc->parsed->line != NULL) {
		r->request_line.data = (char *)hc->parsed->line;
		r->request_line.len = hc->parsed->line_len;
	}
	http_special(r, status);
}

static void
read_head(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct http_srv		*s = default_server(hc);
	ssize_t			 n;
	int			 g;

	/* a request is in progress: pipelined bytes wait their turn */
	if (hc->state != HC_IDLE && hc->state != HC_HEAD)
		return;
	if (hc->state == HC_IDLE) {
		if (hc->rpool == NULL && (hc->rpool = http_rpool_get()) == NULL) {
			hc_close(hc);
			return;
		}
		if (hc->parsed == NULL && (hc->parsed = pool_alloc(hc->rpool,
		    sizeof(*hc->parsed))) == NULL) {
			hc_close(hc);
			return;
		}
		hc->state = HC_HEAD;
		http1_req_init(hc->parsed);
		hc->parsed->max_request_line = s->large_header_size;
		hc->parsed->max_header_line = s->large_header_size;
		hc->parsed->underscores_in_headers = s->underscores_in_headers;
		hc->parsed->ignore_invalid_headers = s->ignore_invalid_headers;
	}
	for (;;) {
		if (hc->rend > hc->rstart) {
			stub_status_move(&hc->stat, STAT_READING);
			n = http1_parse_request(hc->parsed,
			    hc->rbuf + hc->rstart, hc->rend - hc->rstart);
			if (n > 0) {
				c->idle = false;
				timer_del(&c->timer);
				hc->state = HC_BUSY;
				http_request_start(hc, (size_t)n);
				return;
			}
			if (n == PARSE_ERROR) {
				c->idle = false;
				timer_del(&c->timer);
				hc->state = HC_BUSY;
				bad_request(hc, hc->parsed->status,
				    hc->parsed->error);
				return;
			}
		}
		if (hc->rbuf == NULL || hc->rend == hc->rsize) {
			if ((g = grow_buffer(hc, s)) == -1) {
				hc_close(hc);
				return;
			}
			if (g == 1) {
				c->idle = false;
				hc->state = HC_BUSY;
				timer_del(&c->timer);
				bad_request(hc, hc->parsed->line == NULL ? 414 :
				    494, "client sent too large request");
				return;
			}
		}
		if (!c->readable)
			return;
		n = conn_recv(c, hc->rbuf + hc->rend, hc->rsize - hc->rend);
		if (n == IO_AGAIN)
			return;
		if (n == TLS_PLAIN_HTTP) {
			/* answered in the clear, as the client spoke */
			tls_close(c);
			c->idle = false;
			timer_del(&c->timer);
			hc->state = HC_BUSY;
			bad_request(hc, 497, "client sent plain HTTP request "
			    "to HTTPS port");
			return;
		}
		if (n == 0 || n == IO_ERROR) {
			if (n == 0 && hc->rend > hc->rstart)
				log_conn(LOG_INFO, c->number, "client prematurely "
				    "closed connection while reading client "
				    "request headers");
			hc_close(hc);
			return;
		}
		if (hc->rend == hc->rstart) {
			/* the first byte: from idle to reading a head */
			c->idle = false;
			timer_set(&c->timer, (uint64_t)s->client_header_timeout);
		}
		hc->rend += (size_t)n;
	}
}

/* Writing ---------------------------------------------------------------- */

int
http_conn_write(struct request *r, struct iovec *iov, int n)
{
	struct http_conn	*hc = r->hc;
	int			 i;

	if (n > (int)(sizeof(r->iov) / sizeof(r->iov[0])))
		return -1;
	for (i = 0; i < n; i++)
		r->iov[i] = iov[i];
	r->niov = n;
	r->iov_first = 0;
	hc->state = HC_WRITE;
	hc->conn->on_write = on_write;
	on_write(hc->conn);
	return 0;
}

static void
on_write(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct request		*r = hc->req;
	struct iovec		*iov;
	ssize_t			 w;
	size_t			 left;

	if (hc->state != HC_WRITE)
		return;
	while (r->iov_first < r->niov) {
		iov = &r->iov[r->iov_first];
		if (iov->iov_len == 0) {
			r->iov_first++;
			continue;
		}
		w = conn_writev(c, iov, r->niov - r->iov_first);
		if (w == IO_AGAIN) {
			timer_set(&c->timer, (uint64_t)(r->loc ?
			    r->loc->send_timeout : 60000));
			return;
		}
		if (w == IO_ERROR) {
			log_conn(LOG_INFO, c->number, "writev() failed (%d: %s) "
			    "while sending response to client", errno,
			    strerror(errno));
			r->close_after = true;
			r->lingering = false;
			r->iov_first = r->niov;
			break;
		}
		r->bytes_sent += (uint64_t)w;
		left = (size_t)w;
		while (left > 0 && r->iov_first < r->niov) {
			iov = &r->iov[r->iov_first];
			if (left >= iov->iov_len) {
				left -= iov->iov_len;
				iov->iov_len = 0;
				r->iov_first++;
			} else {
				iov->iov_base = (char *)iov->iov_base + left;
				iov->iov_len -= left;
				left = 0;
			}
		}
	}
	timer_del(&c->timer);
	c->on_write = NULL;
	http_conn_request_done(r);
}

/* After a response ----------------------------------------------------------- */

void
http_conn_request_done(struct request *r)
{
	struct http_conn	*hc = r->hc;
	struct conn		*c = hc->conn;

	r->done = true;
	access_log_write(r);
	http_body_free(r);
	if (r->close_after || !r->keepalive || worker.quitting) {
		/* an unread body would make close() send a reset */
		if (r->lingering || r->discard_body) {
			linger(c);
			return;
		}
		hc_close(hc);
		return;
	}
	if (r->discard_body) {
		hc->state = HC_DISCARD;
		c->on_read = discard_body;
		timer_set(&c->timer, (uint64_t)r->loc->client_body_timeout);
		discard_body(c);
		return;
	}
	next_request(hc);
}

/* Consumes body bytes in the buffer; true when the body has ended. */
static int
skip_buffered_body(struct http_conn *hc)
{
	size_t		avail = hc->rend - hc->rstart, len;
	ssize_t		rest;

	if (hc->req->chunked) {
		len = avail;
		rest = http1_chunked_decode(&hc->req->chunked_in, hc->rbuf + hc->rstart,
		    &len);
		if (rest == PARSE_ERROR)
			return -1;
		if (rest == PARSE_AGAIN) {
			hc->rstart = hc->rend;
			return 0;
		}
		/* what follows the body is the next request */
		memmove(hc->rbuf + hc->rstart, hc->rbuf + hc->rend - rest,
		    (size_t)rest);
		hc->rend = hc->rstart + (size_t)rest;
		return 1;
	}
	len = (size_t)hc->body_left < avail ? (size_t)hc->body_left : avail;
	hc->rstart += len;
	hc->body_left -= (int64_t)len;
	return hc->body_left == 0 ? 1 : 0;
}

static void
discard_body(struct conn *c)
{
	struct http_conn	*hc = c->data;
	ssize_t			 n;
	int			 done;

	for (;;) {
		if ((done = skip_buffered_body(hc)) == -1) {
			hc_close(hc);
			return;
		}
		if (done == 1) {
			timer_del(&c->timer);
			next_request(hc);
			return;
		}
		if (!c->readable)
			return;
		if (hc->rbuf == NULL) {
			hc->rsize = 4096;
			if ((hc->rbuf = buf_get(hc->rsize)) == NULL) {
				hc_close(hc);
				return;
			}
		}
		hc->rstart = hc->rend = 0;
		n = conn_recv(c, hc->rbuf, hc->rsize);
		if (n == IO_AGAIN)
			return;
		if (n <= 0) {
			hc_close(hc);
			return;
		}
		hc->rend = (size_t)n;
		timer_set(&c->timer, (uint64_t)hc->req->loc->client_body_timeout);
	}
}

static void
next_request(struct http_conn *hc)
{
	struct conn	*c = hc->conn;
	struct http_loc	*loc = hc->req->loc ? hc->req->loc :
			    default_server(hc)->loc;

	http_rpool_put(hc->rpool);
	hc->rpool = NULL;
	hc->parsed = NULL;
	hc->req = NULL;
	hc->state = HC_IDLE;
	stub_status_move(&hc->stat, STAT_NONE);
	c->on_read = read_head;
	if (hc->rend > hc->rstart) {
		/* pipelined: the next head is already here */
		hc->pipelined = true;
		timer_set(&c->timer,
		    (uint64_t)default_server(hc)->client_header_timeout);
		read_head(c);
		return;
	}
	/* an idle connection keeps no buffer */
	buf_put(hc->rbuf, hc->rsize);
	hc->rbuf = NULL;
	hc->rsize = hc->rstart = hc->rend = 0;
	c->idle = true;
	timer_set(&c->timer, (uint64_t)loc->keepalive_timeout);
	if (loc->keepalive_timeout == 0) {
		hc_close(hc);
		return;
	}
	if (c->readable)
		read_head(c);
}

/*
 * After an error with unread input, closing at once would make the
 * kernel reset the connection and the client could lose our answer; so
 * stop writing, and read and drop what still comes for a while.
 */
static void
linger_read(struct conn *c)
{
	struct http_conn	*hc = c->data;
	char			 buf[4096];
	ssize_t			 n;

	for (;;) {
		n = conn_recv(c, buf, sizeof(buf));
		if (n == IO_AGAIN) {
			clock_update();
			if (clock_now.mono_ms >= hc->linger_until) {
				hc_close(hc);
				return;
			}
			timer_set(&c->timer, LINGERING_TIMEOUT_MS);
			return;
		}
		if (n <= 0) {
			hc_close(hc);
			return;
		}
	}
}

static void
linger(struct conn *c)
{
	struct http_conn	*hc = c->data;

	hc->state = HC_LINGER;
	if (shutdown(c->io.fd, SHUT_WR) == -1) {
		hc_close(hc);
		return;
	}
	hc->linger_until = clock_now.mono_ms + LINGERING_TIME_MS;
	c->on_read = linger_read;
	c->on_write = NULL;
	timer_set(&c->timer, LINGERING_TIMEOUT_MS);
	linger_read(c);
}

void
http_conn_shutdown(struct conn *c)
{
	struct http_conn	*hc = c->data;

	if (hc == NULL)
		conn_close(c);
	else if (c->idle)
		hc_close(hc);
	else if (hc->state == HC_IDLE && hc->rend == hc->rstart &&
	    c->requests == 0)
		/* accepted, nothing read yet: its request may be in flight */
		timer_set(&c->timer, SHUTDOWN_GRACE_MS);
}

int
http_conn_check_body(struct request *r)
{
	struct http_conn	*hc = r->hc;
	int			 rc;

	if (!r->discard_body || hc->rend == hc->rstart)
		return 0;
	if ((rc = skip_buffered_body(hc)) == -1)
		return -1;
	if (rc == 1)
		r->discard_body = false;
	return 0;
}

/* Reading a request body ---------------------------------------------------- */

#define BODY_CHUNK	16384

static int
body_open_file(struct request *r)
{
	const char	*dir = r->loc->client_body_temp_path;
	int		 fd;

	/* an unlinked file: nothing to clean up, whatever happens */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT && mkdir(dir, 0700) == 0)
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	r->body_in.dir = dir;
	if (fd == -1) {
		/* a name must be linked on the file's own file system */
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		r->body_in.dir = "/tmp";
	}
	if (fd == -1)
		log_conn(LOG_CRIT, r->conn->number, "cannot create a temporary "
		    "file in \"%s\" (%d: %s)", dir, errno, strerror(errno));
	return fd;
}

static void
body_unlink(void *arg)
{
	struct request	*r = arg;

	if (r->body_in.path != NULL && unlink(r->body_in.path) == -1 &&
	    errno != ENOENT)
		log_conn(LOG_CRIT, r->conn->number, "unlink() \"%s\" failed "
		    "(%d: %s)", r->body_in.path, errno, strerror(errno));
	r->body_in.path = NULL;
}

/*
 * The file was opened unlinked, so that nothing is left behind whatever
 * happens; a name is linked to it only when one is asked for.  Names are
 * tried from a per-worker counter, and one taken by another worker is
 * skipped.
 */
const char *
http_body_file_name(struct request *r)
{
	static uint32_t	 seq;
	struct req_body	*b = &r->body_in;
	char		 proc[64], *path;
	size_t		 dlen;
	int		 tries;

	if (b->path != NULL || b->fd == -1)
		return b->path;
	dlen = strlen(b->dir);
	if ((path = pool_alloc(r->pool, dlen + 12)) == NULL)
		return NULL;
	if (seq == 0)
		seq = (uint32_t)getpid() * 7919u;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", b->fd);
	for (tries = 0; tries < 100; tries++) {
		snprintf(path, dlen + 12, "%s/%010u", b->dir, ++seq % 4000000000u);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path,
		    AT_SYMLINK_FOLLOW) == 0) {
			b->path = path;
			if (r->loc->client_body_in_file_only != BODY_FILE_ON &&
			    pool_cleanup_add(r->pool, body_unlink, r) == -1) {
				body_unlink(r);
				return NULL;
			}
			return path;
		}
		if (errno != EEXIST)
			break;
	}
	log_conn(LOG_CRIT, r->conn->number, "linkat() \"%s\" failed "
	    "(%d: %s)", path, errno, strerror(errno));
	return NULL;
}

/* Stores decoded body bytes; -1 on a storage error. */
static int
body_store(struct request *r, const char *p, size_t n)
{
	struct req_body	*b = &r->body_in;
	size_t		 room, max = r->loc->client_body_buffer_size;

	if (r->loc->client_body_in_file_only != BODY_FILE_OFF &&
	    b->fd == -1 && (b->fd = body_open_file(r)) == -1)
		return -1;
	if (b->mem == NULL && b->fd == -1) {
		b->cap = max;
		if (r->content_length >= 0 && (uint64_t)r->content_length < max)
			b->cap = (size_t)r->content_length;
		if (b->cap > 0 && (b->mem = pool_alloc(r->pool, b->cap)) == NULL)
			return -1;
	}
	if (b->fd == -1) {
		room = b->cap - b->len;
		if (n <= room) {
			memcpy(b->mem + b->len, p, n);
			b->len += n;
			return 0;
		}
		if ((b->fd = body_open_file(r)) == -1)
			return -1;
	}
	while (n > 0) {
		ssize_t	w = write(b->fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_conn(LOG_CRIT, r->conn->number, "write() to a "
			    "temporary file failed (%d: %s)", errno,
			    strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
		b->file_len += w;
	}
	return 0;
}

/*
 * Takes body bytes from buf[0..*len): decodes chunked framing in place or
 * counts a fixed length.  Returns 1 at the end of the body (*len: bytes
 * that belong to it; *rest: bytes after it), 0 for more, -1 on error.
 */
static int
body_take(struct http_conn *hc, char *buf, size_t *len, size_t *rest)
{
	struct request	*r = hc->req;
	ssize_t		 left;
	size_t		 n = *len;

	*rest = 0;
	if (r->chunked) {
		left = http1_chunked_decode(&hc->req->chunked_in, buf, len);
		if (left == PARSE_ERROR)
			return -1;
		if (left == PARSE_AGAIN)
			return 0;
		*rest = (size_t)left;
		return 1;
	}
	if ((int64_t)n >= hc->body_left) {
		*rest = n - (size_t)hc->body_left;
		*len = (size_t)hc->body_left;
		hc->body_left = 0;
		return 1;
	}
	hc->body_left -= (int64_t)n;
	return 0;
}

static void
body_failed(struct request *r, int status)
{
	struct http_conn	*hc = r->hc;

	r->discard_body = false;
	r->keepalive = false;
	r->close_after = true;
	r->lingering = status != 408;
	hc->conn->on_read = NULL;
	timer_del(&hc->conn->timer);
	hc->conn->timer.fn = on_timeout;
	http_special(r, status);
}

static void
body_complete(struct request *r)
{
	struct http_conn	*hc = r->hc;
	http_done_fn		*done = r->body_done;

	r->body_in.done = true;
	r->discard_body = false;
	r->body_received = (uint64_t)r->body_in.len +
	    (uint64_t)r->body_in.file_len;
	r->request_length += r->body_received;
	timer_del(&hc->conn->timer);
	hc->conn->timer.fn = on_timeout;
	hc->conn->on_read = NULL;
	hc->state = HC_BUSY;
	if (r->body_in.fd != -1) {
		lseek(r->body_in.fd, 0, SEEK_SET);
		/* kept for someone else to read: it needs a name */
		if (r->loc->client_body_in_file_only != BODY_FILE_OFF)
			(void)http_body_file_name(r);
	}
	done(r);
}

static void
body_on_timeout(struct timer *t)
{
	struct conn	*c = (struct conn *)((char *)t -
			    offsetof(struct conn, timer));
	struct http_conn *hc = c->data;

	log_conn(LOG_INFO, c->number, "client timed out (110: Connection "
	    "timed out) while reading client request body");
	body_failed(hc->req, 408);
}

/* Handles bytes of a chunk: 1 when the body ended, 0 more, -1 answered. */
static int
body_feed(struct request *r, char *p, size_t n, size_t *rest)
{
	struct http_conn	*hc = r->hc;
	size_t			 len = n;
	int			 rc;

	rc = body_take(hc, p, &len, rest);
	if (rc == -1) {
		log_conn(LOG_INFO, r->conn->number, "client sent invalid "
		    "chunked body");
		body_failed(r, hc->req->chunked_in.status == 413 ? 413 : 400);
		return -1;
	}
	if (len > 0 && body_store(r, p, len) == -1) {
		body_failed(r, 500);
		return -1;
	}
	return rc;
}

/*
 * Bytes read past the end of a chunked body belong to the next requests:
 * they go back to the read buffer, made larger when they do not fit.
 */
static int
keep_pipelined(struct http_conn *hc, const char *p, size_t n)
{
	char	*nb;

	if (hc->rbuf == NULL || hc->rsize < n) {
		if ((nb = buf_get(n)) == NULL)
			return -1;
		if (hc->rbuf != NULL)
			buf_put(hc->rbuf, hc->rsize);
		hc->rbuf = nb;
		hc->rsize = n;
	}
	memcpy(hc->rbuf, p, n);
	hc->rstart = 0;
	hc->rend = n;
	return 0;
}

static void
body_read(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct request		*r = hc->req;
	char			 buf[BODY_CHUNK];
	size_t			 want, rest;
	ssize_t			 n;
	int			 rc;

	for (;;) {
		if (!c->readable)
			break;
		want = sizeof(buf);
		/* a fixed-length body is read exactly: no byte of the next
		 * request lands here */
		if (!r->chunked && hc->body_left < (int64_t)want)
			want = (size_t)hc->body_left;
		n = conn_recv(c, buf, want);
		if (n == IO_AGAIN)
			break;
		if (n <= 0) {
			log_conn(LOG_INFO, c->number, "client prematurely closed "
			    "connection while reading client request body");
			r->status = 400;
			r->close_after = true;
			r->discard_body = false;
			c->on_read = NULL;
			conn_close(c);
			return;
		}
		rc = body_feed(r, buf, (size_t)n, &rest);
		if (rc == -1)
			return;
		if (rc == 1) {
			/* a pipelined request after a chunked body waits */
			if (rest > 0 && keep_pipelined(hc, buf + n - rest,
			    rest) == -1) {
				body_failed(r, 500);
				return;
			}
			body_complete(r);
			return;
		}
	}
	timer_set(&c->timer, (uint64_t)r->loc->client_body_timeout);
}

void
http_read_body(struct request *r, http_done_fn *done)
{
	struct http_conn	*hc = r->hc;
	struct conn		*c = hc->conn;
	size_t			 avail, len, rest;
	int			 rc;

	r->body_done = done;
	r->body_in.fd = -1;
	/* as nginx, even for an empty body: reading it meets the
	 * expectation */
	if (r->expect_continue && !hc->sent_continue &&
	    hc->rend == hc->rstart) {
		static const char	cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		hc->sent_continue = true;
		conn_send(c, cont, sizeof(cont) - 1);
	}
	if (!r->discard_body) {
		/* no body, or one already consumed */
		r->body_in.done = true;
		done(r);
		return;
	}
	/* bytes that came with the head */
	avail = hc->rend - hc->rstart;
	if (avail > 0) {
		len = avail;
		rc = body_feed(r, hc->rbuf + hc->rstart, len, &rest);
		if (rc == -1)
			return;
		hc->rstart = hc->rend - rest;
		if (rc == 1) {
			body_complete(r);
			return;
		}
		hc->rstart = hc->rend = 0;
	}
	hc->state = HC_DISCARD;
	c->on_read = body_read;
	c->timer.fn = body_on_timeout;
	body_read(c);
}

void
http_body_free(struct request *r)
{
	if (r->body_in.fd != -1)
		close(r->body_in.fd);
	r->body_in.fd = -1;
}

void
http_conn_set_writing(struct request *r)
{
	r->hc->state = HC_WRITE;
}

/*
 * A streamed body is also kept for $request_body while it fits in
 * client_body_buffer_size, as nginx's buffers still hold it then.
 */
static void
body_keep_streamed(struct request *r, const char *p, size_t n)
{
	struct req_body	*b = &r->body_in;
	size_t		 max = r->loc->client_body_buffer_size;

	if (b->too_big || n == 0)
		return;
	if (b->len + n > max) {
		b->too_big = true;
		b->len = 0;
		return;
	}
	if (b->mem == NULL) {
		b->cap = max;
		if (r->content_length >= 0 && (uint64_t)r->content_length < max)
			b->cap = (size_t)r->content_length;
		if ((b->mem = pool_alloc(r->pool, b->cap)) == NULL) {
			b->too_big = true;
			return;
		}
	}
	if (b->len + n > b->cap) {
		b->too_big = true;
		b->len = 0;
		return;
	}
	memcpy(b->mem + b->len, p, n);
	b->len += n;
}

ssize_t
http_body_read_some(struct request *r, char *buf, size_t size, bool *done)
{
	struct http_conn	*hc = r->hc;
	struct conn		*c = hc->conn;
	size_t			 len, rest, avail;
	ssize_t			 n;
	int			 rc;

	*done = false;
	if (!r->discard_body) {
		*done = true;
		return 0;
	}
	/* what came with the head first */
	avail = hc->rend - hc->rstart;
	if (avail > 0) {
		len = avail < size ? avail : size;
		memcpy(buf, hc->rbuf + hc->rstart, len);
		hc->rstart += len;
		n = (ssize_t)len;
	} else {
		len = size;
		if (!r->chunked && hc->body_left < (int64_t)len)
			len = (size_t)hc->body_left;
		n = conn_recv(c, buf, len);
		if (n == IO_AGAIN)
			return IO_AGAIN;
		if (n <= 0)
			return IO_ERROR;
	}
	len = (size_t)n;
	rc = body_take(hc, buf, &len, &rest);
	if (rc == -1)
		return HTTP_BODY_INVALID;
	r->body_received += len;
	r->request_length += len;
	if (r->http->vars.request_body_used)
		body_keep_streamed(r, buf, len);
	if (rc == 1) {
		r->body_in.done = true;
		/* bytes after the body: the next request, back to the buffer */
		if (rest > 0 && avail == 0) {
			if (keep_pipelined(hc, buf + n - rest, rest) == -1)
				return IO_ERROR;
		} else if (rest > 0 && avail > 0)
			hc->rstart -= rest;
		r->discard_body = false;
		*done = true;
	}
	return (ssize_t)len;
}
