/*
 * Active health checks: worker 0 connects to every peer of the groups
 * that ask for it, sends a GET, and judges the status and body; the
 * verdict goes into the peer's shared state, where every worker's
 * balancer reads it.  A group that a proxy_pass https names is checked
 * over TLS (tls_client.c).  Passive failure counting is upstream.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/shm.h"
#include "http1_parse.h"
#include "loop.h"
#include "tls_client.h"
#include "upstream.h"

/* More than enough for a status and a body to search. */
#define HC_MAX_RESPONSE	(64 * 1024)

enum hc_state {
	HC_IDLE = 0,
	HC_CONNECTING,
	HC_HANDSHAKE,
	HC_SENDING,
	HC_READING
};

/* One peer's check. */
struct hc {
	struct io		 io;	/* first: the loop hands us &io */
	struct timer		 timer;	/* idle: next check, else timeout */
	struct upstream		*u;
	struct upstream_peer	*p;
	int			 state;
	SSL			*ssl;	/* over https, while checking */
	char			*req;	/* built once */
	size_t			 req_len, sent;
	char			*buf;	/* the response, while reading */
	size_t			 len;
};

/* This process's checks (worker 0's; nobody else's has any). */
static struct {
	struct hc	*v;
	size_t		 n;
} checks;

static void	on_event(struct io *, uint32_t);

/* Records a verdict; logs when it changes the peer's state. */
static void
verdict(struct hc *c, bool pass, const char *why)
{
	struct upstream		*u = c->u;
	struct peer_shared	*s = c->p->shared;
	bool			 up = false, down = false;

	shm_lock(u->lock);
	if (pass) {
		s->health_fails = 0;
		if (s->health_passes < u->health.passes)
			s->health_passes++;
		if (s->health_down && s->health_passes >= u->health.passes) {
			s->health_down = 0;
			s->up_since = clock_now.mono_ms;
			up = true;
		}
	} else {
		s->health_passes = 0;
		if (s->health_fails < u->health.fails)
			s->health_fails++;
		if (!s->health_down && s->health_fails >= u->health.fails) {
			s->health_down = 1;
			down = true;
		}
	}
	shm_unlock(u->lock);
	if (down)
		log_error(LOG_WARN, "upstream server %s of \"%.*s\" failed "
		    "health check: %s, marked down", c->p->name,
		    (int)u->name.len, u->name.data, why);
	else if (up)
		log_error(LOG_NOTICE, "upstream server %s of \"%.*s\" is "
		    "healthy again", c->p->name, (int)u->name.len,
		    u->name.data);
}

static void
drop_tls(struct hc *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
}

/* Ends the check under way (if any) and schedules the next. */
static void
finish(struct hc *c, bool pass, const char *why)
{
	if (c->state != HC_IDLE) {
		drop_tls(c);
		loop_del(&c->io);
		close(c->io.fd);
		c->io.fd = -1;
		free(c->buf);
		c->buf = NULL;
		c->state = HC_IDLE;
	}
	verdict(c, pass, why);
	timer_set(&c->timer, (uint64_t)c->u->health.interval);
}

__attribute__((format(printf, 2, 3)))
static void
fail(struct hc *c, const char *fmt, ...)
{
	char	why[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	finish(c, false, why);
}

static void
judge(struct hc *c)
{
	const struct upstream_health	*h = &c->u->health;
	struct http1_resp		 resp;
	ssize_t				 n;

	http1_resp_init(&resp);
	n = http1_parse_response(&resp, c->buf, c->len);
	if (n == PARSE_ERROR) {
		fail(c, "invalid response (%s)", resp.error ? resp.error : "");
		return;
	}
	if (n == PARSE_AGAIN) {
		fail(c, c->len == HC_MAX_RESPONSE ? "response header too "
		    "large" : "incomplete response");
		return;
	}
	if (resp.status < h->status_min || resp.status > h->status_max) {
		fail(c, "status %d", resp.status);
		return;
	}
	if (h->body.len > 0 && memmem(c->buf + n, c->len - (size_t)n,
	    h->body.data, h->body.len) == NULL) {
		fail(c, "body does not match");
		return;
	}
	finish(c, true, NULL);
}

/*
 * SSL_write or SSL_read: bytes, 0 at the end (read), or -2 when it must
 * wait or has failed the check.
 */
static ssize_t
tls_io(struct hc *c, bool write, void *buf, size_t len)
{
	int	n, e;

	ERR_clear_error();
	n = write ? SSL_write(c->ssl, buf, (int)len) :
	    SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return -2;
	if (e == SSL_ERROR_ZERO_RETURN && !write)
		return 0;
	fail(c, "%s failed", write ? "SSL_write()" : "SSL_read()");
	return -2;
}

/* Reads until the peer closes (HTTP/1.0) or the buffer is full. */
static void
read_response(struct hc *c)
{
	ssize_t	n;

	for (;;) {
		if (c->ssl != NULL) {
			n = tls_io(c, false, c->buf + c->len,
			    HC_MAX_RESPONSE - c->len);
			if (n == -2)
				return;		/* failed, or wait */
		} else
			n = recv(c->io.fd, c->buf + c->len,
			    HC_MAX_RESPONSE - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			if (c->len == HC_MAX_RESPONSE)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail(c, "recv() failed (%d: %s)", errno,
			    strerror(errno));
		return;
	}
	judge(c);
}

static int
start_tls(struct hc *c)
{
	struct upstream	*u = c->u;

	c->ssl = tls_client_new(u->tls_ctx, c->io.fd, &c->p->addr,
	    u->tls_name.data, u->tls_name.len, u->tls_sni);
	if (c->ssl == NULL) {
		fail(c, "cannot start SSL");
		return -1;
	}
	c->state = HC_HANDSHAKE;
	return 0;
}

/* 0 when done (or under way, state unchanged), -1 when failed. */
static int
handshake(struct hc *c)
{
	char	why[1024];
	bool	want_read;
	int	rc, err;

	rc = tls_client_step(c->ssl, &want_read, why, sizeof(why), &err);
	if (rc == TLS_CLIENT_ERROR) {
		if (err != 0)
			fail(c, "%s (%d: %s)", why, err, strerror(err));
		else
			fail(c, "%s", why);
		return -1;
	}
	if (rc == TLS_CLIENT_DONE)
		c->state = HC_SENDING;
	return 0;
}

static void
on_event(struct io *io, uint32_t events)
{
	struct hc	*c = (struct hc *)io;
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	int		 err = 0;

	if (c->state == HC_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			fail(c, "connect() failed (%d: %s)", err,
			    strerror(err));
			return;
		}
		c->state = HC_SENDING;
		if (c->u->tls_ctx != NULL && start_tls(c) == -1)
			return;
	}
	if (c->state == HC_HANDSHAKE && handshake(c) == -1)
		return;
	while (c->state == HC_SENDING && c->ssl != NULL) {
		if ((n = tls_io(c, true, c->req + c->sent, c->req_len -
		    c->sent)) == -2)
			return;
		if ((c->sent += (size_t)n) == c->req_len)
			c->state = HC_READING;
	}
	while (c->state == HC_SENDING) {
		n = send(io->fd, c->req + c->sent, c->req_len - c->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			fail(c, "send() failed (%d: %s)", errno,
			    strerror(errno));
			return;
		}
		if ((c->sent += (size_t)n) == c->req_len)
			c->state = HC_READING;
	}
	if (c->state == HC_READING)
		read_response(c);
}

static void
start(struct hc *c)
{
	const struct addr	*a = &c->p->addr;
	int			 fd;

	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fail(c, "socket() failed (%d: %s)", errno, strerror(errno));
		return;
	}
	if (connect(fd, &a->u.sa, a->len) == -1 && errno != EINPROGRESS) {
		close(fd);
		fail(c, "connect() failed (%d: %s)", errno, strerror(errno));
		return;
	}
	if ((c->buf = malloc(HC_MAX_RESPONSE)) == NULL) {
		close(fd);
		fail(c, "out of memory");
		return;
	}
	c->io.fd = fd;
	c->io.on_event = on_event;
	if (loop_add(&c->io) == -1) {
		close(fd);
		free(c->buf);
		c->buf = NULL;
		fail(c, "epoll_ctl() failed");
		return;
	}
	/* the loop reports writable once the connect is done, even now */
	c->state = HC_CONNECTING;
	c->sent = c->len = 0;
	timer_set(&c->timer, (uint64_t)c->u->health.timeout);
}

static void
on_timer(struct timer *t)
{
	struct hc	*c = (struct hc *)((char *)t - offsetof(struct hc,
			    timer));

	if (c->state == HC_IDLE)
		start(c);
	else
		fail(c, "timed out");
}

/* "GET uri HTTP/1.0" with the server's name as written for Host. */
static int
build_request(struct hc *c)
{
	const struct str	*uri = &c->u->health.uri, *srv = &c->p->server;
	const char		*host = srv->data;
	size_t			 hlen = srv->len, size;
	int			 n;

	if (hlen >= 5 && memcmp(host, "unix:", 5) == 0) {
		host = "localhost";
		hlen = 9;
	}
	size = uri->len + hlen + 128;
	if ((c->req = malloc(size)) == NULL)
		return -1;
	n = snprintf(c->req, size, "GET %.*s HTTP/1.0\r\nHost: %.*s\r\n"
	    "User-Agent: usher-health\r\nConnection: close\r\n\r\n",
	    (int)uri->len, uri->data, (int)hlen, host);
	if (n < 0 || (size_t)n >= size)
		return -1;
	c->req_len = (size_t)n;
	return 0;
}

static size_t
count_checks(struct upstream **ups, size_t n)
{
	size_t	i, j, total = 0;

	for (i = 0; i < n; i++) {
		if (!ups[i]->health.enabled || ups[i]->alias_of != NULL)
			continue;
		for (j = 0; j < ups[i]->npeers; j++)
			total += !ups[i]->peers[j].down;
		for (j = 0; j < ups[i]->nbackups; j++)
			total += !ups[i]->backups[j].down;
	}
	return total;
}

static void
add_check(struct upstream *u, struct upstream_peer *p)
{
	struct hc	*c = &checks.v[checks.n];

	c->u = u;
	c->p = p;
	c->io.fd = -1;
	c->timer.fn = on_timer;
	if (build_request(c) == -1) {
		log_error(LOG_ALERT, "out of memory for the health check of "
		    "%s", p->name);
		free(c->req);
		c->req = NULL;
		return;
	}
	checks.n++;
	/* the first checks run at once, so a dead peer is known soon */
	timer_set(&c->timer, 0);
}

void
upstream_health_start(struct upstream **ups, size_t n)
{
	size_t	total = count_checks(ups, n), i, j;

	if (total == 0 || checks.v != NULL)
		return;
	if ((checks.v = calloc(total, sizeof(*checks.v))) == NULL) {
		log_error(LOG_ALERT, "out of memory for health checks");
		return;
	}
	for (i = 0; i < n; i++) {
		if (!ups[i]->health.enabled || ups[i]->alias_of != NULL)
			continue;
		for (j = 0; j < ups[i]->npeers; j++)
			if (!ups[i]->peers[j].down)
				add_check(ups[i], &ups[i]->peers[j]);
		for (j = 0; j < ups[i]->nbackups; j++)
			if (!ups[i]->backups[j].down)
				add_check(ups[i], &ups[i]->backups[j]);
	}
}

void
upstream_health_stop(void)
{
	struct hc	*c;
	size_t		 i;

	for (i = 0; i < checks.n; i++) {
		c = &checks.v[i];
		timer_del(&c->timer);
		if (c->state != HC_IDLE) {
			drop_tls(c);
			loop_del(&c->io);
			close(c->io.fd);
			free(c->buf);
		}
		free(c->req);
	}
	free(checks.v);
	checks.v = NULL;
	checks.n = 0;
}
