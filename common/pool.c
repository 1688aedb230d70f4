/*
 * The region allocator.  Small allocations are carved from a chain of
 * blocks; large ones get their own malloc and are freed with the pool.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define POOL_ALIGN	16

struct pool_block {
	struct pool_block	*next;
	char			*pos, *end;
};

struct pool_large {
	struct pool_large	*next;
};

struct pool_cleanup {
	struct pool_cleanup	*next;
	void			(*fn)(void *);
	void			*arg;
};

struct pool {
	struct pool_block	 first;		/* its memory follows the struct */
	struct pool_block	*current;
	struct pool_large	*large;
	struct pool_cleanup	*cleanups;
	size_t			 block_size;
};

struct pool *
pool_create(size_t size)
{
	struct pool	*p;

	if (size < 256)
		size = 256;
	if ((p = malloc(sizeof(*p) + size)) == NULL)
		return NULL;
	p->first.next = NULL;
	p->first.pos = (char *)(p + 1);
	p->first.end = p->first.pos + size;
	p->current = &p->first;
	p->large = NULL;
	p->cleanups = NULL;
	p->block_size = size;
	return p;
}

static void
pool_free_extra(struct pool *p)
{
	struct pool_block	*b, *bn;
	struct pool_large	*l, *ln;
	struct pool_cleanup	*c;

	for (c = p->cleanups; c != NULL; c = c->next)
		c->fn(c->arg);
	p->cleanups = NULL;
	for (l = p->large; l != NULL; l = ln) {
		ln = l->next;
		free(l);
	}
	p->large = NULL;
	for (b = p->first.next; b != NULL; b = bn) {
		bn = b->next;
		free(b);
	}
	p->first.next = NULL;
}

void
pool_destroy(struct pool *p)
{
	if (p == NULL)
		return;
	pool_free_extra(p);
	free(p);
}

void
pool_reset(struct pool *p)
{
	pool_free_extra(p);
	p->first.pos = (char *)(p + 1);
	p->current = &p->first;
}

static void *
pool_alloc_large(struct pool *p, size_t size)
{
	struct pool_large	*l;

	if (size > SIZE_MAX - POOL_ALIGN)
		return NULL;
	/* the header is padded to keep the payload aligned */
	if ((l = malloc(POOL_ALIGN + size)) == NULL)
		return NULL;
	l->next = p->large;
	p->large = l;
	return (char *)l + POOL_ALIGN;
}

void *
pool_alloc(struct pool *p, size_t size)
{
	struct pool_block	*b;
	char			*m;
	size_t			 bsize;

	if (size == 0)
		size = 1;
	/* a big block serves big objects too (a request pool is 16 KB) */
	if (size > p->block_size / 2)
		return pool_alloc_large(p, size);
	for (b = p->current; b != NULL; b = b->next) {
		m = (char *)(((uintptr_t)b->pos + POOL_ALIGN - 1) &
		    ~(uintptr_t)(POOL_ALIGN - 1));
		if (m <= b->end && (size_t)(b->end - m) >= size) {
			b->pos = m + size;
			return m;
		}
	}
	bsize = p->block_size;
	if ((b = malloc(sizeof(*b) + POOL_ALIGN + bsize)) == NULL)
		return NULL;
	b->pos = (char *)(b + 1);
	b->end = b->pos + POOL_ALIGN + bsize;
	/* newest block first: it is the one with room */
	b->next = p->current->next;
	p->current->next = b;
	p->current = b;
	m = (char *)(((uintptr_t)b->pos + POOL_ALIGN - 1) &
	    ~(uintptr_t)(POOL_ALIGN - 1));
	b->pos = m + size;
	return m;
}

void *
pool_calloc(struct pool *p, size_t size)
{
	void	*m;

	if ((m = pool_alloc(p, size)) != NULL)
		memset(m, 0, size);
	return m;
}

char *
pool_strndup(struct pool *p, const char *s, size_t len)
{
	char	*d;

	if (len == SIZE_MAX || (d = pool_alloc(p, len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *
pool_strdup(struct pool *p, const char *s)
{
	return pool_strndup(p, s, strlen(s));
}

int
pool_cleanup_add(struct pool *p, void (*fn)(void *), void *arg)
{
	struct pool_cleanup	*c;

	if ((c = pool_alloc(p, sizeof(*c))) == NULL)
		return -1;
	c->fn = fn;
	c->arg = arg;
	c->next = p->cleanups;
	p->cleanups = c;
	return 0;
}
