/*
 * Listening sockets: bound by the master, kept across reloads by address,
 * handed to a new binary on upgrade.
 */
#ifndef USHER_MASTER_LISTEN_H
#define USHER_MASTER_LISTEN_H

struct cycle;

/*
 * Gives every listener of `c` a socket: the one `old` (or the inherited
 * set from the environment) has for the same address, else a new bound
 * one.  nworkers sizes reuseport sets.  0, or -1 after logging.
 */
int	listen_open(struct cycle *c, struct cycle *old, int nworkers);
/* Closes the sockets of `old` that `c` did not take over. */
void	listen_close_unused(struct cycle *old, struct cycle *c);
/* Reads the USHER environment variable of a binary upgrade; 0 or -1. */
int	listen_inherit(void);
/* Whether sockets came from an old binary. */
int	listen_inherited(void);
/* Builds "fd;fd;..." of every socket, for the new binary. */
char	*listen_env(struct cycle *c);
/* Closes inherited sockets nobody took. */
void	listen_close_inherited(void);

#endif
