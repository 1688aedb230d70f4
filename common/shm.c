/*
 * Shared-memory zones.  The master maps them (MAP_SHARED | MAP_ANONYMOUS)
 * before forking, so every worker inherits the same pages; a reload hands
 * a zone of the same name, size and tag to the new cycle untouched.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "cycle.h"
#include "log.h"
#include "pool.h"
#include "shm.h"

struct shm_zone *
shm_zone_add(struct cycle *c, const char *name, size_t size)
{
	struct shm_zone	*z, **slot;
	size_t		 i;

	for (i = 0; i < c->zones.n; i++) {
		z = *ARRAY_AT(&c->zones, struct shm_zone *, i);
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->size != size) {
			log_error(LOG_EMERG, "the size %zu of shared memory "
			    "zone \"%s\" conflicts with already declared size "
			    "%zu", size, name, z->size);
			return NULL;
		}
		return z;
	}
	if ((z = pool_calloc(c->pool, sizeof(*z))) == NULL ||
	    (slot = array_push(&c->zones)) == NULL)
		return NULL;
	z->name = pool_strdup(c->pool, name);
	z->size = size;
	*slot = z;
	return z->name == NULL ? NULL : z;
}

static struct shm_zone *
find_old(struct cycle *old, const struct shm_zone *z)
{
	struct shm_zone	*o;
	size_t		 i;

	if (old == NULL)
		return NULL;
	for (i = 0; i < old->zones.n; i++) {
		o = *ARRAY_AT(&old->zones, struct shm_zone *, i);
		if (o->addr != NULL && strcmp(o->name, z->name) == 0 &&
		    o->size == z->size && o->tag == z->tag)
			return o;
	}
	return NULL;
}

int
shm_map_all(struct cycle *c, struct cycle *old)
{
	struct shm_zone	*z, *o;
	size_t		 i;

	for (i = 0; i < c->zones.n; i++) {
		z = *ARRAY_AT(&c->zones, struct shm_zone *, i);
		if ((o = find_old(old, z)) != NULL) {
			/* the old cycle's pages, unmapped only if it fails */
			z->addr = o->addr;
			z->reused = true;
			continue;
		}
		z->addr = mmap(NULL, z->size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (z->addr == MAP_FAILED) {
			z->addr = NULL;
			log_error(LOG_EMERG, "mmap(MAP_ANONYMOUS|MAP_SHARED, "
			    "%zu) failed for zone \"%s\" (%d: %s)", z->size,
			    z->name, errno, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static bool
used_by(const struct cycle *c, const void *addr)
{
	struct shm_zone	*z;
	size_t		 i;

	for (i = 0; c != NULL && i < c->zones.n; i++) {
		z = *ARRAY_AT(&c->zones, struct shm_zone *, i);
		if (z->addr == addr)
			return true;
	}
	return false;
}

void
shm_unmap_unused(struct cycle *old, const struct cycle *keep)
{
	struct shm_zone	*z;
	size_t		 i;

	for (i = 0; i < old->zones.n; i++) {
		z = *ARRAY_AT(&old->zones, struct shm_zone *, i);
		if (z->addr != NULL && !used_by(keep, z->addr))
			munmap(z->addr, z->size);
		z->addr = NULL;
	}
}

void
shm_release_new(struct cycle *c)
{
	struct shm_zone	*z;
	size_t		 i;

	for (i = 0; i < c->zones.n; i++) {
		z = *ARRAY_AT(&c->zones, struct shm_zone *, i);
		if (z->addr != NULL && !z->reused)
			munmap(z->addr, z->size);
		z->addr = NULL;
	}
}
