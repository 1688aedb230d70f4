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
struct request;
struct shm_zone;

#define TLS_PROTO_TLSv1		0x01
#define TLS_PROTO_TLSv1_1	0x02
#define TLS_PROTO_TLSv1_2	0x04
#define TLS_PROTO_TLSv1_3	0x08

/* ssl_session_cache's builtin part */
#define TLS_CACHE_OFF		(-2)	/* off */
#define TLS_CACHE_NONE		(-3)	/* none: pretend, store nothing */
#define TLS_CACHE_NO_BUILTIN	(-4)	/* only shared */
#define TLS_CACHE_DEFAULT	(-5)	/* builtin, OpenSSL's size */

/* ssl_verify_client */
#define TLS_VERIFY_OFF		0
#define TLS_VERIFY_ON		1
#define TLS_VERIFY_OPTIONAL	2
#define TLS_VERIFY_OPTIONAL_NO_CA 3

/* One session ticket key (ssl_session_ticket_key, or derived). */
struct tls_ticket_key {
	uint8_t		name[16];
	uint8_t		hmac[32];
	uint8_t		aes[32];
	int		size;		/* 48 (AES-128) or 80 (AES-256) */
};

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
	int		 reject_handshake;	/* ssl_reject_handshake */
	int64_t		 session_timeout;	/* ms */
	struct array	*conf_commands;		/* struct str pairs */
	int		 builtin_cache;		/* size, or TLS_CACHE_* */
	struct shm_zone	*cache_zone;		/* shared:NAME:SIZE */
	struct array	*ticket_key_files;	/* char * */
	struct tls_ticket_key *ticket_keys;	/* from the files */
	size_t		 nticket_keys;
	struct shm_zone	*ticket_zone;		/* the rotated keys' secret */
	uint8_t		 sid_ctx[32];		/* what sessions are bound to */
	int		 verify;		/* TLS_VERIFY_* */
	int		 verify_depth;
	char		*client_certificate;
	char		*trusted_certificate;
	char		*crl;
	int		 stapling;
	int		 stapling_verify;
	char		*stapling_file;
	struct str	 stapling_responder;
	void		*ctx;		/* SSL_CTX *, when certificates exist */
	/* worker-side state */
	int64_t		 ticket_epoch;		/* of ticket_cur */
	struct tls_ticket_key ticket_cur, ticket_prev;
	void		*staples;		/* tls_ocsp.c's */
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
/* The SSL ex_data index holding the struct tls_srv that accepted. */
int	tls_ex_srv(void);

/* Ticket keys (tls_ticket.c): reads the key files; installs the callback. */
int	tls_ticket_load(struct conf *, struct http_srv *);
void	tls_ticket_setup(void *ssl_ctx);

/* Client certificates (tls_verify.c) */
int	tls_verify_build(struct conf *, struct http_srv *, void *ssl_ctx);
/* After SNI chose ctx: what SSL_set_SSL_CTX() does not carry over. */
void	tls_verify_switch(void *ssl, void *ssl_ctx);
/* The request's check as nginx does it: 0, or 421, 495, 496 to answer. */
int	tls_verify_request(struct request *);
int	tls_verify_vars_init(struct http_main *);

/* OCSP stapling (tls_ocsp.c) */
int	tls_ocsp_build(struct conf *, struct http_srv *, void *ssl_ctx);
/* In a worker: starts fetching the responses that are not files. */
void	tls_ocsp_start(struct http_main *);
void	tls_ocsp_stop(struct http_main *);

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
