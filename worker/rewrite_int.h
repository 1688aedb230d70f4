/*
 * What the rewrite module's two files share: the compiled script.  Private
 * to rewrite.c (running it) and rewrite_conf.c (building it).
 */
#ifndef USHER_WORKER_REWRITE_INT_H
#define USHER_WORKER_REWRITE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/array.h"

struct cvalue;
struct http_loc;
struct regex;

enum rw_kind {
	RW_RETURN = 1,
	RW_REWRITE,
	RW_BREAK,
	RW_SET,
	RW_SET_ARGS,		/* set $args: the request's arguments */
	RW_SET_LIMIT_RATE,	/* set $limit_rate: the request's rate */
	RW_IF
};

enum rw_flag {
	RW_NONE = 0,
	RW_LAST,
	RW_BRK,
	RW_REDIRECT,
	RW_PERMANENT
};

enum rw_cond {
	RW_COND_VAR = 1,	/* ($v): true unless empty or "0" */
	RW_COND_EQ,		/* ($v = value) */
	RW_COND_NE,		/* ($v != value) */
	RW_COND_MATCH,		/* ($v ~ re), ~*, !~, !~* */
	RW_COND_FILE		/* (-f path), -d, -e, -x, !-f ... */
};

struct rw_op {
	int		 kind;
	int		 code;		/* return */
	/* return's text or URL, rewrite's target, set's value, if's
	 * right-hand side or path */
	struct cvalue	*value;
	struct regex	*re;		/* rewrite, if ~ */
	int		*name_vars;	/* per named group */
	int		 flag;		/* rewrite: enum rw_flag */
	bool		 keep_args;	/* rewrite: no '?' in it */
	int		 var;		/* set: target; if: tested */
	int		 cond;		/* if: enum rw_cond */
	char		 test;		/* if -X: f, d, e or x */
	bool		 negate;	/* if: !=, !~, !-f ... */
	size_t		 next;		/* if: the op after it */
	struct http_loc	*loc;		/* if in a location: its own */
};

/* The directives of one level, in configuration order; the bodies of its
 * if blocks are inline, skipped by their RW_IF op when false. */
struct rewrite_script {
	struct array	 ops;		/* struct rw_op */
	bool		 log;		/* rewrite_log of its level */
};

#endif
