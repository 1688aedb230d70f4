/*
 * Tests of worker/vars.c and worker/access_log.c on a fake request: the
 * built-in variables, families, complex values with captures, settable
 * variables, and log lines with each escaping, buffered and not.
 * Build: cc -I. t/unit/vars_test.c common/{pool,array,str,conf,conf_set,
 * log,clock,addr,cycle}.c (the worker functions used are stubbed below).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "worker/vars.c"
#include "worker/access_log.c"

/* Stubs for the worker pieces the two files call. */
int
conn_local_addr(struct conn *c)
{
	c->local_known = true;
	return 0;
}

/* static.c's: the root alone (no alias in these tests) */
int
static_document_root(struct request *r, struct str *out)
{
	out->data = r->loc->root;
	out->len = strlen(r->loc->root);
	return 0;
}

/* http_conn.c's: no request body is read in these tests */
const char *
http_body_file_name(struct request *r)
{
	return NULL;
}

/* stub_status.c's: counters are not what these tests look at */
uint64_t
stub_status_value(enum stat_value which)
{
	return (uint64_t)which;
}

static int	timers_armed;

void
timer_set(struct timer *t, uint64_t ms)
{
	if (t->idx == 0)
		timers_armed++;
	t->idx = 1;
	t->when = ms;
}

void
timer_del(struct timer *t)
{
	if (t->idx != 0)
		timers_armed--;
	t->idx = 0;
}

static char			 dir[] = "/tmp/usher_vars_testXXXXXX";
static struct cycle		 cycle;
static struct conf		*cf;
static struct http_main		 hm;
static struct http_loc		 loc;
static struct http_srv		 srv;
static struct conn		 conn;
static struct http1_req		 in;
static struct request		 req;

static void
add_header(const char *name, const char *value)
{
	struct http1_header	*h = &in.headers[in.nheaders++];

	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = strlen(value);
}

#define SETS(field, lit)	((field).data = (char *)(lit), \
				    (field).len = sizeof(lit) - 1)

static void
setup(void)
{
	struct pool		*pool = pool_create(16384);
	struct server_name	*sn;

	if (pool == NULL || mkdtemp(dir) == NULL)
		exit(2);
	cf = &cycle.conf;
	if (conf_init(cf, pool, "/", "/nonexistent", NULL) == -1 ||
	    array_init(&cycle.open_files, pool, 4,
	    sizeof(struct open_file *)) == -1 ||
	    array_init(&srv.names, pool, 2, sizeof(struct server_name)) == -1)
		exit(2);
	cycle.pool = pool;
	cycle.prefix = "/";
	cycle.prefix_given = true;
	cycle.http = &hm;
	cf->owner = &cycle;
	cf->slots[CONF_SLOT_HTTP] = &hm;
	cf->slots[CONF_SLOT_LOC] = &loc;
	if (vars_init(&hm.vars, pool) == -1)
		exit(2);
	sn = array_push(&srv.names);
	SETS(sn->name, "example.org");
	sn->shown = sn->name;
	loc.root = "/tmp";
	srv.loc = &loc;

	conn.number = 17;
	conn.requests = 3;
	conn.peer.u.sin.sin_family = AF_INET;
	conn.peer.u.sin.sin_port = htons(5555);
	inet_pton(AF_INET, "192.0.2.7", &conn.peer.u.sin.sin_addr);
	conn.peer.len = sizeof(struct sockaddr_in);
	conn.local = conn.peer;
	conn.local.u.sin.sin_port = htons(8080);

	add_header("Host", "Example.org:8080");
	add_header("User-Agent", "curl \"x\"\x01\xff");
	add_header("X-Forwarded-For", "10.0.0.1");
	add_header("x-forwarded-for", "10.0.0.2");
	add_header("Cookie", "a=1; SID=abc ; b=2");
	add_header("Cookie", "c=3");
	add_header("Content-Type", "text/plain");

	req.conn = &conn;
	req.pool = pool_create(4096);
	req.http = &hm;
	req.in = &in;
	req.srv = &srv;
	req.loc = &loc;
	req.version = 11;
	SETS(req.request_line, "GET /p?A=1&b&c=x%20y HTTP/1.1");
	SETS(req.method, "GET");
	SETS(req.unparsed_uri, "/p?A=1&b&c=x%20y");
	SETS(req.uri, "/p");
	SETS(req.args, "A=1&b&c=x%20y");
	req.out_length = -1;
	array_init(&req.out_headers, req.pool, 4, sizeof(struct header));
	clock_update();
	req.start_ms = clock_now.real_ms - 1234;
}

/* The value of $name as a NUL-terminated string; "(not found)" if not. */
static const char *
var(const char *name)
{
	static char	buf[4][256];
	static int	next;
	struct str	v;
	int		idx;
	char		*b = buf[next++ % 4];

	if ((idx = vars_index(&hm.vars, cf, name, strlen(name))) == -1)
		return "(unknown)";
	if (vars_get(&req, idx, &v) == -1)
		return "(not found)";
	snprintf(b, 256, "%.*s", (int)v.len, v.data);
	return b;
}

/* cvalue_compile then cvalue_eval. */
static const char *
eval(const char *src)
{
	static char	 buf[256];
	struct str	 s = { (char *)src, strlen(src) }, out;
	struct cvalue	*cv;

	if ((cv = cvalue_compile(cf, &hm.vars, &s)) == NULL)
		return "(error)";
	if (cvalue_eval(&req, cv, &out) == -1)
		return "(oom)";
	snprintf(buf, sizeof(buf), "%.*s", (int)out.len, out.data);
	return buf;
}

static void
test_builtins(void)
{
	is_str(var("host"), "example.org", "$host falls back to server_name");
	SETS(req.host, "www.example.org");
	is_str(var("host"), "www.example.org", "$host");
	is_str(var("HOST"), "www.example.org", "names are case-insensitive");
	is_str(var("server_name"), "example.org", "$server_name");
	is_str(var("remote_addr"), "192.0.2.7", "$remote_addr");
	is_str(var("remote_port"), "5555", "$remote_port");
	is_str(var("server_port"), "8080", "$server_port");
	is_str(var("server_addr"), "192.0.2.7", "$server_addr");
	is_str(var("scheme"), "http", "$scheme");
	is_str(var("https"), "", "$https");
	is_str(var("request"), "GET /p?A=1&b&c=x%20y HTTP/1.1", "$request");
	is_str(var("request_method"), "GET", "$request_method");
	is_str(var("request_uri"), "/p?A=1&b&c=x%20y", "$request_uri");
	is_str(var("uri"), "/p", "$uri");
	is_str(var("document_uri"), "/p", "$document_uri");
	is_str(var("args"), "A=1&b&c=x%20y", "$args");
	is_str(var("is_args"), "?", "$is_args");
	is_str(var("server_protocol"), "HTTP/1.1", "$server_protocol");
	is_str(var("content_type"), "text/plain", "$content_type");
	is_str(var("content_length"), "(not found)", "$content_length absent");
	is_str(var("remote_user"), "(not found)", "$remote_user");
	is_str(var("status"), "000", "$status before a response");
	req.status = 204;
	is_str(var("status"), "204", "$status");
	req.status = 0;
	is_str(var("connection"), "17", "$connection");
	is_str(var("connection_requests"), "3", "$connection_requests");
	is_str(var("request_time"), "1.234", "$request_time");
	is_str(var("document_root"), "/tmp", "$document_root");
	ok(strlen(var("msec")) == strlen("1700000000.123") &&
	    var("msec")[10] == '.', "$msec has milliseconds: %s", var("msec"));
	is_str(var("time_local"), clock_now.local_time, "$time_local");
	is_str(var("nonexistent"), "(unknown)", "unknown variable");
	is_str(var("http_"), "(not found)",
	    "a family prefix alone is taken, as nginx does, and empty");
	is_str(var("arg_"), "(not found)", "$arg_ alone: empty");
}

static void
test_families(void)
{
	is_str(var("http_user_agent"), "curl \"x\"\x01\xff",
	    "$http_user_agent");
	is_str(var("http_x_forwarded_for"), "10.0.0.1, 10.0.0.2",
	    "several headers are joined with \", \"");
	is_str(var("http_cookie"), "a=1; SID=abc ; b=2; c=3",
	    "$http_cookie is joined with \"; \"");
	is_str(var("http_host"), "Example.org:8080", "$http_host as sent");
	is_str(var("http_x_none"), "(not found)", "missing header");
	is_str(var("cookie_sid"), "abc", "$cookie_NAME, trimmed");
	is_str(var("cookie_c"), "3", "$cookie_NAME in a second header");
	is_str(var("cookie_d"), "(not found)", "missing cookie");
	is_str(var("arg_a"), "1", "$arg_NAME is case-insensitive");
	is_str(var("arg_b"), "", "$arg_NAME without a value");
	is_str(var("arg_c"), "x%20y", "$arg_NAME is not decoded");
	is_str(var("arg_d"), "(not found)", "missing argument");
	is_str(var("sent_http_x_y"), "(not found)", "no response header");
	{
		struct header	*h = array_push(&req.out_headers);

		SETS(h->name, "X-Y");
		SETS(h->value, "z");
	}
	is_str(var("sent_http_x_y"), "z", "$sent_http_NAME");
	req.out_length = 42;
	is_str(var("sent_http_content_length"), "42",
	    "$sent_http_content_length");
}

static void
test_request_id(void)
{
	char	first[33];
	size_t	i;
	bool	hex = true;

	snprintf(first, sizeof(first), "%s", var("request_id"));
	for (i = 0; i < 32; i++)
		if (!((first[i] >= '0' && first[i] <= '9') ||
		    (first[i] >= 'a' && first[i] <= 'f')))
			hex = false;
	ok(strlen(first) == 32 && hex, "$request_id is 32 hex digits");
	is_str(var("request_id"), first, "stable within a request");
	req.request_id[0] = '\0';
	ok(strcmp(var("request_id"), first) != 0, "new for the next request");
}

static void
test_cvalue(void)
{
	struct str	 s = STR("plain text");
	struct cvalue	*cv;
	int		 idx;
	struct str	 v = STR("bar");
	static char	 subject[] = "/img/cat.png";

	cv = cvalue_compile(cf, &hm.vars, &s);
	ok(cv != NULL && !cv->dynamic && cv->literal.len == s.len,
	    "a string without variables is a literal");
	is_str(eval("a$uri-${uri}b"), "a/p-/pb", "$name and ${name}");
	is_str(eval("a $ b"), "(error)", "a lone $ is an error, as in nginx");
	is_str(eval("a$"), "(error)", "a $ at the end is an error");
	is_str(eval("${nonexistent}"), "(error)", "unknown variable");
	is_str(eval("${uri"), "(error)", "missing closing bracket");
	is_str(eval("${}"), "(error)", "empty name");
	is_str(eval("$1/$2$3x$10"), "/x0", "captures unset are empty");
	req.cap_subject.data = subject;
	req.cap_subject.len = sizeof(subject) - 1;
	req.caps[0] = 0; req.caps[1] = 12;
	req.caps[2] = 5; req.caps[3] = 8;
	req.caps[4] = -1; req.caps[5] = -1;
	req.caps[6] = 9; req.caps[7] = 99;	/* out of range: empty */
	req.ncaps = 4;
	is_str(eval("/$1.$2$3$10${1}x|$0"), "/cat.cat0catx|/img/cat.png",
	    "captures, one digit each");

	idx = vars_add_settable(&hm.vars, "foo", 3);
	ok(idx >= 0 && vars_add_settable(&hm.vars, "FOO", 3) == idx,
	    "settable variable registered once");
	ok(vars_add_settable(&hm.vars, "uri", 3) == -1,
	    "a built-in is not settable");
	is_str(eval("[$foo]"), "[]", "unset settable is empty");
	vars_set(&req, idx, &v);
	is_str(eval("[$foo]"), "[bar]", "set value");
	is_str(var("foo"), "bar", "vars_get of a settable");
}

/* Runs text as directives of an http block; 0 or -1. */
static int
run(const char *text)
{
	char		 path[256];
	struct conf_node root;
	FILE		*f;
	int		 rc;

	snprintf(path, sizeof(path), "%s/test.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		exit(2);
	fputs(text, f);
	fclose(f);
	cf->conf_path = path;
	cf->node = NULL;
	if (conf_read(cf, NULL, &root) == -1)
		return -1;
	rc = conf_run_block(cf, &root, CONF_HTTP);
	cf->node = NULL;
	return rc;
}

static const struct conf_cmd *const	tables[] = { access_log_cmds, NULL };

static void
reset_http(void)
{
	hm.formats.size = 0;
	hm.formats.n = 0;
	memset(&loc.log, 0, sizeof(loc.log));
	if (access_log_http_init(cf, &hm.formats, &hm.vars) == -1)
		exit(2);
}

static const char *
slurp(const char *name)
{
	static char	buf[4096];
	char		path[256];
	ssize_t		n;
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return "(missing)";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void
open_files(void)
{
	struct open_file	*f;
	size_t			 i;

	for (i = 0; i < cycle.open_files.n; i++) {
		f = *ARRAY_AT(&cycle.open_files, struct open_file *, i);
		if (f->fd == -1)
			f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND |
			    O_TRUNC, 0644);
	}
}

static void
test_access_log(void)
{
	static char	prefix[64];
	char		conf[1024], want[512];

	cf->tables = tables;
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	cf->prefix = prefix;

	reset_http();
	is_int(run("log_format combined '$uri';"), -1,
	    "combined is predefined");
	is_int(run("access_log a.log nosuch;"), -1, "unknown format");
	is_int(run("access_log a.log combined flush=5s;"), -1,
	    "flush without buffer");
	is_int(run("access_log a.log combined gzip;"), -1, "gzip refused");
	is_int(run("access_log logs/$host.log;"), -1, "variables in path");
	is_int(run("log_format x '$nosuch';"), -1, "unknown variable");
	is_int(run("log_format y '$1';"), -1, "no captures in formats");
	is_int(run("log_format z escape=xml '$uri';"), -1, "unknown escaping");

	reset_http();
	snprintf(conf, sizeof(conf),
	    "log_format j escape=json '{\"ua\":\"$http_user_agent\",'\n"
	    "    '\"u\":\"$remote_user\",\"s\":$status}';\n"
	    "log_format n escape=none '$http_user_agent|$remote_user|"
	    "$request_uri';\n"
	    "log_format n2 '$http_user_agent|$remote_user|$status|$uri';\n"
	    "access_log c.log;\n"
	    "access_log j.log j;\n"
	    "access_log n.log n;\n"
	    "access_log b.log n2 buffer=4k flush=1s;\n");
	is_int(run(conf), 0, "formats and logs parse");
	is_int(run("log_format j '$uri';"), -1, "duplicate format name");
	ok(loc.log.logs != NULL && loc.log.logs->n == 4, "four logs at one "
	    "level");
	open_files();

	req.status = 200;
	req.body_bytes_sent = 612;
	SETS(req.request_line, "GET /a\"b HTTP/1.1");
	access_log_write(&req);
	snprintf(want, sizeof(want), "192.0.2.7 - - [%s] "
	    "\"GET /a\\x22b HTTP/1.1\" 200 612 \"-\" "
	    "\"curl \\x22x\\x22\\x01\\xFF\"\n", clock_now.local_time);
	is_str(slurp("c.log"), want, "combined with default escaping");
	is_str(slurp("j.log"), "{\"ua\":\"curl \\\"x\\\"\\u0001\xff\","
	    "\"u\":\"\",\"s\":200}\n", "json escaping, not found is empty");
	is_str(slurp("n.log"), "curl \"x\"\x01\xff||/p?A=1&b&c=x%20y\n",
	    "no escaping");
	is_str(slurp("b.log"), "", "buffered line not written yet");
	ok(timers_armed == 1, "flush timer armed");
	access_log_write(&req);
	access_log_flush_all();
	is_str(slurp("b.log"), "curl \\x22x\\x22\\x01\\xFF|-|200|/p\n"
	    "curl \\x22x\\x22\\x01\\xFF|-|200|/p\n",
	    "buffered lines written by flush_all");
	ok(timers_armed == 0, "flush timer disarmed");

	/* off at a level wins; the default log at the top */
	reset_http();
	is_int(run("access_log off;"), 0, "access_log off");
	{
		struct access_log_conf	child;

		memset(&child, 0, sizeof(child));
		is_int(access_log_merge(cf, &child, &loc.log, false), 0,
		    "merge inherits");
		ok(child.off && child.logs == NULL, "off is inherited");
		memset(&child, 0, sizeof(child));
		is_int(access_log_merge(cf, &child, NULL, true), 0,
		    "merge at the top");
		ok(child.logs != NULL && child.logs->n == 1 &&
		    strstr((*ARRAY_AT(child.logs, struct access_log *, 0))->
		    file->path, "/logs/access.log") != NULL,
		    "default log under the prefix");
	}
}

static void
cleanup(void)
{
	static const char	*files[] = { "test.conf", "c.log", "j.log",
				    "n.log", "b.log", NULL };
	char			 path[256];
	size_t			 i;

	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	setup();
	test_builtins();
	test_families();
	test_request_id();
	test_cvalue();
	test_access_log();
	cleanup();
	return done_testing();
}
