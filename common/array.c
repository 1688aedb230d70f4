/* Pool-backed growable arrays. */
#include <stdint.h>
#include <string.h>

#include "array.h"
#include "pool.h"

int
array_init(struct array *a, struct pool *p, size_t cap, size_t size)
{
	a->n = 0;
	a->cap = cap ? cap : 4;
	a->size = size;
	a->pool = p;
	if (a->cap > SIZE_MAX / size)
		return -1;
	a->elts = pool_alloc(p, a->cap * size);
	return a->elts == NULL ? -1 : 0;
}

void *
array_push(struct array *a)
{
	void	*e;

	if (a->elts == NULL && array_init(a, a->pool, 4, a->size) == -1)
		return NULL;
	if (a->n == a->cap) {
		void	*n;

		if (a->cap > SIZE_MAX / 2 / a->size)
			return NULL;
		if ((n = pool_alloc(a->pool, a->cap * 2 * a->size)) == NULL)
			return NULL;
		memcpy(n, a->elts, a->n * a->size);
		a->elts = n;
		a->cap *= 2;
	}
	e = (char *)a->elts + a->n++ * a->size;
	memset(e, 0, a->size);
	return e;
}
