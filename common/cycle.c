/* The parts of a cycle both processes touch. */
#include <string.h>

#include "cycle.h"
#include "pool.h"

struct open_file *
cycle_open_file(struct cycle *c, const char *path)
{
	struct open_file	*f;
	size_t			 i;

	struct open_file	**slot;

	for (i = 0; i < c->open_files.n; i++) {
		f = *ARRAY_AT(&c->open_files, struct open_file *, i);
		if (strcmp(f->path, path) == 0)
			return f;
	}
	/* allocated one by one: loggers keep pointers while the list grows */
	if ((f = pool_alloc(c->pool, sizeof(*f))) == NULL ||
	    (slot = array_push(&c->open_files)) == NULL)
		return NULL;
	f->path = path;
	f->fd = -1;
	*slot = f;
	return f;
}
