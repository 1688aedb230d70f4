/*
 * The geo module: "geo [$address] $var { network value; ... }" defines
 * $var from the client's address (or another variable's), by longest
 * CIDR match or, with "ranges", by IPv4 address ranges.
 */
#ifndef USHER_WORKER_GEO_H
#define USHER_WORKER_GEO_H

#include "../common/conf.h"

struct conf_node;
struct pool;
struct vars;

extern const struct conf_cmd	geo_cmds[];

/* Defines the variables of the http block's geo blocks before the block
 * is run (see map_declare()); -1 if out of memory. */
int	geo_declare(struct vars *, struct pool *, const struct conf_node *http);

#endif
