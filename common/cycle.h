/*
 * A configuration generation: everything one successful load produced.
 * The master builds a cycle, binds its listeners and forks workers that
 * inherit it; a reload builds a new one and retires the old.
 */
#ifndef USHER_COMMON_CYCLE_H
#define USHER_COMMON_CYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "array.h"
#include "conf.h"
#include "log.h"

struct pool;

struct listener {
	struct addr	 addr;
	char		 text[ADDR_STRLEN];	/* "127.0.0.1:8080" */
	int		 fd;			/* -1 until bound */
	int		*worker_fds;		/* reuseport: one per worker */
	int		 nworker_fds;
	int		 backlog;
	bool		 reuseport;
	bool		 ssl, http2;
	bool		 ipv6only;
	void		*servers;	/* worker/: the servers on it */
};

/* A file that several access logs may share; opened by the master. */
struct open_file {
	const char	*path;
	int		 fd;
};

struct core_conf {
	int		 worker_processes;
	int		 daemon;
	int		 master_process;
	char		*pid_path;
	const char	*user, *group;
	uid_t		 uid;
	gid_t		 gid;
	bool		 user_set;
	bool		 events_seen;
	int64_t		 rlimit_nofile;
	int64_t		 shutdown_timeout;
	int		 worker_connections;
	int		 multi_accept;
	struct array	 error_logs;	/* struct log_target */
};

struct cycle {
	struct pool	*pool;
	unsigned	 generation;
	const char	*prefix;
	const char	*conf_path;
	struct conf	 conf;		/* its files, for -T */
	struct core_conf core;
	struct array	 listeners;	/* struct listener */
	struct array	 open_files;	/* struct open_file * */
	struct array	 zones;		/* struct shm_zone * */
	struct array	 temp_paths;	/* const char *: made by the master */
	void		*http;		/* worker/http_conf.h */
	bool		 prefix_given;	/* -p: nginx-style relative defaults */
	const char	*error_log_default;	/* -e, or the built-in one */
};

/*
 * Finds or adds the shared open file for path (already absolute).  NULL
 * if out of memory.
 */
struct open_file *cycle_open_file(struct cycle *, const char *path);
/* Adds a temporary-file directory the master makes at start; 0 or -1. */
int	cycle_temp_path(struct cycle *, const char *path);

#endif
