/*
 * TLS as a client, to upstreams: the handshake on a connected socket
 * driven by the edge-triggered loop, checking the certificate and its
 * name, and TLS sessions kept per upstream server per worker for reuse.
 * Reads and writes afterwards are tls.c's, under conn_recv/conn_writev.
 */
#ifndef USHER_WORKER_TLS_CLIENT_H
#define USHER_WORKER_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct addr;
struct conn;

/* What a handshake step came to. */
#define TLS_CLIENT_DONE		0
#define TLS_CLIENT_AGAIN	1
#define TLS_CLIENT_ERROR	(-1)

/*
 * Prepares a client SSL_CTX built at configuration time: with
 * session_reuse, sessions the upstream hands out are kept for the next
 * connection.  0 or -1.
 */
int	tls_client_ctx_setup(void *ctx, bool session_reuse);

/*
 * Starts TLS on c, a connected upstream socket.  name (port already
 * stripped) is checked against the certificate when the context verifies,
 * sent as SNI when sni, and with the peer's address picks the session to
 * resume.  0, or -1 when out of memory or OpenSSL refuses the name
 * (longer than 255 bytes for SNI).
 */
int	tls_client_start(struct conn *, void *ctx, const char *name,
	    size_t len, bool sni);
/*
 * The same for a bare socket fd to peer (health checks): the SSL *, or
 * NULL when out of memory.  The caller frees it with SSL_free().
 */
void	*tls_client_new(void *ctx, int fd, const struct addr *peer,
	    const char *name, size_t len, bool sni);
/*
 * One handshake step of such an SSL: as below, with *want_read telling
 * which event TLS_CLIENT_AGAIN waits for.
 */
int	tls_client_step(void *ssl, bool *want_read, char *why, size_t size,
	    int *err);
/*
 * One step of the handshake: TLS_CLIENT_DONE, TLS_CLIENT_AGAIN (wait for
 * the event the connection's readable/writable flags lack), or
 * TLS_CLIENT_ERROR with nginx's words for the log in why and an errno
 * (or 0) in *err.
 */
int	tls_client_handshake(struct conn *, char *why, size_t size,
	    int *err);
/*
 * Whether the pooled connection c may carry a request that wants TLS
 * with ctx and name (ctx NULL: wants plain HTTP).
 */
bool	tls_client_fits(const struct conn *, const void *ctx,
	    const char *name, size_t len);
/* Whether decrypted bytes wait in c's TLS state, unread. */
bool	tls_client_pending(const struct conn *);
/*
 * The ssl name for a connection: value without a port, as nginx strips it
 * from $proxy_host.
 */
size_t	tls_client_name_len(const char *value, size_t len);

#endif
