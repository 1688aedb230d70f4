/*
 * The master loop.  Signal handlers only set flags; the loop sleeps in
 * sigsuspend() with the signals blocked everywhere else, so none is lost
 * between checking the flags and going to sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/shm.h"
#include "../worker/worker.h"
#include "config.h"
#include "listen.h"
#include "master.h"
#include "pidfile.h"

#define MAX_WORKERS		1024
/* a worker that dies younger than this counts towards the back-off */
#define RESPAWN_YOUNG_MS	1000
#define RESPAWN_MAX_DELAY_MS	10000
#define FAST_STOP_KILL_MS	5000

struct worker_slot {
	pid_t		pid;
	unsigned	generation;
	int		index;
	bool		exiting;	/* told to stop: do not respawn */
	uint64_t	started;
};

struct master {
	struct cycle		*cycle;
	const struct start_opts	*opts;
	char			**argv;
	const char		*binary;
	struct worker_slot	 w[MAX_WORKERS];
	int			 nw;
	unsigned		 generation;
	pid_t			 new_master;	/* binary upgrade in progress */
	bool			 no_workers;	/* after WINCH */
	bool			 quitting, terminating;
	uint64_t		 terminate_at;
	int			 fast_deaths;	/* consecutive young deaths */
	uint64_t		 respawn_at;	/* 0: no respawn pending */
	int			 pending[MAX_WORKERS];	/* indexes to respawn */
	int			 npending;
};

static volatile sig_atomic_t	got_hup, got_usr1, got_usr2, got_winch,
				got_quit, got_term, got_chld, got_alrm;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGHUP: got_hup = 1; break;
	case SIGUSR1: got_usr1 = 1; break;
	case SIGUSR2: got_usr2 = 1; break;
	case SIGWINCH: got_winch = 1; break;
	case SIGQUIT: got_quit = 1; break;
	case SIGTERM: case SIGINT: got_term = 1; break;
	case SIGCHLD: got_chld = 1; break;
	case SIGALRM: got_alrm = 1; break;
	}
}

static void
signals_setup(sigset_t *waitmask)
{
	static const int	 sigs[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH,
				    SIGQUIT, SIGTERM, SIGINT, SIGCHLD, SIGALRM };
	struct sigaction	 sa;
	sigset_t		 block;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);
}

/* Wakes the loop after ms milliseconds (0 cancels). */
static void
arm_alarm(uint64_t ms)
{
	struct itimerval	it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static pid_t
spawn(struct master *m, int index)
{
	struct worker_slot	*s;
	pid_t			 pid;

	if (m->nw == MAX_WORKERS) {
		log_error(LOG_ALERT, "too many worker processes");
		return -1;
	}
	pid = fork();
	if (pid == -1) {
		log_error(LOG_ALERT, "fork() failed while spawning \"worker "
		    "process\" (%d: %s)", errno, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/*
		 * Signals stay blocked until the worker has its own handlers:
		 * a QUIT arriving in between would otherwise run the master's
		 * handler in the child and be lost.
		 */
		log_pid = getpid();
		worker_main(m->cycle, index, false);
	}
	s = &m->w[m->nw++];
	s->pid = pid;
	s->generation = m->cycle->generation;
	s->index = index;
	s->exiting = false;
	clock_update();
	s->started = clock_now.mono_ms;
	log_error(LOG_NOTICE, "start worker process %d", (int)pid);
	return pid;
}

static void
spawn_all(struct master *m)
{
	int	i;

	for (i = 0; i < m->cycle->core.worker_processes; i++)
		spawn(m, i);
}

/* Sends sig to the workers of generations older than `below` (or all). */
static int
signal_workers(struct master *m, int sig, unsigned below, bool all)
{
	int	i, n = 0;

	for (i = 0; i < m->nw; i++) {
		if (!all && m->w[i].generation >= below)
			continue;
		if (sig == SIGQUIT || sig == SIGTERM)
			m->w[i].exiting = true;
		if (kill(m->w[i].pid, sig) == -1 && errno != ESRCH)
			log_error(LOG_ALERT, "kill(%d, %d) failed (%d: %s)",
			    (int)m->w[i].pid, sig, errno, strerror(errno));
		n++;
	}
	return n;
}

static void
fcntl_clear_cloexec(int fd)
{
	int	flags = fcntl(fd, F_GETFD);

	if (flags != -1)
		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

static void
upgrade_failed(struct master *m, int status)
{
	const char	*pid = m->cycle->core.pid_path;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_error(LOG_NOTICE, "the new binary exited: this one "
		    "serves again");
	else
		log_error(LOG_ALERT, "the new binary failed: this one "
		    "serves again");
	pidfile_restore(pid);
	m->new_master = 0;
	/* workers stopped by WINCH come back */
	if (m->no_workers && !m->quitting && !m->terminating) {
		m->no_workers = false;
		spawn_all(m);
	}
}

static void
reap(struct master *m)
{
	pid_t		 pid;
	int		 status, i;
	uint64_t	 age;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->new_master) {
			if (!m->quitting && !m->terminating)
				upgrade_failed(m, status);
			m->new_master = 0;
			continue;
		}
		for (i = 0; i < m->nw && m->w[i].pid != pid; i++)
			;
		if (i == m->nw)
			continue;
		clock_update();
		age = clock_now.mono_ms - m->w[i].started;
		if (WIFSIGNALED(status))
			log_error(m->w[i].exiting && WTERMSIG(status) ==
			    SIGKILL ? LOG_NOTICE : LOG_ALERT,
			    "worker process %d exited on signal %d%s",
			    (int)pid, WTERMSIG(status),
			    WCOREDUMP(status) ? " (core dumped)" : "");
		else if (WEXITSTATUS(status) != 0)
			log_error(LOG_ALERT, "worker process %d exited with "
			    "code %d", (int)pid, WEXITSTATUS(status));
		else
			log_error(LOG_NOTICE, "worker process %d exited with "
			    "code 0", (int)pid);
		if (!m->w[i].exiting && !m->quitting && !m->terminating &&
		    !m->no_workers && m->w[i].generation == m->generation) {
			if (age < RESPAWN_YOUNG_MS)
				m->fast_deaths++;
			else
				m->fast_deaths = 0;
			if (m->npending < MAX_WORKERS)
				m->pending[m->npending++] = m->w[i].index;
		}
		m->w[i] = m->w[--m->nw];
	}
}

/* Respawns at once, or after a doubling delay when workers keep dying young. */
static void
respawn_pending(struct master *m)
{
	uint64_t	delay;
	int		i;

	if (m->npending == 0)
		return;
	clock_update();
	if (m->fast_deaths > 2 && m->respawn_at == 0) {
		delay = 100ULL << (m->fast_deaths - 2 > 7 ? 7 :
		    m->fast_deaths - 2);
		if (delay > RESPAWN_MAX_DELAY_MS)
			delay = RESPAWN_MAX_DELAY_MS;
		log_error(LOG_ALERT, "workers keep exiting: respawning in "
		    "%llu ms", (unsigned long long)delay);
		m->respawn_at = clock_now.mono_ms + delay;
		arm_alarm(delay);
		return;
	}
	if (m->respawn_at != 0 && clock_now.mono_ms < m->respawn_at)
		return;
	m->respawn_at = 0;
	for (i = 0; i < m->npending; i++)
		spawn(m, m->pending[i]);
	m->npending = 0;
}

static int
count_old(struct master *m)
{
	int	i, n = 0;

	for (i = 0; i < m->nw; i++)
		if (m->w[i].generation != m->generation)
			n++;
	return n;
}

static void
reload(struct master *m)
{
	struct cycle	*c, *old = m->cycle;
	int		 draining;

	if (m->no_workers) {
		/* HUP after WINCH: roll back to serving with this binary */
		log_error(LOG_NOTICE, "start new workers with the current "
		    "configuration");
		m->no_workers = false;
		m->generation++;
		old->generation = m->generation;
		spawn_all(m);
		return;
	}
	log_error(LOG_NOTICE, "reconfiguring");
	if ((c = config_load(m->opts, m->generation + 1)) == NULL) {
		log_error(LOG_ERR, "reload failed: the configuration is "
		    "invalid, keeping the old one");
		return;
	}
	if (config_open_files(c) == -1 ||
	    listen_open(c, old, c->core.worker_processes) == -1 ||
	    shm_map_all(c, old) == -1) {
		/* sockets this attempt took from the old cycle go back */
		listen_close_unused(c, old);
		shm_release_new(c);
		config_free(c);
		log_error(LOG_ALERT, "reload failed, keeping the old "
		    "configuration");
		return;
	}
	m->generation++;
	m->cycle = c;
	config_use_logs(c);
	spawn_all(m);
	signal_workers(m, SIGQUIT, m->generation, false);
	listen_close_unused(old, c);
	shm_unmap_unused(old, c);
	config_free(old);
	draining = count_old(m);
	if (draining > 0)
		log_error(LOG_NOTICE, "%d old worker process%s still "
		    "draining", draining, draining == 1 ? "" : "es");
}

static void
upgrade(struct master *m)
{
	const char	*pid = m->cycle->core.pid_path;
	char		*env, **envp;
	extern char	**environ;
	size_t		 n, i;
	pid_t		 child;

	if (m->new_master != 0) {
		log_error(LOG_NOTICE, "a new binary is already running "
		    "(pid %d)", (int)m->new_master);
		return;
	}
	if (pidfile_rename_old(pid) == -1)
		return;
	if ((env = listen_env(m->cycle)) == NULL) {
		pidfile_restore(pid);
		return;
	}
	for (n = 0; environ[n] != NULL; n++)
		;
	if ((envp = calloc(n + 2, sizeof(char *))) == NULL) {
		free(env);
		pidfile_restore(pid);
		return;
	}
	for (i = 0, n = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "USHER=", 6) != 0)
			envp[n++] = environ[i];
	envp[n++] = env;
	envp[n] = NULL;
	child = fork();
	if (child == 0) {
		struct listener	*l;
		sigset_t	 none;
		size_t		 j;
		int		 w;

		for (j = 0; j < m->cycle->listeners.n; j++) {
			l = ARRAY_AT(&m->cycle->listeners, struct listener, j);
			if (!l->reuseport)
				fcntl_clear_cloexec(l->fd);
			for (w = 0; l->reuseport && w < l->nworker_fds; w++)
				fcntl_clear_cloexec(l->worker_fds[w]);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(m->binary, m->argv, envp);
		log_error(LOG_ALERT, "execve() \"%s\" failed (%d: %s)",
		    m->binary, errno, strerror(errno));
		_exit(2);
	}
	free(env);
	free(envp);
	if (child == -1) {
		log_error(LOG_ALERT, "fork() failed (%d: %s)", errno,
		    strerror(errno));
		pidfile_restore(pid);
		return;
	}
	m->new_master = child;
	log_error(LOG_NOTICE, "started the new binary, pid %d", (int)child);
}

static void
shutdown_done(struct master *m)
{
	char	old[4096];

	pidfile_remove(m->cycle->core.pid_path);
	/* an old master that handed over leaves no .oldbin behind */
	if (snprintf(old, sizeof(old), "%s.oldbin",
	    m->cycle->core.pid_path) < (int)sizeof(old))
		pidfile_remove(old);
	log_error(LOG_NOTICE, "exit");
	config_free(m->cycle);
	exit(0);
}

int
master_run(struct cycle *c, const struct start_opts *o, char **argv,
    const char *binary)
{
	static struct master	 m;
	sigset_t		 waitmask;

	m.cycle = c;
	m.opts = o;
	m.argv = argv;
	m.binary = binary;
	m.generation = c->generation;
	signals_setup(&waitmask);
	spawn_all(&m);

	for (;;) {
		if (m.nw == 0 && (m.quitting || m.terminating))
			shutdown_done(&m);
		sigsuspend(&waitmask);
		clock_update();
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (got_alrm) {
			got_alrm = 0;
			if (m.terminating && m.nw > 0 &&
			    clock_now.mono_ms >= m.terminate_at) {
				log_error(LOG_NOTICE, "workers still running: "
				    "sending SIGKILL");
				signal_workers(&m, SIGKILL, 0, true);
			}
		}
		if (got_term) {
			got_term = 0;
			if (!m.terminating) {
				log_error(LOG_NOTICE, "signal received, "
				    "exiting");
				m.terminating = true;
				m.terminate_at = clock_now.mono_ms +
				    FAST_STOP_KILL_MS;
				arm_alarm(FAST_STOP_KILL_MS);
			}
			signal_workers(&m, SIGTERM, 0, true);
			continue;
		}
		if (got_quit) {
			got_quit = 0;
			log_error(LOG_NOTICE, "signal received, shutting down "
			    "gracefully");
			m.quitting = true;
			signal_workers(&m, SIGQUIT, 0, true);
			/* the new binary's sockets stay open in it */
			continue;
		}
		if (m.quitting || m.terminating)
			continue;
		if (got_hup) {
			got_hup = 0;
			reload(&m);
		}
		if (got_usr1) {
			got_usr1 = 0;
			log_error(LOG_NOTICE, "reopening logs");
			config_reopen_files(m.cycle, geteuid() == 0 ?
			    m.cycle->core.uid : (uid_t)-1);
			signal_workers(&m, SIGUSR1, 0, true);
		}
		if (got_usr2) {
			got_usr2 = 0;
			upgrade(&m);
		}
		if (got_winch) {
			got_winch = 0;
			log_error(LOG_NOTICE, "gracefully shutting down worker "
			    "processes");
			m.no_workers = true;
			m.npending = 0;
			signal_workers(&m, SIGQUIT, 0, true);
		}
		respawn_pending(&m);
	}
}
