/*
 * The map module: "map SOURCE $var { key value; ... }" defines $var, whose
 * value is looked up by SOURCE in a table of exact keys, host name
 * wildcards and regexes.
 */
#ifndef USHER_WORKER_MAP_H
#define USHER_WORKER_MAP_H

#include "../common/conf.h"

struct conf_node;
struct pool;
struct vars;

extern const struct conf_cmd	map_cmds[];

/*
 * Defines the variables of the http block's maps before the block is run,
 * so that one may be used above its map, as nginx allows; -1 if out of
 * memory.
 */
int	map_declare(struct vars *, struct pool *, const struct conf_node *http);

#endif
