/*
 * Session ticket keys.  With ssl_session_ticket_key files, the first key
 * encrypts and all of them decrypt, as in nginx.  Without, keys rotate on
 * their own: a random secret lives in a shared zone (kept across reloads,
 * so every worker of every generation agrees), and the key of each period
 * of ssl_session_timeout is derived from it with HKDF.  A ticket is valid
 * for one timeout, so the keys of the current and the previous period are
 * all that can still open one; a ticket opened with the previous key is
 * renewed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "../common/shm.h"
#include "http_conf.h"
#include "tls.h"

#define TK_READY	2

struct tk_zone {
	int		state;		/* 0, 1 while being made, TK_READY */
	uint8_t		secret[32];
};

int
tls_ticket_load(struct conf *cf, struct http_srv *s)
{
	struct tls_srv	*t = &s->tls;
	uint8_t		 buf[81];
	size_t		 i, n;
	FILE		*f;

	if (!t->session_tickets)
		return 0;
	if (t->ticket_key_files == NULL || t->ticket_key_files->n == 0) {
		t->ticket_zone = shm_zone_add(cf->owner,
		    "usher:ssl_ticket_keys", 4096);
		if (t->ticket_zone == NULL)
			return -1;
		t->ticket_zone->tag = 0x75746b31;	/* "utk1" */
		return 0;
	}
	t->nticket_keys = t->ticket_key_files->n;
	t->ticket_keys = pool_calloc(cf->pool, t->nticket_keys *
	    sizeof(*t->ticket_keys));
	if (t->ticket_keys == NULL)
		return -1;
	for (i = 0; i < t->nticket_keys; i++) {
		const char		*path = *ARRAY_AT(t->ticket_key_files,
					    char *, i);
		struct tls_ticket_key	*k = &t->ticket_keys[i];

		if ((f = fopen(path, "r")) == NULL) {
			log_error(LOG_EMERG, "cannot open session ticket key "
			    "\"%s\" in %s:%u", path, s->file, s->line);
			return -1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (n != 48 && n != 80) {
			log_error(LOG_EMERG, "\"%s\" must be 48 or 80 bytes "
			    "in %s:%u", path, s->file, s->line);
			return -1;
		}
		/* nginx's layouts, so the same files serve both */
		k->size = (int)n;
		memcpy(k->name, buf, 16);
		if (n == 48) {
			memcpy(k->aes, buf + 16, 16);
			memcpy(k->hmac, buf + 32, 16);
		} else {
			memcpy(k->hmac, buf + 16, 32);
			memcpy(k->aes, buf + 48, 32);
		}
		OPENSSL_cleanse(buf, sizeof(buf));
	}
	return 0;
}

/* The shared secret, made by the first worker that needs it. */
static const uint8_t *
secret(struct shm_zone *zone)
{
	struct tk_zone	*z = zone->addr;
	int		 expect = 0;
	unsigned long	 spins;

	if (__atomic_load_n(&z->state, __ATOMIC_ACQUIRE) == TK_READY)
		return z->secret;
	if (__atomic_compare_exchange_n(&z->state, &expect, 1, false,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		if (RAND_bytes(z->secret, sizeof(z->secret)) != 1)
			return NULL;
		__atomic_store_n(&z->state, TK_READY, __ATOMIC_RELEASE);
		return z->secret;
	}
	/* another worker is drawing it: a few microseconds */
	for (spins = 0; spins < 100000000; spins++)
		if (__atomic_load_n(&z->state, __ATOMIC_ACQUIRE) == TK_READY)
			return z->secret;
	return NULL;
}

static int
derive(const uint8_t *sec, const struct tls_srv *t, int64_t period,
    int64_t epoch, struct tls_ticket_key *k)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	uint8_t		 info[32], out[80];
	int		 rc;

	memcpy(info, "usher tickets v1", 16);
	memcpy(info + 16, &period, 8);
	memcpy(info + 24, &epoch, 8);
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)sec, 32);
	/* per server: a ticket opens only where its session was made */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)t->sid_ctx, sizeof(t->sid_ctx));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
	    sizeof(info));
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, sizeof(out), params);
	EVP_KDF_CTX_free(kctx);
	if (rc != 1)
		return -1;
	memcpy(k->name, out, 16);
	memcpy(k->hmac, out + 16, 32);
	memcpy(k->aes, out + 48, 32);
	k->size = 80;
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

/* Brings the current and previous periods' keys up to date. */
static int
rotate(struct tls_srv *t)
{
	const uint8_t	*sec;
	int64_t		 period, epoch;

	period = t->session_timeout / 1000;
	if (period < 1)
		period = 1;
	epoch = (int64_t)time(NULL) / period;
	if (epoch == t->ticket_epoch && t->ticket_cur.size != 0)
		return 0;
	if ((sec = secret(t->ticket_zone)) == NULL)
		return -1;
	if (epoch == t->ticket_epoch + 1 && t->ticket_cur.size != 0)
		t->ticket_prev = t->ticket_cur;
	else if (derive(sec, t, period, epoch - 1, &t->ticket_prev) == -1)
		return -1;
	if (derive(sec, t, period, epoch, &t->ticket_cur) == -1)
		return -1;
	t->ticket_epoch = epoch;
	return 0;
}

static int
use_key(const struct tls_ticket_key *k, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	const EVP_CIPHER	*cipher;
	OSSL_PARAM		 params[3];

	cipher = k->size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, k->size == 48 ? 16 : 32);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1 ||
		    EVP_EncryptInit_ex(ectx, cipher, NULL, k->aes, iv) != 1)
			return -1;
	} else if (EVP_DecryptInit_ex(ectx, cipher, NULL, k->aes, iv) != 1)
		return -1;
	return 0;
}

static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_srv			*t = SSL_get_ex_data(ssl, tls_ex_srv());
	const struct tls_ticket_key	*keys[2], *k;
	size_t				 n, i;

	if (t == NULL)
		return -1;
	if (t->nticket_keys > 0) {
		n = t->nticket_keys;
	} else {
		if (t->ticket_zone == NULL || t->ticket_zone->addr == NULL ||
		    rotate(t) == -1)
			return enc ? -1 : 0;
		keys[0] = &t->ticket_cur;
		keys[1] = &t->ticket_prev;
		n = 2;
	}
	if (enc) {
		k = t->nticket_keys > 0 ? &t->ticket_keys[0] : keys[0];
		memcpy(name, k->name, 16);
		return use_key(k, iv, ectx, hctx, 1) == 0 ? 1 : -1;
	}
	for (i = 0; i < n; i++) {
		k = t->nticket_keys > 0 ? &t->ticket_keys[i] : keys[i];
		if (memcmp(name, k->name, 16) == 0)
			break;
	}
	if (i == n)
		return 0;	/* unknown or retired key: a full handshake */
	if (use_key(k, iv, ectx, hctx, 0) == -1)
		return -1;
	/*
	 * 2: issue a new ticket.  Under TLS 1.3 OpenSSL sends one after a
	 * resumption only when asked, and a client that keeps resuming with
	 * one ticket (tickets are meant for single use) would be refused.
	 */
	return i == 0 && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
}

void
tls_ticket_setup(void *ssl_ctx)
{
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl_ctx, ticket_cb);
}
