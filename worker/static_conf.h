/*
 * Settings of the static file module (alias, try_files, etag, ranges,
 * expires, symbolic links, open_file_cache).  Serving files is static.c's
 * business; root, index and types belong to http_conf.c.
 */
#ifndef USHER_WORKER_STATIC_CONF_H
#define USHER_WORKER_STATIC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/conf.h"
#include "../common/str.h"

struct cvalue;
struct http_loc;

/* if_modified_since */
#define STATIC_IMS_OFF		0
#define STATIC_IMS_EXACT	1
#define STATIC_IMS_BEFORE	2

/* expires */
enum static_expires {
	STATIC_EXPIRES_OFF = 0,
	STATIC_EXPIRES_EPOCH,		/* Thu, 01 Jan 1970 00:00:01 GMT */
	STATIC_EXPIRES_MAX,		/* 2037, ten years of max-age */
	STATIC_EXPIRES_ACCESS,		/* now + time */
	STATIC_EXPIRES_MODIFIED,	/* Last-Modified + time */
	STATIC_EXPIRES_DAILY		/* @time: the next such time of day */
};

/* disable_symlinks */
#define STATIC_LINKS_OFF	0
#define STATIC_LINKS_ON		1
#define STATIC_LINKS_NOT_OWNER	2	/* if_not_owner */

/* One argument of try_files. */
struct static_try {
	struct cvalue	*value;
	int		 code;		/* the last one written "=404": 404 */
	bool		 dir;		/* written "name/": wants a directory */
};

struct static_loc {
	/*
	 * alias: in a prefix location it replaces the location's name at
	 * the start of the URI; in a regex location it is the whole path.
	 * Inherited with its location name by nested locations that set no
	 * root, as nginx does.
	 */
	struct cvalue		*alias;
	struct str		 alias_name;	/* the location it replaces */
	bool			 alias_regex;
	const char		*alias_file;	/* where it was set, for errors */
	unsigned		 alias_line;
	const char		*prefix;	/* for a relative alias */

	struct static_try	*tries;		/* try_files; not inherited */
	size_t			 ntries;

	int			 etag;
	int			 if_modified_since;	/* STATIC_IMS_* */
	int			 max_ranges;	/* INT32_MAX: unlimited */
	int			 expires;	/* enum static_expires */
	int64_t			 expires_time;	/* seconds, may be < 0 */
	struct cvalue		*expires_value;	/* with variables, or NULL */
	int			 disable_symlinks;	/* STATIC_LINKS_* */
	struct str		 symlinks_from;	/* not checked below; or
						   "$document_root" */
	size_t			 sendfile_max_chunk;	/* 0: no limit */
	size_t			 limit_rate;	/* bytes per second; 0: none */
	size_t			 limit_rate_after;
	struct cvalue		*limit_rate_value;	/* with variables */
	struct cvalue		*limit_rate_after_value;

	/* open_file_cache: accepted; files are opened on every request */
	int64_t			 ofc_max;	/* 0: off */
	int64_t			 ofc_inactive;	/* ms */
	int64_t			 ofc_valid;	/* ms */
	int			 ofc_min_uses;
	int			 ofc_errors;
};

extern const struct conf_cmd	static_cmds[];

/*
 * Parses an expires time (epoch, max, off, [+-]time, @time) into *expires
 * (STATIC_EXPIRES_ACCESS or _MODIFIED on entry) and *time; 0, or -1 with
 * *err saying why.
 */
int	static_expires_parse(const char *v, size_t len, int *expires,
	    int64_t *time, const char **err);
/* Marks every field unset. */
void	static_loc_init(struct static_loc *);
/* Fills l's unset fields from parent p, then the defaults; 0 or -1. */
int	static_loc_merge(struct conf *, struct http_loc *l,
	    const struct http_loc *p);

#endif
