/*
 * The geo module: "geo [$address] $var { network value; ... }" defines
 * $var from the client's address (or another variable's), by longest
 * CIDR match or, with "ranges", by IPv4 address ranges.
 */
#ifndef USHER_WORKER_GEO_H
#define USHER_WORKER_GEO_H

#include "../common/conf.h"

extern const struct conf_cmd	geo_cmds[];

#endif
