/*
 * The http, server and location blocks and the everyday directives that
 * live in them; inheritance (merge) and the lookup structures built once
 * a block is read.  Modules with tables of their own (rewrite, access
 * log) are listed in worker_conf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "geo.h"
#include "http_conf.h"
#include "map.h"
#include "proxy.h"
#include "stub_status.h"
#include "split_clients.h"
#include "upstream_conf.h"

static conf_set_fn	set_http, set_server, set_location, set_listen,
			set_server_name, set_root, set_index, set_types,
			set_keepalive_timeout, set_add_header,
			set_error_page, set_large_buffers, set_not_supported,
			set_ignore, set_ignore_flag, set_internal,
			set_limit_except, set_keepalive_disable, set_pool_size;

/* "build" adds nginx's build name; usher has none, so it is "on" */
static const struct conf_enum	body_file_values[] = {
	{ "off", BODY_FILE_OFF },
	{ "on", BODY_FILE_ON },
	{ "clean", BODY_FILE_CLEAN },
	{ NULL, 0 }
};

static const struct conf_enum	server_tokens_values[] = {
	{ "off", 0 },
	{ "on", 1 },
	{ "build", 1 },
	{ NULL, 0 }
};

/*	  name                          where                     args                      parser                  field                          extra */
const struct conf_cmd http_core_cmds[] = {
	{ "http",                       CONF_MAIN,                CONF_BLOCK | CONF_ARGS(0, 0), set_http,       0, 0,                          NULL },
	{ "server",                     CONF_HTTP,                CONF_BLOCK | CONF_ARGS(0, 0), set_server,     0, 0,                          NULL },
	{ "location",                   CONF_SERVER | CONF_LOCATION, CONF_BLOCK | CONF_ARGS(1, 2), set_location, 0, 0,                         NULL },
	{ "listen",                     CONF_SERVER,              CONF_ARGS_MIN(1),         set_listen,             0, 0,                          NULL },
	{ "server_name",                CONF_SERVER,              CONF_ARGS_MIN(1),         set_server_name,        0, 0,                          NULL },
	{ "root",                       CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),          set_root,               LOC(root),                     NULL },
	{ "index",                      CONF_HTTP_ALL,            CONF_ARGS_MIN(1),         set_index,              LOC(index),                    NULL },
	{ "default_type",               CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_str,           LOC(default_type),             NULL },
	{ "types",                      CONF_HTTP_ALL,            CONF_BLOCK | CONF_ARGS(0, 0), set_types,      LOC(types),                    NULL },
	{ "keepalive_timeout",          CONF_HTTP_ALL,            CONF_ARGS(1, 2),          set_keepalive_timeout,  LOC(keepalive_timeout),        NULL },
	{ "keepalive_requests",         CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_int,           LOC(keepalive_requests),       NULL },
	{ "keepalive_time",             CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_msec,          LOC(keepalive_time),           NULL },
	{ "keepalive_disable",          CONF_HTTP_ALL,            CONF_ARGS_MIN(1),         set_keepalive_disable,  LOC(keepalive_disable),        NULL },
	{ "connection_pool_size",       CONF_HTTP | CONF_SERVER,  CONF_ARGS(1, 1),          set_pool_size,          0, 0,                          NULL },
	{ "request_pool_size",          CONF_HTTP | CONF_SERVER,  CONF_ARGS(1, 1),          set_pool_size,          0, 0,                          NULL },
	{ "client_body_timeout",        CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_msec,          LOC(client_body_timeout),      NULL },
	{ "send_timeout",               CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_msec,          LOC(send_timeout),             NULL },
	{ "client_max_body_size",       CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_off,           LOC(client_max_body_size),     NULL },
	{ "server_tokens",              CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_enum,          LOC(server_tokens),            server_tokens_values },
	{ "log_not_found",              CONF_HTTP_ALL,            CONF_FLAG,                conf_set_flag,          LOC(log_not_found),            NULL },
	{ "absolute_redirect",          CONF_HTTP_ALL,            CONF_FLAG,                conf_set_flag,          LOC(absolute_redirect),        NULL },
	{ "port_in_redirect",           CONF_HTTP_ALL,            CONF_FLAG,                conf_set_flag,          LOC(port_in_redirect),         NULL },
	{ "server_name_in_redirect",    CONF_HTTP_ALL,            CONF_FLAG,                conf_set_flag,          LOC(server_name_in_redirect),  NULL },
	{ "recursive_error_pages",      CONF_HTTP_ALL,            CONF_FLAG,                conf_set_flag,          LOC(recursive_error_pages),    NULL },
	{ "add_header",                 CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(2, 3),          set_add_header,         LOC(add_headers),              NULL },
	{ "add_trailer",                CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(2, 3),          set_add_header,         LOC(add_trailers),             NULL },
	{ "error_page",                 CONF_HTTP_ALL | CONF_LIF, CONF_ARGS_MIN(2),         set_error_page,         LOC(error_pages),              NULL },
	{ "client_body_buffer_size",    CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_size,          LOC(client_body_buffer_size),  NULL },
	{ "client_body_temp_path",      CONF_HTTP_ALL,            CONF_ARGS(1, 4),          conf_set_path,          LOC(client_body_temp_path),    NULL },
	{ "client_body_in_file_only",   CONF_HTTP_ALL,            CONF_ARGS(1, 1),          conf_set_enum,          LOC(client_body_in_file_only), body_file_values },
	{ "client_body_in_single_buffer", CONF_HTTP_ALL,          CONF_FLAG,                conf_set_flag,          LOC(client_body_in_single_buffer), NULL },
	{ "internal",                   CONF_LOCATION,            CONF_ARGS(0, 0),          set_internal,           0, 0,                          NULL },
	{ "limit_except",               CONF_LOCATION,            CONF_BLOCK | CONF_ARGS_MIN(1), set_limit_except, 0, 0,                     NULL },
	{ "client_header_timeout",      CONF_HTTP | CONF_SERVER,  CONF_ARGS(1, 1),          conf_set_msec,          SRV(client_header_timeout),    NULL },
	{ "client_header_buffer_size",  CONF_HTTP | CONF_SERVER,  CONF_ARGS(1, 1),          conf_set_size,          SRV(client_header_buffer_size), NULL },
	{ "large_client_header_buffers", CONF_HTTP | CONF_SERVER, CONF_ARGS(2, 2),          set_large_buffers,      0, 0,                          NULL },
	{ "merge_slashes",              CONF_HTTP | CONF_SERVER,  CONF_FLAG,                conf_set_flag,          SRV(merge_slashes),            NULL },
	{ "underscores_in_headers",     CONF_HTTP | CONF_SERVER,  CONF_FLAG,                conf_set_flag,          SRV(underscores_in_headers),   NULL },
	{ "ignore_invalid_headers",     CONF_HTTP | CONF_SERVER,  CONF_FLAG,                conf_set_flag,          SRV(ignore_invalid_headers),   NULL },
	{ "http2",                      CONF_HTTP | CONF_SERVER,  CONF_FLAG,                set_not_supported,      0, 0,                          NULL },
	{ "sendfile",                   CONF_HTTP_ALL | CONF_LIF, CONF_FLAG,                set_ignore_flag,             0, 0,                          NULL },
	{ "tcp_nopush",                 CONF_HTTP_ALL,            CONF_FLAG,                set_ignore_flag,             0, 0,                          NULL },
	{ "tcp_nodelay",                CONF_HTTP_ALL,            CONF_FLAG,                set_ignore_flag,             0, 0,                          NULL },
	{ "types_hash_max_size",        CONF_HTTP_ALL,            CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ "types_hash_bucket_size",     CONF_HTTP_ALL,            CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ "server_names_hash_bucket_size", CONF_HTTP,             CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ "server_names_hash_max_size", CONF_HTTP,                CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ "variables_hash_max_size",    CONF_HTTP,                CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ "variables_hash_bucket_size", CONF_HTTP,                CONF_ARGS(1, 1),          set_ignore,             0, 0,                          NULL },
	{ NULL }
};

/* Creating and merging ---------------------------------------------------- */

struct http_loc *
http_loc_new(struct conf *cf)
{
	struct http_loc	*l;

	if ((l = pool_calloc(cf->pool, sizeof(*l))) == NULL)
		return NULL;
	array_init(&l->children, cf->pool, 2, sizeof(struct http_loc *));
	l->keepalive_timeout = CONF_UNSET_MSEC;
	l->keepalive_header = CONF_UNSET_MSEC;
	l->keepalive_requests = CONF_UNSET;
	l->keepalive_time = CONF_UNSET_MSEC;
	l->keepalive_disable = CONF_UNSET;
	l->client_body_timeout = CONF_UNSET_MSEC;
	l->send_timeout = CONF_UNSET_MSEC;
	l->client_max_body_size = CONF_UNSET_MSEC;
	l->server_tokens = CONF_UNSET;
	l->log_not_found = CONF_UNSET;
	l->absolute_redirect = CONF_UNSET;
	l->port_in_redirect = CONF_UNSET;
	l->server_name_in_redirect = CONF_UNSET;
	l->recursive_error_pages = CONF_UNSET;
	l->rewrite_log = CONF_UNSET;
	l->client_body_buffer_size = CONF_UNSET_SIZE;
	l->client_body_in_file_only = CONF_UNSET;
	l->client_body_in_single_buffer = CONF_UNSET;
	proxy_loc_init(&l->proxy);
	static_loc_init(&l->static_files);
	charset_loc_init(&l->charset);
	encode_loc_init(&l->encode);
	return l;
}

struct http_srv *
http_srv_new(struct conf *cf)
{
	struct http_srv	*s;

	if ((s = pool_calloc(cf->pool, sizeof(*s))) == NULL)
		return NULL;
	array_init(&s->names, cf->pool, 2, sizeof(struct server_name));
	array_init(&s->named, cf->pool, 2, sizeof(struct http_loc *));
	s->client_header_buffer_size = CONF_UNSET_SIZE;
	s->large_header_size = CONF_UNSET_SIZE;
	s->large_header_num = CONF_UNSET;
	s->client_header_timeout = CONF_UNSET_MSEC;
	s->merge_slashes = CONF_UNSET;
	s->underscores_in_headers = CONF_UNSET;
	s->ignore_invalid_headers = CONF_UNSET;
	tls_srv_init(&s->tls);
	return s;
}

int
http_loc_merge(struct conf *cf, struct http_loc *l, const struct http_loc *p)
{
	static struct http_loc	 defaults;
	static struct cvalue	 index_html = { STR("index.html"), false,
				    NULL, 0 };
	bool			 top = p == NULL;

	if (p == NULL) {
		memset(&defaults, 0, sizeof(defaults));
		defaults.keepalive_timeout = CONF_UNSET_MSEC;
		defaults.keepalive_header = CONF_UNSET_MSEC;
		defaults.keepalive_requests = CONF_UNSET;
		defaults.keepalive_time = CONF_UNSET_MSEC;
		defaults.keepalive_disable = CONF_UNSET;
		defaults.client_body_timeout = CONF_UNSET_MSEC;
		defaults.send_timeout = CONF_UNSET_MSEC;
		defaults.client_max_body_size = CONF_UNSET_MSEC;
		defaults.server_tokens = CONF_UNSET;
		defaults.log_not_found = CONF_UNSET;
		defaults.absolute_redirect = CONF_UNSET;
		defaults.port_in_redirect = CONF_UNSET;
		defaults.server_name_in_redirect = CONF_UNSET;
		defaults.recursive_error_pages = CONF_UNSET;
		defaults.rewrite_log = CONF_UNSET;
		defaults.client_body_buffer_size = CONF_UNSET_SIZE;
		defaults.client_body_in_file_only = CONF_UNSET;
		defaults.client_body_in_single_buffer = CONF_UNSET;
		proxy_loc_init(&defaults.proxy);
		static_loc_init(&defaults.static_files);
		charset_loc_init(&defaults.charset);
		encode_loc_init(&defaults.encode);
		p = &defaults;
	}
	if (!l->root_set) {
		l->root = p->root;
		l->root_value = p->root_value;
		l->root_prefix = p->root_prefix;
		l->root_set = p->root_set;
	}
	if (l->root == NULL)
		l->root = conf_full_path(cf, "html", 4, false);
	if (l->index == NULL && p->index == NULL) {
		struct cvalue	**s;

		l->index = pool_calloc(cf->pool, sizeof(struct array));
		array_init(l->index, cf->pool, 1, sizeof(struct cvalue *));
		s = array_push(l->index);
		*s = &index_html;
	} else if (l->index == NULL)
		l->index = p->index;
	if (l->default_type.data == NULL) {
		l->default_type = p->default_type;
		if (l->default_type.data == NULL) {
			l->default_type.data = "text/plain";
			l->default_type.len = 10;
		}
	}
	CONF_MERGE_PTR(l->types, p->types, NULL);
	CONF_MERGE_MSEC(l->keepalive_timeout, p->keepalive_timeout, 75000);
	CONF_MERGE_MSEC(l->keepalive_header, p->keepalive_header, 0);
	CONF_MERGE_INT(l->keepalive_requests, p->keepalive_requests, 1000);
	CONF_MERGE_MSEC(l->keepalive_time, p->keepalive_time, 3600000);
	CONF_MERGE_INT(l->keepalive_disable, p->keepalive_disable,
	    KEEPALIVE_DISABLE_MSIE6);
	CONF_MERGE_MSEC(l->client_body_timeout, p->client_body_timeout, 60000);
	CONF_MERGE_MSEC(l->send_timeout, p->send_timeout, 60000);
	CONF_MERGE_MSEC(l->client_max_body_size, p->client_max_body_size,
	    1024 * 1024);
	CONF_MERGE_INT(l->server_tokens, p->server_tokens, 1);
	CONF_MERGE_INT(l->log_not_found, p->log_not_found, 1);
	CONF_MERGE_INT(l->absolute_redirect, p->absolute_redirect, 1);
	CONF_MERGE_INT(l->port_in_redirect, p->port_in_redirect, 1);
	CONF_MERGE_INT(l->server_name_in_redirect,
	    p->server_name_in_redirect, 0);
	CONF_MERGE_INT(l->recursive_error_pages, p->recursive_error_pages, 0);
	CONF_MERGE_INT(l->rewrite_log, p->rewrite_log, 0);
	/* add_header and error_page: a level that sets any replaces all */
	CONF_MERGE_PTR(l->add_headers, p->add_headers, NULL);
	CONF_MERGE_PTR(l->add_trailers, p->add_trailers, NULL);
	CONF_MERGE_PTR(l->error_pages, p->error_pages, NULL);
	CONF_MERGE_PTR(l->access_rules, p->access_rules, NULL);
	CONF_MERGE_SIZE(l->client_body_buffer_size, p->client_body_buffer_size,
	    16384);
	CONF_MERGE_INT(l->client_body_in_file_only,
	    p->client_body_in_file_only, BODY_FILE_OFF);
	CONF_MERGE_INT(l->client_body_in_single_buffer,
	    p->client_body_in_single_buffer, 0);
	if (l->client_body_temp_path == NULL)
		l->client_body_temp_path = p->client_body_temp_path != NULL ?
		    p->client_body_temp_path :
		    conf_full_path(cf, "client_body_temp", 16, false);
	if (l->client_body_temp_path == NULL ||
	    cycle_temp_path(cf->owner, l->client_body_temp_path) == -1)
		return -1;
	if (proxy_loc_merge(cf, l, p) == -1 ||
	    static_loc_merge(cf, l, p) == -1 ||
	    charset_loc_merge(cf, &l->charset, &p->charset) == -1 ||
	    encode_loc_merge(cf, &l->encode, &p->encode) == -1)
		return -1;
	if (l->proxy.pass)
		l->handler = proxy_handler;
	else if (l->stub_status)
		l->handler = stub_status_content;
	if (access_log_merge(cf, &l->log, top ? NULL : &p->log, top) == -1)
		return -1;
	if (l->lmt != NULL) {
		struct http_loc	*b = l->lmt;

		/* as nginx: the block runs no rewrite directives of its own
		 * and keeps the content handler unless it has proxy_pass */
		b->name = l->name;
		b->match = l->match;
		b->regex = l->regex;
		b->internal = l->internal;
		if (http_loc_merge(cf, b, l) == -1)
			return -1;
		if (!b->proxy.pass)
			http_loc_inherit_handler(b, l);
	}
	/* if blocks inherit from l as it now stands */
	return rewrite_loc_merge(cf, l);
}

void
http_srv_merge(struct http_srv *s, const struct http_srv *p)
{
	CONF_MERGE_SIZE(s->client_header_buffer_size,
	    p->client_header_buffer_size, 1024);
	CONF_MERGE_SIZE(s->large_header_size, p->large_header_size, 8192);
	CONF_MERGE_INT(s->large_header_num, p->large_header_num, 4);
	CONF_MERGE_MSEC(s->client_header_timeout, p->client_header_timeout,
	    60000);
	CONF_MERGE_INT(s->merge_slashes, p->merge_slashes, 1);
	CONF_MERGE_INT(s->underscores_in_headers, p->underscores_in_headers,
	    0);
	CONF_MERGE_INT(s->ignore_invalid_headers, p->ignore_invalid_headers,
	    1);
	tls_srv_merge(&s->tls, &p->tls);
}

/* Blocks ----------------------------------------------------------------- */

static int	http_finish(struct conf *, struct http_main *);

static int
set_http(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct cycle		*c = cf->owner;
	struct http_main	*h;

	if (c->http != NULL)
		return conf_duplicate(cf);
	if ((h = pool_calloc(cf->pool, sizeof(*h))) == NULL)
		return -1;
	h->cycle = c;
	c->http = h;
	array_init(&h->servers, cf->pool, 4, sizeof(struct http_srv *));
	array_init(&h->addrs, cf->pool, 4, sizeof(struct http_addr *));
	array_init(&h->formats, cf->pool, 4, sizeof(struct log_format *));
	array_init(&h->upstreams, cf->pool, 4, sizeof(struct upstream *));
	if (stub_status_declare(cf, h) == -1)
		return -1;
	if (vars_init(&h->vars, cf->pool) == -1 || proxy_vars_init(h) == -1 ||
	    tls_vars_init(h) == -1 || tls_verify_vars_init(h) == -1 ||
	    encode_vars_init(h) == -1 ||
	    access_log_http_init(cf, &h->formats, &h->vars) == -1)
		return -1;
	/* nginx resolves variable names at the end: one may be used above
	 * the set, map, geo or split_clients that defines it */
	rewrite_declare(&h->vars, cf->node);
	if (map_declare(&h->vars, cf->pool, cf->node) == -1 ||
	    geo_declare(&h->vars, cf->pool, cf->node) == -1 ||
	    split_clients_declare(&h->vars, cf->pool, cf->node) == -1)
		return -1;
	if ((h->srv = http_srv_new(cf)) == NULL ||
	    (h->loc = http_loc_new(cf)) == NULL)
		return -1;
	h->srv->loc = h->loc;
	cf->slots[CONF_SLOT_HTTP] = h;
	cf->slots[CONF_SLOT_SRV] = h->srv;
	cf->slots[CONF_SLOT_LOC] = h->loc;
	if (conf_run_block(cf, cf->node, CONF_HTTP) == -1)
		return -1;
	return http_finish(cf, h);
}

static int
set_server(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_srv		*s, **sp;
	struct http_loc		*l;

	if ((s = http_srv_new(cf)) == NULL || (l = http_loc_new(cf)) == NULL)
		return -1;
	s->loc = l;
	l->srv = s;
	s->file = cf->node->file;
	s->line = cf->node->line;
	if ((sp = array_push(&h->servers)) == NULL)
		return -1;
	*sp = s;
	cf->slots[CONF_SLOT_SRV] = s;
	cf->slots[CONF_SLOT_LOC] = l;
	if (conf_run_block(cf, cf->node, CONF_SERVER) == -1)
		return -1;
	s->script = l->script;
	l->script = NULL;	/* server-level rewrites run once, not per location */
	cf->slots[CONF_SLOT_SRV] = h->srv;
	cf->slots[CONF_SLOT_LOC] = h->loc;
	return 0;
}

/* Named groups become variables, set when the regex matches. */
static int
register_captures(struct conf *cf, const struct regex *re)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	size_t			 k;

	for (k = 0; k < re->nnames; k++)
		if (re->names[k] != NULL && vars_add_settable(&h->vars,
		    re->names[k], strlen(re->names[k])) == -1) {
			conf_error(cf, "the capture name \"%s\" is a "
			    "built-in variable", re->names[k]);
			return -1;
		}
	return 0;
}

static int
set_location(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc		*parent = cf->slots[CONF_SLOT_LOC], *l, **lp;
	struct http_srv		*s = cf->slots[CONF_SLOT_SRV];
	const struct str	*a = cf->node->args;
	const char		*mod = NULL, *name;
	char			 err[512];
	bool			 caseless = false;

	if ((l = http_loc_new(cf)) == NULL)
		return -1;
	l->parent = parent;
	l->srv = s;
	if (CONF_NARGS(cf) == 2) {
		mod = a[1].data;
		name = a[2].data;
		l->name = a[2];
	} else {
		name = a[1].data;
		l->name = a[1];
		/* "~/re" and "=/x" written without a space */
		if (name[0] == '=' && name[1] != '\0') {
			mod = "=";
			l->name.data++;
			l->name.len--;
		} else if (name[0] == '~' && name[1] == '*' && name[2]) {
			mod = "~*";
			l->name.data += 2;
			l->name.len -= 2;
		} else if (name[0] == '~' && name[1] != '\0') {
			mod = "~";
			l->name.data++;
			l->name.len--;
		} else if (name[0] == '^' && name[1] == '~' && name[2]) {
			mod = "^~";
			l->name.data += 2;
			l->name.len -= 2;
		}
		name = l->name.data;
	}
	if (mod == NULL)
		l->match = name[0] == '@' ? LOC_NAMED : LOC_PREFIX;
	else if (strcmp(mod, "=") == 0)
		l->match = LOC_EXACT;
	else if (strcmp(mod, "^~") == 0)
		l->match = LOC_NOREGEX;
	else if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0) {
		l->match = LOC_REGEX;
		caseless = mod[1] == '*';
	} else {
		conf_error(cf, "invalid location modifier \"%s\"", mod);
		return -1;
	}
	if (l->match == LOC_REGEX) {
		if ((l->regex = pool_calloc(cf->pool, sizeof(*l->regex))) ==
		    NULL)
			return -1;
		if (regex_compile(l->regex, cf->pool, name, caseless, err,
		    sizeof(err)) == -1) {
			conf_error(cf, "%s", err);
			return -1;
		}
		if (register_captures(cf, l->regex) == -1)
			return -1;
	}
	if (l->match == LOC_NAMED) {
		if (parent != s->loc) {
			conf_error(cf, "named location \"%s\" can be on the "
			    "server level only", name);
			return -1;
		}
		if ((lp = array_push(&s->named)) == NULL)
			return -1;
		*lp = l;
	} else {
		if (parent->match == LOC_EXACT) {
			conf_error(cf, "location \"%s\" cannot be inside the "
			    "exact location \"%s\"", name, parent->name.data);
			return -1;
		}
		if (parent->match == LOC_NAMED) {
			conf_error(cf, "location \"%s\" cannot be inside the "
			    "named location \"%s\"", name, parent->name.data);
			return -1;
		}
		/* a prefix inside a regex location could never be chosen */
		if (parent != s->loc && l->match != LOC_REGEX &&
		    (parent->match == LOC_REGEX ||
		    l->name.len < parent->name.len ||
		    memcmp(l->name.data, parent->name.data,
		    parent->name.len) != 0)) {
			conf_error(cf, "location \"%s\" is outside location "
			    "\"%s\"", name, parent->name.data);
			return -1;
		}
		for (size_t i = 0; i < parent->children.n; i++) {
			struct http_loc *o = *ARRAY_AT(&parent->children,
			    struct http_loc *, i);

			if (o->match != LOC_REGEX && l->match != LOC_REGEX &&
			    (o->match == LOC_EXACT) == (l->match == LOC_EXACT) &&
			    str_eq(o->name.data, o->name.len, l->name.data,
			    l->name.len)) {
				conf_error(cf, "duplicate location \"%s\"",
				    name);
				return -1;
			}
		}
		if ((lp = array_push(&parent->children)) == NULL)
			return -1;
		*lp = l;
	}
	cf->slots[CONF_SLOT_LOC] = l;
	if (conf_run_block(cf, cf->node, CONF_LOCATION) == -1)
		return -1;
	cf->slots[CONF_SLOT_LOC] = parent;
	return 0;
}

static int
set_internal(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];

	l->internal = true;
	return 0;
}

/* limit_except ------------------------------------------------------------ */

/* The methods limit_except knows, as nginx names them. */
static const char *const lmt_names[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE",
	"OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", NULL
};

uint32_t
http_lmt_method(const char *m, size_t len)
{
	size_t	i;

	for (i = 0; lmt_names[i] != NULL; i++)
		if (strlen(lmt_names[i]) == len &&
		    memcmp(lmt_names[i], m, len) == 0)
			return (uint32_t)1 << i;
	return 0;
}

/*
 * limit_except METHOD ... { ... }: a nameless location, inheriting from
 * the enclosing one, that requests with any other method use from the
 * moment the location is chosen; GET allows HEAD too.
 */
static int
set_limit_except(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*parent = cf->slots[CONF_SLOT_LOC];
	struct http_loc	*l;
	struct str	*a;
	uint32_t	 bit, allow = 0;
	size_t		 i, j;
	int		 rc;

	if (parent->lmt != NULL)
		return conf_duplicate(cf);
	for (i = 1; i < cf->node->nargs; i++) {
		a = &cf->node->args[i];
		bit = 0;
		for (j = 0; lmt_names[j] != NULL; j++)
			if (str_caseeq(a->data, a->len, lmt_names[j],
			    strlen(lmt_names[j])))
				bit = (uint32_t)1 << j;
		if (bit == 0) {
			conf_error(cf, "invalid method \"%s\"", a->data);
			return -1;
		}
		allow |= bit;
	}
	if (allow & http_lmt_method("GET", 3))
		allow |= http_lmt_method("HEAD", 4);
	if ((l = http_loc_new(cf)) == NULL)
		return -1;
	l->parent = parent;
	l->srv = parent->srv;
	parent->lmt = l;
	parent->lmt_methods = allow;
	cf->slots[CONF_SLOT_LOC] = l;
	rc = conf_run_block(cf, cf->node, CONF_LMT);
	cf->slots[CONF_SLOT_LOC] = parent;
	return rc;
}

/* listen and server_name -------------------------------------------------- */

static struct http_addr *
find_addr(struct http_main *h, const struct addr *a)
{
	struct http_addr	*ha;
	size_t			 i;

	for (i = 0; i < h->addrs.n; i++) {
		ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);
		if (addr_equal(&ha->addr, a))
			return ha;
	}
	return NULL;
}

/* The options of one listen directive. */
struct listen_opts {
	bool	def, reuseport, opts, ssl;
	int	backlog;
};

/* Adds s to the servers of address a. */
static int
listen_add(struct conf *cf, const struct addr *a, const struct listen_opts *o)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_srv		*s = cf->slots[CONF_SLOT_SRV];
	struct http_addr	*ha, **hp;
	struct http_srv		**sp;
	size_t			 i;

	s->has_listen = true;
	if ((ha = find_addr(h, a)) == NULL) {
		if ((ha = pool_calloc(cf->pool, sizeof(*ha))) == NULL)
			return -1;
		ha->addr = *a;
		array_init(&ha->servers, cf->pool, 2, sizeof(struct http_srv *));
		if ((hp = array_push(&h->addrs)) == NULL)
			return -1;
		*hp = ha;
	} else if (o->opts) {
		conf_error(cf, "duplicate listen options for %s",
		    CONF_ARG(cf, 1));
		return -1;
	}
	for (i = 0; i < ha->servers.n; i++)
		if (*ARRAY_AT(&ha->servers, struct http_srv *, i) == s) {
			conf_error(cf, "a duplicate listen %s",
			    CONF_ARG(cf, 1));
			return -1;
		}
	if (o->def) {
		if (ha->default_set) {
			conf_error(cf, "a duplicate default server for %s",
			    CONF_ARG(cf, 1));
			return -1;
		}
		ha->default_set = true;
		ha->default_srv = s;
	}
	if (o->opts || ha->servers.n == 0) {
		ha->reuseport = o->reuseport;
		ha->backlog = o->backlog;
	}
	if (o->ssl) {
		ha->ssl = true;
		s->listen_ssl = true;
	}
	if ((sp = array_push(&ha->servers)) == NULL)
		return -1;
	*sp = s;
	return 0;
}

/*
 * A port range, "addr:first-last" or "first-last", as nginx takes in
 * listen: 1 with *from (where the port starts), *first and *last set; 0
 * for none; -1 after conf_error().
 */
static int
listen_range(struct conf *cf, const struct str *arg, size_t *from,
    int64_t *first, int64_t *last)
{
	const char	*p = arg->data, *end = p + arg->len, *port, *dash, *rb;

	if (arg->len >= 5 && strncmp(p, "unix:", 5) == 0)
		return 0;
	rb = memchr(p, ']', arg->len);
	port = memrchr(rb != NULL ? rb : p, ':', (size_t)(end -
	    (rb != NULL ? rb : p)));
	port = port != NULL ? port + 1 : p;
	if ((dash = memchr(port, '-', (size_t)(end - port))) == NULL ||
	    dash == port || strspn(port, "0123456789") != (size_t)(dash - port))
		return 0;		/* "my-host" is a name */
	*first = str_atoi(port, (size_t)(dash - port));
	*last = str_atoi(dash + 1, (size_t)(end - dash - 1));
	if (*first < 1 || *first > 65535 || *last < 1 || *last > 65535) {
		conf_error(cf, "invalid port in \"%s\" of the \"listen\" "
		    "directive", arg->data);
		return -1;
	}
	if (*first > *last) {
		conf_error(cf, "invalid port range in \"%s\" of the "
		    "\"listen\" directive", arg->data);
		return -1;
	}
	*from = (size_t)(port - p);
	return 1;
}

static int
set_listen(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct str		*arg1 = &cf->node->args[1];
	struct listen_opts	 o = { .backlog = 511 };
	struct addr		 a;
	char			 err[256], buf[300];
	const char		*arg;
	size_t			 i, from;
	int64_t			 first, last, port;
	int			 rc;

	if ((rc = listen_range(cf, arg1, &from, &first, &last)) == -1)
		return -1;
	if (rc == 0)
		first = last = 0;
	else if (from + 6 > sizeof(buf)) {
		conf_error(cf, "invalid address \"%s\"", arg1->data);
		return -1;
	}
	for (i = 2; i < cf->node->nargs; i++) {
		arg = CONF_ARG(cf, i);
		if (strcmp(arg, "default_server") == 0 ||
		    strcmp(arg, "default") == 0)
			o.def = true;
		else if (strcmp(arg, "reuseport") == 0)
			o.reuseport = o.opts = true;
		else if (strncmp(arg, "backlog=", 8) == 0) {
			int64_t	 b = str_atoi(arg + 8, strlen(arg + 8));

			if (b <= 0 || b > 65535) {
				conf_error(cf, "invalid backlog \"%s\"",
				    arg + 8);
				return -1;
			}
			o.backlog = (int)b;
			o.opts = true;
		} else if (strcmp(arg, "ssl") == 0) {
			o.ssl = true;
		} else if (strcmp(arg, "http2") == 0 || strcmp(arg, "quic") == 0 ||
		    strcmp(arg, "proxy_protocol") == 0) {
			conf_error(cf, "the \"%s\" parameter of the \"listen\" "
			    "directive is not supported yet", arg);
			return -1;
		} else if (strncmp(arg, "ipv6only=", 9) == 0 ||
		    strncmp(arg, "so_keepalive=", 13) == 0 ||
		    strcmp(arg, "deferred") == 0 || strcmp(arg, "bind") == 0 ||
		    strncmp(arg, "rcvbuf=", 7) == 0 ||
		    strncmp(arg, "sndbuf=", 7) == 0 ||
		    strcmp(arg, "fastopen") == 0) {
			/* accepted for compatibility; the defaults serve */
		} else {
			conf_error(cf, "invalid parameter \"%s\"", arg);
			return -1;
		}
	}
	/* a range is one listen per port, sharing the options */
	for (port = first; port <= last; port++) {
		if (rc == 1) {
			memcpy(buf, arg1->data, from);
			snprintf(buf + from, sizeof(buf) - from, "%d",
			    (int)port);
		}
		if (addr_parse(&a, rc == 1 ? buf : arg1->data, rc == 1 ?
		    strlen(buf) : arg1->len, 80, true, err,
		    sizeof(err)) == -1) {
			conf_error(cf, "%s in \"%s\" of the \"listen\" "
			    "directive", err, arg1->data);
			return -1;
		}
		if (listen_add(cf, &a, &o) == -1)
			return -1;
	}
	return 0;
}

static int
set_server_name(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_srv		*s = cf->slots[CONF_SLOT_SRV];
	struct server_name	*sn;
	char			 err[512];
	size_t			 i, len;
	char			*name;

	for (i = 1; i < cf->node->nargs; i++) {
		name = CONF_ARG(cf, i);
		len = cf->node->args[i].len;
		if ((sn = array_push(&s->names)) == NULL)
			return -1;
		if (name[0] == '~') {
			sn->kind = SN_REGEX;
			if ((sn->regex = pool_calloc(cf->pool,
			    sizeof(*sn->regex))) == NULL)
				return -1;
			if (regex_compile(sn->regex, cf->pool, name + 1, true,
			    err, sizeof(err)) == -1) {
				conf_error(cf, "%s", err);
				return -1;
			}
			for (size_t k = 0; k < sn->regex->nnames; k++)
				if (sn->regex->names[k] != NULL &&
				    vars_add_settable(&h->vars,
				    sn->regex->names[k],
				    strlen(sn->regex->names[k])) == -1)
					return -1;
			sn->name.data = name;
			sn->name.len = len;
			sn->shown = sn->name;
			continue;
		}
		if (len > 0 && name[len - 1] == '.' && len > 1)
			len--;
		if ((sn->name.data = pool_alloc(cf->pool, len + 1)) == NULL)
			return -1;
		str_lower(sn->name.data, name, len);
		sn->name.data[len] = '\0';
		sn->name.len = len;
		sn->shown = sn->name;
		if (len > 1 && name[0] == '.') {
			sn->shown.data++;
			sn->shown.len--;
		}
		if (len > 2 && name[0] == '*' && name[1] == '.') {
			sn->kind = SN_WILD_HEAD;
			sn->name.data++;	/* keep the dot: ".example.com" */
			sn->name.len--;
		} else if (len > 1 && name[0] == '.') {
			sn->kind = SN_WILD_HEAD;
			sn->bare_too = true;
		} else if (len > 2 && name[len - 1] == '*' &&
		    name[len - 2] == '.') {
			sn->kind = SN_WILD_TAIL;
			sn->name.len--;		/* keep the dot: "www.example." */
		} else if (memchr(name, '*', len) != NULL) {
			conf_error(cf, "invalid server name or wildcard "
			    "\"%s\"", name);
			return -1;
		} else
			sn->kind = SN_EXACT;
	}
	return 0;
}

/* Values ----------------------------------------------------------------- */

static int
set_root(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct str		 v = cf->node->args[1];

	if (l->root_set)
		return conf_duplicate(cf);
	/* a trailing slash would double up when the URI is appended */
	while (v.len > 1 && v.data[v.len - 1] == '/')
		v.len--;
	l->root_set = true;
	if (memchr(v.data, '$', v.len) == NULL) {
		l->root = conf_full_path(cf, v.data, v.len, false);
		return l->root == NULL ? -1 : 0;
	}
	/* with variables: evaluated per request, relative under the prefix */
	if (memmem(v.data, v.len, "$document_root", 14) != NULL ||
	    memmem(v.data, v.len, "$realpath_root", 14) != NULL) {
		conf_error(cf, "the $document_root and $realpath_root variables "
		    "cannot be used in the \"root\" directive");
		return -1;
	}
	if ((l->root_value = cvalue_compile(cf, &h->vars, &v)) == NULL ||
	    (l->root_prefix = pool_strdup(cf->pool, cf->prefix)) == NULL)
		return -1;
	/* the source text: a pointer of this level's own (merges compare) */
	l->root = pool_strndup(cf->pool, v.data, v.len);
	return l->root == NULL ? -1 : 0;
}

static int
set_index(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	 *h = cf->slots[CONF_SLOT_HTTP];
	struct array		**a = field;
	struct cvalue		**s;
	size_t			  i;

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL)
			return -1;
		array_init(*a, cf->pool, 2, sizeof(struct cvalue *));
	}
	for (i = 1; i < cf->node->nargs; i++) {
		if (cf->node->args[i].len == 0) {
			conf_error(cf, "index \"%s\" in \"index\" directive "
			    "is invalid", CONF_ARG(cf, i));
			return -1;
		}
		if ((s = array_push(*a)) == NULL ||
		    (*s = cvalue_compile(cf, &h->vars, &cf->node->args[i])) ==
		    NULL)
			return -1;
	}
	return 0;
}

static int
set_types(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct array		**a = field;
	struct mime_type	 *m;
	struct conf_node	 *n;
	size_t			  i, j;

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL)
			return -1;
		array_init(*a, cf->pool, 64, sizeof(struct mime_type));
	}
	/* entries are "type ext ext ...;", not directives */
	n = cf->node;
	for (i = 0; i < n->nchildren; i++) {
		struct conf_node *e = &n->children[i];

		cf->node = e;
		if (e->block || e->nargs < 2) {
			conf_error(cf, "invalid number of arguments in "
			    "\"types\" entry");
			cf->node = n;
			return -1;
		}
		for (j = 1; j < e->nargs; j++) {
			if ((m = array_push(*a)) == NULL)
				return -1;
			m->type = e->args[0];
			m->ext.len = e->args[j].len;
			if ((m->ext.data = pool_alloc(cf->pool,
			    m->ext.len + 1)) == NULL)
				return -1;
			str_lower(m->ext.data, e->args[j].data, m->ext.len);
			m->ext.data[m->ext.len] = '\0';
		}
	}
	cf->node = n;
	return 0;
}

static int
set_keepalive_timeout(struct conf *cf, const struct conf_cmd *cmd,
    void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];
	int64_t		 v;

	if (l->keepalive_timeout != CONF_UNSET_MSEC)
		return conf_duplicate(cf);
	if ((v = str_parse_msec(CONF_ARG(cf, 1), cf->node->args[1].len,
	    1000)) < 0 || v > 0x7fffffff) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	l->keepalive_timeout = v;
	if (CONF_NARGS(cf) == 2) {
		if ((v = str_parse_msec(CONF_ARG(cf, 2),
		    cf->node->args[2].len, 1000)) < 0) {
			conf_error(cf, "\"%s\" directive invalid value",
			    cmd->name);
			return -1;
		}
		l->keepalive_header = v;
	}
	return 0;
}

static int
set_add_header(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct array		**a = field;
	struct header_add	 *ha;

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL)
			return -1;
		array_init(*a, cf->pool, 2, sizeof(struct header_add));
	}
	if (CONF_NARGS(cf) == 3 && strcmp(CONF_ARG(cf, 3), "always") != 0) {
		conf_error(cf, "invalid parameter \"%s\"", CONF_ARG(cf, 3));
		return -1;
	}
	if ((ha = array_push(*a)) == NULL)
		return -1;
	ha->name = cf->node->args[1];
	ha->always = CONF_NARGS(cf) == 3;
	ha->value = cvalue_compile(cf, &h->vars, &cf->node->args[2]);
	return ha->value == NULL ? -1 : 0;
}

static int
set_error_page(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct array		**a = field;
	struct error_page	 *ep;
	struct cvalue		 *uri;
	size_t			  i, last = cf->node->nargs - 1;
	int			  overwrite = -1;
	int64_t			  code;
	const char		 *arg;

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL)
			return -1;
		array_init(*a, cf->pool, 4, sizeof(struct error_page));
	}
	arg = CONF_ARG(cf, last - 1);
	if (arg[0] == '=') {
		if (arg[1] == '\0')
			overwrite = 0;
		else if ((code = str_atoi(arg + 1, strlen(arg + 1))) < 100 ||
		    code > 599) {
			conf_error(cf, "invalid value \"%s\"", arg);
			return -1;
		} else
			overwrite = (int)code;
		last--;
	}
	if (last < 2) {
		conf_error(cf, "invalid number of arguments in "
		    "\"error_page\" directive");
		return -1;
	}
	if ((uri = cvalue_compile(cf, &h->vars,
	    &cf->node->args[cf->node->nargs - 1])) == NULL)
		return -1;
	for (i = 1; i < last; i++) {
		arg = CONF_ARG(cf, i);
		code = str_atoi(arg, strlen(arg));
		if (code < 300 || code > 599) {
			conf_error(cf, "value \"%s\" must be between 300 and "
			    "599", arg);
			return -1;
		}
		if ((ep = array_push(*a)) == NULL)
			return -1;
		ep->status = (int)code;
		ep->overwrite = overwrite;
		ep->uri = uri;
	}
	return 0;
}

static int
set_large_buffers(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_srv	*s = cf->slots[CONF_SLOT_SRV];
	int64_t		 n, size;

	if (s->large_header_num != CONF_UNSET)
		return conf_duplicate(cf);
	n = str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len);
	size = str_parse_size(CONF_ARG(cf, 2), cf->node->args[2].len);
	if (n <= 0 || n > 1024) {
		conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, 1));
		return -1;
	}
	if (size <= 0 || size > 1024 * 1024) {
		conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, 2));
		return -1;
	}
	s->large_header_num = (int)n;
	s->large_header_size = (size_t)size;
	return 0;
}

static int
set_not_supported(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	conf_error(cf, "the \"%s\" directive is not supported yet",
	    cmd->name);
	return -1;
}

/* Accepted for compatibility, with no effect; on|off is still checked. */
static int
set_ignore_flag(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	v = CONF_UNSET;

	return conf_set_flag(cf, cmd, &v);
}

/* Accepted for compatibility (hash sizes usher needs no tuning for). */
static int
set_ignore(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return 0;
}

/* keepalive_disable none | msie6 | safari ... */
static int
set_keepalive_disable(struct conf *cf, const struct conf_cmd *cmd,
    void *field)
{
	int	*v = field;
	size_t	 i;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	*v = 0;
	for (i = 1; i < cf->node->nargs; i++) {
		if (strcmp(CONF_ARG(cf, i), "msie6") == 0)
			*v |= KEEPALIVE_DISABLE_MSIE6;
		else if (strcmp(CONF_ARG(cf, i), "safari") == 0)
			*v |= KEEPALIVE_DISABLE_SAFARI;
		else if (strcmp(CONF_ARG(cf, i), "none") != 0) {
			conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, i));
			return -1;
		}
	}
	return 0;
}

/*
 * connection_pool_size and request_pool_size tune nginx's allocator;
 * usher's pools grow by themselves, so the size is only checked.
 */
static int
set_pool_size(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int64_t	v = str_parse_size(CONF_ARG(cf, 1), cf->node->args[1].len);

	if (v <= 0) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	return 0;
}

/* Finishing the http block ------------------------------------------------- */

static int
merge_locations(struct conf *cf, struct http_loc *l)
{
	struct http_loc	*c;
	size_t		 i;

	for (i = 0; i < l->children.n; i++) {
		c = *ARRAY_AT(&l->children, struct http_loc *, i);
		if (http_loc_merge(cf, c, l) == -1 ||
		    merge_locations(cf, c) == -1)
			return -1;
	}
	return 0;
}

static int
default_listen(struct conf *cf, struct http_main *h, struct http_srv *s)
{
	struct http_addr	*ha, **hp;
	struct http_srv		**sp;
	struct addr		 a;
	char			 err[64];

	addr_parse(&a, geteuid() == 0 ? "80" : "8000", geteuid() == 0 ? 2 : 4,
	    0, false, err, sizeof(err));
	if ((ha = find_addr(h, &a)) == NULL) {
		if ((ha = pool_calloc(cf->pool, sizeof(*ha))) == NULL)
			return -1;
		ha->addr = a;
		ha->backlog = 511;
		array_init(&ha->servers, cf->pool, 2, sizeof(struct http_srv *));
		if ((hp = array_push(&h->addrs)) == NULL)
			return -1;
		*hp = ha;
	}
	if ((sp = array_push(&ha->servers)) == NULL)
		return -1;
	*sp = s;
	return 0;
}

/*
 * One listener per address, except that a wildcard address covers the
 * specific addresses of the same port and family: those find their
 * servers after accept(), by getsockname().
 */
static int
make_listeners(struct conf *cf, struct http_main *h)
{
	struct cycle		*c = cf->owner;
	struct http_addr	*ha, *w;
	struct listener		*l;
	size_t			 i, j;

	for (i = 0; i < h->addrs.n; i++) {
		ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);
		if (ha->default_srv == NULL)
			ha->default_srv = *ARRAY_AT(&ha->servers,
			    struct http_srv *, 0);
		if (ha->addr.wildcard || ha->addr.u.sa.sa_family == AF_UNIX)
			continue;
		for (j = 0; j < h->addrs.n; j++) {
			w = *ARRAY_AT(&h->addrs, struct http_addr *, j);
			if (w->addr.wildcard && w->addr.u.sa.sa_family ==
			    ha->addr.u.sa.sa_family &&
			    addr_port(&w->addr) == addr_port(&ha->addr))
				break;
		}
		if (j < h->addrs.n) {
			ha->listener = NULL;
			ha->backlog = -1;	/* covered by the wildcard */
			continue;
		}
	}
	for (i = 0; i < h->addrs.n; i++) {
		ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);
		if (ha->backlog == -1)
			continue;
		if ((l = array_push(&c->listeners)) == NULL)
			return -1;
		l->addr = ha->addr;
		l->ssl = ha->ssl;
		addr_format(&ha->addr, l->text, sizeof(l->text), true);
		l->fd = -1;
		l->backlog = ha->backlog ? ha->backlog : 511;
		l->reuseport = ha->reuseport;
		l->servers = ha;
	}
	/* attach covered addresses to their wildcard, now that it is final */
	for (i = 0; i < h->addrs.n; i++) {
		ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);
		if (ha->backlog != -1)
			continue;
		for (j = 0; j < h->addrs.n; j++) {
			w = *ARRAY_AT(&h->addrs, struct http_addr *, j);
			if (w->backlog != -1 && w->addr.wildcard &&
			    w->addr.u.sa.sa_family == ha->addr.u.sa.sa_family &&
			    addr_port(&w->addr) == addr_port(&ha->addr)) {
				ha->specific = w->specific;
				w->specific = ha;
				break;
			}
		}
	}
	return 0;
}

static int
http_finish(struct conf *cf, struct http_main *h)
{
	struct http_srv	*s;
	size_t		 i;

	struct http_srv	defaults = {
	    .client_header_buffer_size = CONF_UNSET_SIZE,
	    .large_header_size = CONF_UNSET_SIZE,
	    .large_header_num = CONF_UNSET,
	    .client_header_timeout = CONF_UNSET_MSEC,
	    .merge_slashes = CONF_UNSET,
	    .underscores_in_headers = CONF_UNSET,
	    .ignore_invalid_headers = CONF_UNSET };

	tls_srv_init(&defaults.tls);
	http_srv_merge(h->srv, &defaults);
	if (http_loc_merge(cf, h->loc, NULL) == -1)
		return -1;
	for (i = 0; i < h->servers.n; i++) {
		s = *ARRAY_AT(&h->servers, struct http_srv *, i);
		http_srv_merge(s, h->srv);
		if (http_loc_merge(cf, s->loc, h->loc) == -1 ||
		    merge_locations(cf, s->loc) == -1)
			return -1;
		for (size_t k = 0; k < s->named.n; k++) {
			struct http_loc *n = *ARRAY_AT(&s->named,
			    struct http_loc *, k);

			if (http_loc_merge(cf, n, s->loc) == -1 ||
			    merge_locations(cf, n) == -1)
				return -1;
		}
		if (!s->has_listen && default_listen(cf, h, s) == -1)
			return -1;
	}
	/* servers sharing an ssl address are all TLS servers there */
	for (i = 0; i < h->addrs.n; i++) {
		struct http_addr *ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);

		for (size_t k = 0; ha->ssl && k < ha->servers.n; k++)
			(*ARRAY_AT(&ha->servers, struct http_srv *, k))->
			    listen_ssl = true;
	}
	/* certificates are needed by the default server of an ssl address
	 * (unless it refuses handshakes); another without any uses the
	 * default's, as in nginx */
	for (i = 0; i < h->addrs.n; i++) {
		struct http_addr *ha = *ARRAY_AT(&h->addrs, struct http_addr *, i);

		if (ha->ssl && ha->servers.n > 0)
			(ha->default_srv != NULL ? ha->default_srv :
			    *ARRAY_AT(&ha->servers, struct http_srv *, 0))->
			    tls_default = true;
	}
	for (i = 0; i < h->servers.n; i++) {
		s = *ARRAY_AT(&h->servers, struct http_srv *, i);
		if (tls_srv_build(cf, s, s->listen_ssl && s->tls_default) == -1)
			return -1;
	}
	if (upstream_finish(cf, h) == -1)
		return -1;
	return make_listeners(cf, h);
}
