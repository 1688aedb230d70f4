/*
 * Client and upstream connections: the fd, its readiness as the
 * edge-triggered loop reported it, a pool, and reading and writing that
 * will hide TLS from everything above.
 */
#ifndef USHER_WORKER_CONN_H
#define USHER_WORKER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../common/addr.h"
#include "loop.h"

#define IO_AGAIN	(-2)
#define IO_ERROR	(-1)

struct listener;
struct pool;
struct conn;

typedef void conn_fn(struct conn *);

struct conn {
	struct io	 io;		/* first: the loop hands us &io */
	uint64_t	 number;	/* "*N" in the error log */
	uint64_t	 start_ms;	/* clock_now.real_ms at accept */
	struct listener	*listener;
	struct addr	 peer;
	struct addr	 local;		/* valid when local_known */
	bool		 local_known;
	struct pool	*pool;		/* NULL until someone needs one */
	conn_fn		*on_read, *on_write;
	conn_fn		*on_shutdown;	/* graceful exit: close if idle */
	conn_fn		*on_close;	/* frees the protocol's state */
	void		*data;		/* the protocol's state */
	struct timer	 timer;		/* the protocol's timeout */
	bool		 readable, writable;	/* edge state */
	bool		 peer_closed;	/* EPOLLRDHUP seen */
	bool		 idle;		/* may be closed when shutting down */
	bool		 closed;
	unsigned	 requests;
	uint64_t	 sent;		/* bytes written */
	struct conn	*next;		/* free and reap lists */
	void		*tls;		/* SSL *, when encrypted (tls.c) */
	bool		 tls_checked;	/* first byte looked at */
	bool		 tls_read_wants_write;
	bool		 tls_write_wants_read;
};

/* Takes a connected fd; NULL (fd closed) when out of connections. */
struct conn	*conn_new(int fd, struct listener *);
/* Closes the fd now; the struct is recycled after this loop turn. */
void		 conn_close(struct conn *);
/* Recycles connections closed during the last turn. */
void		 conn_reap(void);

/* > 0 bytes, 0 at end of stream, IO_AGAIN or IO_ERROR; clears readable
 * when the socket is drained. */
ssize_t		 conn_recv(struct conn *, void *buf, size_t len);
/* conn_recv() into several buffers with one system call. */
ssize_t		 conn_readv(struct conn *, struct iovec *, int n);
/* Bytes written, IO_AGAIN or IO_ERROR; clears writable on a short write. */
ssize_t		 conn_writev(struct conn *, struct iovec *, int n);
ssize_t		 conn_send(struct conn *, const void *buf, size_t len);
/* Fills c->local (one getsockname, done once). */
int		 conn_local_addr(struct conn *);

/* Connections in use, for worker_connections and graceful exit. */
extern unsigned	 conn_active;
/* Calls fn for every open connection (graceful shutdown). */
void		 conn_foreach(void (*fn)(struct conn *));

#endif
