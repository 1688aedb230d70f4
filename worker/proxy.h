/*
 * The proxy module: forwards a request to an upstream peer and streams
 * the answer back (proxy_pass).
 */
#ifndef USHER_WORKER_PROXY_H
#define USHER_WORKER_PROXY_H

struct request;

/* The content handler of a location with proxy_pass. */
void	proxy_handler(struct request *);

#endif
