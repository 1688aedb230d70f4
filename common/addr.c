/* Address parsing and printing. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "str.h"

static int
parse_port(const char *p, size_t len)
{
	int64_t	v = str_atoi(p, len);

	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int
addr_parse(struct addr *a, const char *s, size_t len, int default_port,
    bool resolve, char *err, size_t errlen)
{
	char		 host[256];
	const char	*colon, *hp;
	size_t		 hlen;
	int		 port = default_port;

	memset(a, 0, sizeof(*a));
	if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
		if (len - 5 == 0 || len - 5 >= sizeof(a->u.sun.sun_path)) {
			snprintf(err, errlen, "invalid unix socket path");
			return -1;
		}
		a->u.sun.sun_family = AF_UNIX;
		memcpy(a->u.sun.sun_path, s + 5, len - 5);
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len - 5 + 1);
		return 0;
	}
	if (len > 0 && s[0] == '[') {
		const char	*rb = memchr(s, ']', len);

		if (rb == NULL) {
			snprintf(err, errlen, "invalid IPv6 address");
			return -1;
		}
		hp = s + 1;
		hlen = (size_t)(rb - hp);
		if ((size_t)(rb - s) + 1 < len) {
			if (rb[1] != ':' || (port = parse_port(rb + 2,
			    len - (size_t)(rb - s) - 2)) == -1) {
				snprintf(err, errlen, "invalid port");
				return -1;
			}
		}
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, hp, hlen);
		host[hlen] = '\0';
		a->u.sin6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &a->u.sin6.sin6_addr) != 1)
			goto bad;
		if (port <= 0)
			goto noport;
		a->u.sin6.sin6_port = htons((uint16_t)port);
		a->len = sizeof(a->u.sin6);
		a->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a->u.sin6.sin6_addr);
		return 0;
	}
	colon = memrchr(s, ':', len);
	if (colon != NULL) {
		hp = s;
		hlen = (size_t)(colon - s);
		if ((port = parse_port(colon + 1, len - hlen - 1)) == -1) {
			snprintf(err, errlen, "invalid port in \"%.*s\"",
			    (int)len, s);
			return -1;
		}
	} else if (str_atoi(s, len) >= 0) {
		/* a bare number is a port on every IPv4 address */
		if ((port = parse_port(s, len)) == -1) {
			snprintf(err, errlen, "invalid port in \"%.*s\"",
			    (int)len, s);
			return -1;
		}
		hp = "*";
		hlen = 1;
	} else {
		hp = s;
		hlen = len;
	}
	if (port <= 0)
		goto noport;
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	a->u.sin.sin_family = AF_INET;
	a->u.sin.sin_port = htons((uint16_t)port);
	a->len = sizeof(a->u.sin);
	if (strcmp(host, "*") == 0) {
		a->u.sin.sin_addr.s_addr = htonl(INADDR_ANY);
		a->wildcard = true;
		return 0;
	}
	if (inet_pton(AF_INET, host, &a->u.sin.sin_addr) == 1) {
		a->wildcard = a->u.sin.sin_addr.s_addr == htonl(INADDR_ANY);
		return 0;
	}
	if (resolve) {
		struct addrinfo	 hints, *res;
		int		 rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
			snprintf(err, errlen, "host not found in \"%.*s\"",
			    (int)len, s);
			return -1;
		}
		memcpy(&a->u, res->ai_addr, res->ai_addrlen);
		a->len = res->ai_addrlen;
		if (a->u.sa.sa_family == AF_INET)
			a->u.sin.sin_port = htons((uint16_t)port);
		else
			a->u.sin6.sin6_port = htons((uint16_t)port);
		freeaddrinfo(res);
		return 0;
	}
bad:
	snprintf(err, errlen, "invalid address \"%.*s\"", (int)len, s);
	return -1;
noport:
	snprintf(err, errlen, "no port in \"%.*s\"", (int)len, s);
	return -1;
}

size_t
addr_format(const struct addr *a, char *buf, size_t size, bool port)
{
	char	ip[INET6_ADDRSTRLEN];
	int	n;

	switch (a->u.sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &a->u.sin.sin_addr, ip, sizeof(ip));
		n = port ? snprintf(buf, size, "%s:%d", ip,
		    ntohs(a->u.sin.sin_port)) : snprintf(buf, size, "%s", ip);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, ip, sizeof(ip));
		n = port ? snprintf(buf, size, "[%s]:%d", ip,
		    ntohs(a->u.sin6.sin6_port)) : snprintf(buf, size, "%s", ip);
		break;
	case AF_UNIX:
		n = snprintf(buf, size, "unix:%s", a->u.sun.sun_path);
		break;
	default:
		n = snprintf(buf, size, "?");
	}
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

int
addr_port(const struct addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.sin.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.sin6.sin6_port);
	return 0;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->u, &b->u, a->len) == 0;
}
