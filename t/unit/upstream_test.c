/*
 * Tests of the upstream files: the upstream block's directives and their
 * errors, placeholders and implicit groups, shared zones kept across a
 * reload, every balancer (smooth WRR's exact sequence, least_conn,
 * ip_hash, hash, hash consistent, random two), failure accounting on a
 * fake clock, backups, max_conns, tries, slow_start, and active health
 * checks against a tiny server on the loopback.
 * The configuration goes through the real reader (common/conf.c); hash
 * keys come from a stub of cvalue_eval().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "common/clock.h"
#include "common/cycle.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/shm.h"
#include "worker/conn.h"
#include "worker/http.h"
#include "worker/http_conf.h"
#include "worker/loop.h"
#include "worker/upstream.h"
#include "worker/upstream_conf.h"

/* Stubs: a hash key is whatever test_key says. */
static const char	*test_key = "";

struct cvalue *
cvalue_compile(struct conf *cf, struct vars *vs, const struct str *src)
{
	struct cvalue	*cv;

	if ((cv = pool_calloc(cf->pool, sizeof(*cv))) == NULL)
		return NULL;
	cv->literal = *src;
	return cv;
}

int
cvalue_eval(struct request *r, const struct cvalue *cv, struct str *out)
{
	out->data = (char *)test_key;
	out->len = strlen(test_key);
	return 0;
}

/* A test-only directive: what proxy_pass does, "ref NAME [PORT]". */
#define MAX_REFS	8
static struct upstream	*refs[MAX_REFS];
static size_t		 nrefs;

static int
set_ref(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	port = CONF_NARGS(cf) == 2 ? atoi(CONF_ARG(cf, 2)) : 0;

	if (nrefs == MAX_REFS)
		return -1;
	refs[nrefs] = upstream_add_port(cf, &cf->node->args[1], true, port);
	return refs[nrefs++] == NULL ? -1 : 0;
}

static const struct conf_cmd	test_cmds[] = {
	{ "ref", CONF_HTTP, CONF_ARGS(1, 2), set_ref, 0, 0, NULL },
	{ NULL }
};
static const struct conf_cmd *const	tables[] = {
	upstream_cmds, test_cmds, NULL
};

/* One load: its cycle, configuration and http block. */
struct load {
	struct pool		*pool;
	struct cycle		 cycle;
	struct conf		 cf;
	struct http_main	 h;
};

static struct load	*cur;
static char		 log_path[] = "/tmp/usher_upstream_logXXXXXX";
static int		 log_fd;
static off_t		 log_mark;
static struct log_target	log_to;
static uint64_t		 fake_now = 1000000;

static void
unload(struct load *l)
{
	if (l == NULL)
		return;
	shm_unmap_unused(&l->cycle, NULL);
	pool_destroy(l->cf.temp);
	pool_destroy(l->pool);
	free(l);
}

/*
 * Reads text as the inside of an http block, as a reload would: zones
 * are mapped, taking over those of prev with the same layout.  The new
 * load becomes `cur`; prev is released.  0, or -1 (the log says why).
 */
static int
load_from(const char *text, struct load *prev)
{
	char			 path[] = "/tmp/usher_upstream_confXXXXXX";
	struct conf_node	 root;
	struct load		*l;
	int			 fd, rc = -1;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->pool = pool_create(16384)) == NULL)
		abort();
	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	l->cycle.pool = l->pool;
	l->cycle.generation = prev != NULL ? prev->cycle.generation + 1 : 0;
	array_init(&l->cycle.zones, l->pool, 4, sizeof(struct shm_zone *));
	l->h.cycle = &l->cycle;
	array_init(&l->h.upstreams, l->pool, 4, sizeof(struct upstream *));
	if (conf_init(&l->cf, l->pool, "/tmp/", path, tables) == -1)
		abort();
	l->cf.owner = &l->cycle;
	l->cf.slots[CONF_SLOT_HTTP] = &l->h;
	nrefs = 0;
	log_mark = lseek(log_fd, 0, SEEK_END);
	if (conf_read(&l->cf, NULL, &root) == 0 &&
	    conf_run_block(&l->cf, &root, CONF_HTTP) == 0 &&
	    upstream_finish(&l->cf, &l->h) == 0 &&
	    shm_map_all(&l->cycle, prev ? &prev->cycle : NULL) == 0 &&
	    upstream_attach_all(&l->h) == 0)
		rc = 0;
	unlink(path);
	if (prev != NULL)
		shm_unmap_unused(&prev->cycle, &l->cycle);
	if (prev == cur)
		cur = NULL;
	unload(prev);
	unload(cur);
	cur = l;
	clock_now.mono_ms = fake_now;
	return rc;
}

static int
load(const char *text)
{
	return load_from(text, NULL);
}

/* A load as the next generation of the current one. */
static int
reload(const char *text)
{
	struct load	*prev = cur;

	cur = NULL;
	return load_from(text, prev);
}

/* Whether the log has s since the last load. */
static bool
logged(const char *s)
{
	static char	buf[65536];
	ssize_t		n;

	n = pread(log_fd, buf, sizeof(buf) - 1, log_mark);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static struct upstream *
ups(const char *name)
{
	struct upstream	*u;
	size_t		 i;

	for (i = 0; cur != NULL && i < cur->h.upstreams.n; i++) {
		u = *ARRAY_AT(&cur->h.upstreams, struct upstream *, i);
		if (strlen(name) == u->name.len &&
		    memcmp(name, u->name.data, u->name.len) == 0)
			return u;
	}
	return NULL;
}

/* The fake clock: logging refreshes clock_now, so set it before each use. */
static void
at(uint64_t ms)
{
	fake_now = ms;
	clock_now.mono_ms = ms;
}

/* Peers in the tests are 10.0.0.N: 'a' is .1, 'b' .2 and so on. */
static char
tag(const struct upstream_peer *p)
{
	const unsigned char	*b;

	if (p == NULL)
		return '-';
	if (p->addr.u.sa.sa_family != AF_INET)
		return '?';
	b = (const unsigned char *)&p->addr.u.sin.sin_addr;
	return (char)('a' + b[3] - 1);
}

static struct request	req;
static struct conn	rconn;

static void
client(const char *ip)
{
	memset(&rconn.peer, 0, sizeof(rconn.peer));
	if (strchr(ip, ':') != NULL) {
		rconn.peer.u.sin6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &rconn.peer.u.sin6.sin6_addr);
		rconn.peer.len = sizeof(rconn.peer.u.sin6);
	} else {
		rconn.peer.u.sin.sin_family = AF_INET;
		inet_pton(AF_INET, ip, &rconn.peer.u.sin.sin_addr);
		rconn.peer.len = sizeof(rconn.peer.u.sin);
	}
	req.conn = &rconn;
}

/* A pick that is released at once, successfully. */
static char
pick1(struct upstream *u)
{
	struct upstream_tries	 t;
	struct upstream_peer	*p;

	memset(&t, 0, sizeof(t));
	clock_now.mono_ms = fake_now;
	p = upstream_pick(u, &req, &t);
	if (p != NULL)
		upstream_release(u, p, false);
	return tag(p);
}

/* A pick that stays open (its connection counted). */
static struct upstream_peer *
hold(struct upstream *u)
{
	struct upstream_tries	t;

	memset(&t, 0, sizeof(t));
	clock_now.mono_ms = fake_now;
	return upstream_pick(u, &req, &t);
}

static void
release(struct upstream *u, struct upstream_peer *p, bool failed)
{
	clock_now.mono_ms = fake_now;
	upstream_release(u, p, failed);
}

static bool
usable(struct upstream *u, struct upstream_peer *p)
{
	clock_now.mono_ms = fake_now;
	return upstream_peer_usable(u, p);
}

static struct upstream_peer *
peer(struct upstream *u, char t)
{
	size_t	i;

	for (i = 0; i < u->npeers; i++)
		if (tag(&u->peers[i]) == t)
			return &u->peers[i];
	for (i = 0; i < u->nbackups; i++)
		if (tag(&u->backups[i]) == t)
			return &u->backups[i];
	return NULL;
}

/* Counts of n picks by tag, as "a=3 b=2". */
static const char *
tally(struct upstream *u, int n)
{
	static char	out[128];
	int		count[27] = { 0 }, i;
	size_t		len = 0;
	char		t;

	for (i = 0; i < n; i++) {
		t = pick1(u);
		count[t >= 'a' && t <= 'z' ? t - 'a' : 26]++;
	}
	out[0] = '\0';
	for (i = 0; i < 27; i++)
		if (count[i] > 0 && len < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
			    "%s%c=%d", len ? " " : "", i < 26 ? 'a' + i : '-',
			    count[i]);
	return out;
}

/* Configuration ---------------------------------------------------------- */

static void
test_directives(void)
{
	struct upstream	*u;

	ok(load("upstream x {\n"
	    "  server 10.0.0.1:8080 weight=5 max_fails=3 fail_timeout=30s "
	    "max_conns=7 slow_start=1m;\n"
	    "  server 10.0.0.2;\n"
	    "  server [::1]:81 down;\n"
	    "  server unix:/tmp/x.sock backup;\n"
	    "  keepalive 16; keepalive_requests 50; keepalive_timeout 30s;\n"
	    "  zone x 64k;\n"
	    "}\n") == 0, "an upstream block with every server parameter");
	u = ups("x");
	ok(u != NULL && u->defined && !u->implicit && u->npeers == 3 &&
	    u->nbackups == 1, "three servers and a backup");
	if (u == NULL || u->npeers != 3 || u->nbackups != 1)
		return;
	is_str(u->peers[0].name, "10.0.0.1:8080", "peer name");
	ok(u->peers[0].weight == 5 && u->peers[0].max_fails == 3 &&
	    u->peers[0].fail_timeout == 30000 && u->peers[0].max_conns == 7 &&
	    u->peers[0].slow_start == 60000, "weight, max_fails, fail_timeout, "
	    "max_conns and slow_start are read");
	ok(u->peers[1].weight == 1 && u->peers[1].max_fails == 1 &&
	    u->peers[1].fail_timeout == 10000 && u->peers[1].max_conns == 0,
	    "nginx's defaults: weight=1 max_fails=1 fail_timeout=10s");
	is_str(u->peers[1].name, "10.0.0.2:80", "the port defaults to 80");
	ok(u->peers[2].down && strcmp(u->peers[2].name, "[::1]:81") == 0,
	    "[v6]:port and down");
	ok(u->backups[0].backup &&
	    strcmp(u->backups[0].name, "unix:/tmp/x.sock") == 0 &&
	    u->backups[0].index == 0, "unix: and backup");
	ok(u->keepalive == 16 && u->keepalive_requests == 50 &&
	    u->keepalive_timeout == 30000, "keepalive directives");
	ok(u->zone != NULL && strcmp(u->zone->name, "x") == 0 &&
	    u->zone->size == 65536 && u->zone->addr != NULL, "zone NAME SIZE");
	ok(u->balancer == UPSTREAM_RR && !u->health.enabled,
	    "round-robin and no health checks by default");

	ok(load("upstream d { server 10.0.0.1; }") == 0 &&
	    ups("d")->keepalive == 0 && ups("d")->keepalive_requests == 1000 &&
	    ups("d")->keepalive_timeout == 60000 &&
	    strcmp(ups("d")->zone->name, "upstream:d") == 0,
	    "defaults: keepalive off, 1000 requests, 60s; zone upstream:NAME");

	ok(load("upstream l { server localhost:8080; }") == 0 &&
	    ups("l")->npeers >= 1 &&
	    strcmp(ups("l")->peers[0].server.data, "localhost:8080") == 0,
	    "a host name resolves at load, to every address");

	ok(load("upstream m { least_conn; server 10.0.0.1; }\n"
	    "upstream i { ip_hash; server 10.0.0.1; }\n"
	    "upstream h { hash $uri; server 10.0.0.1; }\n"
	    "upstream c { hash $uri consistent; server 10.0.0.1 weight=2; }\n"
	    "upstream r { random; server 10.0.0.1; }\n"
	    "upstream t { random two least_conn; server 10.0.0.1; }\n") == 0,
	    "every balancing method");
	ok(ups("m")->balancer == UPSTREAM_LEAST_CONN &&
	    ups("i")->balancer == UPSTREAM_IP_HASH &&
	    ups("h")->balancer == UPSTREAM_HASH && !ups("h")->consistent &&
	    ups("h")->hash_key != NULL &&
	    ups("c")->consistent && ups("c")->nring == 320 &&
	    ups("r")->balancer == UPSTREAM_RANDOM && !ups("r")->random_two &&
	    ups("t")->random_two && ups("t")->random_least_conn,
	    "each method is recorded; the ring has 160 points per weight");
}

static void
test_health_conf(void)
{
	struct upstream_health	*h;

	ok(load("upstream a { server 10.0.0.1; health_check; }\n"
	    "upstream b { server 10.0.0.1; health_check interval=1s; }\n"
	    "upstream c { server 10.0.0.1; health_check interval=10 "
	    "timeout=500ms fails=3 passes=2 uri=/hc?x=1 status=200-204 "
	    "body=alive; }\n") == 0, "health_check with and without "
	    "parameters");
	h = &ups("a")->health;
	ok(h->enabled && h->interval == 5000 && h->timeout == 2000 &&
	    h->fails == 1 && h->passes == 1 && h->uri.len == 1 &&
	    h->status_min == 200 && h->status_max == 399 && h->body.len == 0,
	    "defaults: 5s, 2s, 1, 1, /, 200-399, no body");
	is_int(ups("b")->health.timeout, 1000,
	    "the timeout is at most the interval");
	h = &ups("c")->health;
	ok(h->interval == 10000 && h->timeout == 500 && h->fails == 3 &&
	    h->passes == 2 && strcmp(h->uri.data, "/hc?x=1") == 0 &&
	    h->status_min == 200 && h->status_max == 204 &&
	    strcmp(h->body.data, "alive") == 0, "every parameter is read");
}

static void
refuses(const char *conf, const char *msg, const char *what)
{
	if (!ok(load(conf) == -1 && logged(msg), "%s", what))
		printf("#   wanted \"%s\" in the log\n", msg);
}

static void
test_errors(void)
{
	refuses("upstream a { server 10.0.0.1; }\nupstream a { server "
	    "10.0.0.2; }", "duplicate upstream \"a\"", "a duplicate upstream");
	refuses("upstream a { }", "no servers are inside upstream in",
	    "an empty upstream");
	refuses("upstream a { server 10.0.0.1 backup; }",
	    "no servers are inside upstream", "only backups");
	refuses("upstream a { server 10.0.0.1 weight=0; }",
	    "invalid parameter \"weight=0\"", "weight=0");
	refuses("upstream a { server 10.0.0.1 weight=x; }",
	    "invalid parameter \"weight=x\"", "weight=x");
	refuses("upstream a { server 10.0.0.1 fail_timeout=1q; }",
	    "invalid parameter \"fail_timeout=1q\"", "a bad time");
	refuses("upstream a { server 10.0.0.1 resolve; }",
	    "invalid parameter \"resolve\"", "an unknown parameter");
	refuses("upstream a { server 10.0.0.1:0; }",
	    "invalid port in upstream \"10.0.0.1:0\"", "port 0");
	refuses("upstream a { server ::1:80; }",
	    "invalid host in upstream \"::1:80\"", "IPv6 without brackets");
	refuses("upstream a { server no-such-host.invalid; }",
	    "host not found in upstream \"no-such-host.invalid\"",
	    "an unknown host");
	refuses("upstream a { ip_hash; server 10.0.0.1; server 10.0.0.2 "
	    "backup; }", "balancing method does not support parameter "
	    "\"backup\"", "backup after ip_hash");
	refuses("upstream a { server 10.0.0.1; server 10.0.0.2 backup; "
	    "hash $uri; }", "balancing method does not support parameter "
	    "\"backup\"", "hash after a backup");
	refuses("upstream a { random; server 10.0.0.2 backup; }",
	    "balancing method does not support parameter \"backup\"",
	    "backup with random");
	refuses("upstream a { ip_hash; server 10.0.0.1 slow_start=10s; }",
	    "balancing method does not support parameter \"slow_start=10s\"",
	    "slow_start after ip_hash");
	refuses("upstream a { server 10.0.0.1 slow_start=10s; random; }",
	    "balancing method does not support parameter \"slow_start\"",
	    "random after slow_start");
	refuses("upstream a { least_conn; ip_hash; server 10.0.0.1; }",
	    "load balancing method redefined", "two methods");
	refuses("upstream a { hash $uri inconsistent; server 10.0.0.1; }",
	    "invalid parameter \"inconsistent\"", "hash KEY junk");
	refuses("upstream a { random three; server 10.0.0.1; }",
	    "invalid parameter \"three\"", "random junk");
	refuses("upstream a { server 10.0.0.1; keepalive 0; }",
	    "\"keepalive\" must be between", "keepalive 0");
	refuses("upstream a { server 10.0.0.1; health_check uri=x; }",
	    "invalid parameter \"uri=x\"", "a health URI without a slash");
	refuses("upstream a { server 10.0.0.1; health_check \"uri=/a b\"; }",
	    "invalid parameter \"uri=/a b\"", "a health URI with a space");
	refuses("upstream a { server 10.0.0.1; health_check interval=0; }",
	    "invalid parameter \"interval=0\"", "interval=0");
	refuses("upstream a { server 10.0.0.1; health_check status=300-200; }",
	    "invalid parameter \"status=300-200\"", "a status range upside "
	    "down");
	refuses("upstream a { server 10.0.0.1; health_check; health_check; }",
	    "\"health_check\" directive is duplicate", "two health_check");
	refuses("upstream a { server 10.0.0.1; zone z 100; }",
	    "zone \"z\" is too small", "a zone too small");
	refuses("upstream a { server 10.0.0.1; zone z 64k; }\n"
	    "upstream b { server 10.0.0.1; zone z 128k; }\n",
	    "conflicts with already declared size", "one zone, two sizes");
	refuses("ref backend:8080;\nupstream backend { server 10.0.0.1; }",
	    "upstream \"backend\" may not have port 8080", "a port on an "
	    "upstream's name");
	refuses("upstream a { server 10.0.0.1; }\n\n\n"
	    "ref no-such-host.invalid;",
	    "host not found in upstream \"no-such-host.invalid\" in ",
	    "an implicit upstream that does not resolve");
	ok(logged(":4\n"), "... named at the proxy_pass's line");
	refuses("server 10.0.0.1;", "\"server\" directive is not allowed here",
	    "server outside upstream");
}

static void
test_placeholders(void)
{
	ok(load("ref early;\nref early 443;\n"
	    "upstream early { server 10.0.0.1; server 10.0.0.2; }\n"
	    "ref early;\nref 127.0.0.1:9000;\nref localhost 443;\n"
	    "ref 127.0.0.1:9000;\n") == 0, "references before and after "
	    "the block, and implicit ones");
	if (nrefs != 7)
		return;
	ok(refs[0] == ups("early") && refs[3] == refs[0] && refs[0]->defined &&
	    refs[0]->npeers == 2, "a reference before the block is the "
	    "block itself");
	ok(refs[1] != refs[0] && refs[1]->alias_of == refs[0] &&
	    refs[1]->peers == refs[0]->peers && refs[1]->zone == refs[0]->zone
	    && refs[1]->peers[0].shared != NULL, "another port's reference "
	    "becomes a copy sharing the peers");
	ok(refs[4]->implicit && refs[4]->npeers == 1 &&
	    strcmp(refs[4]->peers[0].name, "127.0.0.1:9000") == 0 &&
	    refs[4]->peers[0].max_fails == 1 &&
	    refs[4]->peers[0].fail_timeout == 10000 && refs[4] == refs[6],
	    "host:port makes one implicit upstream, shared by references");
	ok(refs[5]->implicit && refs[5]->npeers >= 1 &&
	    addr_port(&refs[5]->peers[0].addr) == 443,
	    "an implicit upstream without a port takes the default one");
	ok(refs[4]->zone != NULL && refs[4]->peers[0].shared != NULL &&
	    refs[4]->keepalive_requests == 1000, "implicit upstreams have "
	    "zones and defaults too");
}

static void
test_zones(void)
{
	struct upstream_peer	*p;

	ok(load("upstream a { server 10.0.0.1; server 10.0.0.2; zone z; }\n"
	    "upstream b { server 10.0.0.3; zone z; }\n") == 0 &&
	    ups("a")->zone == ups("b")->zone && ups("a")->zone_offset == 0 &&
	    ups("b")->zone_offset == upstream_shared_size(ups("a")) &&
	    ups("a")->zone->size == upstream_shared_size(ups("a")) +
	    upstream_shared_size(ups("b")), "two upstreams share a zone, "
	    "each in its own part");

	at(1000000);
	load("upstream a { server 10.0.0.1; server 10.0.0.2; zone z; }\n"
	    "upstream b { server 10.0.0.1; }");
	p = peer(ups("a"), 'a');
	release(ups("a"), hold(ups("a")), false);
	p->shared->fails = 1;
	p->shared->fail_start = fake_now;
	peer(ups("b"), 'a')->shared->fails = 1;
	reload("upstream a { server 10.0.0.1; server 10.0.0.2; zone z; }\n"
	    "upstream b { server 10.0.0.1; }");
	ok(ups("a")->zone->reused && peer(ups("a"), 'a')->shared->fails == 1 &&
	    peer(ups("a"), 'a')->shared->requests == 1,
	    "a reload with the same servers keeps a named zone's state");
	ok(!ups("b")->zone->reused && peer(ups("b"), 'a')->shared->fails == 0,
	    "... but not the state of a group without a zone");
	peer(ups("a"), 'a')->shared->health_down = 1;
	reload("upstream a { server 10.0.0.1; server 10.0.0.2; zone z; }");
	ok(ups("a")->zone->reused && peer(ups("a"), 'a')->shared->fails == 1 &&
	    !peer(ups("a"), 'a')->shared->health_down, "... and without "
	    "health_check, no peer stays down by its checks");
	reload("upstream a { server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3; zone z; }");
	ok(!ups("a")->zone->reused && peer(ups("a"), 'a')->shared->fails == 0,
	    "a reload with other servers starts afresh");
}

/* Balancers -------------------------------------------------------------- */

static void
test_rr(void)
{
	struct upstream	*u;
	char		 seq[15];
	int		 i;

	at(1000000);
	load("upstream w { server 10.0.0.1 weight=5; server 10.0.0.2; "
	    "server 10.0.0.3; }");
	u = ups("w");
	for (i = 0; i < 14; i++)
		seq[i] = pick1(u);
	seq[14] = '\0';
	is_str(seq, "aabacaaaabacaa", "smooth WRR, weights 5 1 1: nginx's "
	    "sequence, twice");

	load("upstream e { server 10.0.0.1 weight=3; server 10.0.0.2 weight=2; "
	    "server 10.0.0.3; }\nupstream f { server 10.0.0.1; "
	    "server 10.0.0.2; server 10.0.0.3; server 10.0.0.4; }");
	is_str(tally(ups("e"), 6000), "a=3000 b=2000 c=1000",
	    "weights 3 2 1 over 6000 picks: exact shares");
	is_str(tally(ups("f"), 4000), "a=1000 b=1000 c=1000 d=1000",
	    "four equal servers over 4000 picks: 1000 each");
}

static void
test_failures(void)
{
	struct upstream		*u;
	struct upstream_peer	*a, *p;
	int			 i;
	bool			 only_b;

	at(1000000);
	load("upstream f { server 10.0.0.1 max_fails=2 fail_timeout=10s; "
	    "server 10.0.0.2; }");
	u = ups("f");
	a = peer(u, 'a');
	release(u, hold(u), true);	/* picks a first */
	ok(usable(u, a), "one failure of max_fails=2: usable");
	at(1005000);
	p = hold(u);
	while (p != a) {
		release(u, p, false);
		p = hold(u);
	}
	release(u, a, true);
	ok(!usable(u, a) && logged("upstream server "
	    "10.0.0.1:80 of \"f\" temporarily disabled"), "two failures "
	    "within fail_timeout: disabled, and logged");
	is_str(tally(u, 10), "b=10", "a disabled server is skipped");
	at(1014999);
	ok(!usable(u, a), "still disabled just before "
	    "fail_timeout has passed since the last failure");
	at(1015000);
	ok(usable(u, a), "usable again after fail_timeout");
	only_b = true;
	p = hold(u);
	while (p != a) {
		release(u, p, false);
		p = hold(u);
	}
	for (i = 0; i < 5; i++)
		only_b = only_b && pick1(u) == 'b';
	ok(only_b, "while its trial request runs, the others keep away");
	release(u, a, true);
	ok(!usable(u, a), "a failed trial disables it again");
	at(1025000);
	p = hold(u);
	while (p != a) {
		release(u, p, false);
		p = hold(u);
	}
	release(u, a, false);
	ok(usable(u, a) && a->shared->fails == 0 &&
	    a->shared->up_since == 1025000, "a successful trial forgives "
	    "the failures");

	at(2000000);
	load("upstream g { server 10.0.0.1 max_fails=2 fail_timeout=10s; "
	    "server 10.0.0.2; }");
	u = ups("g");
	a = peer(u, 'a');
	a->shared->conns++;
	release(u, a, true);
	at(2011000);
	a->shared->conns++;
	release(u, a, true);
	ok(usable(u, a) && a->shared->fails == 1,
	    "failures further apart than fail_timeout do not add up");

	load("upstream z { server 10.0.0.1 max_fails=0; server 10.0.0.2; }\n"
	    "upstream s { server 10.0.0.1; }");
	u = ups("z");
	a = peer(u, 'a');
	for (i = 0; i < 5; i++) {
		a->shared->conns++;
		release(u, a, true);
	}
	ok(usable(u, a), "max_fails=0: never disabled");
	u = ups("s");
	release(u, hold(u), true);
	ok(usable(u, &u->peers[0]) && pick1(u) == 'a',
	    "a lone server is never disabled for its failures (nginx)");
}

static void
test_backup_down_tries(void)
{
	struct upstream		*u;
	struct upstream_tries	 t;
	struct upstream_peer	*p[5];

	at(1000000);
	load("upstream b { server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.9 backup; }\n"
	    "upstream d { server 10.0.0.1 down; server 10.0.0.2; "
	    "server 10.0.0.3 down; }\n"
	    "upstream t { server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3; }");
	u = ups("b");
	is_str(tally(u, 100), "a=50 b=50", "backup: unused while the "
	    "primaries are up");
	release(u, hold(u), true);
	is_str(tally(u, 10), "b=10", "backup: unused while one primary is up");
	release(u, hold(u), true);
	is_str(tally(u, 10), "i=10", "backup: used when every primary failed");
	at(1010000);
	ok(strchr(tally(u, 4), 'i') == NULL, "backup: left when the "
	    "primaries are back");

	is_str(tally(ups("d"), 20), "b=20", "down servers are skipped");

	u = ups("b");
	memset(&t, 0, sizeof(t));
	p[0] = upstream_pick(u, &req, &t);
	p[1] = upstream_pick(u, &req, &t);
	p[2] = upstream_pick(u, &req, &t);
	p[3] = upstream_pick(u, &req, &t);
	ok(p[0] != NULL && p[1] != NULL && p[0] != p[1] && tag(p[2]) == 'i' &&
	    t.in_backup && p[3] == NULL && t.ntried == 3, "tries: each "
	    "primary once, then the backup, then none");
	release(u, p[0], false);
	release(u, p[1], false);
	release(u, p[2], false);

	u = ups("t");
	memset(&t, 0, sizeof(t));
	p[0] = upstream_pick(u, &req, &t);
	p[1] = upstream_pick(u, &req, &t);
	p[2] = upstream_pick(u, &req, &t);
	p[3] = upstream_pick(u, &req, &t);
	ok(p[0] && p[1] && p[2] && p[0] != p[1] && p[1] != p[2] &&
	    p[0] != p[2] && p[3] == NULL, "tries: three servers, three "
	    "different picks, then none");
	release(u, p[0], false);
	release(u, p[1], false);
	release(u, p[2], false);
	ok(u->peers[0].shared->conns == 0 && u->peers[1].shared->conns == 0 &&
	    u->peers[2].shared->conns == 0 && u->peers[0].shared->requests == 1,
	    "picks count connections and releases uncount them");
}

static void
test_max_conns(void)
{
	struct upstream		*u;
	struct upstream_peer	*a, *b;

	at(1000000);
	load("upstream m { server 10.0.0.1 max_conns=1; server 10.0.0.2; }\n"
	    "upstream o { server 10.0.0.1 max_conns=2; }");
	u = ups("m");
	a = hold(u);
	ok(tag(a) == 'a', "max_conns=1: the first pick takes the slot");
	is_str(tally(u, 10), "b=10", "max_conns: a full server is skipped");
	release(u, a, false);
	is_str(tally(u, 2), "a=1 b=1", "max_conns: back once released");

	u = ups("o");
	a = hold(u);
	b = hold(u);
	ok(a != NULL && b != NULL && hold(u) == NULL,
	    "max_conns: no peer at all once every slot is taken");
	release(u, a, false);
	release(u, b, false);
}

static void
test_least_conn(void)
{
	struct upstream		*u;
	struct upstream_peer	*p[8];
	int			 i;

	at(1000000);
	load("upstream l { least_conn; server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3; }\n"
	    "upstream w { least_conn; server 10.0.0.1 weight=3; "
	    "server 10.0.0.2; }\n"
	    "upstream k { least_conn; server 10.0.0.1; server 10.0.0.2 "
	    "backup; server 10.0.0.3 backup; }");
	u = ups("l");
	is_str(tally(u, 300), "a=100 b=100 c=100", "least_conn, all idle: "
	    "the ties take turns");
	p[0] = hold(u);
	p[1] = hold(u);
	p[2] = hold(u);
	ok(p[0] && p[1] && p[2] && p[0] != p[1] && p[1] != p[2] &&
	    p[0] != p[2], "least_conn: three held picks, three servers");
	release(u, p[1], false);
	ok(hold(u) == p[1], "least_conn: the one with fewest connections");
	release(u, p[0], false);
	ok(hold(u) == p[0], "least_conn: again");
	release(u, p[0], false);
	release(u, p[1], false);
	release(u, p[2], false);

	u = ups("w");
	for (i = 0; i < 8; i++)
		p[i] = hold(u);
	ok(peer(u, 'a')->shared->conns == 6 && peer(u, 'b')->shared->conns == 2,
	    "least_conn with weights 3 1: connections 6 and 2");
	for (i = 0; i < 8; i++)
		release(u, p[i], false);

	u = ups("k");
	u->peers[0].shared->health_down = 1;
	p[0] = hold(u);
	p[1] = hold(u);
	ok(p[0] && p[1] && p[0] != p[1] && p[0]->backup && p[1]->backup,
	    "least_conn: backups also go to the least busy");
	release(u, p[0], false);
	release(u, p[1], false);
}

static void
test_ip_hash(void)
{
	struct upstream	*u;
	char		 ip[32], first, t, was;
	int		 i, seen[3] = { 0 };
	bool		 same = true, kept = true;

	at(1000000);
	load("upstream i { ip_hash; server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3; }");
	u = ups("i");
	client("192.168.1.10");
	first = pick1(u);
	for (i = 0; i < 50; i++)
		same = same && pick1(u) == first;
	client("192.168.1.200");
	same = same && pick1(u) == first;
	ok(same && first != '-', "ip_hash: a client, and its /24, always go "
	    "to the same server");
	client("::ffff:192.168.1.77");
	ok(pick1(u) == first, "ip_hash: an IPv4-mapped address hashes as "
	    "IPv4");
	for (i = 0; i < 256; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i, (i * 7) % 256);
		client(ip);
		t = pick1(u);
		if (t >= 'a' && t <= 'c')
			seen[t - 'a']++;
	}
	ok(seen[0] > 40 && seen[1] > 40 && seen[2] > 40, "ip_hash: 256 "
	    "networks spread over three servers (%d %d %d)", seen[0], seen[1],
	    seen[2]);
	client("192.168.1.10");
	peer(u, first)->shared->health_down = 1;
	t = pick1(u);
	ok(t != first && t != '-', "ip_hash: when its server is down, the "
	    "client goes to another");
	for (i = 0; i < 64; i++) {
		snprintf(ip, sizeof(ip), "172.16.%d.1", i);
		client(ip);
		peer(u, first)->shared->health_down = 0;
		was = pick1(u);
		peer(u, first)->shared->health_down = 1;
		if (was != first && pick1(u) != was)
			kept = false;
	}
	ok(kept, "ip_hash: the other servers' clients stay where they were");
	peer(u, first)->shared->health_down = 0;
	client("2001:db8::1");
	first = pick1(u);
	ok(first != '-' && pick1(u) == first, "ip_hash: IPv6 clients too");
	req.conn = NULL;
	ok(pick1(u) != '-', "ip_hash: without a client address, round-robin");
	client("10.0.0.1");
}

static const char *
key(int i)
{
	static char	buf[32];

	snprintf(buf, sizeof(buf), "key%d", i);
	return buf;
}

static void
test_hash(void)
{
	static char	 map4[10000], map5[10000];
	struct upstream	*u4, *u5, *h;
	int		 i, moved = 0, to_new = 0, per[4] = { 0 };
	char		 t, first;
	bool		 same = true, stay = true;

	at(1000000);
	load("upstream c4 { hash $k consistent; server 10.0.0.1; "
	    "server 10.0.0.2; server 10.0.0.3; server 10.0.0.4; }\n"
	    "upstream c5 { hash $k consistent; server 10.0.0.1; "
	    "server 10.0.0.2; server 10.0.0.3; server 10.0.0.4; "
	    "server 10.0.0.5; }\n"
	    "upstream h { hash $k; server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3 weight=2; }");
	u4 = ups("c4");
	u5 = ups("c5");
	for (i = 0; i < 10000; i++) {
		test_key = key(i);
		map4[i] = pick1(u4);
		map5[i] = pick1(u5);
		if (map4[i] >= 'a' && map4[i] <= 'd')
			per[map4[i] - 'a']++;
		if (map4[i] != map5[i]) {
			moved++;
			to_new += map5[i] == 'e';
		}
		same = same && pick1(u4) == map4[i];
	}
	ok(same, "hash consistent: a key always goes to the same server");
	ok(per[0] > 1500 && per[1] > 1500 && per[2] > 1500 && per[3] > 1500,
	    "hash consistent: 10000 keys spread over 4 servers (%d %d %d %d)",
	    per[0], per[1], per[2], per[3]);
	ok(moved > 1000 && moved < 3000, "hash consistent: a 5th server "
	    "takes about 1/5 of the keys (%d of 10000 moved)", moved);
	is_int(to_new, moved, "hash consistent: every key that moves goes to "
	    "the new server");
	peer(u4, 'b')->shared->health_down = 1;
	for (i = 0; i < 2000; i++) {
		test_key = key(i);
		t = pick1(u4);
		if (t == 'b' || t == '-' || (map4[i] != 'b' && t != map4[i]))
			stay = false;
	}
	ok(stay, "hash consistent: a server down moves only its own keys");
	peer(u4, 'b')->shared->health_down = 0;

	h = ups("h");
	memset(per, 0, sizeof(per));
	same = true;
	for (i = 0; i < 4000; i++) {
		test_key = key(i);
		first = pick1(h);
		same = same && pick1(h) == first;
		if (first >= 'a' && first <= 'c')
			per[first - 'a']++;
	}
	ok(same, "hash: a key always goes to the same server");
	ok(per[0] > 700 && per[1] > 700 && per[2] > 1600, "hash: keys spread "
	    "by weight 1 1 2 (%d %d %d)", per[0], per[1], per[2]);
	test_key = "abc";
	first = pick1(h);
	peer(h, first)->shared->health_down = 1;
	t = pick1(h);
	ok(t != first && t != '-', "hash: a key whose server is down is "
	    "rehashed to another");
	peer(h, first)->shared->health_down = 0;
	test_key = "";
	is_str(tally(h, 4), "a=1 b=1 c=2", "hash: an empty key falls back to "
	    "round-robin");
}

static void
test_random(void)
{
	struct upstream	*u;
	const char	*s;
	int		 a, b;

	at(1000000);
	load("upstream r { random; server 10.0.0.1 weight=3; "
	    "server 10.0.0.2; }\n"
	    "upstream t { random two; server 10.0.0.1; server 10.0.0.2; "
	    "server 10.0.0.3; }");
	upstream_random_seed(42);
	s = tally(ups("r"), 4000);
	ok(sscanf(s, "a=%d b=%d", &a, &b) == 2 && a > 2800 && a < 3200,
	    "random: weights 3 1 over 4000 picks (%s)", s);
	u = ups("t");
	s = tally(u, 3000);
	ok(sscanf(s, "a=%d b=%d", &a, &b) == 2 && a > 800 && b > 800,
	    "random two, all idle: spread (%s)", s);
	peer(u, 'b')->shared->conns = 5;
	s = tally(u, 1000);
	ok(strstr(s, "b=") == NULL, "random two: the busy server is never "
	    "picked (%s)", s);
	peer(u, 'b')->shared->conns = 0;
}

static void
test_slow_start(void)
{
	struct upstream		*u;
	struct upstream_peer	*a;
	const char		*s;
	int			 na, nb;

	at(1000000);
	load("upstream s { server 10.0.0.1 weight=10 slow_start=10s; "
	    "server 10.0.0.2 weight=10; }");
	u = ups("s");
	a = peer(u, 'a');
	ok(upstream_peer_weight(a, fake_now) == 10, "slow_start: full weight "
	    "when it never came back");
	a->shared->up_since = fake_now;
	ok(upstream_peer_weight(a, fake_now) == 1 &&
	    upstream_peer_weight(a, fake_now + 5000) == 5 &&
	    upstream_peer_weight(a, fake_now + 10000) == 10,
	    "slow_start: the weight grows from 1 to 10 over 10s");
	s = tally(u, 110);
	ok(sscanf(s, "a=%d b=%d", &na, &nb) == 2 && na == 10 && nb == 100,
	    "slow_start: picks follow the reduced weight (%s)", s);
}

/* Health checks ---------------------------------------------------------- */

static void
diag_write_failed(void)
{
	printf("# the test server could not answer (%d)\n", errno);
}

/* The server side: answers every request with `answer`, then closes. */
static const char	*answer;
static char		 last_request[512];

struct srv_conn {
	struct io	 io;
	char		 buf[512];
	size_t		 len;
	bool		 done;
};

/* Every connection accepted, freed at the end. */
static struct srv_conn	*srv_conns[256];
static size_t		 nsrv_conns;

static void
on_srv_conn(struct io *io, uint32_t ev)
{
	struct srv_conn	*c = (struct srv_conn *)io;
	ssize_t		 n;

	while ((n = read(io->fd, c->buf + c->len,
	    sizeof(c->buf) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "\r\n\r\n") == NULL && n != 0)
		return;
	memcpy(last_request, c->buf, c->len + 1);
	c->done = true;
	loop_del(io);
	if (write(io->fd, answer, strlen(answer)) < 0)
		diag_write_failed();
	close(io->fd);
}

static void
on_srv_accept(struct io *io, uint32_t ev)
{
	struct srv_conn	*c;
	int		 fd;

	while ((fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			abort();
		c->io.fd = fd;
		c->io.on_event = on_srv_conn;
		loop_add(&c->io);
		if (nsrv_conns == sizeof(srv_conns) / sizeof(srv_conns[0])) {
			/* reuse a finished one's slot */
			size_t	i;

			for (i = 0; i < nsrv_conns && !srv_conns[i]->done; i++)
				;
			if (i == nsrv_conns)
				abort();
			free(srv_conns[i]);
			srv_conns[i] = c;
		} else
			srv_conns[nsrv_conns++] = c;
	}
}

static int
listener(int *port, bool accepting, struct io *io)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	*port = ntohs(sin.sin_port);
	if (accepting) {
		io->fd = fd;
		io->on_event = on_srv_accept;
		loop_add_in(io);
	}
	return fd;
}

/* Runs the loop until cond holds or ms pass; whether it held. */
static bool
run_until(bool (*cond)(void), uint64_t ms)
{
	sigset_t	mask;
	uint64_t	end;

	sigemptyset(&mask);
	clock_update();
	end = clock_now.mono_ms + ms;
	while (!cond() && clock_now.mono_ms < end)
		loop_once(&mask);
	return cond();
}

static struct upstream	*hu;

static bool
a_down(void)
{
	return peer(hu, 'a') == NULL ? hu->peers[0].shared->health_down :
	    peer(hu, 'a')->shared->health_down;
}

static bool
a_up(void)
{
	return !a_down() && hu->peers[0].shared->health_passes >= 1;
}

static bool
all_down(void)
{
	size_t	i;

	for (i = 0; i < hu->npeers; i++)
		if (!hu->peers[i].shared->health_down)
			return false;
	return true;
}

static void
test_health(void)
{
	char		 conf[1024], want[256];
	struct io	 lio;
	int		 port, dead_port, mute_port, dead_fd, mute_fd, lfd;

	if (loop_init(64) == -1)
		abort();
	lfd = listener(&port, true, &lio);
	dead_fd = listener(&dead_port, false, NULL);
	close(dead_fd);		/* nothing listens there now */
	mute_fd = listener(&mute_port, false, NULL);	/* never answers */

	answer = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall OK\n";
	snprintf(conf, sizeof(conf), "upstream hc { server 127.0.0.1:%d; "
	    "server 127.0.0.2:1 down; health_check interval=50ms fails=2 "
	    "passes=2 uri=/health status=200 body=OK; }", port);
	ok(load(conf) == 0, "an upstream with health checks");
	hu = ups("hc");
	upstream_health_start(cur->h.upstreams.elts, cur->h.upstreams.n);
	ok(run_until(a_up, 2000), "a healthy server passes its checks");
	snprintf(want, sizeof(want), "GET /health HTTP/1.0\r\nHost: "
	    "127.0.0.1:%d\r\nUser-Agent: usher-health\r\nConnection: close"
	    "\r\n\r\n", port);
	is_str(last_request, want, "the check's request");

	answer = "HTTP/1.0 500 Oops\r\n\r\nOK";
	ok(run_until(a_down, 2000), "a 500 twice: marked down");
	ok(logged("upstream server 127.0.0.1:"), "... and logged");
	ok(logged("of \"hc\" failed health check: status 500, marked down"),
	    "... with the reason");
	ok(!usable(hu, &hu->peers[0]) && hold(hu) == NULL,
	    "a server down by its checks is not picked");

	answer = "HTTP/1.0 200 OK\r\n\r\nOK";
	clock_update();
	fake_now = clock_now.mono_ms;
	ok(run_until(a_up, 2000) && logged("of \"hc\" is healthy again"),
	    "two passes: up again, logged");
	ok(hu->peers[0].shared->up_since >= fake_now, "coming back sets "
	    "up_since, for slow_start");

	answer = "HTTP/1.0 200 OK\r\n\r\nnot that";
	ok(run_until(a_down, 2000) && logged("body does not match"),
	    "a body without the text: down");
	answer = "HTTP/1.0 200 OK\r\n\r\n" "OK";
	ok(run_until(a_up, 2000), "up again");
	answer = "garbage\r\n\r\n";
	ok(run_until(a_down, 2000) && logged("invalid response"),
	    "an invalid response: down");
	upstream_health_stop();

	snprintf(conf, sizeof(conf), "upstream hd { server 127.0.0.1:%d; "
	    "server 127.0.0.1:%d; health_check interval=50ms timeout=100ms; }",
	    dead_port, mute_port);
	ok(load(conf) == 0, "servers refusing and silent");
	hu = ups("hd");
	upstream_health_start(cur->h.upstreams.elts, cur->h.upstreams.n);
	ok(run_until(all_down, 3000) && logged("connect() failed") &&
	    logged("timed out"), "refused and timed out checks: both down");
	upstream_health_stop();
	ok(timer_count() == 0, "stopping disarms every timer");

	loop_del(&lio);
	close(lfd);
	close(mute_fd);
	for (size_t i = 0; i < nsrv_conns; i++) {
		if (!srv_conns[i]->done) {
			loop_del(&srv_conns[i]->io);
			close(srv_conns[i]->io.fd);
		}
		free(srv_conns[i]);
	}
}

int
main(void)
{
	if ((log_fd = mkstemp(log_path)) == -1)
		abort();
	unlink(log_path);
	log_to.fd = log_fd;
	log_to.level = LOG_DEBUG;
	log_set_targets(&log_to, 1);
	log_use_stderr = false;
	signal(SIGPIPE, SIG_IGN);
	upstream_random_seed(1);
	client("10.0.0.1");

	test_directives();
	test_health_conf();
	test_errors();
	test_placeholders();
	test_zones();
	test_rr();
	test_failures();
	test_backup_down_tries();
	test_max_conns();
	test_least_conn();
	test_ip_hash();
	test_hash();
	test_random();
	test_slow_start();
	test_health();
	unload(cur);
	close(log_fd);
	return done_testing();
}
