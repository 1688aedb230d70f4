/*
 * backend.c: the benchmark's upstream, built by t/bench/run with cc -O2.
 *
 * One thread, one level-triggered epoll loop, non-blocking sockets,
 * HTTP/1.1 keep-alive and pipelining, fixed answers kept in memory:
 *
 *   GET /1m...   200, a body of LARGE bytes ("x" repeated)
 *   GET /json... 200, application/json: the content of JSON_FILE (when
 *                given; the gzip case)
 *   anything     200, a body of SMALL bytes
 *
 * It reads request heads up to the blank line and ignores bodies (the
 * benchmark only sends GET).  A connection closes after its answer when
 * the request says "Connection: close" or is HTTP/1.0 without
 * "Connection: keep-alive".  Nothing is logged: it must never be the
 * bottleneck.
 *
 * usage: backend PORT SMALL_BYTES LARGE_BYTES [JSON_FILE]
 * (listens on 127.0.0.1)
 * Prints "ready" on stdout once listening; stops on SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define INBUF	8192
#define MAXEV	256

struct answer {
	char	*head;
	size_t	 headlen;
	char	*body;
	size_t	 bodylen;
};

struct client {
	int			 fd;
	size_t			 inlen;
	const struct answer	*out;	/* being written, or NULL */
	size_t			 sent;	/* of head + body */
	int			 close_after;
	int			 want_out;	/* EPOLLOUT registered */
	char			 in[INBUF];
};

static struct answer	small, large, json;
static int		have_json;
static volatile sig_atomic_t stop;
static int		ep;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* An answer of n bytes of type ctype: "x" repeated, or a copy of from. */
static void
make_answer(struct answer *a, size_t n, const char *ctype, const char *from)
{
	char	head[256];
	int	len;

	len = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\n"
	    "Server: bench-backend\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n", ctype, n);
	a->head = strdup(head);
	a->headlen = (size_t)len;
	a->body = malloc(n ? n : 1);
	if (a->head == NULL || a->body == NULL) {
		perror("backend: malloc");
		exit(1);
	}
	if (from != NULL)
		memcpy(a->body, from, n);
	else
		memset(a->body, 'x', n);
	a->bodylen = n;
}

/* The answer to GET /json: the whole of path, as application/json. */
static void
load_json(const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 n = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				perror("backend: realloc");
				exit(1);
			}
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	make_answer(&json, n, "application/json", buf);
	free(buf);
	have_json = 1;
}

static void
drop(struct client *c)
{
	close(c->fd);
	free(c);
}

static void
set_out(struct client *c, int on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = on;
}

/* Case-insensitive search for a header line "name: ...value..." in a head. */
static int
head_has(const char *h, size_t len, const char *name, const char *value)
{
	size_t	 nl = strlen(name), vl = strlen(value);
	const char *p = h, *end = h + len, *eol, *v;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			for (v = p + nl + 1; v + vl <= eol; v++)
				if (strncasecmp(v, value, vl) == 0)
					return 1;
		}
		p = eol + 1;
	}
	return 0;
}

/* Writes what is pending; 0 when done, 1 when blocked, -1 on error. */
static int
flush_out(struct client *c)
{
	const struct answer *a = c->out;
	struct iovec	 iov[2];
	ssize_t		 n;
	int		 cnt;

	while (c->sent < a->headlen + a->bodylen) {
		cnt = 0;
		if (c->sent < a->headlen) {
			iov[cnt].iov_base = a->head + c->sent;
			iov[cnt++].iov_len = a->headlen - c->sent;
			iov[cnt].iov_base = a->body;
			iov[cnt++].iov_len = a->bodylen;
		} else {
			iov[cnt].iov_base = a->body + (c->sent - a->headlen);
			iov[cnt++].iov_len = a->bodylen -
			    (c->sent - a->headlen);
		}
		n = writev(c->fd, iov, cnt);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->sent += (size_t)n;
	}
	c->out = NULL;
	return 0;
}

/*
 * Answers every complete request head in the buffer, in order.
 * Returns -1 to close the connection, 0 otherwise.
 */
static int
serve(struct client *c)
{
	char	*end;
	size_t	 used;
	int	 r;

	while (c->out == NULL) {
		end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (end == NULL) {
			if (c->inlen == INBUF)
				return -1;	/* head too long */
			return 0;
		}
		used = (size_t)(end - c->in) + 4;
		if (c->inlen > 7 && memcmp(c->in, "GET /1m", 7) == 0)
			c->out = &large;
		else if (have_json && c->inlen > 9 &&
		    memcmp(c->in, "GET /json", 9) == 0)
			c->out = &json;
		else
			c->out = &small;
		c->sent = 0;
		if (head_has(c->in, used, "connection", "close"))
			c->close_after = 1;
		else {
			char *eol = memchr(c->in, '\r', used);
			if (eol && eol - c->in >= 8 &&
			    memcmp(eol - 8, "HTTP/1.0", 8) == 0 &&
			    !head_has(c->in, used, "connection", "keep-alive"))
				c->close_after = 1;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		r = flush_out(c);
		if (r < 0)
			return -1;
		if (r == 1) {
			set_out(c, 1);
			return 0;
		}
		if (c->close_after)
			return -1;
	}
	return 0;
}

static void
on_client(struct client *c, unsigned events)
{
	ssize_t	n;
	int	r;

	if (events & (EPOLLERR | EPOLLHUP)) {
		drop(c);
		return;
	}
	if (c->out != NULL && (events & EPOLLOUT)) {
		r = flush_out(c);
		if (r < 0 || (r == 0 && c->close_after)) {
			drop(c);
			return;
		}
		if (r == 1)
			return;
		set_out(c, 0);
		if (serve(c) < 0) {	/* pipelined requests already read */
			drop(c);
			return;
		}
	}
	if (!(events & EPOLLIN) || c->out != NULL)
		return;
	/* one read per wake-up: epoll is level-triggered and says again */
	if (c->inlen == INBUF) {
		drop(c);
		return;
	}
	n = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	c->inlen += (size_t)n;
	if (serve(c) < 0)
		drop(c);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev, evs[MAXEV];
	struct rlimit		 rl;
	struct sigaction	 sa;
	int			 lfd, fd, one = 1, n, i;
	struct client		*c;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: backend PORT SMALL_BYTES LARGE_BYTES "
		    "[JSON_FILE]\n");
		return 2;
	}
	make_answer(&small, strtoul(argv[2], NULL, 10),
	    "application/octet-stream", NULL);
	make_answer(&large, strtoul(argv[3], NULL, 10),
	    "application/octet-stream", NULL);
	if (argc == 5)
		load_json(argv[4]);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("backend: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 4096) < 0) {
		perror("backend: bind/listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		n = epoll_wait(ep, evs, MAXEV, 1000);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr != NULL) {
				on_client(evs[i].data.ptr, evs[i].events);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				c = calloc(1, sizeof(*c));
				if (c == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
					drop(c);
			}
		}
	}
	return 0;
}
