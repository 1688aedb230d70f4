/*
 * The proxy_ssl_* directives, their inheritance, and the client SSL_CTX
 * of each location that may proxy to https, built in the master at load
 * time so that -t reads every certificate and key.  Locations with equal
 * settings share one context.  Using it is tls_client.c's business.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "http_conf.h"
#include "proxy_conf.h"
#include "proxy_ssl.h"
#include "tls.h"
#include "tls_client.h"
#include "tls_util.h"
#include "upstream.h"
#include "vars.h"

#define PSSL(f)		LOC(proxy.ssl.f)
#define PLOC		CONF_HTTP_ALL

static conf_set_fn	set_file, set_name;

static const struct conf_enum	protocol_names[] = {
	{ "SSLv2", 0 }, { "SSLv3", 0 },
	{ "TLSv1", TLS_PROTO_TLSv1 }, { "TLSv1.1", TLS_PROTO_TLSv1_1 },
	{ "TLSv1.2", TLS_PROTO_TLSv1_2 }, { "TLSv1.3", TLS_PROTO_TLSv1_3 },
	{ NULL, 0 }
};

static const struct conf_bounds	depth_bounds = { 0, 100 };

/*	  name                            where  args              parser             field                    extra */
const struct conf_cmd proxy_ssl_cmds[] = {
	{ "proxy_ssl_server_name",        PLOC,  CONF_FLAG,        conf_set_flag,     PSSL(server_name),       NULL },
	{ "proxy_ssl_name",               PLOC,  CONF_ARGS(1, 1),  set_name,          0, 0,                    NULL },
	{ "proxy_ssl_verify",             PLOC,  CONF_FLAG,        conf_set_flag,     PSSL(verify),            NULL },
	{ "proxy_ssl_verify_depth",       PLOC,  CONF_ARGS(1, 1),  conf_set_int,      PSSL(verify_depth),      &depth_bounds },
	{ "proxy_ssl_trusted_certificate", PLOC, CONF_ARGS(1, 1),  set_file,          PSSL(trusted),           NULL },
	{ "proxy_ssl_crl",                PLOC,  CONF_ARGS(1, 1),  set_file,          PSSL(crl),               NULL },
	{ "proxy_ssl_certificate",        PLOC,  CONF_ARGS(1, 1),  set_file,          PSSL(certificate),       NULL },
	{ "proxy_ssl_certificate_key",    PLOC,  CONF_ARGS(1, 1),  set_file,          PSSL(certificate_key),   NULL },
	{ "proxy_ssl_password_file",      PLOC,  CONF_ARGS(1, 1),  set_file,          PSSL(password_file),     NULL },
	{ "proxy_ssl_protocols",          PLOC,  CONF_ARGS_MIN(1), conf_set_bitmask,  PSSL(protocols),         protocol_names },
	{ "proxy_ssl_ciphers",            PLOC,  CONF_ARGS(1, 1),  conf_set_str,      PSSL(ciphers),           NULL },
	{ "proxy_ssl_conf_command",       PLOC,  CONF_ARGS(2, 2),  conf_set_str_list, PSSL(conf_commands),     NULL },
	{ "proxy_ssl_session_reuse",      PLOC,  CONF_FLAG,        conf_set_flag,     PSSL(session_reuse),     NULL },
	{ NULL }
};

void
proxy_ssl_init(struct proxy_ssl *s)
{
	memset(s, 0, sizeof(*s));
	s->server_name = CONF_UNSET;
	s->verify = CONF_UNSET;
	s->verify_depth = CONF_UNSET;
	s->protocols = CONF_UNSET;
	s->session_reuse = CONF_UNSET;
}

static void
merge_file(struct proxy_ssl_file *c, const struct proxy_ssl_file *p)
{
	if (c->path == NULL)
		*c = *p;
}

void
proxy_ssl_merge(struct proxy_ssl *c, const struct proxy_ssl *p)
{
	CONF_MERGE_INT(c->server_name, p->server_name, 0);
	if (!c->name_set) {
		c->name = p->name;
		c->name_set = p->name_set;
	}
	CONF_MERGE_INT(c->verify, p->verify, 0);
	CONF_MERGE_INT(c->verify_depth, p->verify_depth, 1);
	merge_file(&c->trusted, &p->trusted);
	merge_file(&c->crl, &p->crl);
	/* a certificate comes with its key and its key's password */
	if (c->certificate.path == NULL) {
		c->certificate = p->certificate;
		merge_file(&c->certificate_key, &p->certificate_key);
	}
	merge_file(&c->password_file, &p->password_file);
	CONF_MERGE_INT(c->protocols, p->protocols,
	    TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3);
	if (c->ciphers.data == NULL) {
		c->ciphers = p->ciphers;
		if (c->ciphers.data == NULL)
			c->ciphers = (struct str)STR("DEFAULT");
	}
	CONF_MERGE_PTR(c->conf_commands, p->conf_commands, NULL);
	CONF_MERGE_INT(c->session_reuse, p->session_reuse, 1);
	/* an if block without proxy_pass uses its location's, and the
	 * context that goes with it; a proxy_pass of its own builds one */
	CONF_MERGE_PTR(c->ctx, p->ctx, NULL);
}

static int
set_file(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct proxy_ssl_file	*f = field;

	if (f->path != NULL)
		return conf_duplicate(cf);
	if (memchr(cf->node->args[1].data, '$', cf->node->args[1].len)) {
		conf_error(cf, "variables in \"%s\" are not supported",
		    cmd->name);
		return -1;
	}
	/* relative to the configuration's directory, as nginx reads them */
	f->path = conf_full_path(cf, CONF_ARG(cf, 1), cf->node->args[1].len,
	    true);
	f->file = cf->node->file;
	f->line = cf->node->line;
	return f->path == NULL ? -1 : 0;
}

static int
set_name(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct proxy_ssl	*s = &l->proxy.ssl;

	if (s->name_set)
		return conf_duplicate(cf);
	s->name_set = true;
	s->name = cvalue_compile(cf, &h->vars, &cf->node->args[1]);
	return s->name == NULL ? -1 : 0;
}

/* Building the SSL_CTX ---------------------------------------------------- */

/*
 * Contexts built during this load, by settings.  The list belongs to the
 * configuration pool being filled and is forgotten with it.
 */
struct built {
	struct built		*next;
	const struct proxy_ssl	*s;
	void			*ctx;
};

static struct {
	struct pool	*pool;
	struct built	*list;
} cache;

static void
cache_forget(void *pool)
{
	if (cache.pool == pool) {
		cache.pool = NULL;
		cache.list = NULL;
	}
}

static bool
same_file(const struct proxy_ssl_file *a, const struct proxy_ssl_file *b)
{
	if (a->path == NULL || b->path == NULL)
		return a->path == b->path;
	return strcmp(a->path, b->path) == 0;
}

/* Whether a and b make the same SSL_CTX (SNI and name are per SSL). */
static bool
same_ctx(const struct proxy_ssl *a, const struct proxy_ssl *b)
{
	size_t	i, n;

	if (a->verify != b->verify || a->verify_depth != b->verify_depth ||
	    a->protocols != b->protocols ||
	    a->session_reuse != b->session_reuse ||
	    !str_eq(a->ciphers.data, a->ciphers.len, b->ciphers.data,
	    b->ciphers.len) || !same_file(&a->trusted, &b->trusted) ||
	    !same_file(&a->crl, &b->crl) ||
	    !same_file(&a->certificate, &b->certificate) ||
	    !same_file(&a->certificate_key, &b->certificate_key) ||
	    !same_file(&a->password_file, &b->password_file))
		return false;
	n = a->conf_commands ? a->conf_commands->n : 0;
	if (n != (b->conf_commands ? b->conf_commands->n : 0))
		return false;
	for (i = 0; i < n; i++) {
		struct str *x = ARRAY_AT(a->conf_commands, struct str, i);
		struct str *y = ARRAY_AT(b->conf_commands, struct str, i);

		if (!str_eq(x->data, x->len, y->data, y->len))
			return false;
	}
	return true;
}

static int
load_client_cert(SSL_CTX *ctx, const struct proxy_ssl *s,
    const struct proxy_loc *pl)
{
	char		 err[1024], text[768];
	EVP_PKEY	*pkey;

	if (s->certificate_key.path == NULL) {
		log_error(LOG_EMERG, "no \"proxy_ssl_certificate_key\" is "
		    "defined for certificate \"%s\" in %s:%u",
		    s->certificate.path, s->certificate.file,
		    s->certificate.line);
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, s->certificate.path) != 1) {
		log_error(LOG_EMERG, "cannot load certificate \"%s\": "
		    "SSL_CTX_use_certificate_chain_file() failed (SSL: %s) in "
		    "%s:%u", s->certificate.path, tls_error_text(text, sizeof(text), " "), s->certificate.file, s->certificate.line);
		return -1;
	}
	if ((pkey = tls_read_key(s->certificate_key.path, s->password_file.path,
	    err, sizeof(err))) == NULL) {
		log_error(LOG_EMERG, "cannot load certificate key \"%s\": %s "
		    "in %s:%u", s->certificate_key.path, err,
		    s->certificate_key.file, s->certificate_key.line);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		EVP_PKEY_free(pkey);
		log_error(LOG_EMERG, "SSL_CTX_use_PrivateKey(\"%s\") failed "
		    "(SSL: %s) in %s:%u", s->certificate_key.path,
		    tls_error_text(text, sizeof(text), " "), s->certificate_key.file,
		    s->certificate_key.line);
		return -1;
	}
	EVP_PKEY_free(pkey);
	return 0;
}

/* Trusted CAs and CRLs: only read when verifying, as nginx does. */
static int
load_verify(SSL_CTX *ctx, const struct proxy_ssl *s, const struct proxy_loc *pl)
{
	char		 text[768];
	X509_STORE	*store;
	X509_LOOKUP	*lookup;

	if (s->trusted.path == NULL) {
		log_error(LOG_EMERG, "no proxy_ssl_trusted_certificate for "
		    "proxy_ssl_verify in %s:%u", pl->file, pl->line);
		return -1;
	}
	if (SSL_CTX_load_verify_locations(ctx, s->trusted.path, NULL) != 1) {
		log_error(LOG_EMERG, "SSL_CTX_load_verify_locations(\"%s\") "
		    "failed (SSL: %s) in %s:%u", s->trusted.path,
		    tls_error_text(text, sizeof(text), " "), s->trusted.file,
		    s->trusted.line);
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, s->verify_depth);
	if (s->crl.path == NULL)
		return 0;
	store = SSL_CTX_get_cert_store(ctx);
	if ((lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file())) ==
	    NULL || X509_LOOKUP_load_file(lookup, s->crl.path,
	    X509_FILETYPE_PEM) != 1) {
		log_error(LOG_EMERG, "X509_LOOKUP_load_file(\"%s\") failed "
		    "(SSL: %s) in %s:%u", s->crl.path, tls_error_text(text, sizeof(text), " "), s->crl.file, s->crl.line);
		return -1;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
	    X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}

static int
conf_commands(SSL_CTX *ctx, const struct proxy_ssl *s,
    const struct proxy_loc *pl)
{
	SSL_CONF_CTX	*cctx;
	size_t		 i;
	int		 rc = 0;

	if (s->conf_commands == NULL)
		return 0;
	if ((cctx = SSL_CONF_CTX_new()) == NULL)
		return -1;
	SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_CLIENT |
	    SSL_CONF_FLAG_CERTIFICATE);
	SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);
	for (i = 0; rc == 0 && i + 1 < s->conf_commands->n; i += 2) {
		struct str *k = ARRAY_AT(s->conf_commands, struct str, i);
		struct str *v = ARRAY_AT(s->conf_commands, struct str, i + 1);

		if (SSL_CONF_cmd(cctx, k->data, v->data) <= 0) {
			ERR_clear_error();
			log_error(LOG_EMERG, "SSL_CONF_cmd(\"%s\", \"%s\") "
			    "failed in %s:%u", k->data, v->data, pl->file,
			    pl->line);
			rc = -1;
		}
	}
	if (rc == 0)
		SSL_CONF_CTX_finish(cctx);
	SSL_CONF_CTX_free(cctx);
	return rc;
}

static void
ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

static SSL_CTX *
build_ctx(struct conf *cf, const struct proxy_ssl *s,
    const struct proxy_loc *pl)
{
	SSL_CTX	*ctx;
	char	 text[768];
	long	 opts;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	if (pool_cleanup_add(cf->pool, ctx_free, ctx) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * An upstream that closes without close_notify ends a response
	 * framed by the close: that is the end of the stream, as nginx
	 * takes it, not an error
	 */
	opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF;
	if (!(s->protocols & TLS_PROTO_TLSv1))
		opts |= SSL_OP_NO_TLSv1;
	if (!(s->protocols & TLS_PROTO_TLSv1_1))
		opts |= SSL_OP_NO_TLSv1_1;
	if (!(s->protocols & TLS_PROTO_TLSv1_2))
		opts |= SSL_OP_NO_TLSv1_2;
	if (!(s->protocols & TLS_PROTO_TLSv1_3))
		opts |= SSL_OP_NO_TLSv1_3;
	SSL_CTX_set_options(ctx, opts);
	/* asked for old protocols: allow them below OpenSSL's default floor */
	if (s->protocols & (TLS_PROTO_TLSv1 | TLS_PROTO_TLSv1_1)) {
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_security_level(ctx, 0);
	}
	/* tls.c gathers writes into a stack buffer: a retried write may move */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Read what the socket has, not a record header and then its body:
	 * half the read() calls for a large response.  The loop stays
	 * correct: OpenSSL asks for more only once read() said EAGAIN.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 65536);
	if (SSL_CTX_set_cipher_list(ctx, s->ciphers.data) != 1) {
		log_error(LOG_EMERG, "SSL_CTX_set_cipher_list(\"%s\") failed "
		    "(SSL: %s) in %s:%u", s->ciphers.data, tls_error_text(text, sizeof(text), " "), pl->file, pl->line);
		return NULL;
	}
	if (s->certificate.path != NULL && load_client_cert(ctx, s, pl) == -1)
		return NULL;
	if (s->verify && load_verify(ctx, s, pl) == -1)
		return NULL;
	if (!s->verify)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (conf_commands(ctx, s, pl) == -1 ||
	    tls_client_ctx_setup(ctx, s->session_reuse) == -1)
		return NULL;
	return ctx;
}

/*
 * Health checks of an upstream reached over https speak TLS too, with the
 * settings of the first location that names it (a name with variables
 * gives way to the upstream's).
 */
static void
mark_upstream(struct proxy_loc *pl)
{
	struct upstream		*u = pl->upstream;
	const struct str	*n = &pl->host;

	if (u == NULL || u->tls_ctx != NULL)
		return;
	if (pl->ssl.name != NULL && !pl->ssl.name->dynamic)
		n = &pl->ssl.name->literal;
	u->tls_ctx = pl->ssl.ctx;
	u->tls_name.data = n->data;
	u->tls_name.len = tls_client_name_len(n->data, n->len);
	u->tls_sni = pl->ssl.server_name;
}

int
proxy_ssl_build(struct conf *cf, struct proxy_loc *pl)
{
	struct proxy_ssl	*s = &pl->ssl;
	struct built		*b;

	if (cache.pool != cf->pool) {
		if (pool_cleanup_add(cf->pool, cache_forget, cf->pool) == -1)
			return -1;
		cache.pool = cf->pool;
		cache.list = NULL;
	}
	for (b = cache.list; b != NULL; b = b->next)
		if (same_ctx(b->s, s)) {
			s->ctx = b->ctx;
			mark_upstream(pl);
			return 0;
		}
	if ((b = pool_calloc(cf->pool, sizeof(*b))) == NULL)
		return -1;
	if ((s->ctx = build_ctx(cf, s, pl)) == NULL)
		return -1;
	b->s = s;
	b->ctx = s->ctx;
	b->next = cache.list;
	cache.list = b;
	mark_upstream(pl);
	return 0;
}
