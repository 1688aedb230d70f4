/*
 * Access logs: log_format compiled at load time, lines written through a
 * per-worker buffer per log (buffer=, flush=), never a write per field.
 */
#ifndef USHER_WORKER_ACCESS_LOG_H
#define USHER_WORKER_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/array.h"
#include "../common/str.h"
#include "loop.h"

struct conf;
struct cvalue;
struct open_file;
struct request;
struct vars;

struct log_format {
	struct str	 name;
	int		 escape;	/* enum var_escape */
	struct lf_part	*parts;		/* private to access_log.c */
	size_t		 nparts;
};

struct access_log {
	struct log_format	*format;
	struct open_file	*file;
	size_t			 buffer_size;	/* 0: write each line */
	int64_t			 flush_ms;	/* 0: only when full */
	struct cvalue		*cond;		/* if=: skip when "" or "0" */
	/* per worker, set up lazily after fork */
	char			*buf;
	size_t			 len;
	struct timer		 flush_timer;
	struct access_log	*next_buffered;
};

struct access_log_conf {
	struct array	*logs;		/* struct access_log *; NULL: unset */
	bool		 off;
};

extern const struct conf_cmd	access_log_cmds[];

/* Registers the predefined "combined" format in a new http block. */
int	access_log_http_init(struct conf *, struct array *formats,
	    struct vars *);
/* Inherits logs from the parent level, or the default log at http. */
int	access_log_merge(struct conf *, struct access_log_conf *,
	    const struct access_log_conf *parent, bool top);
/* Writes r's line to every log of its location. */
void	access_log_write(struct request *);
/* Writes out every buffered log (exit, reopen). */
void	access_log_flush_all(void);

#endif
