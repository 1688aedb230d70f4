/*
 * The command line, as nginx's: test or dump the configuration, signal a
 * running master, or start one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "../common/shm.h"
#include "../worker/worker.h"
#include "config.h"
#include "listen.h"
#include "master.h"
#include "pidfile.h"

static void
usage(void)
{
	fprintf(stderr,
	    "Usage: usher [-?hvVtTq] [-s signal] [-p prefix]\n"
	    "             [-e filename] [-c filename] [-g directives]\n\n"
	    "Options:\n"
	    "  -?,-h         : this help\n"
	    "  -v            : show version and exit\n"
	    "  -V            : show version and configure options then exit\n"
	    "  -t            : test configuration and exit\n"
	    "  -T            : test configuration, dump it and exit\n"
	    "  -q            : suppress non-error messages during configuration testing\n"
	    "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
	    "  -p prefix     : set prefix path (default: %s/)\n"
	    "  -e filename   : set error log file (default: %s)\n"
	    "  -c filename   : set configuration file (default: %s)\n"
	    "  -g directives : set global directives out of configuration file\n\n",
	    USHER_PREFIX, USHER_ERROR_LOG_PATH, USHER_CONF_PATH);
}

/* path made absolute against base (which ends with '/'). */
static char *
absolute(const char *base, const char *path)
{
	char	*p;
	size_t	 bl, pl;

	if (path[0] == '/')
		return strdup(path);
	bl = strlen(base);
	pl = strlen(path);
	if ((p = malloc(bl + pl + 1)) == NULL)
		return NULL;
	memcpy(p, base, bl);
	memcpy(p + bl, path, pl + 1);
	return p;
}

static char *
with_slash(const char *s)
{
	size_t	 l = strlen(s);
	char	*p;

	if ((p = malloc(l + 2)) == NULL)
		return NULL;
	memcpy(p, s, l);
	if (l == 0 || s[l - 1] != '/')
		p[l++] = '/';
	p[l] = '\0';
	return p;
}

static int
send_signal(struct cycle *c, const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "stop", SIGTERM }, { "quit", SIGQUIT },
		{ "reopen", SIGUSR1 }, { "reload", SIGHUP },
	};
	size_t	i;
	pid_t	pid;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(sigs[i].name, name) == 0)
			break;
	if (i == sizeof(sigs) / sizeof(sigs[0]))
		return -1;
	if ((pid = pidfile_read(c->core.pid_path)) == -1)
		return -1;
	if (kill(pid, sigs[i].sig) == -1) {
		log_error(LOG_ERR, "kill(%d, %d) failed (%d: %s)", (int)pid,
		    sigs[i].sig, errno, strerror(errno));
		return -1;
	}
	return 0;
}

static int
daemonize(void)
{
	int	fd;

	switch (fork()) {
	case -1:
		log_error(LOG_EMERG, "fork() failed (%d: %s)", errno,
		    strerror(errno));
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		return -1;
	umask(022);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static const char *
binary_path(const char *argv0)
{
	static char	path[PATH_MAX];
	ssize_t		n;

	if (strchr(argv0, '/') != NULL && realpath(argv0, path) != NULL)
		return path;
	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) > 0) {
		path[n] = '\0';
		return path;
	}
	return argv0;
}

/*
 * The nginx modules usher has and lacks, in the words of nginx's configure:
 * tools written for nginx (nginx-tests among them) read -V to decide which
 * features a binary has, and every module is assumed built in unless a
 * --without- option says otherwise.
 */
static const char nginx_modules[] =
    "nginx modules: --with-http_ssl_module --with-http_stub_status_module"
    " --with-http_gzip_static_module --with-http_gunzip_module"
    " --without-http_autoindex_module"
    " --without-http_ssi_module --without-http_mirror_module"
    " --without-http_userid_module"
    " --without-http_auth_basic_module --without-http_referer_module"
    " --without-http_fastcgi_module --without-http_uwsgi_module"
    " --without-http_scgi_module --without-http_grpc_module"
    " --without-http_memcached_module --without-http_limit_conn_module"
    " --without-http_limit_req_module --without-http_empty_gif_module"
    " --without-http_browser_module --without-http-cache"
    " --without-http_upstream_least_time_module"
    " --without-http_upstream_sticky --without-http_tunnel_module";

int
main(int argc, char **argv)
{
	static struct start_opts	 o;
	static struct log_target	 startup_log;
	struct cycle			*c;
	const char			*conf = NULL, *prefix = NULL;
	const char			*errlog = NULL, *sig = NULL;
	int				 ch, test = 0, dump = 0, quiet = 0;
	int				 version = 0;
	bool				 inherited;

	opterr = 0;
	while ((ch = getopt(argc, argv, "?hvVtTqs:p:e:c:g:")) != -1) {
		switch (ch) {
		case 'v': version = version ? version : 1; break;
		case 'V': version = 2; break;
		case 't': test = 1; break;
		case 'T': test = 1; dump = 1; break;
		case 'q': quiet = 1; break;
		case 's': sig = optarg; break;
		case 'p': prefix = optarg; break;
		case 'e': errlog = optarg; break;
		case 'c': conf = optarg; break;
		case 'g': o.globals = optarg; break;
		case 'h':
			usage();
			return 0;
		default:
			if (optopt == '?' || optopt == 0) {
				usage();
				return 0;
			}
			if (strchr("specg", optopt) != NULL)
				fprintf(stderr, "usher: option \"-%c\" requires "
				    "%s\n", optopt, optopt == 's' ? "signal "
				    "name" : optopt == 'p' ? "directory name" :
				    optopt == 'g' ? "parameter" : "file name");
			else
				fprintf(stderr, "usher: invalid option: \"%c\""
				    "\n", optopt);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usher: invalid option: \"%s\"\n", argv[optind]);
		return 1;
	}
	if (version) {
		fprintf(stderr, "usher version: usher/" PACKAGE_VERSION "\n");
		if (version == 2)
			fprintf(stderr, "built with OpenSSL, PCRE2 and zlib\n"
			    "TLS SNI support enabled\n"
			    "configure arguments:" USHER_CONFIGURE_ARGS "\n"
			    "%s\n", nginx_modules);
		if (!test && sig == NULL)
			return 0;
	}
	if (sig != NULL && strcmp(sig, "stop") != 0 && strcmp(sig, "quit") &&
	    strcmp(sig, "reopen") != 0 && strcmp(sig, "reload") != 0) {
		fprintf(stderr, "usher: invalid option: \"-s %s\"\n", sig);
		return 1;
	}

	tzset();
	o.prefix_given = prefix != NULL;
	o.prefix = with_slash(prefix ? prefix : USHER_PREFIX);
	o.conf_path = absolute(o.prefix, conf ? conf : USHER_CONF_PATH);
	if (errlog != NULL)
		o.error_log = strcmp(errlog, "stderr") == 0 ? "stderr" :
		    absolute(o.prefix, errlog);
	/* the startup log: -e, or the built-in one if it can be opened */
	startup_log.level = LOG_NOTICE;
	startup_log.fd = -1;
	if (o.error_log != NULL && strcmp(o.error_log, "stderr") == 0)
		startup_log.fd = 2;
	else {
		const char *p = o.error_log;

		if (p == NULL)
			p = prefix ? absolute(o.prefix, "logs/error.log") :
			    USHER_ERROR_LOG_PATH;
		startup_log.path = p;
		startup_log.fd = log_open_file(p);
		if (startup_log.fd == -1 && errlog != NULL)
			fprintf(stderr, "usher: [alert] could not open error "
			    "log file: open() \"%s\" failed (%d: %s)\n", p,
			    errno, strerror(errno));
	}
	log_set_targets(&startup_log, 1);

	if (listen_inherit() == -1)
		return 1;
	c = config_load(&o, 1);
	if (test) {
		if (c == NULL) {
			fprintf(stderr, "usher: configuration file %s test "
			    "failed\n", o.conf_path);
			return 1;
		}
		if (config_open_files(c) == -1) {
			fprintf(stderr, "usher: configuration file %s test "
			    "failed\n", o.conf_path);
			config_free(c);
			return 1;
		}
		if (!quiet) {
			fprintf(stderr, "usher: the configuration file %s "
			    "syntax is ok\n", o.conf_path);
			fprintf(stderr, "usher: configuration file %s test is "
			    "successful\n", o.conf_path);
		}
		if (dump)
			config_dump(c);
		config_free(c);
		return 0;
	}
	if (c == NULL)
		return 1;
	if (sig != NULL) {
		int rc = send_signal(c, sig) == 0 ? 0 : 1;

		config_free(c);
		return rc;
	}

	if (c->core.rlimit_nofile != CONF_UNSET_MSEC) {
		struct rlimit	rl;

		rl.rlim_cur = rl.rlim_max = (rlim_t)c->core.rlimit_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_error(LOG_ALERT, "setrlimit(RLIMIT_NOFILE, %lld) "
			    "failed (%d: %s)", (long long)c->core.rlimit_nofile,
			    errno, strerror(errno));
	}
	if (config_open_files(c) == -1)
		goto fail;
	if (listen_open(c, NULL, c->core.worker_processes) == -1 ||
	    shm_map_all(c, NULL) == -1)
		goto fail;
	/* a new binary's parent, the old master, is already detached */
	inherited = listen_inherited();
	listen_close_inherited();
	if (c->core.daemon && !inherited && daemonize() == -1)
		goto fail;
	log_pid = getpid();
	if (pidfile_write(c->core.pid_path) == -1)
		goto fail;
	config_use_logs(c);
	if (c->core.daemon) {
		int fd = open("/dev/null", O_RDWR);

		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
	}
	/* started: from now on problems go to the error log only */
	log_use_stderr = false;
	if (startup_log.fd > 2)
		close(startup_log.fd);
	if (!c->core.master_process)
		worker_main(c, 0, true);
	return master_run(c, &o, argv, binary_path(argv[0]));
fail:
	config_free(c);
	return 1;
}
