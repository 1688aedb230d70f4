/*
 * The access module: allow and deny by the client's address, checked
 * after the rewrite phase as nginx's access phase is.
 */
#ifndef USHER_WORKER_ACCESS_H
#define USHER_WORKER_ACCESS_H

#include <stdbool.h>

#include "../common/conf.h"

struct request;

extern const struct conf_cmd	access_cmds[];

/* True when r's location denies its client: r was answered with 403. */
bool	access_denied(struct request *);

#endif
