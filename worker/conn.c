/*
 * Connection objects from a free list, and the plain-socket I/O under
 * them.  A closed connection is recycled only after the loop turn, since
 * later events of the same epoll batch may still name it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "conn.h"
#include "tls.h"

unsigned		 conn_active;
static struct conn	*free_list, *reap_list, *all_list;
static uint64_t		 conn_counter;

/* Every open connection is also on this doubly linked list. */
struct conn_link {
	struct conn	*prev, *next;
};

static void	on_io(struct io *, uint32_t);
static ssize_t	tls_writev(struct conn *, struct iovec *, int);

struct conn *
conn_new(int fd, struct listener *l)
{
	struct conn	*c;

	if ((c = free_list) != NULL)
		free_list = c->next;
	else if ((c = malloc(sizeof(*c) + sizeof(struct conn_link))) == NULL) {
		close(fd);
		return NULL;
	}
	/* no pool: an idle connection should cost a few hundred bytes */
	memset(c, 0, sizeof(*c) + sizeof(struct conn_link));
	c->io.fd = fd;
	c->io.on_event = on_io;
	c->listener = l;
	c->number = ++conn_counter;
	c->start_ms = clock_now.real_ms;
	conn_active++;
	/* link into the list of open connections */
	{
		struct conn_link *lk = (struct conn_link *)(c + 1);

		lk->prev = NULL;
		lk->next = all_list;
		if (all_list != NULL)
			((struct conn_link *)(all_list + 1))->prev = c;
		all_list = c;
	}
	if (loop_add(&c->io) == -1) {
		conn_close(c);
		return NULL;
	}
	return c;
}

static void
on_io(struct io *io, uint32_t ev)
{
	struct conn	*c = (struct conn *)io;

	if (c->closed)
		return;
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->peer_closed = true;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		c->readable = true;
		if (c->on_read != NULL)
			c->on_read(c);
		/* a TLS write that needed to read first can go on now */
		if (!c->closed && c->tls_write_wants_read && c->on_write != NULL)
			c->on_write(c);
	}
	if (c->closed)
		return;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
		c->writable = true;
		if (c->on_write != NULL)
			c->on_write(c);
		if (!c->closed && c->tls_read_wants_write && c->on_read != NULL)
			c->on_read(c);
	}
}

void
conn_close(struct conn *c)
{
	struct conn_link	*lk = (struct conn_link *)(c + 1);

	if (c->closed)
		return;
	c->closed = true;
	timer_del(&c->timer);
	if (c->on_close != NULL)
		c->on_close(c);
	if (c->tls != NULL)
		tls_close(c);
	/* close() removes the fd from the epoll set */
	close(c->io.fd);
	c->io.fd = -1;
	conn_active--;
	if (lk->prev != NULL)
		((struct conn_link *)(lk->prev + 1))->next = lk->next;
	else
		all_list = lk->next;
	if (lk->next != NULL)
		((struct conn_link *)(lk->next + 1))->prev = lk->prev;
	c->next = reap_list;
	reap_list = c;
}

void
conn_reap(void)
{
	struct conn	*c;

	while ((c = reap_list) != NULL) {
		reap_list = c->next;
		if (c->pool != NULL)
			pool_destroy(c->pool);
		c->pool = NULL;
		c->next = free_list;
		free_list = c;
	}
}

void
conn_foreach(void (*fn)(struct conn *))
{
	struct conn	*c, *next;

	for (c = all_list; c != NULL; c = next) {
		next = ((struct conn_link *)(c + 1))->next;
		fn(c);
	}
}

ssize_t
conn_recv(struct conn *c, void *buf, size_t len)
{
	ssize_t	n;

	if (c->tls != NULL)
		return tls_recv(c, buf, len);
	for (;;) {
		n = recv(c->io.fd, buf, len, 0);
		if (n > 0) {
			/* a short read drained the socket, unless the peer's
			 * FIN came with the data: its 0 is still to be read and
			 * no new edge will announce it */
			if ((size_t)n < len && !c->peer_closed)
				c->readable = false;
			return n;
		}
		if (n == 0) {
			c->readable = false;
			return 0;
		}
		if (errno == EINTR)
			continue;
		c->readable = false;
		if (errno == EAGAIN)
			return IO_AGAIN;
		return IO_ERROR;
	}
}

ssize_t
conn_readv(struct conn *c, struct iovec *iov, int n)
{
	ssize_t	r;
	size_t	want = 0;
	int	i;

	if (c->tls != NULL)
		return tls_recv(c, iov[0].iov_base, iov[0].iov_len);
	for (i = 0; i < n; i++)
		want += iov[i].iov_len;
	for (;;) {
		r = readv(c->io.fd, iov, n);
		if (r > 0) {
			if ((size_t)r < want && !c->peer_closed)
				c->readable = false;
			return r;
		}
		if (r == 0) {
			c->readable = false;
			return 0;
		}
		if (errno == EINTR)
			continue;
		c->readable = false;
		return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
	}
}

ssize_t
conn_writev(struct conn *c, struct iovec *iov, int n)
{
	ssize_t	w;
	size_t	want = 0;
	int	i;

	if (c->tls != NULL)
		return tls_writev(c, iov, n);
	for (i = 0; i < n; i++)
		want += iov[i].iov_len;
	for (;;) {
		w = writev(c->io.fd, iov, n);
		if (w >= 0) {
			if ((size_t)w < want)
				c->writable = false;
			c->sent += (size_t)w;
			return w;
		}
		if (errno == EINTR)
			continue;
		c->writable = false;
		return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
	}
}

/*
 * writev() for TLS: small pieces are gathered into one record-sized
 * buffer so a response head and its body leave as one record.
 */
#define TLS_GATHER	16384

static ssize_t
tls_writev(struct conn *c, struct iovec *iov, int n)
{
	char	 buf[TLS_GATHER];
	size_t	 len, total = 0;
	ssize_t	 w;
	int	 i = 0;

	while (i < n) {
		if (iov[i].iov_len >= TLS_GATHER) {
			/* big enough on its own: no copy */
			w = tls_send(c, iov[i].iov_base, iov[i].iov_len);
			if (w <= 0)
				return total > 0 ? (ssize_t)total : w;
			total += (size_t)w;
			if ((size_t)w < iov[i].iov_len)
				break;
			i++;
			continue;
		}
		for (len = 0; i < n && len + iov[i].iov_len <= TLS_GATHER; i++) {
			memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		w = tls_send(c, buf, len);
		if (w <= 0)
			return total > 0 ? (ssize_t)total : w;
		total += (size_t)w;
		if ((size_t)w < len)
			break;
	}
	c->sent += total;
	return (ssize_t)total;
}

ssize_t
conn_send(struct conn *c, const void *buf, size_t len)
{
	struct iovec	iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	return conn_writev(c, &iov, 1);
}

int
conn_local_addr(struct conn *c)
{
	if (c->local_known)
		return 0;
	c->local.len = sizeof(c->local.u);
	if (getsockname(c->io.fd, &c->local.u.sa, &c->local.len) == -1)
		return -1;
	c->local_known = true;
	return 0;
}
