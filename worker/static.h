/*
 * The static file module: the content handler for files under root or
 * alias, with try_files and index.  Its directives are static_conf.c's.
 */
#ifndef USHER_WORKER_STATIC_H
#define USHER_WORKER_STATIC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct request;
struct str;

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
/*
 * Adds Expires and Cache-Control as the location's expires says (once
 * per response; mtime -1 if unknown); 0 or -1.
 */
int	static_expires(struct request *, time_t mtime);
/* $document_root: the location's root or alias, evaluated; 0 or -1. */
int	static_document_root(struct request *, struct str *out);
/*
 * The request's limit_rate (or limit_rate_after): "set $limit_rate", or the
 * location's, its variables evaluated on first use; an invalid size is 0.
 */
uint64_t static_limit_rate(struct request *, bool after);
/* set $limit_rate */
void	static_set_limit_rate(struct request *, const struct str *v);

#endif
