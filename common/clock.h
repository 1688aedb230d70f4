/*
 * The cached clock: one clock_gettime per event-loop turn, and the time
 * strings that logs and headers need, formatted once per second.
 */
#ifndef USHER_COMMON_CLOCK_H
#define USHER_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

struct clock_now {
	uint64_t	mono_ms;	/* monotonic, for timers */
	uint64_t	real_ms;	/* wall clock, for $msec and logs */
	time_t		sec;
	char		http_date[64];	/* "Tue, 24 Nov 2026 10:15:02 GMT" */
	char		log_time[64];	/* "2026/11/24 10:15:02" */
	char		local_time[64];	/* "24/Nov/2026:10:15:02 +0000" */
	char		iso8601[64];	/* "2026-11-24T10:15:02+00:00" */
};

extern struct clock_now	clock_now;

/* Refreshes clock_now; cheap when the second has not changed. */
void	clock_update(void);
/* Formats t as an HTTP date into buf (at least 30 bytes). */
void	clock_http_date(char *buf, size_t size, time_t t);
/* Parses an HTTP date (RFC 9110 5.6.7, the three formats); -1 if invalid. */
time_t	clock_parse_http_date(const char *p, size_t len);

#endif
