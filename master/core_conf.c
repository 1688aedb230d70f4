/*
 * Directives of the main and events contexts.  What they do at run time
 * is the master's (master.c) and the worker loop's business.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "../common/conf.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "core_conf.h"

#define CORE(f)		CONF_SLOT_MAIN, offsetof(struct core_conf, f)

static conf_set_fn	set_worker_processes, set_user, set_error_log,
			set_events, set_rlimit, set_ignore;

static const struct conf_bounds	worker_connections_bounds = { 1, 1 << 20 };

/*	  name                     where        args              parser                 field                          extra */
const struct conf_cmd core_cmds[] = {
	{ "worker_processes",      CONF_MAIN,   CONF_ARGS(1, 1),  set_worker_processes,  CORE(worker_processes),        NULL },
	{ "daemon",                CONF_MAIN,   CONF_FLAG,        conf_set_flag,         CORE(daemon),                  NULL },
	{ "master_process",        CONF_MAIN,   CONF_FLAG,        conf_set_flag,         CORE(master_process),          NULL },
	{ "pid",                   CONF_MAIN,   CONF_ARGS(1, 1),  conf_set_path,         CORE(pid_path),                NULL },
	{ "user",                  CONF_MAIN,   CONF_ARGS(1, 2),  set_user,              CORE(user),                    NULL },
	{ "error_log",             CONF_MAIN | CONF_HTTP_ALL, CONF_ARGS(1, 2),  set_error_log,         CORE(error_logs),              NULL },
	{ "worker_rlimit_nofile",  CONF_MAIN,   CONF_ARGS(1, 1),  set_rlimit,            CORE(rlimit_nofile),           NULL },
	{ "worker_shutdown_timeout", CONF_MAIN, CONF_ARGS(1, 1),  conf_set_msec,         CORE(shutdown_timeout),        NULL },
	{ "pcre_jit",              CONF_MAIN,   CONF_FLAG,        set_ignore,            0, 0,                          NULL },
	{ "events",                CONF_MAIN,   CONF_BLOCK | CONF_ARGS(0, 0), set_events, 0, 0,                        NULL },
	{ "worker_connections",    CONF_EVENTS, CONF_ARGS(1, 1),  conf_set_int,          CORE(worker_connections),      &worker_connections_bounds },
	{ "multi_accept",          CONF_EVENTS, CONF_FLAG,        conf_set_flag,         CORE(multi_accept),            NULL },
	{ "use",                   CONF_EVENTS, CONF_ARGS(1, 1),  set_ignore,            0, 0,                          NULL },
	{ "accept_mutex",          CONF_EVENTS, CONF_FLAG,        set_ignore,            0, 0,                          NULL },
	{ NULL }
};

void
core_conf_init(struct cycle *c)
{
	struct core_conf	*cc = &c->core;

	cc->worker_processes = CONF_UNSET;
	cc->daemon = CONF_UNSET;
	cc->master_process = CONF_UNSET;
	cc->pid_path = NULL;
	cc->rlimit_nofile = CONF_UNSET_MSEC;
	cc->shutdown_timeout = CONF_UNSET_MSEC;
	cc->worker_connections = CONF_UNSET;
	cc->multi_accept = CONF_UNSET;
	array_init(&cc->error_logs, c->pool, 2, sizeof(struct log_target));
}

static int
set_worker_processes(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*v = field;
	long	 n;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if (strcmp(CONF_ARG(cf, 1), "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		*v = n > 0 ? (int)n : 1;
		return 0;
	}
	n = (long)str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len);
	if (n <= 0 || n > 1024) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	*v = (int)n;
	return 0;
}

static int
set_user(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct core_conf	*cc = cf->slots[CONF_SLOT_MAIN];
	struct passwd		*pw;
	struct group		*gr;
	const char		*group;

	if (cc->user_set)
		return conf_duplicate(cf);
	cc->user_set = true;
	cc->user = CONF_ARG(cf, 1);
	group = CONF_NARGS(cf) == 2 ? CONF_ARG(cf, 2) : CONF_ARG(cf, 1);
	/* only a root master can switch; say nothing otherwise, as nginx */
	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((pw = getpwnam(cc->user)) == NULL) {
		conf_error(cf, "getpwnam(\"%s\") failed", cc->user);
		return -1;
	}
	cc->uid = pw->pw_uid;
	if ((gr = getgrnam(group)) == NULL) {
		conf_error(cf, "getgrnam(\"%s\") failed", group);
		return -1;
	}
	cc->gid = gr->gr_gid;
	cc->group = group;
	return 0;
}

/*
 * error_log FILE|stderr [LEVEL]: may be given several times; every
 * target gets the lines its level admits.
 */
static int
set_error_log(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct cycle		*c = cf->owner;
	struct array		*a = field;
	struct log_target	*t;
	const char		*path = CONF_ARG(cf, 1);
	int			 level = LOG_ERR;

	if (CONF_NARGS(cf) == 2 && (level = log_level_parse(CONF_ARG(cf, 2),
	    cf->node->args[2].len)) == -1) {
		conf_error(cf, "invalid log level \"%s\"", CONF_ARG(cf, 2));
		return -1;
	}
	/*
	 * nginx also takes it in http, server and location (for their
	 * connections' lines): checked and created as nginx would, but the
	 * lines go to the main context's logs (man page).
	 */
	if (cf->where != CONF_MAIN) {
		if (strcmp(path, "stderr") == 0)
			return 0;
		if ((path = conf_full_path(cf, path, strlen(path), false)) ==
		    NULL)
			return -1;
		return cycle_open_file(c, path) == NULL ? -1 : 0;
	}
	if ((t = array_push(a)) == NULL)
		return -1;
	t->fd = -1;
	t->level = level;
	if (strcmp(path, "stderr") == 0) {
		t->path = NULL;
		t->fd = 2;
		return 0;
	}
	if ((t->path = conf_full_path(cf, path, strlen(path), false)) == NULL)
		return -1;
	return cycle_open_file(c, t->path) == NULL ? -1 : 0;
}

static int
set_rlimit(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int64_t	*v = field;

	if (*v != CONF_UNSET_MSEC)
		return conf_duplicate(cf);
	if ((*v = str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len)) < 0) {
		conf_error(cf, "\"%s\" directive invalid number", cmd->name);
		return -1;
	}
	return 0;
}

static int
set_ignore(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return 0;
}

static int
set_events(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct core_conf	*cc = cf->slots[CONF_SLOT_MAIN];

	if (cc->events_seen)
		return conf_duplicate(cf);
	cc->events_seen = true;
	return conf_run_block(cf, cf->node, CONF_EVENTS);
}

int
core_conf_finish(struct cycle *c)
{
	struct core_conf	*cc = &c->core;
	struct log_target	*t;

	if (!cc->events_seen) {
		log_error(LOG_EMERG, "no \"events\" section in configuration");
		return -1;
	}
	CONF_MERGE_INT(cc->worker_processes, CONF_UNSET, 1);
	CONF_MERGE_INT(cc->daemon, CONF_UNSET, 1);
	CONF_MERGE_INT(cc->master_process, CONF_UNSET, 1);
	CONF_MERGE_INT(cc->worker_connections, CONF_UNSET, 512);
	CONF_MERGE_INT(cc->multi_accept, CONF_UNSET, 0);
	if (cc->pid_path == NULL)
		cc->pid_path = conf_full_path(&c->conf, c->prefix_given ?
		    "logs/usher.pid" : USHER_PID_PATH, strlen(c->prefix_given ?
		    "logs/usher.pid" : USHER_PID_PATH), false);
	if (!cc->user_set) {
		cc->user = "nobody";
		cc->group = "nogroup";
		if (geteuid() == 0) {
			struct passwd	*pw = getpwnam("nobody");
			struct group	*gr = getgrnam("nogroup");

			if (pw == NULL || gr == NULL) {
				log_error(LOG_EMERG, "getpwnam(\"nobody\") or "
				    "getgrnam(\"nogroup\") failed");
				return -1;
			}
			cc->uid = pw->pw_uid;
			cc->gid = gr->gr_gid;
		}
	}
	if (cc->error_logs.n == 0) {
		const char	*def = c->error_log_default;

		if ((t = array_push(&cc->error_logs)) == NULL)
			return -1;
		t->fd = -1;
		t->level = LOG_ERR;
		t->path = conf_full_path(&c->conf, def, strlen(def), false);
		if (t->path == NULL || cycle_open_file(c, t->path) == NULL)
			return -1;
	}
	return cc->pid_path == NULL ? -1 : 0;
}
