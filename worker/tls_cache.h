/*
 * The shared TLS session cache's store: DER sessions by id in a shared
 * zone, with expiry and LRU eviction (tls_cache.c).  The OpenSSL callbacks
 * that use it are in tls_cache.c too; tls_conf.c installs them.
 */
#ifndef USHER_WORKER_TLS_CACHE_H
#define USHER_WORKER_TLS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* nginx's limit too: larger sessions (long chains) are not shared */
#define TLS_CACHE_MAX_SESSION	4096
/* The smallest zone worth having (nginx's: eight pages). */
#define TLS_CACHE_MIN_SIZE	(8 * 4096)

struct tls_srv;

/* Stores (or replaces) a session; 0, or -1 if it cannot be cached. */
int	tls_cache_store(void *zone, size_t size, const uint8_t *id,
	    size_t id_len, const uint8_t *der, size_t len, int64_t expire);
/* Copies the session out: its length, or -1 if absent or expired. */
ssize_t	tls_cache_fetch(void *zone, size_t size, const uint8_t *id,
	    size_t id_len, uint8_t *out, size_t outsize);
void	tls_cache_remove(void *zone, size_t size, const uint8_t *id,
	    size_t id_len);
/* Sessions held (for tests). */
size_t	tls_cache_count(void *zone, size_t size);

/* Points the SSL_CTX's session callbacks at the server's shared zone. */
void	tls_cache_setup(void *ssl_ctx);

#endif
