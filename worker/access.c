/*
 * allow and deny: a location's rules, tried in order, the first that
 * matches the client deciding.  Addresses are CIDR networks, "all", or
 * "unix:" for clients on UNIX-domain sockets.
 */
#include <arpa/inet.h>
#include <string.h>

#include "../common/array.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "access.h"
#include "conn.h"
#include "http.h"
#include "http_conf.h"

#define ACCESS_ALL	0		/* family of "all" */
#define ACCESS_UNIX	AF_UNIX

struct access_rule {
	int		 family;	/* AF_INET, AF_INET6, _UNIX or _ALL */
	unsigned	 bits;
	uint8_t		 addr[16];
	bool		 deny;
};

static conf_set_fn	set_rule;

/*	  name     where                    args             parser    field                 extra */
const struct conf_cmd access_cmds[] = {
	{ "allow", CONF_HTTP_ALL | CONF_LMT, CONF_ARGS(1, 1), set_rule, LOC(access_rules), NULL },
	{ "deny",  CONF_HTTP_ALL | CONF_LMT, CONF_ARGS(1, 1), set_rule, LOC(access_rules), NULL },
	{ NULL }
};

static int
parse_net(const char *s, struct access_rule *a)
{
	char		 buf[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(s, '/');
	size_t		 len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned	 max, i;
	int64_t		 bits;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	max = a->family == AF_INET ? 32 : 128;
	a->bits = max;
	if (slash != NULL) {
		bits = str_atoi(slash + 1, strlen(slash + 1));
		if (bits < 0 || bits > max)
			return -1;
		a->bits = (unsigned)bits;
	}
	/* as nginx, host bits set in the network are cleared (a warning) */
	for (i = a->bits; i < max; i++)
		a->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

static int
set_rule(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct array		**a = field;
	struct access_rule	 *r;
	const char		 *v = CONF_ARG(cf, 1);

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL ||
		    array_init(*a, cf->pool, 4, sizeof(*r)) == -1)
			return -1;
	}
	if ((r = array_push(*a)) == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	r->deny = cmd->name[0] == 'd';
	if (strcmp(v, "all") == 0)
		r->family = ACCESS_ALL;
	else if (strcmp(v, "unix:") == 0)
		r->family = ACCESS_UNIX;
	else if (parse_net(v, r) == -1) {
		conf_error(cf, "invalid parameter \"%s\"", v);
		return -1;
	}
	return 0;
}

static bool
matches(const struct access_rule *a, int family, const uint8_t *addr)
{
	unsigned	n = a->bits / 8, rest = a->bits % 8;

	if (a->family == ACCESS_ALL)
		return true;
	if (a->family != family)
		return false;
	if (family == ACCESS_UNIX)
		return true;
	if (memcmp(a->addr, addr, n) != 0)
		return false;
	return rest == 0 ||
	    ((a->addr[n] ^ addr[n]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
access_denied(struct request *r)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	const struct array	*rules = r->loc->access_rules;
	const struct addr	*peer = &r->conn->peer;
	const struct access_rule *a;
	const uint8_t		*addr = NULL;
	int			 family = peer->u.sa.sa_family;
	size_t			 i;

	if (rules == NULL)
		return false;
	if (family == AF_INET)
		addr = (const uint8_t *)&peer->u.sin.sin_addr;
	else if (family == AF_INET6) {
		addr = (const uint8_t *)&peer->u.sin6.sin6_addr;
		/* an IPv4 client on an IPv6 socket is matched as IPv4 */
		if (memcmp(addr, mapped, 12) == 0) {
			addr += 12;
			family = AF_INET;
		}
	}
	for (i = 0; i < rules->n; i++) {
		a = ARRAY_AT(rules, struct access_rule, i);
		if (!matches(a, family, addr))
			continue;
		if (!a->deny)
			return false;
		log_conn(LOG_ERR, r->conn->number, "access forbidden by rule");
		http_special(r, 403);
		return true;
	}
	return false;
}
