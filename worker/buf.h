/*
 * Per-worker free lists of fixed-size buffers, so a proxied request takes
 * its buffers from a list instead of malloc().
 */
#ifndef USHER_WORKER_BUF_H
#define USHER_WORKER_BUF_H

#include <stddef.h>

/* A buffer of at least size bytes; NULL if out of memory. */
void	*buf_get(size_t size);
/* Gives a buffer from buf_get() back (size as asked). */
void	 buf_put(void *, size_t size);

#endif
