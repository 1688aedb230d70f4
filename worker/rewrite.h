/*
 * The rewrite module: return, rewrite, break, set and if, compiled into a
 * script per level that runs in configuration order.
 */
#ifndef USHER_WORKER_REWRITE_H
#define USHER_WORKER_REWRITE_H

#include "../common/conf.h"

struct conf_node;
struct http_loc;
struct regex;
struct request;
struct rewrite_script;
struct str;
struct vars;

enum rewrite_result {
	REWRITE_NEXT = 0,	/* go on to the next phase */
	REWRITE_DONE,		/* a response was produced */
	REWRITE_REDIRECT	/* the URI changed: find the location again */
};

extern const struct conf_cmd	rewrite_cmds[];

/*
 * Runs a level's script against r.  An if block that holds in a location
 * moves r->loc to the block's own configuration.
 */
enum rewrite_result	rewrite_run(struct request *,
			    const struct rewrite_script *);
/*
 * Merges the location structs of l's if blocks with l, once l itself is
 * merged; 0, or -1 after conf_error().
 */
int	rewrite_loc_merge(struct conf *, struct http_loc *l);

/*
 * Registers the variables of every "set" in the http block before the
 * block is run, so that one may be used above its set, as nginx allows.
 * Out of memory it registers fewer: set_set() then reports the failure.
 */
void	rewrite_declare(struct vars *, const struct conf_node *http);

/*
 * Registers the named groups of re as per-request variables; *out gets
 * their indexes by group number (-1 for unnamed groups), or NULL if re
 * has no names.  0, or -1 after conf_error().
 */
int	rewrite_regex_names(struct conf *, struct vars *,
	    const struct regex *re, int **out);
/*
 * Matches subject against re; on a match the captures become r's $1..$9
 * (indexing a copy of subject in r's pool) and the named groups' variables
 * are set.  1 on a match, 0 if none, -1 out of memory.
 */
int	rewrite_regex_exec(struct request *, const struct regex *re,
	    const int *name_vars, const struct str *subject);

#endif
