/*
 * Loading a configuration into a new cycle, and opening what it names
 * (log files).  Binding its sockets is listen.c's job.
 */
#ifndef USHER_MASTER_CONFIG_H
#define USHER_MASTER_CONFIG_H

#include <stdbool.h>

struct cycle;

struct start_opts {
	const char	*prefix;	/* ends with '/' */
	bool		 prefix_given;
	const char	*conf_path;	/* absolute */
	const char	*globals;	/* -g, or NULL */
	const char	*error_log;	/* absolute path, "stderr", or NULL */
};

/* Parses and checks the configuration; NULL after logging an [emerg]. */
struct cycle	*config_load(const struct start_opts *, unsigned generation);
/* Opens the cycle's log files; 0, or -1 after logging. */
int		 config_open_files(struct cycle *);
/* Makes the cycle's error logs the current ones. */
void		 config_use_logs(struct cycle *);
/* Reopens log files (USR1), chowning them to uid when it is not -1. */
void		 config_reopen_files(struct cycle *, uid_t uid);
/* Closes the cycle's files and frees it. */
void		 config_free(struct cycle *);
/* Writes every file of the configuration to stdout, for -T. */
void		 config_dump(struct cycle *);

#endif
