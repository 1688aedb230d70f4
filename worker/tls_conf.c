/*
 * TLS directives and the SSL_CTX of each server, built in the master at
 * configuration time so that certificates are read (and checked) before
 * anything is served, and so that every worker inherits the same session
 * ticket keys: a client resumes whichever worker it reaches.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "../common/shm.h"
#include "http_conf.h"
#include "tls.h"
#include "tls_cache.h"
#include "tls_util.h"

#define TLS(f)		SRV(tls.f)

static conf_set_fn	set_path_list, set_conf_file, set_session_cache;

static const struct conf_bounds	verify_depths = { 0, 100 };

static const struct conf_enum	verify_names[] = {
	{ "off", TLS_VERIFY_OFF }, { "on", TLS_VERIFY_ON },
	{ "optional", TLS_VERIFY_OPTIONAL },
	{ "optional_no_ca", TLS_VERIFY_OPTIONAL_NO_CA },
	{ NULL, 0 }
};

static const struct conf_enum	protocol_names[] = {
	{ "SSLv2", 0 }, { "SSLv3", 0 },
	{ "TLSv1", TLS_PROTO_TLSv1 }, { "TLSv1.1", TLS_PROTO_TLSv1_1 },
	{ "TLSv1.2", TLS_PROTO_TLSv1_2 }, { "TLSv1.3", TLS_PROTO_TLSv1_3 },
	{ NULL, 0 }
};

#define TSRV	(CONF_HTTP | CONF_SERVER)
/*	  name                        where  args              parser             field                       extra */
const struct conf_cmd tls_cmds[] = {
	{ "ssl_certificate",          TSRV,  CONF_ARGS(1, 1),  set_path_list,     TLS(certs),                 NULL },
	{ "ssl_certificate_key",      TSRV,  CONF_ARGS(1, 1),  set_path_list,     TLS(keys),                  NULL },
	{ "ssl_protocols",            TSRV,  CONF_ARGS_MIN(1), conf_set_bitmask,  TLS(protocols),             protocol_names },
	{ "ssl_ciphers",              TSRV,  CONF_ARGS(1, 1),  conf_set_str,      TLS(ciphers),               NULL },
	{ "ssl_prefer_server_ciphers", TSRV, CONF_FLAG,        conf_set_flag,     TLS(prefer_server_ciphers), NULL },
	{ "ssl_ecdh_curve",           TSRV,  CONF_ARGS(1, 1),  conf_set_str,      TLS(ecdh_curve),            NULL },
	{ "ssl_dhparam",              TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(dhparam),               NULL },
	{ "ssl_password_file",        TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(password_file),         NULL },
	{ "ssl_session_tickets",      TSRV,  CONF_FLAG,        conf_set_flag,     TLS(session_tickets),       NULL },
	{ "ssl_reject_handshake",     TSRV,  CONF_FLAG,        conf_set_flag,     TLS(reject_handshake),      NULL },
	{ "ssl_session_timeout",      TSRV,  CONF_ARGS(1, 1),  conf_set_sec,      TLS(session_timeout),       NULL },
	{ "ssl_session_cache",        TSRV,  CONF_ARGS(1, 2),  set_session_cache, 0, 0,                       NULL },
	{ "ssl_conf_command",         TSRV,  CONF_ARGS(2, 2),  conf_set_str_list, TLS(conf_commands),         NULL },
	{ "ssl_session_ticket_key",   TSRV,  CONF_ARGS(1, 1),  set_path_list,     TLS(ticket_key_files),      NULL },
	{ "ssl_verify_client",        TSRV,  CONF_ARGS(1, 1),  conf_set_enum,     TLS(verify),                verify_names },
	{ "ssl_verify_depth",         TSRV,  CONF_ARGS(1, 1),  conf_set_int,      TLS(verify_depth),          &verify_depths },
	{ "ssl_client_certificate",   TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(client_certificate),    NULL },
	{ "ssl_trusted_certificate",  TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(trusted_certificate),   NULL },
	{ "ssl_crl",                  TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(crl),                   NULL },
	{ "ssl_stapling",             TSRV,  CONF_FLAG,        conf_set_flag,     TLS(stapling),              NULL },
	{ "ssl_stapling_file",        TSRV,  CONF_ARGS(1, 1),  set_conf_file,     TLS(stapling_file),         NULL },
	{ "ssl_stapling_responder",   TSRV,  CONF_ARGS(1, 1),  conf_set_str,      TLS(stapling_responder),    NULL },
	{ "ssl_stapling_verify",      TSRV,  CONF_FLAG,        conf_set_flag,     TLS(stapling_verify),       NULL },
	{ NULL }
};

void
tls_srv_init(struct tls_srv *t)
{
	memset(t, 0, sizeof(*t));
	t->protocols = CONF_UNSET;
	t->prefer_server_ciphers = CONF_UNSET;
	t->session_tickets = CONF_UNSET;
	t->reject_handshake = CONF_UNSET;
	t->session_timeout = CONF_UNSET_MSEC;
	t->builtin_cache = CONF_UNSET;
	t->verify = CONF_UNSET;
	t->verify_depth = CONF_UNSET;
	t->stapling = CONF_UNSET;
	t->stapling_verify = CONF_UNSET;
}

void
tls_srv_merge(struct tls_srv *t, const struct tls_srv *p)
{
	/* certificates go together with their keys, as nginx inherits them */
	if (t->certs == NULL) {
		t->certs = p->certs;
		if (t->keys == NULL)
			t->keys = p->keys;
	}
	CONF_MERGE_PTR(t->keys, p->keys, NULL);
	CONF_MERGE_INT(t->protocols, p->protocols,
	    TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3);
	if (t->ciphers.data == NULL) {
		t->ciphers = p->ciphers;
		if (t->ciphers.data == NULL)
			t->ciphers = (struct str)STR("HIGH:!aNULL:!MD5");
	}
	/* on, unlike nginx: the client must not pick the weakest suite */
	CONF_MERGE_INT(t->prefer_server_ciphers, p->prefer_server_ciphers, 1);
	if (t->ecdh_curve.data == NULL)
		t->ecdh_curve = p->ecdh_curve;
	CONF_MERGE_PTR(t->dhparam, p->dhparam, NULL);
	CONF_MERGE_PTR(t->password_file, p->password_file, NULL);
	CONF_MERGE_INT(t->session_tickets, p->session_tickets, 1);
	CONF_MERGE_INT(t->reject_handshake, p->reject_handshake, 0);
	CONF_MERGE_MSEC(t->session_timeout, p->session_timeout, 300000);
	CONF_MERGE_PTR(t->conf_commands, p->conf_commands, NULL);
	/* as nginx: the builtin part and the shared zone separately */
	CONF_MERGE_INT(t->builtin_cache, p->builtin_cache, TLS_CACHE_NONE);
	CONF_MERGE_PTR(t->cache_zone, p->cache_zone, NULL);
	CONF_MERGE_PTR(t->ticket_key_files, p->ticket_key_files, NULL);
	CONF_MERGE_INT(t->verify, p->verify, TLS_VERIFY_OFF);
	CONF_MERGE_INT(t->verify_depth, p->verify_depth, 1);
	CONF_MERGE_PTR(t->client_certificate, p->client_certificate, NULL);
	CONF_MERGE_PTR(t->trusted_certificate, p->trusted_certificate, NULL);
	CONF_MERGE_PTR(t->crl, p->crl, NULL);
	CONF_MERGE_INT(t->stapling, p->stapling, 0);
	CONF_MERGE_INT(t->stapling_verify, p->stapling_verify, 0);
	CONF_MERGE_PTR(t->stapling_file, p->stapling_file, NULL);
	if (t->stapling_responder.data == NULL)
		t->stapling_responder = p->stapling_responder;
}

static int
set_path_list(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct array	*a;
	char		**slot;

	if ((a = conf_array(cf, field, sizeof(char *))) == NULL ||
	    (slot = array_push(a)) == NULL)
		return -1;
	/* relative to the configuration's directory, as nginx reads them */
	*slot = conf_full_path(cf, CONF_ARG(cf, 1), cf->node->args[1].len,
	    true);
	return *slot == NULL ? -1 : 0;
}

static int
set_conf_file(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	char	**v = field;

	if (*v != NULL)
		return conf_duplicate(cf);
	*v = conf_full_path(cf, CONF_ARG(cf, 1), cf->node->args[1].len, true);
	return *v == NULL ? -1 : 0;
}



/*
 * ssl_session_cache off | none | [builtin[:size]] [shared:name:size]: the
 * shared part is a zone (named "ssl:NAME", apart from other modules'
 * zones) that several servers may name.
 */
static int
set_session_cache(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct tls_srv	*t = &((struct http_srv *)cf->slots[CONF_SLOT_SRV])->tls;
	const char	*a, *colon;
	char		 zname[300];
	int64_t		 n;
	size_t		 i;

	if (t->builtin_cache != CONF_UNSET)
		return conf_duplicate(cf);
	t->builtin_cache = TLS_CACHE_NO_BUILTIN;
	for (i = 1; i < cf->node->nargs; i++) {
		a = CONF_ARG(cf, i);
		if (strcmp(a, "off") == 0 || strcmp(a, "none") == 0) {
			if (cf->node->nargs != 2)
				goto invalid;
			t->builtin_cache = a[1] == 'f' ? TLS_CACHE_OFF :
			    TLS_CACHE_NONE;
		} else if (strcmp(a, "builtin") == 0) {
			t->builtin_cache = TLS_CACHE_DEFAULT;
		} else if (strncmp(a, "builtin:", 8) == 0) {
			n = str_parse_size(a + 8, strlen(a + 8));
			if (n <= 0 || n > 0x7fffffff)
				goto invalid;
			t->builtin_cache = (int)n;
		} else if (strncmp(a, "shared:", 7) == 0) {
			a += 7;
			if ((colon = strchr(a, ':')) == NULL || colon == a ||
			    colon - a > 256 || t->cache_zone != NULL)
				goto invalid;
			n = str_parse_size(colon + 1, strlen(colon + 1));
			if (n <= 0)
				goto invalid;
			if (n < TLS_CACHE_MIN_SIZE) {
				conf_error(cf, "session cache \"%s\" is too "
				    "small", CONF_ARG(cf, i));
				return -1;
			}
			snprintf(zname, sizeof(zname), "ssl:%.*s",
			    (int)(colon - a), a);
			if ((t->cache_zone = shm_zone_add(cf->owner, zname,
			    (size_t)n)) == NULL) {
				conf_error(cf, "the size %lld of shared memory "
				    "zone \"%.*s\" conflicts with an earlier "
				    "one", (long long)n, (int)(colon - a), a);
				return -1;
			}
			t->cache_zone->tag = 0x75736331;	/* "usc1" */
		} else
			goto invalid;
	}
	return 0;
invalid:
	conf_error(cf, "invalid session cache \"%s\"", CONF_ARG(cf, i));
	return -1;
}

/* Building the SSL_CTX ---------------------------------------------------- */

static int
load_pair(struct http_srv *s, SSL_CTX *ctx, const char *cert, const char *key)
{
	char		 err[1024];
	EVP_PKEY	*pkey;

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_error_text(err, sizeof(err), " ");
		log_error(LOG_EMERG, "cannot load certificate \"%s\": "
		    "SSL_CTX_use_certificate_chain_file() failed (SSL: %s) in "
		    "%s:%u", cert, err, s->file, s->line);
		return -1;
	}
	if ((pkey = tls_read_key(key, s->tls.password_file, err,
	    sizeof(err))) == NULL) {
		log_error(LOG_EMERG, "cannot load certificate key \"%s\": %s "
		    "in %s:%u", key, err, s->file, s->line);
		return -1;
	}
	/* the key must belong to the certificate just loaded */
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_error_text(err, sizeof(err), " ");
		EVP_PKEY_free(pkey);
		log_error(LOG_EMERG, "SSL_CTX_use_PrivateKey(\"%s\") failed "
		    "(SSL: %s) in %s:%u", key, err, s->file, s->line);
		return -1;
	}
	EVP_PKEY_free(pkey);
	return 0;
}

static void
ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

int
tls_ex_srv(void)
{
	static int	index = -1;

	/* made in the master while loading: the same in every worker */
	if (index == -1)
		index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return index;
}

static void
session_cache(struct tls_srv *t, SSL_CTX *ctx)
{
	long	mode = SSL_SESS_CACHE_SERVER;

	if (t->builtin_cache == TLS_CACHE_OFF) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		return;
	}
	if (t->builtin_cache == TLS_CACHE_NONE) {
		/* nginx's "none": claim support, store nothing (some
		 * clients misbehave when a server says it has no cache) */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
		    SSL_SESS_CACHE_NO_AUTO_CLEAR |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_cache_size(ctx, 1);
		return;
	}
	if (t->cache_zone != NULL && t->builtin_cache == TLS_CACHE_NO_BUILTIN)
		mode |= SSL_SESS_CACHE_NO_INTERNAL;
	SSL_CTX_set_session_cache_mode(ctx, mode);
	if (t->builtin_cache > 0)
		SSL_CTX_sess_set_cache_size(ctx, t->builtin_cache);
	if (t->cache_zone != NULL)
		tls_cache_setup(ctx);
}

/*
 * What a session is bound to: the certificates and the client
 * verification, so a session is resumed only by a server that would have
 * made the same one (nginx hashes the same things).
 */
static int
session_context(struct tls_srv *t, SSL_CTX *ctx)
{
	EVP_MD_CTX		*md;
	STACK_OF(X509_NAME)	*names;
	unsigned char		*der;
	unsigned int		 len;
	int			 n, i, rc;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	EVP_DigestUpdate(md, "usher http", 10);
	rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
	while (rc == 1) {
		der = NULL;
		if ((n = i2d_X509(SSL_CTX_get0_certificate(ctx), &der)) > 0)
			EVP_DigestUpdate(md, der, (size_t)n);
		OPENSSL_free(der);
		rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
	}
	EVP_DigestUpdate(md, &t->verify, sizeof(t->verify));
	names = SSL_CTX_get_client_CA_list(ctx);
	for (i = 0; names != NULL && i < sk_X509_NAME_num(names); i++) {
		der = NULL;
		if ((n = i2d_X509_NAME(sk_X509_NAME_value(names, i), &der)) > 0)
			EVP_DigestUpdate(md, der, (size_t)n);
		OPENSSL_free(der);
	}
	rc = EVP_DigestFinal_ex(md, t->sid_ctx, &len);
	EVP_MD_CTX_free(md);
	if (rc != 1 || SSL_CTX_set_session_id_context(ctx, t->sid_ctx,
	    len) != 1)
		return -1;
	return 0;
}

int	tls_client_hello_cb(SSL *, int *, void *);
int	tls_servername_cb(SSL *, int *, void *);
int	tls_alpn_cb(SSL *, const unsigned char **, unsigned char *,
	    const unsigned char *, unsigned int, void *);

int
tls_srv_build(struct conf *cf, struct http_srv *s, bool needed)
{
	struct tls_srv	*t = &s->tls;
	SSL_CTX		*ctx;
	char		 err[1024];
	long		 opts;
	size_t		 i;

	if ((t->certs == NULL || t->certs->n == 0) && !t->reject_handshake) {
		if (!needed)
			return 0;
		log_error(LOG_EMERG, "no \"ssl_certificate\" is defined for "
		    "the \"listen ... ssl\" directive in %s:%u", s->file,
		    s->line);
		return -1;
	}
	if (t->certs != NULL && (t->keys == NULL || t->keys->n < t->certs->n)) {
		log_error(LOG_EMERG, "no \"ssl_certificate_key\" is defined "
		    "for certificate \"%s\" in %s:%u",
		    *ARRAY_AT(t->certs, char *, t->keys ? t->keys->n : 0),
		    s->file, s->line);
		return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    pool_cleanup_add(cf->pool, ctx_free, ctx) == -1)
		return -1;
	opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE;
	if (!(t->protocols & TLS_PROTO_TLSv1))
		opts |= SSL_OP_NO_TLSv1;
	if (!(t->protocols & TLS_PROTO_TLSv1_1))
		opts |= SSL_OP_NO_TLSv1_1;
	if (!(t->protocols & TLS_PROTO_TLSv1_2))
		opts |= SSL_OP_NO_TLSv1_2;
	if (!(t->protocols & TLS_PROTO_TLSv1_3))
		opts |= SSL_OP_NO_TLSv1_3;
	if (t->prefer_server_ciphers)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	if (!t->session_tickets)
		opts |= SSL_OP_NO_TICKET;
	SSL_CTX_set_options(ctx, opts);
	/* asked for old protocols: allow them below OpenSSL's default floor */
	if (t->protocols & (TLS_PROTO_TLSv1 | TLS_PROTO_TLSv1_1)) {
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_security_level(ctx, 0);
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * One read() takes whatever has arrived instead of a record header
	 * and then its body: half the reads per handshake and per request.
	 * Safe here: conn->readable stays set until SSL_read wants to read,
	 * so bytes OpenSSL holds are never left waiting for an epoll event.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_timeout(ctx, (long)(t->session_timeout / 1000));
	if (SSL_CTX_set_cipher_list(ctx, t->ciphers.data) != 1) {
		tls_error_text(err, sizeof(err), " ");
		log_error(LOG_EMERG, "SSL_CTX_set_cipher_list(\"%s\") failed "
		    "(SSL: %s) in %s:%u", t->ciphers.data, err, s->file,
		    s->line);
		return -1;
	}
	if (t->ecdh_curve.data != NULL &&
	    strcmp(t->ecdh_curve.data, "auto") != 0 &&
	    SSL_CTX_set1_groups_list(ctx, t->ecdh_curve.data) != 1) {
		tls_error_text(err, sizeof(err), " ");
		log_error(LOG_EMERG, "SSL_CTX_set1_groups_list(\"%s\") failed "
		    "(SSL: %s) in %s:%u", t->ecdh_curve.data, err, s->file,
		    s->line);
		return -1;
	}
	if (t->dhparam != NULL) {
		BIO		*bio = BIO_new_file(t->dhparam, "r");
		EVP_PKEY	*dh = bio ? PEM_read_bio_Parameters(bio, NULL) :
				    NULL;

		BIO_free(bio);
		if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
			EVP_PKEY_free(dh);
			log_error(LOG_EMERG, "cannot read DH parameters from "
			    "\"%s\" in %s:%u", t->dhparam, s->file, s->line);
			return -1;
		}
	}
	/* several pairs: RSA and ECDSA side by side, chosen per client */
	/* a server that refuses handshakes needs a context, not a key */
	for (i = 0; t->certs != NULL && i < t->certs->n; i++)
		if (load_pair(s, ctx, *ARRAY_AT(t->certs, char *, i),
		    *ARRAY_AT(t->keys, char *, i)) == -1)
			return -1;
	if (t->conf_commands != NULL) {
		SSL_CONF_CTX	*cctx = SSL_CONF_CTX_new();

		SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE |
		    SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE);
		SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);
		for (i = 0; i + 1 < t->conf_commands->n; i += 2) {
			struct str *k = ARRAY_AT(t->conf_commands, struct str,
			    i);
			struct str *v = ARRAY_AT(t->conf_commands, struct str,
			    i + 1);

			if (SSL_CONF_cmd(cctx, k->data, v->data) <= 0) {
				SSL_CONF_CTX_free(cctx);
				log_error(LOG_EMERG, "SSL_CONF_cmd(\"%s\", \"%s\")"
				    " failed in %s:%u", k->data, v->data,
				    s->file, s->line);
				return -1;
			}
		}
		SSL_CONF_CTX_finish(cctx);
		SSL_CONF_CTX_free(cctx);
	}
	if (tls_verify_build(cf, s, ctx) == -1 ||
	    session_context(t, ctx) == -1 ||
	    tls_ticket_load(cf, s) == -1 ||
	    tls_ocsp_build(cf, s, ctx) == -1)
		return -1;
	session_cache(t, ctx);
	if (t->session_tickets)
		tls_ticket_setup(ctx);
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_client_hello_cb(ctx, tls_client_hello_cb, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	t->ctx = ctx;
	return 0;
}
