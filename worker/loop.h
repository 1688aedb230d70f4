/*
 * The worker's event loop: one edge-triggered epoll set, a binary heap of
 * timers, and a list of posted work run after the events of a turn.
 */
#ifndef USHER_WORKER_LOOP_H
#define USHER_WORKER_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io;
typedef void io_fn(struct io *, uint32_t events);

/* Something registered in the epoll set. */
struct io {
	int		 fd;
	io_fn		*on_event;
};

struct timer;
typedef void timer_fn(struct timer *);

struct timer {
	uint64_t	 when;		/* clock_now.mono_ms */
	size_t		 idx;		/* in the heap; 0: not armed */
	timer_fn	*fn;
};

int	 loop_init(int maxevents);
/* Registers fd once, edge-triggered, for both directions. */
int	 loop_add(struct io *);
int	 loop_add_in(struct io *);	/* readable only (listeners) */
void	 loop_del(struct io *);
/* Waits for events (signals in `mask` allowed meanwhile; NULL: the mask
 * stays as it is) and runs them, then due timers. */
void	 loop_once(const sigset_t *mask);

/* (Re)arms t to fire ms from now. */
void	 timer_set(struct timer *, uint64_t ms);
void	 timer_del(struct timer *);
static inline bool
timer_armed(const struct timer *t)
{
	return t->idx != 0;
}
/* Timers armed, for the graceful-exit check. */
size_t	 timer_count(void);

#endif
