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

int
cycle_temp_path(struct cycle *c, const char *path)
{
	const char	**slot;
	size_t		  i;

	/* a cycle put together by hand (unit tests) has no list */
	if (c == NULL || c->temp_paths.pool == NULL)
		return 0;
	for (i = 0; i < c->temp_paths.n; i++)
		if (strcmp(*ARRAY_AT(&c->temp_paths, const char *, i),
		    path) == 0)
			return 0;
	if ((slot = array_push(&c->temp_paths)) == NULL)
		return -1;
	*slot = path;
	return 0;
}
