/*
 * Region allocator: everything allocated from a pool is freed at once
 * when the pool is destroyed or reset.  Used for configuration (one pool
 * per generation), connections and requests.
 */
#ifndef USHER_COMMON_POOL_H
#define USHER_COMMON_POOL_H

#include <stddef.h>

struct pool;

/* A pool whose first block holds about `size` bytes; NULL if out of memory. */
struct pool	*pool_create(size_t size);
void		 pool_destroy(struct pool *);
/* Frees everything but the first block, and runs the cleanups. */
void		 pool_reset(struct pool *);

/* Aligned memory that lives as long as the pool; NULL if out of memory. */
void		*pool_alloc(struct pool *, size_t);
void		*pool_calloc(struct pool *, size_t);
/* A NUL-terminated copy of s[0..len). */
char		*pool_strndup(struct pool *, const char *s, size_t len);
char		*pool_strdup(struct pool *, const char *s);
/* Runs fn(arg) when the pool is reset or destroyed, newest first. */
int		 pool_cleanup_add(struct pool *, void (*fn)(void *), void *arg);

#endif
