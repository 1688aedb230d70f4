/*
 * The static file module: the content handler for files under root or
 * alias, with try_files and index.  Its directives are static_conf.c's.
 */
#ifndef USHER_WORKER_STATIC_H
#define USHER_WORKER_STATIC_H

#include <stdbool.h>

struct request;

/* Serves r from the file system (the default content handler); runs the
 * location's try_files first. */
void	static_handler(struct request *);
/*
 * Runs the location's try_files: true when r was answered or redirected,
 * false to go on to the content handler (r->uri may have changed;
 * *add_uri: a regex alias takes the new URI).  static_handler() calls it
 * itself; call it only before another content handler (proxy_pass).
 */
bool	static_try_files(struct request *, bool *add_uri);

#endif
