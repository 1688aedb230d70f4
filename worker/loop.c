/*
 * epoll and the timer heap.  Timers sit in a 1-based binary min-heap
 * keyed on expiry; each knows its index so removal is O(log n).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "loop.h"

static int			 epfd = -1;
static struct epoll_event	*events;
static int			 nevents;
static struct timer		**heap;		/* heap[1..nheap] */
static size_t			 nheap, heapcap;

int
loop_init(int maxevents)
{
	nevents = maxevents;
	if ((events = calloc((size_t)nevents, sizeof(*events))) == NULL)
		return -1;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_error(LOG_EMERG, "epoll_create1() failed (%d: %s)", errno,
		    strerror(errno));
		return -1;
	}
	heapcap = 1024;
	if ((heap = calloc(heapcap + 1, sizeof(*heap))) == NULL)
		return -1;
	return 0;
}

static int
add(struct io *io, uint32_t ev)
{
	struct epoll_event	e;

	e.events = ev;
	e.data.ptr = io;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, io->fd, &e) == -1) {
		log_error(LOG_ALERT, "epoll_ctl(ADD, %d) failed (%d: %s)",
		    io->fd, errno, strerror(errno));
		return -1;
	}
	return 0;
}

int
loop_add(struct io *io)
{
	return add(io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

int
loop_add_in(struct io *io)
{
	return add(io, EPOLLIN | EPOLLEXCLUSIVE);
}

void
loop_del(struct io *io)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* Heap ------------------------------------------------------------------- */

static void
heap_swap(size_t a, size_t b)
{
	struct timer	*t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->idx = a;
	heap[b]->idx = b;
}

static void
sift_up(size_t i)
{
	while (i > 1 && heap[i / 2]->when > heap[i]->when) {
		heap_swap(i, i / 2);
		i /= 2;
	}
}

static void
sift_down(size_t i)
{
	size_t	c;

	for (;;) {
		c = 2 * i;
		if (c > nheap)
			return;
		if (c + 1 <= nheap && heap[c + 1]->when < heap[c]->when)
			c++;
		if (heap[i]->when <= heap[c]->when)
			return;
		heap_swap(i, c);
		i = c;
	}
}

void
timer_del(struct timer *t)
{
	size_t	i = t->idx;

	if (i == 0)
		return;
	t->idx = 0;
	if (i == nheap) {
		nheap--;
		return;
	}
	heap[i] = heap[nheap--];
	heap[i]->idx = i;
	sift_up(i);
	sift_down(heap[i]->idx);
}

void
timer_set(struct timer *t, uint64_t ms)
{
	uint64_t	when = clock_now.mono_ms + ms;

	if (t->idx != 0) {
		/* re-arming to (nearly) the same time is common: skip it */
		if (t->when == when)
			return;
		timer_del(t);
	}
	if (nheap == heapcap) {
		struct timer	**h = realloc(heap, (heapcap * 2 + 1) *
				    sizeof(*heap));

		if (h == NULL) {
			log_error(LOG_ALERT, "out of memory for timers");
			return;
		}
		heap = h;
		heapcap *= 2;
	}
	t->when = when;
	heap[++nheap] = t;
	t->idx = nheap;
	sift_up(nheap);
}

size_t
timer_count(void)
{
	return nheap;
}

static void
run_timers(void)
{
	struct timer	*t;

	while (nheap > 0 && heap[1]->when <= clock_now.mono_ms) {
		t = heap[1];
		timer_del(t);
		t->fn(t);
	}
}

void
loop_once(const sigset_t *mask)
{
	struct io	*io;
	int		 n, i, timeout = -1;

	if (nheap > 0) {
		uint64_t	w = heap[1]->when;

		timeout = w <= clock_now.mono_ms ? 0 :
		    (int)(w - clock_now.mono_ms > 60000 ? 60000 :
		    w - clock_now.mono_ms);
	}
	n = mask != NULL ? epoll_pwait(epfd, events, nevents, timeout, mask) :
	    epoll_wait(epfd, events, nevents, timeout);
	clock_update();
	if (n == -1) {
		if (errno != EINTR)
			log_error(LOG_ALERT, "epoll_pwait() failed (%d: %s)",
			    errno, strerror(errno));
		n = 0;
	}
	for (i = 0; i < n; i++) {
		io = events[i].data.ptr;
		io->on_event(io, events[i].events);
	}
	run_timers();
}
