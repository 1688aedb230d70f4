/*
 * Growable arrays of fixed-size elements whose memory comes from a pool.
 * Growing copies into a bigger region; the old one stays in the pool.
 */
#ifndef USHER_COMMON_ARRAY_H
#define USHER_COMMON_ARRAY_H

#include <stddef.h>

struct pool;

struct array {
	void		*elts;
	size_t		 n, cap, size;
	struct pool	*pool;
};

int	 array_init(struct array *, struct pool *, size_t cap, size_t size);
/* A new zeroed element at the end; NULL if out of memory. */
void	*array_push(struct array *);

#define ARRAY_AT(a, type, i)	(&((type *)(a)->elts)[i])

#endif
