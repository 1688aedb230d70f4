/*
 * Socket addresses: parsing the forms `listen` and `server` accept, and
 * printing them as nginx does ("127.0.0.1:80", "[::1]:80", "unix:/p").
 */
#ifndef USHER_COMMON_ADDR_H
#define USHER_COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

struct addr {
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
		struct sockaddr_un	sun;
	} u;
	socklen_t	len;
	bool		wildcard;	/* INADDR_ANY or in6addr_any */
};

#define ADDR_STRLEN	(sizeof(((struct sockaddr_un *)0)->sun_path) + 8)

/*
 * Parses "ADDR:PORT", "PORT", "[V6]:PORT", "*:PORT", "unix:/path" or, with
 * resolve, "host[:port]" (resolved with getaddrinfo, first result).
 * default_port is used when none is given (0: a port is required).
 * Returns 0, or -1 with a reason in err.
 */
int	addr_parse(struct addr *, const char *s, size_t len, int default_port,
	    bool resolve, char *err, size_t errlen);
/* "127.0.0.1:80"; returns the length written. */
size_t	addr_format(const struct addr *, char *buf, size_t size, bool port);
int	addr_port(const struct addr *);
bool	addr_equal(const struct addr *, const struct addr *);

#endif
