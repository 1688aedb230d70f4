/*
 * Shared-memory zones: anonymous shared mappings made by the master before
 * it forks, so every worker sees the same bytes.  A zone with the same
 * name and size survives a reload (its state is kept).
 */
#ifndef USHER_COMMON_SHM_H
#define USHER_COMMON_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cycle;

struct shm_zone {
	const char	*name;
	size_t		 size;
	void		*addr;		/* NULL until mapped */
	bool		 reused;	/* carried over from the previous cycle */
	uint64_t	 tag;		/* what the owner put there (a layout hash) */
};

/* Declares a zone in a cycle being loaded; the same name twice with
 * different sizes is an error (NULL). */
struct shm_zone	*shm_zone_add(struct cycle *, const char *name, size_t size);
/* Maps every zone of c, reusing those of old with the same name, size
 * and tag; 0 or -1 after logging. */
int		 shm_map_all(struct cycle *c, struct cycle *old);
/* Unmaps the zones of old that keep did not take over. */
void		 shm_unmap_unused(struct cycle *old, const struct cycle *keep);
/* A reload failed: unmaps what shm_map_all() mapped anew for c. */
void		 shm_release_new(struct cycle *c);

/* A tiny spinlock for short critical sections in shared memory. */
static inline void
shm_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static inline void
shm_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

#endif
