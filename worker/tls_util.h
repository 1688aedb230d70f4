/*
 * What the TLS configuration code of both sides shares: OpenSSL's error
 * queue as text, and reading a private key with a password file.
 */
#ifndef USHER_WORKER_TLS_UTIL_H
#define USHER_WORKER_TLS_UTIL_H

#include <stddef.h>

/* Drains the queued OpenSSL errors into buf, joined by sep; returns buf. */
const char	*tls_error_text(char *buf, size_t size, const char *sep);
/*
 * Reads the PEM private key at path, trying each line of password_file
 * (NULL: none) as nginx does.  An EVP_PKEY * to free, or NULL with err
 * filled.
 */
void		*tls_read_key(const char *path, const char *password_file,
		    char *err, size_t errsize);

#endif
