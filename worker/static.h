/* The static file module: the content handler for files under root. */
#ifndef USHER_WORKER_STATIC_H
#define USHER_WORKER_STATIC_H

struct request;

/* Serves r from the file system (the default content handler). */
void	static_handler(struct request *);

#endif
