/*
 * The TLS layer under a connection: handshakes, reads and writes through
 * OpenSSL on non-blocking sockets driven by the edge-triggered loop, SNI
 * and ALPN, and the TLS variables.  Certificates and contexts are
 * tls_conf.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "tls.h"

/*
 * SNI: moves the handshake to the server the client names (a server
 * without certificates keeps the default's).  Returns that server's
 * settings, or NULL when the name leads nowhere.
 */
static struct tls_srv *
switch_server(SSL *ssl, const char *name, size_t len)
{
	struct conn	*c = SSL_get_app_data(ssl);
	struct http_srv	*s;
	char		 lower[256];

	if (c == NULL || c->listener == NULL || len == 0 ||
	    len >= sizeof(lower))
		return NULL;
	str_lower(lower, name, len);
	s = http_find_server(c->listener->servers, NULL, lower, len);
	if (s == NULL)
		return NULL;
	if (s->tls.ctx != NULL && s->tls.ctx != SSL_get_SSL_CTX(ssl)) {
		SSL_set_SSL_CTX(ssl, s->tls.ctx);
		tls_verify_switch(ssl, s->tls.ctx);
	}
	return &s->tls;
}

/*
 * The server is chosen from the ClientHello, before OpenSSL looks for a
 * session to resume: a session is then checked against the context of
 * the server named, and one made for another server is not resumed.
 */
int
tls_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char	*p;
	size_t			 len, n;
	struct tls_srv		*t = NULL;

	/* a list (2 bytes of length) of one host_name (0), 2 bytes, name */
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
	    &len) && len >= 5 && (size_t)(p[0] << 8 | p[1]) == len - 2 &&
	    p[2] == 0) {
		n = (size_t)(p[3] << 8 | p[4]);
		if (n + 5 <= len && memchr(p + 5, '\0', n) == NULL)
			t = switch_server(ssl, (const char *)p + 5, n);
	}
	if (t == NULL)
		t = SSL_get_ex_data(ssl, tls_ex_srv());
	/* ssl_reject_handshake: as if no server had that name */
	if (t != NULL && t->reject_handshake) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* The SNI callback proper: OpenSSL wants one to accept the name. */
int
tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	const char	*name;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name != NULL)
		switch_server(ssl, name, strlen(name));
	return SSL_TLSEXT_ERR_OK;
}

/* ALPN: HTTP/1.1 only, until HTTP/2 arrives. */
int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	ours[] = "\x08http/1.1";

	if (SSL_select_next_proto((unsigned char **)out, outlen, ours,
	    sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

int
tls_accept(struct conn *c, struct http_addr *ha)
{
	struct http_srv	*s = ha->default_srv;
	SSL		*ssl;

	if (s->tls.ctx == NULL || (ssl = SSL_new(s->tls.ctx)) == NULL)
		return -1;
	if (SSL_set_fd(ssl, c->io.fd) != 1) {
		SSL_free(ssl);
		return -1;
	}
	SSL_set_app_data(ssl, c);
	/* sessions and tickets stay with this server's context */
	SSL_set_ex_data(ssl, tls_ex_srv(), &s->tls);
	SSL_set_accept_state(ssl);
	c->tls = ssl;
	c->tls_checked = false;
	return 0;
}

/* Logs a failed handshake or I/O the way nginx does, at info. */
static void
log_ssl(struct conn *c, const char *call, int err)
{
	char		buf[512], client[ADDR_STRLEN];
	unsigned long	e = ERR_get_error();
	const char	*doing = SSL_is_init_finished(c->tls) ? "" :
			    " while SSL handshaking";
	const char	*server = c->listener ? c->listener->text : "";

	addr_format(&c->peer, client, sizeof(client), false);
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_conn(LOG_INFO, c->number, "%s failed (SSL: %s)%s, client: "
		    "%s, server: %s", call, buf, doing, client, server);
	} else if (err == SSL_ERROR_SYSCALL && errno != 0)
		log_conn(LOG_INFO, c->number, "%s failed (%d: %s)%s, client: "
		    "%s, server: %s", call, errno, strerror(errno), doing,
		    client, server);
	ERR_clear_error();
}

/*
 * A client that sends plain HTTP to a TLS port: its first byte is not a
 * TLS handshake record (22).  Seen before OpenSSL, so it gets a clear 400
 * instead of a closed connection.
 */
static int
check_plain(struct conn *c)
{
	unsigned char	b;
	ssize_t		n;

	n = recv(c->io.fd, &b, 1, MSG_PEEK);
	if (n == 1) {
		c->tls_checked = true;
		return b == 0x16 ? 0 : 1;
	}
	if (n == -1 && errno == EAGAIN) {
		c->readable = false;
		return -1;
	}
	c->tls_checked = true;
	return 0;
}

ssize_t
tls_recv(struct conn *c, void *buf, size_t len)
{
	SSL	*ssl = c->tls;
	int	 n, err, rc;

	if (!c->tls_checked) {
		if ((rc = check_plain(c)) == -1)
			return IO_AGAIN;
		if (rc == 1)
			return TLS_PLAIN_HTTP;
	}
	if (len > 0x7fffffff)
		len = 0x7fffffff;
	ERR_clear_error();
	n = SSL_read(ssl, buf, (int)len);
	if (n > 0) {
		c->tls_read_wants_write = false;
		/* OpenSSL may hold more of a record: only WANT_READ drains */
		return n;
	}
	err = SSL_get_error(ssl, n);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->readable = false;
		c->tls_read_wants_write = false;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->writable = false;
		c->tls_read_wants_write = true;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		c->readable = false;
		return 0;
	default:
		c->readable = false;
		if (!SSL_is_init_finished(ssl))
			log_ssl(c, "SSL_do_handshake()", err);
		else
			log_ssl(c, "SSL_read()", err);
		return IO_ERROR;
	}
}

ssize_t
tls_send(struct conn *c, const void *buf, size_t len)
{
	SSL	*ssl = c->tls;
	int	 n, err;

	if (len == 0)
		return 0;
	if (len > 0x7fffffff)
		len = 0x7fffffff;
	ERR_clear_error();
	n = SSL_write(ssl, buf, (int)len);
	if (n > 0) {
		c->tls_write_wants_read = false;
		return n;
	}
	err = SSL_get_error(ssl, n);
	switch (err) {
	case SSL_ERROR_WANT_WRITE:
		c->writable = false;
		c->tls_write_wants_read = false;
		return IO_AGAIN;
	case SSL_ERROR_WANT_READ:
		c->readable = false;
		c->tls_write_wants_read = true;
		return IO_AGAIN;
	default:
		c->writable = false;
		log_ssl(c, "SSL_write()", err);
		return IO_ERROR;
	}
}

void
tls_close(struct conn *c)
{
	SSL	*ssl = c->tls;

	if (ssl == NULL)
		return;
	/* close_notify, never waiting for the client's */
	if (SSL_is_init_finished(ssl)) {
		SSL_set_quiet_shutdown(ssl, 0);
		ERR_clear_error();
		SSL_shutdown(ssl);
	}
	ERR_clear_error();
	SSL_free(ssl);
	c->tls = NULL;
}

const char *
tls_protocol(const struct conn *c)
{
	return c->tls ? SSL_get_version(c->tls) : NULL;
}

const char *
tls_cipher(const struct conn *c)
{
	return c->tls ? SSL_get_cipher_name((SSL *)c->tls) : NULL;
}

const char *
tls_server_name(const struct conn *c)
{
	return c->tls ? SSL_get_servername(c->tls, TLSEXT_NAMETYPE_host_name) :
	    NULL;
}

const char *
tls_alpn(const struct conn *c, size_t *len)
{
	const unsigned char	*p = NULL;
	unsigned int		 n = 0;

	if (c->tls == NULL)
		return NULL;
	SSL_get0_alpn_selected(c->tls, &p, &n);
	*len = n;
	return (const char *)p;
}

bool
tls_session_reused(const struct conn *c)
{
	return c->tls != NULL && SSL_session_reused(c->tls);
}

/* Variables ---------------------------------------------------------------- */

enum {
	TV_PROTOCOL = 0,
	TV_CIPHER,
	TV_SERVER_NAME,
	TV_SESSION_REUSED,
	TV_ALPN,
	TV_SESSION_ID,
	TV_CIPHERS,
	TV_CURVE,
	TV_CURVES
};

/* $ssl_session_id: the session's id in hex, as nginx shows it. */
static int
session_id(struct request *r, struct str *out)
{
	SSL_SESSION		*sess = SSL_get_session(r->conn->tls);
	const unsigned char	*id;
	unsigned int		 len, i;

	if (sess == NULL || (id = SSL_SESSION_get_id(sess, &len)) == NULL ||
	    len == 0)
		return -1;
	if ((out->data = pool_alloc(r->pool, 2 * len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		out->data[2 * i] = "0123456789abcdef"[id[i] >> 4];
		out->data[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
	}
	out->len = 2 * len;
	return 0;
}

/* $ssl_ciphers, $ssl_curves: what the client offered, ':'-joined; a
 * cipher or group OpenSSL has no name for shows as its number in hex. */
static int
offered(struct request *r, struct str *out, bool curves)
{
	SSL		*ssl = r->conn->tls;
	char		*buf, one[64];
	const char	*name;
	size_t		 cap = 1024, len = 0, n;
	int		 i, count, *groups = NULL;
	STACK_OF(SSL_CIPHER)	*ciphers = NULL;

	if (curves) {
		if ((count = SSL_get1_curves(ssl, NULL)) <= 0)
			return -1;
		if ((groups = OPENSSL_malloc(sizeof(int) * (size_t)count)) ==
		    NULL)
			return -1;
		SSL_get1_curves(ssl, groups);
	} else if ((ciphers = SSL_get_client_ciphers(ssl)) == NULL)
		return -1;
	else
		count = sk_SSL_CIPHER_num(ciphers);
	if ((buf = pool_alloc(r->pool, cap)) == NULL) {
		OPENSSL_free(groups);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (curves) {
			name = groups[i] & TLSEXT_nid_unknown ? NULL :
			    OBJ_nid2sn(groups[i]);
			if (name == NULL) {
				snprintf(one, sizeof(one), "0x%04x",
				    groups[i] & 0xffff);
				name = one;
			}
		} else
			name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers,
			    i));
		n = strlen(name);
		if (len + n + 2 > cap)
			break;
		if (len > 0)
			buf[len++] = ':';
		memcpy(buf + len, name, n);
		len += n;
	}
	OPENSSL_free(groups);
	out->data = buf;
	out->len = len;
	return 0;
}

static int
var_tls(struct request *r, struct str *out, uintptr_t data)
{
	const char	*v = NULL;
	size_t		 len = 0;

	/* not found reads as empty: callers use out either way */
	out->data = (char *)"";
	out->len = 0;
	if (r->conn->tls == NULL)
		return -1;
	switch (data) {
	case TV_PROTOCOL: v = tls_protocol(r->conn); break;
	case TV_CIPHER: v = tls_cipher(r->conn); break;
	case TV_SERVER_NAME: v = tls_server_name(r->conn); break;
	case TV_SESSION_REUSED:
		v = tls_session_reused(r->conn) ? "r" : ".";
		break;
	case TV_SESSION_ID:
		return session_id(r, out);
	case TV_CIPHERS:
		return offered(r, out, false);
	case TV_CURVES:
		return offered(r, out, true);
	case TV_CURVE: {
		int	nid = SSL_get_negotiated_group(r->conn->tls);

		if (nid == 0 || (nid & TLSEXT_nid_unknown))
			return -1;
		v = OBJ_nid2sn(nid);
		break;
	}
	case TV_ALPN:
		v = tls_alpn(r->conn, &len);
		if (v == NULL)
			return -1;
		out->data = (char *)v;
		out->len = len;
		return 0;
	}
	if (v == NULL)
		return -1;
	out->data = (char *)v;
	out->len = strlen(v);
	return 0;
}

int
tls_vars_init(struct http_main *h)
{
	static const struct {
		const char	*name;
		uintptr_t	 data;
	} vars[] = {
		{ "ssl_protocol", TV_PROTOCOL },
		{ "ssl_cipher", TV_CIPHER },
		{ "ssl_server_name", TV_SERVER_NAME },
		{ "ssl_session_reused", TV_SESSION_REUSED },
		{ "ssl_alpn_protocol", TV_ALPN },
		{ "ssl_session_id", TV_SESSION_ID },
		{ "ssl_ciphers", TV_CIPHERS },
		{ "ssl_curve", TV_CURVE },
		{ "ssl_curves", TV_CURVES },
	};
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		vars_define(&h->vars, vars[i].name, var_tls, vars[i].data,
		    VAR_NOCACHE);
	return 0;
}
