/*
 * The worker process: drops privileges, accepts on the inherited
 * listeners, runs the event loop, and acts on the master's signals
 * (graceful and fast stop, log reopening).
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "access_log.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"
#include "stub_status.h"
#include "tls.h"
#include "upstream.h"
#include "upstream_conf.h"
#include "worker.h"
#include "worker_state.h"

struct worker	worker;

struct listen_io {
	struct io	 io;
	struct listener	*l;
	bool		 closed;
};

static volatile sig_atomic_t	got_quit, got_term, got_usr1;
static struct listen_io		*lios;
static size_t			 nlios;
static struct timer		 shutdown_timer;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGQUIT: got_quit = 1; break;
	case SIGTERM: case SIGINT: got_term = 1; break;
	case SIGUSR1: got_usr1 = 1; break;
	}
}

static struct io	sigfd;

static void
on_signalfd(struct io *io, uint32_t ev)
{
	struct signalfd_siginfo	si;

	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_signal((int)si.ssi_signo);
}

static void
on_accept(struct io *io, uint32_t ev)
{
	struct listen_io	*li = (struct listen_io *)io;
	struct conn		*c;
	struct addr		 peer;
	int			 fd, n, one = 1;

	for (n = 0; n < 64; n++) {
		if (li->closed)
			return;
		peer.len = sizeof(peer.u);
		fd = accept4(io->fd, &peer.u.sa, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_error(LOG_CRIT, "accept4() failed (%d: %s)",
				    errno, strerror(errno));
			return;
		}
		if (conn_active >= (unsigned)worker.cycle->core.worker_connections) {
			log_error(LOG_ALERT, "%d worker_connections are not "
			    "enough", worker.cycle->core.worker_connections);
			close(fd);
			continue;
		}
		/*
		 * No Nagle: a small write after an unacknowledged one (a
		 * chunked body's last chunk, a head before a file) would wait
		 * for the client's delayed ACK, 40 ms.
		 */
		if (li->l->addr.u.sa.sa_family != AF_UNIX)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		stub_status_accepted();
		if ((c = conn_new(fd, li->l)) == NULL)
			continue;
		c->peer = peer;
		/* data may already be waiting: try reading at once */
		c->readable = true;
		c->writable = true;
		http_conn_start(c);
	}
}

static void
drop_privileges(struct cycle *c)
{
	if (geteuid() != 0)
		return;
	if (setgid(c->core.gid) == -1 ||
	    initgroups(c->core.user, c->core.gid) == -1 ||
	    setuid(c->core.uid) == -1) {
		log_error(LOG_EMERG, "cannot switch to user \"%s\" (%d: %s)",
		    c->core.user, errno, strerror(errno));
		exit(2);
	}
}

static void
close_listeners(void)
{
	size_t	i;

	for (i = 0; i < nlios; i++) {
		if (lios[i].closed)
			continue;
		loop_del(&lios[i].io);
		/* the master keeps its copy: this only stops our accepting */
		close(lios[i].io.fd);
		lios[i].closed = true;
	}
}

static void
reopen_logs(struct cycle *c)
{
	struct open_file	*f;
	size_t			 i;
	int			 fd;

	access_log_flush_all();
	for (i = 0; i < c->open_files.n; i++) {
		f = *ARRAY_AT(&c->open_files, struct open_file *, i);
		if ((fd = log_open_file(f->path)) == -1) {
			log_error(LOG_ALERT, "open() \"%s\" failed (%d: %s)",
			    f->path, errno, strerror(errno));
			continue;
		}
		dup2(fd, f->fd);
		close(fd);
	}
}

static void
shutdown_one(struct conn *c)
{
	if (c->on_shutdown != NULL)
		c->on_shutdown(c);
}

static void
on_shutdown_timeout(struct timer *t)
{
	log_error(LOG_NOTICE, "worker_shutdown_timeout expired: closing %u "
	    "connections", conn_active);
	conn_foreach(conn_close);
}

static void
worker_exit(void)
{
	access_log_flush_all();
	log_error(LOG_NOTICE, "exit");
	exit(0);
}

static void
setup_listeners(struct cycle *c, int index)
{
	struct listener	*l;
	size_t		 i;
	int		 w, fd;

	nlios = c->listeners.n;
	if ((lios = calloc(nlios ? nlios : 1, sizeof(*lios))) == NULL)
		exit(2);
	for (i = 0; i < nlios; i++) {
		l = ARRAY_AT(&c->listeners, struct listener, i);
		fd = l->fd;
		if (l->reuseport) {
			/* keep our own socket of the set, close the others */
			for (w = 0; w < l->nworker_fds; w++)
				if (w != index % l->nworker_fds)
					close(l->worker_fds[w]);
			fd = l->worker_fds[index % l->nworker_fds];
		}
		lios[i].io.fd = fd;
		lios[i].io.on_event = on_accept;
		lios[i].l = l;
		if (loop_add_in(&lios[i].io) == -1)
			exit(2);
	}
}

void
worker_main(struct cycle *c, int index, bool single)
{
	struct sigaction	 sa;
	sigset_t		 block;
	static const int	 sigs[] = { SIGQUIT, SIGTERM, SIGINT, SIGUSR1 };
	size_t			 i;

	worker.cycle = c;
	worker.index = index;
	worker.single = single;
	log_pid = getpid();
	log_set_targets(c->core.error_logs.elts, c->core.error_logs.n);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, NULL);

	if (!single)
		drop_privileges(c);
	clock_update();
	if (loop_init(512) == -1)
		exit(2);
	setup_listeners(c, index);
	if (c->http != NULL) {
		if (upstream_attach_all(c->http) == -1)
			exit(2);
		stub_status_attach(c->http);
		tls_ocsp_start(c->http);
		/* active health checks run once, in the first worker */
		if (index == 0) {
			struct http_main	*h = c->http;

			upstream_health_start(h->upstreams.elts, h->upstreams.n);
		}
	}
	shutdown_timer.fn = on_shutdown_timeout;

	/*
	 * Signals arrive through a signalfd in the epoll set, so the loop
	 * waits with plain epoll_wait(): no signal mask swap in every wait.
	 */
	sigfd.fd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	sigfd.on_event = on_signalfd;
	if (sigfd.fd == -1 || loop_add_in(&sigfd) == -1) {
		log_error(LOG_EMERG, "signalfd() failed (%d: %s)", errno,
		    strerror(errno));
		exit(2);
	}
	for (;;) {
		loop_once(NULL);
		conn_reap();
		if (got_term) {
			worker_exit();
		}
		if (got_usr1) {
			got_usr1 = 0;
			reopen_logs(c);
		}
		if (got_quit && !worker.quitting) {
			worker.quitting = true;
			log_error(LOG_NOTICE, "gracefully shutting down");
			/* the new generation's first worker checks from now on */
			if (index == 0)
				upstream_health_stop();
			if (c->http != NULL)
				tls_ocsp_stop(c->http);
			close_listeners();
			conn_foreach(shutdown_one);
			if (c->core.shutdown_timeout != CONF_UNSET_MSEC)
				timer_set(&shutdown_timer,
				    (uint64_t)c->core.shutdown_timeout);
		}
		if (worker.quitting && conn_active == 0)
			worker_exit();
	}
}
