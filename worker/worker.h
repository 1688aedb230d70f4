/*
 * The only door from the master into the worker: the directive tables the
 * master parses with, and the worker's entry point.
 */
#ifndef USHER_WORKER_WORKER_H
#define USHER_WORKER_WORKER_H

#include <stdbool.h>

struct conf_cmd;
struct cycle;

/* Every worker-side directive table, NULL-terminated. */
extern const struct conf_cmd *const	worker_conf_tables[];

/*
 * Runs a worker on the cycle's listeners until told to stop, then exits.
 * index picks its reuseport sockets; single: there is no master (signals
 * come straight from the operator).
 */
__attribute__((noreturn))
void	worker_main(struct cycle *, int index, bool single);

#endif
