/*
 * The split_clients module: "split_clients STRING $var { 10% a; * b; }"
 * defines $var by hashing STRING (MurmurHash2, as nginx does) into
 * percentage buckets, for A/B testing.
 */
#ifndef USHER_WORKER_SPLIT_CLIENTS_H
#define USHER_WORKER_SPLIT_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/conf.h"

struct conf_node;
struct pool;
struct vars;

extern const struct conf_cmd	split_clients_cmds[];

/* Defines the variables of the http block's split_clients before the
 * block is run (see map_declare()); -1 if out of memory. */
int	split_clients_declare(struct vars *, struct pool *,
	    const struct conf_node *http);

/* MurmurHash2, 32 bits, seed 0: nginx's ngx_murmur_hash2(). */
uint32_t	split_clients_hash(const void *data, size_t len);

#endif
