/* The pid file: written by the master, renamed during a binary upgrade. */
#ifndef USHER_MASTER_PIDFILE_H
#define USHER_MASTER_PIDFILE_H

#include <sys/types.h>

int	pidfile_write(const char *path);
/* Removes the file if it still names this process. */
void	pidfile_remove(const char *path);
/* PATH -> PATH.oldbin, and back. */
int	pidfile_rename_old(const char *path);
void	pidfile_restore(const char *path);
/* The pid in the file; -1 after logging why not. */
pid_t	pidfile_read(const char *path);

#endif
