/*
 * TLS termination with OpenSSL: the per-server settings and SSL_CTX built
 * at configuration time (tls_conf.c), and the layer under a connection's
 * reads and writes (tls.c) that keeps HTTP unaware of encryption.
 */
#ifndef USHER_WORKER_TLS_H
#define USHER_WORKER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/array.h"
#include "../common/conf.h"
#include "../common/str.h"

struct conf;
struct conf_cmd;
struct conn;
struct http_addr;
struct http_main;
struct http_srv;

#define TLS_PROTO_TLSv1		0x01
#define TLS_PROTO_TLSv1_1	0x02
#define TLS_PROTO_TLSv1_2	0x04
#define TLS_PROTO_TLSv1_3	0x08

/* Per server block (and the http level's defaults). */
struct tls_srv {
	struct array	*certs;		/* char *, absolute paths */
	struct array	*keys;		/* char * */
	int		 protocols;	/* TLS_PROTO_* */
	struct str	 ciphers;
	int		 prefer_server_ciphers;
	struct str	 ecdh_curve;
	char		*dhparam;
	char		*password_file;
	int		 session_tickets;
	int64_t		 session_timeout;	/* ms */
	struct array	*conf_commands;		/* struct str pairs */
	void		*ctx;		/* SSL_CTX *, when certificates exist */
};

extern const struct conf_cmd	tls_cmds[];

void	tls_srv_init(struct tls_srv *);
void	tls_srv_merge(struct tls_srv *, const struct tls_srv *parent);
/*
 * Builds the server's SSL_CTX from its certificates (checking that keys
 * match); `needed`: it listens with ssl, so certificates are required.
 * 0, or -1 after conf_error().
 */
int	tls_srv_build(struct conf *, struct http_srv *, bool needed);
/* Registers $ssl_protocol and the other TLS variables. */
int	tls_vars_init(struct http_main *);

/* Runtime (tls.c) */

/* Starts TLS on an accepted connection of an ssl listener; 0 or -1. */
int	tls_accept(struct conn *, struct http_addr *);
/* Reads plaintext: bytes, 0 at the end, IO_AGAIN, IO_ERROR, or
 * TLS_PLAIN_HTTP when the client spoke plain HTTP to the TLS port. */
#define TLS_PLAIN_HTTP	(-5)
ssize_t	tls_recv(struct conn *, void *buf, size_t len);
/* Writes plaintext: bytes, IO_AGAIN or IO_ERROR. */
ssize_t	tls_send(struct conn *, const void *buf, size_t len);
/* Sends close_notify (best effort) and frees the TLS state. */
void	tls_close(struct conn *);
/* Facts for variables; NULL or "" when not TLS. */
const char *tls_protocol(const struct conn *);
const char *tls_cipher(const struct conn *);
const char *tls_server_name(const struct conn *);
const char *tls_alpn(const struct conn *, size_t *len);
bool	tls_session_reused(const struct conn *);

#endif
