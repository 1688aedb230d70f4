/*
 * The configuration engine: nginx's syntax read into a tree of directives
 * (includes expanded), then dispatched through directive tables whose rows
 * say where a directive may appear, how many arguments it takes, which
 * parser reads it and where the value goes.  What the directives mean is
 * left to the tables' owners.
 */
#ifndef USHER_COMMON_CONF_H
#define USHER_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "array.h"
#include "str.h"

struct pool;

/* Contexts a directive may appear in. */
#define CONF_MAIN		0x0001
#define CONF_EVENTS		0x0002
#define CONF_HTTP		0x0004
#define CONF_SERVER		0x0008
#define CONF_LOCATION		0x0010
#define CONF_UPSTREAM		0x0020
#define CONF_SIF		0x0040	/* if () in a server */
#define CONF_LIF		0x0080	/* if () in a location */
#define CONF_TYPES		0x0100	/* inside types {} */
#define CONF_LMT		0x0200	/* limit_except in a location */
#define CONF_ANY		0xffff
#define CONF_HTTP_ALL		(CONF_HTTP | CONF_SERVER | CONF_LOCATION)

/* Argument counts, not counting the directive's name. */
#define CONF_ARGS(min, max)	((unsigned)(min) | ((unsigned)(max) << 8))
#define CONF_ARGS_MIN(min)	CONF_ARGS(min, 255)
#define CONF_FLAG		CONF_ARGS(1, 1)
#define CONF_BLOCK		0x10000
#define CONF_ARGS_MINOF(a)	((a) & 0xff)
#define CONF_ARGS_MAXOF(a)	(((a) >> 8) & 0xff)

/* Which of the current context's structs a row's offset points into. */
enum conf_slot {
	CONF_SLOT_NONE = 0,
	CONF_SLOT_MAIN,		/* struct core_conf */
	CONF_SLOT_HTTP,		/* the http block's own struct */
	CONF_SLOT_SRV,		/* the server's (or http's defaults) */
	CONF_SLOT_LOC,		/* the location's (or server's, http's) */
	CONF_SLOT_UPS,		/* the upstream block's */
	CONF_SLOT_BLOCK,	/* a block parser's private struct */
	CONF_SLOTS
};

#define CONF_UNSET		(-1)
#define CONF_UNSET_SIZE		((size_t)-1)
#define CONF_UNSET_MSEC		((int64_t)-1)

#define CONF_MERGE_INT(c, p, d) do {					\
	if ((c) == CONF_UNSET)						\
		(c) = (p) == CONF_UNSET ? (d) : (p);			\
} while (0)
#define CONF_MERGE_SIZE(c, p, d) do {					\
	if ((c) == CONF_UNSET_SIZE)					\
		(c) = (p) == CONF_UNSET_SIZE ? (size_t)(d) : (p);	\
} while (0)
#define CONF_MERGE_MSEC(c, p, d) do {					\
	if ((c) == CONF_UNSET_MSEC)					\
		(c) = (p) == CONF_UNSET_MSEC ? (int64_t)(d) : (p);	\
} while (0)
#define CONF_MERGE_PTR(c, p, d) do {					\
	if ((c) == NULL)						\
		(c) = (p) == NULL ? (d) : (p);				\
} while (0)

/* One directive as read: its words, and its block if it has one. */
struct conf_node {
	struct str		*args;		/* args[0] is the name */
	unsigned char		*quoted;	/* per arg: was it quoted */
	size_t			 nargs;
	struct conf_node	*children;
	size_t			 nchildren;
	bool			 block;
	const char		*file;		/* NULL: the command line */
	unsigned		 line;
};

struct conf;
struct conf_cmd;

/* A directive's parser: 0, or -1 after conf_error(). */
typedef int conf_set_fn(struct conf *cf, const struct conf_cmd *cmd,
    void *field);

struct conf_cmd {
	const char	*name;
	unsigned	 where;
	unsigned	 args;
	conf_set_fn	*set;
	int		 slot;
	size_t		 offset;
	const void	*extra;
};

/* A file the configuration was read from, kept for -T. */
struct conf_file {
	const char	*path;
	char		*text;
	size_t		 len;
};

/* The state of one load; every parser receives it. */
struct conf {
	struct pool		 *pool;		/* lives as long as the config */
	struct pool		 *temp;		/* freed when the load ends */
	const char		 *prefix;	/* ends with '/' */
	const char		 *conf_prefix;	/* the main file's directory, '/' */
	const char		 *conf_path;
	const struct conf_cmd	*const *tables;	/* NULL-terminated */
	struct conf_node	 *node;		/* the directive being read */
	unsigned		  where;
	void			 *slots[CONF_SLOTS];
	void			 *owner;	/* the tables' top-level object */
	struct array		  files;	/* of struct conf_file */
	unsigned		  include_depth;
};

/* Initializes cf with its pools and paths; -1 if out of memory. */
int	 conf_init(struct conf *cf, struct pool *pool, const char *prefix,
	    const char *conf_path, const struct conf_cmd *const *tables);
/*
 * Reads the main file (and -g directives, prepended as nginx does) into a
 * tree; 0, or -1 after logging an [emerg].
 */
int	 conf_read(struct conf *cf, const char *global_directives,
	    struct conf_node *root);
/* Runs every directive of a block in context `where`; 0 or -1. */
int	 conf_run_block(struct conf *cf, const struct conf_node *block,
	    unsigned where);
/* Logs an [emerg] naming the current directive's file and line. */
void	 conf_error(struct conf *cf, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* An absolute path: as is if absolute, else under the prefix (or the
 * main file's directory when conf_relative). */
char	*conf_full_path(struct conf *cf, const char *path, size_t len,
	    bool conf_relative);
/* The current directive's argument i as a NUL-terminated string. */
#define CONF_ARG(cf, i)	((cf)->node->args[i].data)
#define CONF_NARGS(cf)	((cf)->node->nargs - 1)

/* Generic parsers; `extra` as each says. */
conf_set_fn	conf_set_flag;		/* int: on|off */
conf_set_fn	conf_set_int;		/* int; extra: struct conf_bounds * or NULL */
conf_set_fn	conf_set_size;		/* size_t with k/m/g */
conf_set_fn	conf_set_off;		/* int64_t with k/m/g */
conf_set_fn	conf_set_msec;		/* int64_t milliseconds; bare = ms */
conf_set_fn	conf_set_sec;		/* int64_t milliseconds; bare = s */
conf_set_fn	conf_set_str;		/* struct str */
conf_set_fn	conf_set_path;		/* char *, resolved under the prefix */
conf_set_fn	conf_set_enum;		/* int; extra: struct conf_enum[] */
conf_set_fn	conf_set_bitmask;	/* int; extra: struct conf_enum[], ORed */
conf_set_fn	conf_set_str_list;	/* struct array * of struct str: every
					   argument appended, level by level */

/* *a, created in the configuration's pool on first use; NULL if OOM. */
struct array	*conf_array(struct conf *cf, struct array **a, size_t size);

struct conf_bounds {
	int64_t	min, max;
};

struct conf_enum {
	const char	*name;
	int		 value;
};

/* The field's "already set" test shared by the generic parsers. */
int	 conf_duplicate(struct conf *cf);

#endif
