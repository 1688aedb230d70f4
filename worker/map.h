/*
 * The map module: "map SOURCE $var { key value; ... }" defines $var, whose
 * value is looked up by SOURCE in a table of exact keys, host name
 * wildcards and regexes.
 */
#ifndef USHER_WORKER_MAP_H
#define USHER_WORKER_MAP_H

#include "../common/conf.h"

extern const struct conf_cmd	map_cmds[];

#endif
