/* The parts of a cycle both processes touch. */
#include <string.h>

#include "cycle.h"
#include "pool.h"

struct open_file *
cycle_open_file(struct cycle *c, const char *path)
{
	struct open_file	*f;
	size_t			 i;

	for (i = 0; i < c->open_files.n; i++) {
		f = ARRAY_AT(&c->open_files, struct open_file, i);
		if (strcmp(f->path, path) == 0)
			return f;
	}
	if ((f = array_push(&c->open_files)) == NULL)
		return NULL;
	f->path = path;
	f->fd = -1;
	return f;
}
