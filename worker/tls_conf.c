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
#include "http_conf.h"
#include "tls.h"

#define TLS(f)		SRV(tls.f)

static conf_set_fn	set_path_list, set_conf_file,
			set_session_cache, set_not_yet;

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
	{ "ssl_session_timeout",      TSRV,  CONF_ARGS(1, 1),  conf_set_sec,      TLS(session_timeout),       NULL },
	{ "ssl_session_cache",        TSRV,  CONF_ARGS(1, 2),  set_session_cache, 0, 0,                       NULL },
	{ "ssl_conf_command",         TSRV,  CONF_ARGS(2, 2),  conf_set_str_list, TLS(conf_commands),         NULL },
	{ "ssl_verify_client",        TSRV,  CONF_ARGS(1, 1),  set_not_yet,       0, 0,                       NULL },
	{ "ssl_client_certificate",   TSRV,  CONF_ARGS(1, 1),  set_not_yet,       0, 0,                       NULL },
	{ "ssl_stapling",             TSRV,  CONF_FLAG,        set_not_yet,       0, 0,                       NULL },
	{ NULL }
};

void
tls_srv_init(struct tls_srv *t)
{
	memset(t, 0, sizeof(*t));
	t->protocols = CONF_UNSET;
	t->prefer_server_ciphers = CONF_UNSET;
	t->session_tickets = CONF_UNSET;
	t->session_timeout = CONF_UNSET_MSEC;
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
	CONF_MERGE_INT(t->prefer_server_ciphers, p->prefer_server_ciphers, 0);
	if (t->ecdh_curve.data == NULL)
		t->ecdh_curve = p->ecdh_curve;
	CONF_MERGE_PTR(t->dhparam, p->dhparam, NULL);
	CONF_MERGE_PTR(t->password_file, p->password_file, NULL);
	CONF_MERGE_INT(t->session_tickets, p->session_tickets, 1);
	CONF_MERGE_MSEC(t->session_timeout, p->session_timeout, 300000);
	CONF_MERGE_PTR(t->conf_commands, p->conf_commands, NULL);
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



static int
set_session_cache(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	size_t	i;

	/* off | none | builtin[:size] | shared:name:size; each worker's
	 * own cache for now, with tickets shared by all workers */
	for (i = 1; i < cf->node->nargs; i++) {
		const char	*a = CONF_ARG(cf, i);

		if (strcmp(a, "off") != 0 && strcmp(a, "none") != 0 &&
		    strncmp(a, "builtin", 7) != 0 &&
		    strncmp(a, "shared:", 7) != 0) {
			conf_error(cf, "invalid session cache \"%s\"", a);
			return -1;
		}
	}
	return 0;
}

static int
set_not_yet(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	conf_error(cf, "the \"%s\" directive is not supported yet",
	    cmd->name);
	return -1;
}

/* Building the SSL_CTX ---------------------------------------------------- */

/* The queued OpenSSL errors, as nginx shows them. */
static void
ssl_error_text(char *buf, size_t size)
{
	unsigned long	e;
	size_t		len = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && len + 8 < size) {
		char	one[256];
		int	n;

		ERR_error_string_n(e, one, sizeof(one));
		n = snprintf(buf + len, size - len, "%s%s", len ? " " : "",
		    one);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static int
password_cb(char *buf, int size, int rwflag, void *u)
{
	const char	*pw = u;
	size_t		 n;

	if (pw == NULL)
		return 0;
	n = strlen(pw);
	if (n > (size_t)size)
		n = (size_t)size;
	memcpy(buf, pw, n);
	return (int)n;
}

/* The first line of the password file (nginx tries every line). */
static char *
read_password(struct conf *cf, const char *path)
{
	char	 line[1024];
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		conf_error(cf, "fopen(\"%s\") failed", path);
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return pool_strdup(cf->pool, line);
}

static int
load_pair(struct conf *cf, struct http_srv *s, SSL_CTX *ctx, const char *cert,
    const char *key, const char *password)
{
	char		 err[1024];
	EVP_PKEY	*pkey;
	FILE		*f;

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error_text(err, sizeof(err));
		log_error(LOG_EMERG, "cannot load certificate \"%s\": "
		    "SSL_CTX_use_certificate_chain_file() failed (SSL: %s) in "
		    "%s:%u", cert, err, s->file, s->line);
		return -1;
	}
	if ((f = fopen(key, "r")) == NULL) {
		log_error(LOG_EMERG, "cannot load certificate key \"%s\": "
		    "fopen() failed in %s:%u", key, s->file, s->line);
		return -1;
	}
	pkey = PEM_read_PrivateKey(f, NULL, password_cb, (void *)password);
	fclose(f);
	if (pkey == NULL) {
		ssl_error_text(err, sizeof(err));
		log_error(LOG_EMERG, "cannot load certificate key \"%s\": "
		    "PEM_read_PrivateKey() failed (SSL: %s) in %s:%u", key, err,
		    s->file, s->line);
		return -1;
	}
	/* the key must belong to the certificate just loaded */
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error_text(err, sizeof(err));
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

int	tls_servername_cb(SSL *, int *, void *);
int	tls_alpn_cb(SSL *, const unsigned char **, unsigned char *,
	    const unsigned char *, unsigned int, void *);

int
tls_srv_build(struct conf *cf, struct http_srv *s, bool needed)
{
	struct tls_srv	*t = &s->tls;
	SSL_CTX		*ctx;
	char		 err[1024], *password = NULL;
	long		 opts;
	size_t		 i;

	if (t->certs == NULL || t->certs->n == 0) {
		if (!needed)
			return 0;
		log_error(LOG_EMERG, "no \"ssl_certificate\" is defined for "
		    "the \"listen ... ssl\" directive in %s:%u", s->file,
		    s->line);
		return -1;
	}
	if (t->keys == NULL || t->keys->n < t->certs->n) {
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
	SSL_CTX_set_timeout(ctx, (long)(t->session_timeout / 1000));
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"usher", 5);
	if (SSL_CTX_set_cipher_list(ctx, t->ciphers.data) != 1) {
		ssl_error_text(err, sizeof(err));
		log_error(LOG_EMERG, "SSL_CTX_set_cipher_list(\"%s\") failed "
		    "(SSL: %s) in %s:%u", t->ciphers.data, err, s->file,
		    s->line);
		return -1;
	}
	if (t->ecdh_curve.data != NULL &&
	    strcmp(t->ecdh_curve.data, "auto") != 0 &&
	    SSL_CTX_set1_groups_list(ctx, t->ecdh_curve.data) != 1) {
		ssl_error_text(err, sizeof(err));
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
	if (t->password_file != NULL &&
	    (password = read_password(cf, t->password_file)) == NULL)
		return -1;
	/* several pairs: RSA and ECDSA side by side, chosen per client */
	for (i = 0; i < t->certs->n; i++)
		if (load_pair(cf, s, ctx, *ARRAY_AT(t->certs, char *, i),
		    *ARRAY_AT(t->keys, char *, i), password) == -1)
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
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	t->ctx = ctx;
	return 0;
}
