/*
 * Binding listening sockets and carrying them across reloads and binary
 * upgrades, so that no connection is refused while configurations change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "listen.h"

#define MAX_INHERITED	1024

struct inherited {
	int		fd;
	struct addr	addr;
	int		reuseport;
	bool		taken;
};

static struct inherited	inherited[MAX_INHERITED];
static int		ninherited;

int
listen_inherited(void)
{
	return ninherited > 0;
}

int
listen_inherit(void)
{
	const char	*env = getenv("USHER");
	char		*end;
	long		 fd;
	int		 v;
	socklen_t	 l;

	/* only a list of descriptors is ours; anything else is ignored */
	if (env == NULL || env[0] < '0' || env[0] > '9')
		return 0;
	while (*env != '\0' && ninherited < MAX_INHERITED) {
		fd = strtol(env, &end, 10);
		if (end == env || (*end != ';' && *end != '\0')) {
			log_error(LOG_EMERG, "invalid socket number \"%s\" in "
			    "USHER environment variable, ignoring the rest",
			    env);
			break;
		}
		env = *end ? end + 1 : end;
		struct inherited *in = &inherited[ninherited];
		memset(in, 0, sizeof(*in));
		in->fd = (int)fd;
		in->addr.len = sizeof(in->addr.u);
		if (getsockname((int)fd, &in->addr.u.sa, &in->addr.len) == -1)
			continue;
		l = sizeof(v);
		if (getsockopt((int)fd, SOL_SOCKET, SO_REUSEPORT, &v, &l) == 0)
			in->reuseport = v;
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		ninherited++;
	}
	unsetenv("USHER");
	return 0;
}

static int
take_inherited(const struct listener *l)
{
	int	i;

	for (i = 0; i < ninherited; i++) {
		if (inherited[i].taken ||
		    !addr_equal(&inherited[i].addr, &l->addr) ||
		    (inherited[i].reuseport != 0) != l->reuseport)
			continue;
		inherited[i].taken = true;
		return inherited[i].fd;
	}
	return -1;
}

void
listen_close_inherited(void)
{
	int	i;

	for (i = 0; i < ninherited; i++)
		if (!inherited[i].taken)
			close(inherited[i].fd);
	ninherited = 0;
}

static int
bind_one(struct listener *l)
{
	int	fd, on = 1;

	if ((fd = socket(l->addr.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_error(LOG_EMERG, "socket() %s failed (%d: %s)", l->text,
		    errno, strerror(errno));
		return -1;
	}
	if (l->addr.u.sa.sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1) {
		log_error(LOG_EMERG, "setsockopt(SO_REUSEPORT) %s failed "
		    "(%d: %s)", l->text, errno, strerror(errno));
		close(fd);
		return -1;
	}
	if (l->addr.u.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (l->addr.u.sa.sa_family == AF_UNIX)
		unlink(l->addr.u.sun.sun_path);
	if (bind(fd, &l->addr.u.sa, l->addr.len) == -1) {
		log_error(LOG_EMERG, "bind() to %s failed (%d: %s)", l->text,
		    errno, strerror(errno));
		close(fd);
		return -1;
	}
	if (l->addr.u.sa.sa_family == AF_UNIX)
		chmod(l->addr.u.sun.sun_path, 0666);
	if (listen(fd, l->backlog) == -1) {
		log_error(LOG_EMERG, "listen() to %s, backlog %d failed "
		    "(%d: %s)", l->text, l->backlog, errno, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static struct listener *
find_old(struct cycle *old, const struct listener *l)
{
	struct listener	*o;
	size_t		 i;

	if (old == NULL)
		return NULL;
	for (i = 0; i < old->listeners.n; i++) {
		o = ARRAY_AT(&old->listeners, struct listener, i);
		if (addr_equal(&o->addr, &l->addr) &&
		    o->reuseport == l->reuseport && o->fd != -1)
			return o;
	}
	return NULL;
}

static int
get_fd(struct cycle *old, struct listener *l, int idx)
{
	struct listener	*o;
	int		 fd;

	/* shared, not moved: whichever cycle loses closes what is only its */
	if ((o = find_old(old, l)) != NULL) {
		if (!l->reuseport)
			return o->fd;
		if (idx < o->nworker_fds && o->worker_fds[idx] != -1)
			return o->worker_fds[idx];
	}
	if ((fd = take_inherited(l)) != -1) {
		/* the backlog may have changed with the configuration */
		listen(fd, l->backlog);
		return fd;
	}
	return bind_one(l);
}

int
listen_open(struct cycle *c, struct cycle *old, int nworkers)
{
	struct listener	*l;
	size_t		 i;
	int		 w;

	for (i = 0; i < c->listeners.n; i++) {
		l = ARRAY_AT(&c->listeners, struct listener, i);
		if (!l->reuseport) {
			if ((l->fd = get_fd(old, l, 0)) == -1)
				return -1;
			continue;
		}
		l->nworker_fds = nworkers;
		l->worker_fds = pool_alloc(c->pool, sizeof(int) *
		    (size_t)nworkers);
		if (l->worker_fds == NULL)
			return -1;
		for (w = 0; w < nworkers; w++)
			if ((l->worker_fds[w] = get_fd(old, l, w)) == -1)
				return -1;
		l->fd = l->worker_fds[0];
	}
	return 0;
}

static bool
has_fd(const struct cycle *c, int fd)
{
	struct listener	*l;
	size_t		 i;
	int		 w;

	for (i = 0; c != NULL && i < c->listeners.n; i++) {
		l = ARRAY_AT(&c->listeners, struct listener, i);
		if (!l->reuseport && l->fd == fd)
			return true;
		for (w = 0; l->reuseport && w < l->nworker_fds; w++)
			if (l->worker_fds[w] == fd)
				return true;
	}
	return false;
}

static void
close_fd(struct listener *l, int fd)
{
	if (fd == -1)
		return;
	if (l->addr.u.sa.sa_family == AF_UNIX)
		unlink(l->addr.u.sun.sun_path);
	close(fd);
}

void
listen_close_unused(struct cycle *old, struct cycle *c)
{
	struct listener	*o;
	size_t		 i;
	int		 w;

	for (i = 0; i < old->listeners.n; i++) {
		o = ARRAY_AT(&old->listeners, struct listener, i);
		if (!o->reuseport && !has_fd(c, o->fd))
			close_fd(o, o->fd);
		for (w = 0; o->reuseport && w < o->nworker_fds; w++)
			if (!has_fd(c, o->worker_fds[w]))
				close_fd(o, o->worker_fds[w]);
		o->fd = -1;
		o->nworker_fds = 0;
	}
}

char *
listen_env(struct cycle *c)
{
	struct listener	*l;
	size_t		 i, len = 0, size = 64;
	char		*s;
	int		 w, n;

	for (i = 0; i < c->listeners.n; i++) {
		l = ARRAY_AT(&c->listeners, struct listener, i);
		size += 12 * (size_t)(l->reuseport ? l->nworker_fds : 1);
	}
	if ((s = malloc(size)) == NULL)
		return NULL;
	n = snprintf(s, size, "USHER=");
	len = (size_t)n;
	for (i = 0; i < c->listeners.n; i++) {
		l = ARRAY_AT(&c->listeners, struct listener, i);
		if (!l->reuseport) {
			n = snprintf(s + len, size - len, "%d;", l->fd);
			len += (size_t)n;
			continue;
		}
		for (w = 0; w < l->nworker_fds; w++) {
			n = snprintf(s + len, size - len, "%d;",
			    l->worker_fds[w]);
			len += (size_t)n;
		}
	}
	return s;
}
