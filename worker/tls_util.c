/*
 * Helpers of the TLS configuration shared by the server side (tls_conf.c)
 * and the upstream side (proxy_ssl_conf.c, tls_client.c).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tls_util.h"

const char *
tls_error_text(char *buf, size_t size, const char *sep)
{
	unsigned long	e;
	size_t		len = 0;
	char		one[256];
	int		n;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		n = snprintf(buf + len, size - len, "%s%s", len ? sep : "",
		    one);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	ERR_clear_error();
	return buf;
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

void *
tls_read_key(const char *path, const char *password_file, char *err,
    size_t errsize)
{
	char		 line[1024], text[768];
	EVP_PKEY	*pkey = NULL;
	FILE		*f, *pw = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsize, "fopen() failed");
		return NULL;
	}
	if (password_file != NULL && (pw = fopen(password_file, "r")) ==
	    NULL) {
		fclose(f);
		snprintf(err, errsize, "cannot open password file \"%s\"",
		    password_file);
		return NULL;
	}
	do {
		line[0] = '\0';
		if (pw != NULL) {
			if (fgets(line, sizeof(line), pw) == NULL)
				break;
			line[strcspn(line, "\r\n")] = '\0';
		}
		rewind(f);
		ERR_clear_error();
		pkey = PEM_read_PrivateKey(f, NULL, password_cb,
		    pw != NULL ? line : NULL);
	} while (pkey == NULL && pw != NULL);
	if (pkey == NULL)
		snprintf(err, errsize, "PEM_read_PrivateKey() failed (SSL: %s)",
		    tls_error_text(text, sizeof(text), " "));
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (pw != NULL)
		fclose(pw);
	return pkey;
}
