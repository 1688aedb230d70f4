/*
 * OCSP stapling: one staple per certificate of a server, either a DER
 * file stapled as is (ssl_stapling_file) or a response each worker fetches
 * over plain HTTP from the responder (the certificate's AIA URL, or
 * ssl_stapling_responder) in its event loop, keeps until its nextUpdate
 * and refreshes in the background.  A responder that fails only means no
 * staple for a while, and a log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../common/addr.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "http1_parse.h"
#include "http_conf.h"
#include "loop.h"
#include "tls.h"

#define OCSP_MAX_RESPONSE	(64 * 1024)
#define OCSP_TIMEOUT		(30 * 1000)	/* ms, one fetch */
#define OCSP_RETRY		300		/* s, after a failure */
#define OCSP_REFRESH		3600		/* s, at most between fetches */

enum { OS_IDLE = 0, OS_CONNECTING, OS_SENDING, OS_READING };

struct staple {
	struct io	 io;		/* first: the loop hands us &io */
	struct timer	 timer;
	X509		*cert;		/* the server's, which it staples for */
	X509		*issuer;
	X509_STORE	*store;		/* for ssl_stapling_verify */
	STACK_OF(X509)	*chain;
	bool		 verify;
	/* the response, DER: from the file, or the last good fetch */
	unsigned char	*resp;
	size_t		 resp_len;
	time_t		 valid_until;	/* 0: for ever (a file) */
	/* fetching */
	struct addr	 addr;
	char		*host, *path;	/* "name:port", for Host */
	char		*name;		/* the responder's, for logs */
	char		 peer[ADDR_STRLEN];
	int		 state;
	char		*req;
	size_t		 req_len, sent;
	unsigned char	*buf;
	size_t		 len;
};

struct staples {
	size_t		 n;
	struct staple	*v;
};

static int
status_cb(SSL *ssl, void *arg)
{
	struct staples	*ss = arg;
	struct staple	*st;
	X509		*cert = SSL_get_certificate(ssl);
	unsigned char	*p;
	size_t		 i;

	for (i = 0; i < ss->n; i++) {
		st = &ss->v[i];
		if (st->cert != cert || st->resp == NULL)
			continue;
		if (st->valid_until != 0 && st->valid_until <= time(NULL))
			return SSL_TLSEXT_ERR_NOACK;
		/* OpenSSL frees what it is given */
		if ((p = OPENSSL_memdup(st->resp, st->resp_len)) == NULL)
			return SSL_TLSEXT_ERR_NOACK;
		SSL_set_tlsext_status_ocsp_resp(ssl, p, (long)st->resp_len);
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static int
read_file(struct http_srv *s, struct staple *st, const char *path)
{
	OCSP_RESPONSE	*r;
	BIO		*b;
	unsigned char	*der = NULL;
	int		 n;

	if ((b = BIO_new_file(path, "rb")) == NULL) {
		ERR_clear_error();
		log_error(LOG_EMERG, "BIO_new_file(\"%s\") failed in %s:%u",
		    path, s->file, s->line);
		return -1;
	}
	r = d2i_OCSP_RESPONSE_bio(b, NULL);
	BIO_free(b);
	if (r == NULL) {
		ERR_clear_error();
		log_error(LOG_EMERG, "d2i_OCSP_RESPONSE_bio(\"%s\") failed in "
		    "%s:%u", path, s->file, s->line);
		return -1;
	}
	n = i2d_OCSP_RESPONSE(r, &der);
	OCSP_RESPONSE_free(r);
	if (n <= 0)
		return -1;
	st->resp = der;
	st->resp_len = (size_t)n;
	return 0;
}

/* The issuer: in the chain the server sends, or among trusted ones. */
static X509 *
find_issuer(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain)
{
	X509_STORE_CTX	*sctx;
	X509		*issuer = NULL;
	int		 i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (X509_check_issued(sk_X509_value(chain, i), cert) ==
		    X509_V_OK) {
			issuer = sk_X509_value(chain, i);
			X509_up_ref(issuer);
			return issuer;
		}
	if ((sctx = X509_STORE_CTX_new()) == NULL)
		return NULL;
	if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), NULL,
	    NULL) == 1 && X509_STORE_CTX_get1_issuer(&issuer, sctx, cert) != 1)
		issuer = NULL;
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return issuer;
}

/* "http://host[:port]/path": the responder to ask. */
static int
responder(struct http_srv *s, struct staple *st, const char *url)
{
	char	*host = NULL, *port = NULL, *path = NULL, err[128], hp[300];
	int	 ssl = 0;

	if (OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path,
	    NULL, NULL) != 1 || ssl) {
		ERR_clear_error();
		log_error(LOG_EMERG, "invalid OCSP responder URL \"%s\" in "
		    "%s:%u", url, s->file, s->line);
		goto fail;
	}
	snprintf(hp, sizeof(hp), "%s%s%s:%s", strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", port);
	/* resolved while loading, as nginx does without a resolver */
	if (addr_parse(&st->addr, hp, strlen(hp), 80, true, err,
	    sizeof(err)) == -1) {
		log_error(LOG_EMERG, "cannot resolve OCSP responder \"%s\" "
		    "(%s) in %s:%u", url, err, s->file, s->line);
		goto fail;
	}
	addr_format(&st->addr, st->peer, sizeof(st->peer), true);
	st->host = strdup(hp);
	st->name = strdup(host);
	st->path = strdup(path[0] ? path : "/");
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return st->host == NULL || st->name == NULL || st->path == NULL ?
	    -1 : 0;
fail:
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return -1;
}

static void
staple_free(void *p)
{
	struct staple	*st = p;

	X509_free(st->issuer);
	OPENSSL_free(st->resp);
	free(st->host);
	free(st->name);
	free(st->path);
	free(st->req);
	free(st->buf);
}

static int
one_cert(struct conf *cf, struct http_srv *s, SSL_CTX *ctx, struct staple *st)
{
	struct tls_srv		*t = &s->tls;
	STACK_OF(OPENSSL_STRING) *urls;
	const char		*url;
	int			 rc;

	st->cert = SSL_CTX_get0_certificate(ctx);
	st->io.fd = -1;
	if (pool_cleanup_add(cf->pool, staple_free, st) == -1)
		return -1;
	if (t->stapling_file != NULL)
		return read_file(s, st, t->stapling_file);
	SSL_CTX_get0_chain_certs(ctx, &st->chain);
	st->verify = t->stapling_verify;
	st->store = SSL_CTX_get_cert_store(ctx);
	/* a bad URL is an error even where stapling cannot work */
	if (t->stapling_responder.data != NULL &&
	    responder(s, st, t->stapling_responder.data) == -1)
		return -1;
	if ((st->issuer = find_issuer(ctx, st->cert, st->chain)) == NULL) {
		log_error(LOG_WARN, "\"ssl_stapling\" ignored, issuer "
		    "certificate not found for certificate in %s:%u", s->file,
		    s->line);
		st->cert = NULL;
		return 0;
	}
	if (st->host != NULL)
		return 0;
	urls = X509_get1_ocsp(st->cert);
	if (urls == NULL || sk_OPENSSL_STRING_num(urls) == 0) {
		X509_email_free(urls);
		log_error(LOG_WARN, "\"ssl_stapling\" ignored, no OCSP "
		    "responder URL in the certificate in %s:%u", s->file,
		    s->line);
		st->cert = NULL;
		return 0;
	}
	url = sk_OPENSSL_STRING_value(urls, 0);
	rc = responder(s, st, url);
	X509_email_free(urls);
	return rc;
}

int
tls_ocsp_build(struct conf *cf, struct http_srv *s, void *ssl_ctx)
{
	struct staples	*ss;
	size_t		 n = 0, i = 0;
	int		 rc;

	if (!s->tls.stapling)
		return 0;
	rc = SSL_CTX_set_current_cert(ssl_ctx, SSL_CERT_SET_FIRST);
	for (; rc == 1; rc = SSL_CTX_set_current_cert(ssl_ctx,
	    SSL_CERT_SET_NEXT))
		n++;
	if ((ss = pool_calloc(cf->pool, sizeof(*ss))) == NULL ||
	    (ss->v = pool_calloc(cf->pool, n * sizeof(*ss->v))) == NULL)
		return -1;
	ss->n = n;
	rc = SSL_CTX_set_current_cert(ssl_ctx, SSL_CERT_SET_FIRST);
	for (; rc == 1 && i < n; rc = SSL_CTX_set_current_cert(ssl_ctx,
	    SSL_CERT_SET_NEXT), i++) {
		if (one_cert(cf, s, ssl_ctx, &ss->v[i]) == -1)
			return -1;
	}
	s->tls.staples = ss;
	SSL_CTX_set_tlsext_status_cb(ssl_ctx, status_cb);
	SSL_CTX_set_tlsext_status_arg(ssl_ctx, ss);
	return 0;
}

/* Fetching ----------------------------------------------------------------- */

static void	on_event(struct io *, uint32_t);

static void
done(struct staple *st, time_t next)
{
	if (st->state != OS_IDLE) {
		loop_del(&st->io);
		close(st->io.fd);
		st->io.fd = -1;
		st->state = OS_IDLE;
	}
	free(st->buf);
	st->buf = NULL;
	if (next < 1)
		next = 1;
	timer_set(&st->timer, (uint64_t)next * 1000);
}

__attribute__((format(printf, 2, 3)))
static void
fail(struct staple *st, const char *fmt, ...)
{
	char	why[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	log_error(LOG_ERR, "%s while requesting certificate status, "
	    "responder: %s, peer: %s", why, st->name, st->peer);
	done(st, OCSP_RETRY);
}

/* Checks the response and keeps it; the time of the next fetch. */
static void
accept_response(struct staple *st, const unsigned char *p, size_t len)
{
	const unsigned char	*q = p;
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*basic = NULL;
	OCSP_CERTID		*id = NULL;
	ASN1_GENERALIZEDTIME	*thisupd, *nextupd;
	unsigned char		*copy;
	struct tm		 tm;
	time_t			 now = time(NULL), until, next;
	int			 status, reason, n;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &q, (long)len)) == NULL) {
		fail(st, "invalid response");
		return;
	}
	len = (size_t)(q - p);	/* the DER alone, whatever followed it */
	n = OCSP_response_status(resp);
	if (n != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		fail(st, "response status %d \"%s\"", n,
		    OCSP_response_status_str(n));
		goto out;
	}
	if ((basic = OCSP_response_get1_basic(resp)) == NULL ||
	    (id = OCSP_cert_to_id(NULL, st->cert, st->issuer)) == NULL) {
		fail(st, "invalid response");
		goto out;
	}
	if (st->verify && OCSP_basic_verify(basic, st->chain, st->store,
	    0) != 1) {
		char	err[256];

		ERR_error_string_n(ERR_peek_error(), err, sizeof(err));
		fail(st, "OCSP_basic_verify() failed (SSL: %s)", err);
		goto out;
	}
	if (OCSP_resp_find_status(basic, id, &status, &reason, NULL, &thisupd,
	    &nextupd) != 1) {
		fail(st, "certificate status not found in the response");
		goto out;
	}
	if (status != V_OCSP_CERTSTATUS_GOOD) {
		fail(st, "certificate status \"%s\" in the OCSP response",
		    OCSP_cert_status_str(status));
		goto out;
	}
	if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1) {
		fail(st, "response has expired");
		goto out;
	}
	until = now + OCSP_REFRESH;
	if (nextupd != NULL && ASN1_TIME_to_tm(nextupd, &tm) == 1)
		until = timegm(&tm);
	if ((copy = OPENSSL_memdup(p, len)) == NULL) {
		fail(st, "out of memory");
		goto out;
	}
	OPENSSL_free(st->resp);
	st->resp = copy;
	st->resp_len = len;
	st->valid_until = nextupd != NULL ? until : 0;
	/* ask again well before it runs out */
	next = until - now > OCSP_REFRESH ? OCSP_REFRESH : (until - now) / 2;
	done(st, next);
out:
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(resp);
}

static void
judge(struct staple *st)
{
	struct http1_resp	resp;
	ssize_t			n;

	http1_resp_init(&resp);
	n = http1_parse_response(&resp, (char *)st->buf, st->len);
	if (n == PARSE_ERROR || n == PARSE_AGAIN) {
		fail(st, "invalid HTTP response");
		return;
	}
	if (resp.status != 200) {
		fail(st, "unexpected HTTP status %d", resp.status);
		return;
	}
	accept_response(st, st->buf + n, st->len - (size_t)n);
}

/* A responder that keeps the connection open: done at Content-Length. */
static bool
complete(struct staple *st)
{
	struct http1_resp	resp;
	ssize_t			n;
	size_t			i;
	int64_t			cl = -1;

	http1_resp_init(&resp);
	n = http1_parse_response(&resp, (char *)st->buf, st->len);
	if (n < 0)
		return false;
	for (i = 0; i < resp.nheaders; i++)
		if (STR_CASEEQ_LIT(resp.headers[i].name,
		    resp.headers[i].name_len, "content-length"))
			cl = str_atoi(resp.headers[i].value,
			    resp.headers[i].value_len);
	return cl >= 0 && st->len - (size_t)n >= (uint64_t)cl;
}

static void
read_response(struct staple *st)
{
	ssize_t	n;

	for (;;) {
		n = recv(st->io.fd, st->buf + st->len, OCSP_MAX_RESPONSE -
		    st->len, 0);
		if (n > 0) {
			st->len += (size_t)n;
			if (st->len == OCSP_MAX_RESPONSE) {
				fail(st, "response too large");
				return;
			}
			if (complete(st))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail(st, "recv() failed (%d: %s)", errno,
			    strerror(errno));
		return;
	}
	judge(st);
}

static void
on_event(struct io *io, uint32_t events)
{
	struct staple	*st = (struct staple *)io;
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	int		 err = 0;

	if (st->state == OS_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			fail(st, "connect() failed (%d: %s)", err,
			    strerror(err));
			return;
		}
		st->state = OS_SENDING;
	}
	while (st->state == OS_SENDING) {
		n = send(io->fd, st->req + st->sent, st->req_len - st->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			fail(st, "send() failed (%d: %s)", errno,
			    strerror(errno));
			return;
		}
		if ((st->sent += (size_t)n) == st->req_len)
			st->state = OS_READING;
	}
	if (st->state == OS_READING)
		read_response(st);
}

/*
 * The request as RFC 6960 A.1 and nginx send it: GET of the responder's
 * path, a '/', and the URL-escaped base64 of the DER request; HTTP/1.0 so
 * the responder closes.  (Some small responders understand only GET.)
 */
static int
build_request(struct staple *st)
{
	static const char	 hex[] = "0123456789ABCDEF";
	OCSP_REQUEST		*req;
	OCSP_CERTID		*id;
	unsigned char		*der = NULL, *b64;
	size_t			 size, plen, i;
	char			*p;
	int			 n, bn;

	if ((id = OCSP_cert_to_id(NULL, st->cert, st->issuer)) == NULL)
		return -1;
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		OCSP_REQUEST_free(req);
		return -1;
	}
	n = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	if (n <= 0)
		return -1;
	if ((b64 = malloc(((size_t)n + 2) / 3 * 4 + 1)) == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	bn = EVP_EncodeBlock(b64, der, n);
	OPENSSL_free(der);
	plen = strlen(st->path);
	/* every base64 byte may become %XX */
	size = plen + 1 + 3 * (size_t)bn + strlen(st->host) + 64;
	free(st->req);
	if ((st->req = malloc(size)) == NULL) {
		free(b64);
		return -1;
	}
	p = st->req;
	memcpy(p, "GET ", 4);
	p += 4;
	memcpy(p, st->path, plen);
	p += plen;
	if (plen == 0 || st->path[plen - 1] != '/')
		*p++ = '/';
	for (i = 0; i < (size_t)bn; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') {
			*p++ = '%';
			*p++ = hex[b64[i] >> 4];
			*p++ = hex[b64[i] & 15];
		} else
			*p++ = (char)b64[i];
	}
	free(b64);
	p += snprintf(p, size - (size_t)(p - st->req), " HTTP/1.0\r\n"
	    "Host: %s\r\n\r\n", st->host);
	st->req_len = (size_t)(p - st->req);
	return 0;
}

static void
start(struct staple *st)
{
	const struct addr	*a = &st->addr;
	int			 fd;

	if (build_request(st) == -1 ||
	    (st->buf = malloc(OCSP_MAX_RESPONSE)) == NULL) {
		fail(st, "cannot build the request");
		return;
	}
	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fail(st, "socket() failed (%d: %s)", errno, strerror(errno));
		return;
	}
	if (connect(fd, &a->u.sa, a->len) == -1 && errno != EINPROGRESS) {
		close(fd);
		fail(st, "connect() failed (%d: %s)", errno, strerror(errno));
		return;
	}
	st->io.fd = fd;
	st->io.on_event = on_event;
	if (loop_add(&st->io) == -1) {
		close(fd);
		st->io.fd = -1;
		fail(st, "epoll_ctl() failed");
		return;
	}
	st->state = OS_CONNECTING;
	st->sent = st->len = 0;
	timer_set(&st->timer, OCSP_TIMEOUT);
}

static void
on_timer(struct timer *t)
{
	struct staple	*st = (struct staple *)((char *)t -
			    offsetof(struct staple, timer));

	if (st->state == OS_IDLE)
		start(st);
	else
		fail(st, "timed out");
}

/* Runs fn on every staple that is fetched (not a file). */
static void
each_fetched(struct http_main *h, void (*fn)(struct staple *))
{
	struct http_srv	*s;
	struct staples	*ss;
	size_t		 i, j;

	for (i = 0; i < h->servers.n; i++) {
		s = *ARRAY_AT(&h->servers, struct http_srv *, i);
		if ((ss = s->tls.staples) == NULL)
			continue;
		for (j = 0; j < ss->n; j++)
			if (ss->v[j].cert != NULL && ss->v[j].host != NULL)
				fn(&ss->v[j]);
	}
}

static void
start_one(struct staple *st)
{
	st->timer.fn = on_timer;
	timer_set(&st->timer, 0);
}

static void
stop_one(struct staple *st)
{
	if (st->state != OS_IDLE)
		done(st, 1);
	timer_del(&st->timer);
}

void
tls_ocsp_start(struct http_main *h)
{
	each_fetched(h, start_one);
}

void
tls_ocsp_stop(struct http_main *h)
{
	each_fetched(h, stop_one);
}
