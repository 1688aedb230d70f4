/*
 * Buffer free lists.  A handful of size classes (the configured buffer
 * sizes); each keeps a bounded number of free buffers so an idle worker
 * gives memory back.
 */
#include <stdlib.h>

#include "buf.h"

#define BUF_CLASSES	8
#define BUF_KEEP	256	/* free buffers kept per class */

struct free_buf {
	struct free_buf	*next;
};

struct buf_class {
	size_t		 size;
	struct free_buf	*free;
	unsigned	 nfree;
};

static struct buf_class	classes[BUF_CLASSES];

static struct buf_class *
class_of(size_t size)
{
	int	i;

	for (i = 0; i < BUF_CLASSES; i++) {
		if (classes[i].size == size)
			return &classes[i];
		if (classes[i].size == 0) {
			classes[i].size = size;
			return &classes[i];
		}
	}
	return NULL;
}

void *
buf_get(size_t size)
{
	struct buf_class	*c = class_of(size);
	struct free_buf		*b;

	if (size < sizeof(struct free_buf))
		size = sizeof(struct free_buf);
	if (c != NULL && (b = c->free) != NULL) {
		c->free = b->next;
		c->nfree--;
		return b;
	}
	return malloc(size);
}

void
buf_put(void *p, size_t size)
{
	struct buf_class	*c = class_of(size);
	struct free_buf		*b = p;

	if (p == NULL)
		return;
	if (c == NULL || c->nfree >= BUF_KEEP) {
		free(p);
		return;
	}
	b->next = c->free;
	c->free = b;
	c->nfree++;
}
