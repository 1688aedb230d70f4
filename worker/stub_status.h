/*
 * stub_status: connection and request counters shared by all workers (a
 * shared-memory zone), and the location handler that prints them in
 * nginx's text format.
 */
#ifndef USHER_WORKER_STUB_STATUS_H
#define USHER_WORKER_STUB_STATUS_H

#include <stdint.h>

#include "../common/conf.h"

struct http_main;
struct request;

enum stat_state {
	STAT_NONE = 0,		/* idle keep-alive ("Waiting") or gone */
	STAT_READING,		/* reading a request head */
	STAT_WRITING		/* a request is being answered */
};

/* $connections_active, _reading, _writing, _waiting */
enum stat_value {
	STAT_ACTIVE = 0,
	STAT_VAL_READING,
	STAT_VAL_WRITING,
	STAT_VAL_WAITING
};

extern const struct conf_cmd	stub_status_cmds[];

/* Declares the zone (at load); points at it (in each worker). */
int	stub_status_declare(struct conf *, struct http_main *);
void	stub_status_attach(struct http_main *);

void	stub_status_accepted(void);
void	stub_status_request(void);
/* Moves a connection between states (NONE also when it closes). */
void	stub_status_move(int *state, int to);
void	stub_status_active(int delta);
/* One of the counters the variables show, across all workers. */
uint64_t	stub_status_value(enum stat_value);
/* The content handler of a location with stub_status. */
void	stub_status_content(struct request *);

#endif
