/*
 * TLS to upstreams at run time: starting and driving the client handshake,
 * the certificate and name check with nginx's log words, and the session
 * store (proxy_ssl_session_reuse).  Contexts are built by proxy_ssl_conf.c;
 * encrypted reads and writes are tls.c's, as for clients.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../common/addr.h"
#include "conn.h"
#include "tls_client.h"
#include "tls_util.h"

/*
 * Sessions live per context, per worker, one per (upstream address, ssl
 * name): a session verified for one name must not resume a connection
 * that should check another.  The store hangs off the SSL_CTX (ex_data),
 * so it goes when the configuration that built the context retires.
 * Entries are never removed, only their session replaced, so a connection
 * may point at its entry; names come from variables, hence the cap.
 */
#define SESS_BUCKETS	64
#define SESS_MAX	1024

struct sess_entry {
	struct sess_entry	*next;
	struct addr		 addr;
	SSL_SESSION		*sess;
	size_t			 name_len;
	char			 name[];
};

struct sess_store {
	struct sess_entry	*buckets[SESS_BUCKETS];
	size_t			 n;
};

/* What one SSL was made for: its session's slot and its name. */
struct client_info {
	struct sess_entry	*entry;		/* NULL: no reuse */
	size_t			 name_len;
	char			 name[];	/* NUL-terminated */
};

static int	ctx_index = -1, ssl_index = -1;

static void
free_store(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct sess_store	*st = ptr;
	struct sess_entry	*e, *next;
	size_t			 i;

	if (st == NULL)
		return;
	for (i = 0; i < SESS_BUCKETS; i++)
		for (e = st->buckets[i]; e != NULL; e = next) {
			next = e->next;
			SSL_SESSION_free(e->sess);
			free(e);
		}
	free(st);
}

static void
free_info(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	free(ptr);
}

/* A new session from the upstream (TLS 1.3: after the handshake). */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct client_info	*ci = SSL_get_ex_data(ssl, ssl_index);

	if (ci == NULL || ci->entry == NULL)
		return 0;
	SSL_SESSION_free(ci->entry->sess);
	ci->entry->sess = sess;
	return 1;	/* the reference is ours now */
}

int
tls_client_ctx_setup(void *ctx, bool session_reuse)
{
	/* made in the master, before any worker sets data under them */
	if (ctx_index == -1 && (ctx_index = SSL_CTX_get_ex_new_index(0, NULL,
	    NULL, NULL, free_store)) == -1)
		return -1;
	if (ssl_index == -1 && (ssl_index = SSL_get_ex_new_index(0, NULL,
	    NULL, NULL, free_info)) == -1)
		return -1;
	if (session_reuse) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	} else
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

static unsigned
sess_hash(const struct addr *a, const char *name, size_t len)
{
	const unsigned char	*p = (const unsigned char *)&a->u;
	unsigned		 h = 2166136261u;
	size_t			 i;

	for (i = 0; i < a->len && i < sizeof(a->u); i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h % SESS_BUCKETS;
}

/* The slot for (addr, name) in ctx's store, made if need be; or NULL. */
static struct sess_entry *
sess_slot(SSL_CTX *ctx, const struct addr *a, const char *name, size_t len)
{
	struct sess_store	*st = SSL_CTX_get_ex_data(ctx, ctx_index);
	struct sess_entry	*e;
	unsigned		 h = sess_hash(a, name, len);

	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return NULL;
		if (SSL_CTX_set_ex_data(ctx, ctx_index, st) != 1) {
			free(st);
			return NULL;
		}
	}
	for (e = st->buckets[h]; e != NULL; e = e->next)
		if (e->addr.len == a->len && memcmp(&e->addr.u, &a->u,
		    a->len) == 0 && e->name_len == len &&
		    memcmp(e->name, name, len) == 0)
			return e;
	if (st->n >= SESS_MAX || (e = calloc(1, sizeof(*e) + len)) == NULL)
		return NULL;
	e->addr = *a;
	e->name_len = len;
	memcpy(e->name, name, len);
	e->next = st->buckets[h];
	st->buckets[h] = e;
	st->n++;
	return e;
}

size_t
tls_client_name_len(const char *v, size_t len)
{
	const char	*p = v, *end = v + len, *colon;

	if (len > 0 && v[0] == '[' && (p = memchr(v, ']', len)) == NULL)
		p = v;
	colon = memchr(p, ':', (size_t)(end - p));
	return colon != NULL ? (size_t)(colon - v) : len;
}

/* An IP literal ("10.0.0.1", "[::1]") as text for X509, or false. */
static bool
ip_literal(const char *name, size_t len, char *out, size_t size)
{
	unsigned char	bin[16];

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
		name++;
		len -= 2;
	}
	if (len == 0 || len >= size)
		return false;
	memcpy(out, name, len);
	out[len] = '\0';
	return inet_pton(AF_INET, out, bin) == 1 ||
	    inet_pton(AF_INET6, out, bin) == 1;
}

void *
tls_client_new(void *vctx, int fd, const struct addr *peer, const char *name,
    size_t len, bool sni)
{
	SSL_CTX			*ctx = vctx;
	SSL			*ssl;
	struct client_info	*ci;
	char			 ip[64];
	bool			 is_ip;

	is_ip = ip_literal(name, len, ip, sizeof(ip));
	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	if ((ci = malloc(sizeof(*ci) + len + 1)) == NULL ||
	    SSL_set_ex_data(ssl, ssl_index, ci) != 1) {
		free(ci);
		SSL_free(ssl);
		return NULL;
	}
	memcpy(ci->name, name, len);
	ci->name[len] = '\0';
	ci->name_len = len;
	ci->entry = NULL;
	if (SSL_CTX_get_session_cache_mode(ctx) & SSL_SESS_CACHE_CLIENT) {
		ci->entry = sess_slot(ctx, peer, name, len);
		if (ci->entry != NULL && ci->entry->sess != NULL)
			SSL_set_session(ssl, ci->entry->sess);
	}
	/* RFC 6066 3: no IP literal as a server name */
	if (sni && len > 0 && !is_ip &&
	    SSL_set_tlsext_host_name(ssl, ci->name) != 1)
		goto fail;
	if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
		X509_VERIFY_PARAM	*vp = SSL_get0_param(ssl);

		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, ip) != 1 :
		    X509_VERIFY_PARAM_set1_host(vp, ci->name, len) != 1)
			goto fail;
	}
	if (SSL_set_fd(ssl, fd) != 1)
		goto fail;
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

int
tls_client_start(struct conn *c, void *ctx, const char *name, size_t len,
    bool sni)
{
	SSL	*ssl;

	if ((ssl = tls_client_new(ctx, c->io.fd, &c->peer, name, len, sni)) ==
	    NULL)
		return -1;
	SSL_set_app_data(ssl, c);
	c->tls = ssl;
	/* tls.c's look for plain HTTP is for clients of ours only */
	c->tls_checked = true;
	return 0;
}

int
tls_client_step(void *vssl, bool *want_read, char *why, size_t size, int *err)
{
	SSL			*ssl = vssl;
	struct client_info	*ci = SSL_get_ex_data(ssl, ssl_index);
	char			 text[512];
	long			 vr;
	int			 n, e;

	*err = 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_do_handshake(ssl);
	if (n == 1)
		return TLS_CLIENT_DONE;
	e = SSL_get_error(ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_read = e == SSL_ERROR_WANT_READ;
		return TLS_CLIENT_AGAIN;
	}
	vr = SSL_get_verify_result(ssl);
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH ||
	    vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(why, size, "upstream SSL certificate does not match "
		    "\"%s\"", ci != NULL ? ci->name : "");
	else if (vr != X509_V_OK)
		snprintf(why, size, "upstream SSL certificate verify error: "
		    "(%ld:%s)", vr, X509_verify_cert_error_string(vr));
	else if (e == SSL_ERROR_ZERO_RETURN || ERR_peek_error() == 0) {
		*err = e == SSL_ERROR_SYSCALL ? errno : 0;
		snprintf(why, size, "peer closed connection in SSL handshake");
	} else {
		/* ':'-joined, as nginx shows them here */
		tls_error_text(text, sizeof(text), ":");
		snprintf(why, size, "SSL_do_handshake() failed (SSL: %s)",
		    text);
	}
	ERR_clear_error();
	return TLS_CLIENT_ERROR;
}

int
tls_client_handshake(struct conn *c, char *why, size_t size, int *err)
{
	bool	want_read = false;
	int	rc;

	rc = tls_client_step(c->tls, &want_read, why, size, err);
	if (rc == TLS_CLIENT_AGAIN) {
		if (want_read)
			c->readable = false;
		else
			c->writable = false;
	} else if (rc == TLS_CLIENT_ERROR)
		c->readable = c->writable = false;
	return rc;
}

bool
tls_client_pending(const struct conn *c)
{
	return c->tls != NULL && SSL_has_pending(c->tls) == 1;
}

bool
tls_client_fits(const struct conn *c, const void *ctx, const char *name,
    size_t len)
{
	struct client_info	*ci;

	if (ctx == NULL || c->tls == NULL)
		return ctx == NULL && c->tls == NULL;
	if (SSL_get_SSL_CTX(c->tls) != ctx)
		return false;
	ci = SSL_get_ex_data(c->tls, ssl_index);
	return ci != NULL && ci->name_len == len &&
	    memcmp(ci->name, name, len) == 0;
}
