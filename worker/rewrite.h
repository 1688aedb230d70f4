/*
 * The rewrite module: return, rewrite, break (and later set and if),
 * compiled into a script per level that runs in configuration order.
 */
#ifndef USHER_WORKER_REWRITE_H
#define USHER_WORKER_REWRITE_H

struct request;
struct rewrite_script;

enum rewrite_result {
	REWRITE_NEXT = 0,	/* go on to the next phase */
	REWRITE_DONE,		/* a response was produced */
	REWRITE_REDIRECT	/* the URI changed: find the location again */
};

extern const struct conf_cmd	rewrite_cmds[];

/* Runs a level's script against r. */
enum rewrite_result	rewrite_run(struct request *,
			    const struct rewrite_script *);

#endif
