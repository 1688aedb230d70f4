/*
 * Variables ($host, $uri, $http_NAME, ...) and "complex values": strings
 * with variables in them, compiled at load time into parts so that
 * evaluating one per request is a loop with no parsing.
 */
#ifndef USHER_WORKER_VARS_H
#define USHER_WORKER_VARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/array.h"
#include "../common/str.h"

struct conf;
struct pool;
struct request;

/* Fills *out (memory valid for the request); 0, or -1 if not found
 * (empty, "-" in logs). */
typedef int var_get_fn(struct request *, struct str *out, uintptr_t data);

#define VAR_PREFIX	0x01	/* a family: http_, arg_, cookie_, ... */
#define VAR_SETTABLE	0x02	/* value lives in the request (set, captures) */
#define VAR_NOCACHE	0x04	/* changes during a request ($uri) */
#define VAR_CHANGEABLE	0x08	/* set may overwrite it (map, geo, ...) */

struct var {
	struct str	 name;
	var_get_fn	*get;
	uintptr_t	 data;
	unsigned	 flags;
};

/* The registry of one http block. */
struct vars {
	struct array	 list;		/* struct var; index = position */
	struct pool	*pool;
	unsigned	 nsettable;
	/* $request_body is used somewhere: a streamed body is kept too */
	bool		 request_body_used;
};

int	vars_init(struct vars *, struct pool *);
/*
 * The index of a variable, creating a per-name entry for families
 * ($http_x_foo) on first use; -1 after conf_error() if unknown.
 */
int	vars_index(struct vars *, struct conf *, const char *name, size_t len);
/* Registers a module's variable (or family with VAR_PREFIX); its index,
 * or -1 if the name is taken. */
int	vars_define(struct vars *, const char *name, var_get_fn *get,
	    uintptr_t data, unsigned flags);
/* Registers a variable whose value is stored per request (set, regex
 * named captures); returns its index or -1. */
int	vars_add_settable(struct vars *, const char *name, size_t len);

struct http1_header;
/*
 * The values of the fields in hs[0..nh) whose name matches want (lowercase,
 * '_' for '-'), joined with ", " ("; " for Cookie) as nginx does; 0, or -1
 * if there is none.
 */
int	vars_join_fields(struct request *, const struct http1_header *hs,
	    size_t nh, const struct str *want, struct str *out);

/* The value of variable idx for r; 0, or -1 if not found. */
int	vars_get(struct request *, int idx, struct str *out);
/* Stores a value for a settable variable (memory must live with r). */
void	vars_set(struct request *, int idx, const struct str *val);

/* A string with variables and regex captures ($1..$9). */
enum cv_kind {
	CV_LITERAL = 1,
	CV_VAR,
	CV_CAPTURE
};

struct cv_part {
	int		 kind;
	struct str	 lit;		/* CV_LITERAL */
	int		 n;		/* CV_VAR index, CV_CAPTURE number */
};

struct cvalue {
	struct str	 literal;	/* the whole value if !dynamic */
	bool		 dynamic;
	struct cv_part	*parts;
	size_t		 nparts;
};

/* Compiles src; NULL after conf_error(). */
struct cvalue	*cvalue_compile(struct conf *, struct vars *,
		    const struct str *src);
/* Evaluates into *out (request memory unless literal); 0 or -1 (OOM). */
int		 cvalue_eval(struct request *, const struct cvalue *,
		    struct str *out);
/*
 * cvalue_eval for a rewrite replacement: when the request's URI was
 * percent-encoded or held '+', the captures (decoded bytes) placed after a
 * literal '?', or all of them for a redirect, are escaped for an argument,
 * as nginx does.
 */
int		 cvalue_eval_rewrite(struct request *, const struct cvalue *,
		    bool redirect, struct str *out);
/*
 * Escaping flavours used by log_format: escape=default (\xHH for '"',
 * '\\', control and non-ASCII bytes), json, none.
 */
enum var_escape {
	VAR_ESCAPE_DEFAULT = 0,
	VAR_ESCAPE_JSON,
	VAR_ESCAPE_NONE
};

#endif
