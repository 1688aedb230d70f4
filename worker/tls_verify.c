/*
 * Client certificates: the verification settings of a server's SSL_CTX
 * (ssl_verify_client and its files), carrying them over an SNI switch,
 * the per-request check with nginx's answers, and the $ssl_client_*
 * variables.  The handshake itself accepts any certificate: as in nginx,
 * the verdict is given to the request, where error_page can catch it.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../common/addr.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "http.h"
#include "http1_parse.h"
#include "http_conf.h"
#include "tls.h"
#include "vars.h"

static int
verify_cb(int ok, X509_STORE_CTX *x)
{
	return 1;	/* judged per request, see tls_verify_request() */
}

static int
load_cas(struct http_srv *s, SSL_CTX *ctx, const char *path)
{
	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) {
		ERR_clear_error();
		log_error(LOG_EMERG, "SSL_CTX_load_verify_locations(\"%s\") "
		    "failed in %s:%u", path, s->file, s->line);
		return -1;
	}
	return 0;
}

int
tls_verify_build(struct conf *cf, struct http_srv *s, void *ssl_ctx)
{
	struct tls_srv		*t = &s->tls;
	SSL_CTX			*ctx = ssl_ctx;
	STACK_OF(X509_NAME)	*names;

	if (t->verify != TLS_VERIFY_OFF) {
		if (t->client_certificate == NULL &&
		    t->verify != TLS_VERIFY_OPTIONAL_NO_CA) {
			log_error(LOG_EMERG, "no ssl_client_certificate for "
			    "ssl_verify_client in %s:%u", s->file, s->line);
			return -1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
		SSL_CTX_set_verify_depth(ctx, t->verify_depth);
		if (t->client_certificate != NULL) {
			if (load_cas(s, ctx, t->client_certificate) == -1)
				return -1;
			/* the names the client picks its certificate by */
			names = SSL_load_client_CA_file(t->client_certificate);
			if (names == NULL) {
				ERR_clear_error();
				log_error(LOG_EMERG, "SSL_load_client_CA_file"
				    "(\"%s\") failed in %s:%u",
				    t->client_certificate, s->file, s->line);
				return -1;
			}
			SSL_CTX_set_client_CA_list(ctx, names);
		}
	}
	if (t->trusted_certificate != NULL &&
	    load_cas(s, ctx, t->trusted_certificate) == -1)
		return -1;
	if (t->crl != NULL) {
		X509_STORE	*st = SSL_CTX_get_cert_store(ctx);
		X509_LOOKUP	*lk = X509_STORE_add_lookup(st,
				    X509_LOOKUP_file());

		if (lk == NULL || X509_LOOKUP_load_file(lk, t->crl,
		    X509_FILETYPE_PEM) != 1) {
			ERR_clear_error();
			log_error(LOG_EMERG, "X509_LOOKUP_load_file(\"%s\") "
			    "failed in %s:%u", t->crl, s->file, s->line);
			return -1;
		}
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK |
		    X509_V_FLAG_CRL_CHECK_ALL);
	}
	return 0;
}

void
tls_verify_switch(void *ssl, void *ssl_ctx)
{
	STACK_OF(X509_NAME)	*names = SSL_CTX_get_client_CA_list(ssl_ctx);

	SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ssl_ctx),
	    SSL_CTX_get_verify_callback(ssl_ctx));
	SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ssl_ctx));
	SSL_set_client_CA_list(ssl, names != NULL ? SSL_dup_CA_list(names) :
	    sk_X509_NAME_new_null());
	SSL_clear_options(ssl, SSL_get_options(ssl) &
	    ~SSL_CTX_get_options(ssl_ctx));
	SSL_set_options(ssl, SSL_CTX_get_options(ssl_ctx));
}

/* What optional_no_ca forgives: a chain that ends at an unknown CA. */
static bool
error_optional(long rc)
{
	return rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    rc == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/* An [info] line with the request's context, as nginx writes it. */
static void
refuse(struct request *r, const char *msg)
{
	char			 client[ADDR_STRLEN];
	const struct str	*sn = NULL;

	addr_format(&r->conn->peer, client, sizeof(client), false);
	if (r->srv->names.n > 0)
		sn = &ARRAY_AT(&r->srv->names, struct server_name, 0)->name;
	log_conn(LOG_INFO, r->conn->number, "%s while reading client request "
	    "headers, client: %s, server: %.*s, request: \"%.*s\", host: "
	    "\"%.*s\"", msg, client, sn ? (int)sn->len : 0,
	    sn ? sn->data : "", (int)r->request_line.len,
	    r->request_line.data, r->in->host ? (int)r->in->host_len : 0,
	    r->in->host ? r->in->host : "");
}

/* A refused session must not be resumed into another try. */
static void
forget_session(SSL *ssl)
{
	struct tls_srv	*first = SSL_get_ex_data(ssl, tls_ex_srv());
	SSL_SESSION	*sess = SSL_get0_session(ssl);

	if (first != NULL && first->ctx != NULL && sess != NULL)
		SSL_CTX_remove_session(first->ctx, sess);
}

int
tls_verify_request(struct request *r)
{
	SSL	*ssl = r->conn->tls;
	X509	*cert;
	long	 rc;

	if (ssl == NULL || r->srv->tls.verify == TLS_VERIFY_OFF)
		return 0;
	/*
	 * The certificate was checked by the server the handshake chose; a
	 * request for another one would borrow that verdict.  nginx compares
	 * the names and lets clients without SNI through; the context is
	 * what really matters.  A server without certificates has no
	 * context of its own (the default's did the handshake), as in nginx.
	 */
	if (r->srv->tls.ctx != NULL && SSL_get_SSL_CTX(ssl) != r->srv->tls.ctx) {
		refuse(r, "client attempted to request the server name "
		    "different from the one that was negotiated");
		return 421;
	}
	rc = SSL_get_verify_result(ssl);
	if (rc != X509_V_OK && (r->srv->tls.verify !=
	    TLS_VERIFY_OPTIONAL_NO_CA || !error_optional(rc))) {
		char	msg[256];

		snprintf(msg, sizeof(msg), "client SSL certificate verify "
		    "error: (%ld:%s)", rc, X509_verify_cert_error_string(rc));
		refuse(r, msg);
		forget_session(ssl);
		return 495;
	}
	if (r->srv->tls.verify == TLS_VERIFY_ON) {
		if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
			refuse(r, "client sent no required SSL certificate");
			forget_session(ssl);
			return 496;
		}
		X509_free(cert);
	}
	return 0;
}

/* Variables ---------------------------------------------------------------- */

enum {
	CV_VERIFY = 0,
	CV_S_DN,
	CV_I_DN,
	CV_SERIAL,
	CV_FINGERPRINT,
	CV_RAW_CERT,
	CV_CERT,
	CV_ESCAPED_CERT,
	CV_S_DN_LEGACY,
	CV_I_DN_LEGACY,
	CV_V_START,
	CV_V_END,
	CV_V_REMAIN
};

/* Moves a memory BIO's bytes into the request pool. */
static int
from_bio(struct request *r, BIO *b, struct str *out)
{
	char	*p;
	long	 n = BIO_get_mem_data(b, &p);

	if (n < 0 || (out->data = pool_alloc(r->pool, (size_t)n + 1)) == NULL)
		return -1;
	memcpy(out->data, p, (size_t)n);
	out->data[n] = '\0';
	out->len = (size_t)n;
	return 0;
}

static int
cert_text(struct request *r, X509 *cert, uintptr_t what, struct str *out)
{
	BIO		*b;
	int		 rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	switch (what) {
	case CV_S_DN:
	case CV_I_DN:
		if (X509_NAME_print_ex(b, what == CV_S_DN ?
		    X509_get_subject_name(cert) : X509_get_issuer_name(cert),
		    0, XN_FLAG_RFC2253) < 0)
			goto done;
		break;
	case CV_S_DN_LEGACY:
	case CV_I_DN_LEGACY: {
		/* the old "/C=../CN=.." form */
		char	*one = X509_NAME_oneline(what == CV_S_DN_LEGACY ?
			    X509_get_subject_name(cert) :
			    X509_get_issuer_name(cert), NULL, 0);

		if (one == NULL)
			goto done;
		BIO_puts(b, one);
		OPENSSL_free(one);
		break;
	}
	case CV_V_START:
	case CV_V_END:
		if (ASN1_TIME_print(b, what == CV_V_START ?
		    X509_get0_notBefore(cert) : X509_get0_notAfter(cert)) != 1)
			goto done;
		break;
	case CV_SERIAL:
		if (i2a_ASN1_INTEGER(b, X509_get_serialNumber(cert)) < 0)
			goto done;
		break;
	default:
		if (PEM_write_bio_X509(b, cert) != 1)
			goto done;
		break;
	}
	rc = from_bio(r, b, out);
done:
	BIO_free(b);
	return rc;
}

/* $ssl_client_cert: the PEM with a tab before each continued line. */
static int
tabbed(struct request *r, struct str *pem)
{
	size_t	 i, lines = 0, k = 0;
	char	*d;

	while (pem->len > 0 && pem->data[pem->len - 1] == '\n')
		pem->len--;
	for (i = 0; i < pem->len; i++)
		lines += pem->data[i] == '\n';
	if ((d = pool_alloc(r->pool, pem->len + lines + 1)) == NULL)
		return -1;
	for (i = 0; i < pem->len; i++) {
		d[k++] = pem->data[i];
		if (pem->data[i] == '\n')
			d[k++] = '\t';
	}
	pem->data = d;
	pem->len = k;
	return 0;
}

static int
escaped(struct request *r, struct str *pem)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, k = 0;
	char			*d;

	if ((d = pool_alloc(r->pool, pem->len * 3 + 1)) == NULL)
		return -1;
	for (i = 0; i < pem->len; i++) {
		unsigned char	ch = (unsigned char)pem->data[i];

		/* unreserved characters only, as a URI component */
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch != 0 && strchr("-._~",
		    ch) != NULL)) {
			d[k++] = (char)ch;
			continue;
		}
		d[k++] = '%';
		d[k++] = hex[ch >> 4];
		d[k++] = hex[ch & 15];
	}
	pem->data = d;
	pem->len = k;
	return 0;
}

static int
var_client(struct request *r, struct str *out, uintptr_t what)
{
	SSL		*ssl = r->conn->tls;
	X509		*cert;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	const char	*v;
	long		 rc;
	int		 ret = 0;

	/* not found reads as empty: callers use out either way */
	out->data = (char *)"";
	out->len = 0;
	if (ssl == NULL)
		return -1;
	cert = SSL_get1_peer_certificate(ssl);
	if (what == CV_VERIFY) {
		rc = SSL_get_verify_result(ssl);
		if (cert == NULL)
			v = "NONE";
		else if (rc == X509_V_OK)
			v = "SUCCESS";
		else
			v = X509_verify_cert_error_string(rc);
		X509_free(cert);
		out->len = strlen(v) + (cert != NULL && rc != X509_V_OK ? 7 : 0);
		if ((out->data = pool_alloc(r->pool, out->len + 1)) == NULL)
			return -1;
		snprintf(out->data, out->len + 1, "%s%s", cert != NULL &&
		    rc != X509_V_OK ? "FAILED:" : "", v);
		return 0;
	}
	if (cert == NULL)
		return -1;
	switch (what) {
	case CV_FINGERPRINT:
		if (X509_digest(cert, EVP_sha1(), md, &mdlen) != 1 ||
		    (out->data = pool_alloc(r->pool, mdlen * 2 + 1)) == NULL) {
			ret = -1;
			break;
		}
		for (i = 0; i < mdlen; i++)
			snprintf(out->data + 2 * i, 3, "%02x", md[i]);
		out->len = mdlen * 2;
		break;
	case CV_CERT:
		if ((ret = cert_text(r, cert, what, out)) == 0)
			ret = tabbed(r, out);
		break;
	case CV_ESCAPED_CERT:
		if ((ret = cert_text(r, cert, what, out)) == 0)
			ret = escaped(r, out);
		break;
	case CV_V_REMAIN: {
		/* whole days until notAfter, 0 once it has passed */
		int	days = 0, secs = 0;

		if (ASN1_TIME_diff(&days, &secs, NULL,
		    X509_get0_notAfter(cert)) != 1 ||
		    (out->data = pool_alloc(r->pool, 16)) == NULL) {
			ret = -1;
			break;
		}
		if (days < 0 || (days == 0 && secs < 0))
			days = 0;
		out->len = (size_t)snprintf(out->data, 16, "%d", days);
		break;
	}
	default:
		ret = cert_text(r, cert, what, out);
		break;
	}
	X509_free(cert);
	return ret;
}

int
tls_verify_vars_init(struct http_main *h)
{
	static const struct {
		const char	*name;
		uintptr_t	 data;
	} vars[] = {
		{ "ssl_client_verify", CV_VERIFY },
		{ "ssl_client_s_dn", CV_S_DN },
		{ "ssl_client_i_dn", CV_I_DN },
		{ "ssl_client_serial", CV_SERIAL },
		{ "ssl_client_fingerprint", CV_FINGERPRINT },
		{ "ssl_client_raw_cert", CV_RAW_CERT },
		{ "ssl_client_cert", CV_CERT },
		{ "ssl_client_escaped_cert", CV_ESCAPED_CERT },
		{ "ssl_client_s_dn_legacy", CV_S_DN_LEGACY },
		{ "ssl_client_i_dn_legacy", CV_I_DN_LEGACY },
		{ "ssl_client_v_start", CV_V_START },
		{ "ssl_client_v_end", CV_V_END },
		{ "ssl_client_v_remain", CV_V_REMAIN },
	};
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars_define(&h->vars, vars[i].name, var_client,
		    vars[i].data, 0) == -1)
			return -1;
	return 0;
}
