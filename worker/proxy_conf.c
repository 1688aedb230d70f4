/*
 * Directives of the proxy module, their inheritance, and parsing the
 * proxy_pass URL.  The forwarding itself is proxy.c.
 */
#include <string.h>
#include <strings.h>

#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "http_conf.h"
#include "proxy_conf.h"
#include "upstream.h"
#include "upstream_conf.h"

#define PROXY(f)	LOC(proxy.f)

static conf_set_fn	set_proxy_pass, set_proxy_set_header,
			set_proxy_buffers, set_proxy_redirect,
			set_http_version, set_temp_path, set_cache_condition,
			set_proxy_method;

static const struct conf_enum	next_upstream_values[] = {
	{ "error", PROXY_NEXT_ERROR },
	{ "timeout", PROXY_NEXT_TIMEOUT },
	{ "invalid_header", PROXY_NEXT_INVALID_HEADER },
	{ "http_500", PROXY_NEXT_500 },
	{ "http_502", PROXY_NEXT_502 },
	{ "http_503", PROXY_NEXT_503 },
	{ "http_504", PROXY_NEXT_504 },
	{ "http_403", PROXY_NEXT_403 },
	{ "http_404", PROXY_NEXT_404 },
	{ "http_429", PROXY_NEXT_429 },
	{ "non_idempotent", PROXY_NEXT_NON_IDEMPOTENT },
	{ "off", PROXY_NEXT_OFF },
	{ NULL, 0 }
};

static const struct conf_enum	ignore_values[] = {
	{ "X-Accel-Redirect", PROXY_IGN_X_ACCEL_REDIRECT },
	{ "X-Accel-Expires", PROXY_IGN_X_ACCEL_EXPIRES },
	{ "X-Accel-Limit-Rate", PROXY_IGN_X_ACCEL_LIMIT_RATE },
	{ "X-Accel-Buffering", PROXY_IGN_X_ACCEL_BUFFERING },
	{ "X-Accel-Charset", PROXY_IGN_X_ACCEL_CHARSET },
	{ "Expires", PROXY_IGN_EXPIRES },
	{ "Cache-Control", PROXY_IGN_CACHE_CONTROL },
	{ "Set-Cookie", PROXY_IGN_SET_COOKIE },
	{ "Vary", PROXY_IGN_VARY },
	{ NULL, 0 }
};

#define PLOC		CONF_HTTP_ALL
/*	  name                          where               args              parser                 field                        extra */
const struct conf_cmd proxy_cmds[] = {
	{ "proxy_pass",                 CONF_LOCATION | CONF_LIF | CONF_LMT, CONF_ARGS(1, 1), set_proxy_pass,   0, 0,                        NULL },
	{ "proxy_set_header",           PLOC,               CONF_ARGS(2, 2),  set_proxy_set_header,  PROXY(set_headers),          NULL },
	{ "proxy_pass_request_headers", PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(pass_request_headers), NULL },
	{ "proxy_pass_request_body",    PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(pass_request_body),    NULL },
	{ "proxy_http_version",         PLOC,               CONF_ARGS(1, 1),  set_http_version,      PROXY(http_version),         NULL },
	{ "proxy_buffering",            PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(buffering),            NULL },
	{ "proxy_request_buffering",    PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(request_buffering),    NULL },
	{ "proxy_buffer_size",          PLOC,               CONF_ARGS(1, 1),  conf_set_size,         PROXY(buffer_size),          NULL },
	{ "proxy_buffers",              PLOC,               CONF_ARGS(2, 2),  set_proxy_buffers,     0, 0,                        NULL },
	{ "proxy_busy_buffers_size",    PLOC,               CONF_ARGS(1, 1),  conf_set_size,         PROXY(busy_buffers_size),    NULL },
	{ "proxy_max_temp_file_size",   PLOC,               CONF_ARGS(1, 1),  conf_set_off,          PROXY(max_temp_file_size),   NULL },
	{ "proxy_temp_file_write_size", PLOC,               CONF_ARGS(1, 1),  conf_set_size,         PROXY(temp_file_write_size), NULL },
	{ "proxy_temp_path",            CONF_HTTP_ALL,      CONF_ARGS(1, 4),  set_temp_path,         PROXY(temp_path),            NULL },
	{ "proxy_connect_timeout",      PLOC,               CONF_ARGS(1, 1),  conf_set_msec,         PROXY(connect_timeout),      NULL },
	{ "proxy_send_timeout",         PLOC,               CONF_ARGS(1, 1),  conf_set_msec,         PROXY(send_timeout),         NULL },
	{ "proxy_read_timeout",         PLOC,               CONF_ARGS(1, 1),  conf_set_msec,         PROXY(read_timeout),         NULL },
	{ "proxy_next_upstream",        PLOC,               CONF_ARGS_MIN(1), conf_set_bitmask,      PROXY(next_upstream),        next_upstream_values },
	{ "proxy_next_upstream_tries",  PLOC,               CONF_ARGS(1, 1),  conf_set_int,          PROXY(next_tries),           NULL },
	{ "proxy_next_upstream_timeout", PLOC,              CONF_ARGS(1, 1),  conf_set_msec,         PROXY(next_timeout),         NULL },
	{ "proxy_socket_keepalive",     PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(socket_keepalive),     NULL },
	{ "proxy_hide_header",          PLOC,               CONF_ARGS(1, 1),  conf_set_str_list,     PROXY(hide_headers),         NULL },
	{ "proxy_pass_header",          PLOC,               CONF_ARGS(1, 1),  conf_set_str_list,     PROXY(pass_headers),         NULL },
	{ "proxy_ignore_headers",       PLOC,               CONF_ARGS_MIN(1), conf_set_bitmask,      PROXY(ignore_headers),       ignore_values },
	{ "proxy_cache_bypass",         PLOC,               CONF_ARGS_MIN(1), set_cache_condition,   0, 0,                        NULL },
	{ "proxy_no_cache",             PLOC,               CONF_ARGS_MIN(1), set_cache_condition,   0, 0,                        NULL },
	{ "proxy_redirect",             PLOC,               CONF_ARGS(1, 2),  set_proxy_redirect,    0, 0,                        NULL },
	{ "proxy_intercept_errors",     PLOC,               CONF_FLAG,        conf_set_flag,         PROXY(intercept_errors),     NULL },
	{ "proxy_method",               PLOC,               CONF_ARGS(1, 1),  set_proxy_method,      0, 0,                        NULL },
	{ NULL }
};

void
proxy_loc_init(struct proxy_loc *p)
{
	memset(p, 0, sizeof(*p));
	p->pass_request_headers = CONF_UNSET;
	p->pass_request_body = CONF_UNSET;
	p->http_version = CONF_UNSET;
	p->buffering = CONF_UNSET;
	p->request_buffering = CONF_UNSET;
	p->buffer_size = CONF_UNSET_SIZE;
	p->nbufs = CONF_UNSET;
	p->buf_size = CONF_UNSET_SIZE;
	p->busy_buffers_size = CONF_UNSET_SIZE;
	p->max_temp_file_size = CONF_UNSET_MSEC;
	p->temp_file_write_size = CONF_UNSET_SIZE;
	p->connect_timeout = CONF_UNSET_MSEC;
	p->send_timeout = CONF_UNSET_MSEC;
	p->read_timeout = CONF_UNSET_MSEC;
	p->next_upstream = CONF_UNSET;
	p->next_tries = CONF_UNSET;
	p->next_timeout = CONF_UNSET_MSEC;
	p->socket_keepalive = CONF_UNSET;
	p->ignore_headers = CONF_UNSET;
	p->redirect_mode = CONF_UNSET;
	p->intercept_errors = CONF_UNSET;
	proxy_ssl_init(&p->ssl);
}

static bool
has_vars(const struct str *s)
{
	return memchr(s->data, '$', s->len) != NULL;
}

/*
 * proxy_pass http://host[:port][/uri] | http://unix:/path:[/uri] |
 * http://upstream_name[/uri], or any of these with variables.
 */
static int
set_proxy_pass(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct proxy_loc	*p = &l->proxy;
	struct str		*url = &cf->node->args[1], name;
	const char		*s = url->data, *end = url->data + url->len;
	const char		*hs, *he, *colon;
	size_t			 skip;

	if (p->pass)
		return conf_duplicate(cf);
	p->pass = true;
	p->file = cf->node->file;
	p->line = cf->node->line;
	if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(s, "https://", 8) == 0) {
		skip = 8;
		p->https = true;
	} else if (has_vars(url) && s[0] == '$') {
		/* the scheme is known per request: keep a context ready */
		skip = 0;
		p->https = true;
	} else {
		conf_error(cf, "invalid URL prefix in \"%s\"", s);
		return -1;
	}
	if (has_vars(url)) {
		p->url = cvalue_compile(cf, &h->vars, url);
		return p->url == NULL ? -1 : 0;
	}
	hs = s + skip;
	if ((size_t)(end - hs) >= 5 && strncmp(hs, "unix:", 5) == 0) {
		/* "unix:/path:/uri": the socket path ends at the next ':' */
		he = memchr(hs + 5, ':', (size_t)(end - hs - 5));
		if (he == NULL)
			he = end;
	} else {
		he = memchr(hs, '/', (size_t)(end - hs));
		if (he == NULL)
			he = end;
	}
	if (he == hs) {
		conf_error(cf, "no host in \"%s\"", s);
		return -1;
	}
	name.data = pool_strndup(cf->pool, hs, (size_t)(he - hs));
	name.len = (size_t)(he - hs);
	if (name.data == NULL)
		return -1;
	/* a socket path is no host name: nginx sends "Host: localhost" */
	if (strncmp(hs, "unix:", 5) == 0)
		p->host = (struct str)STR("localhost");
	else
		p->host = name;
	colon = (strncmp(hs, "unix:", 5) != 0 && hs[0] != '[') ?
	    memchr(hs, ':', (size_t)(he - hs)) : NULL;
	if (hs[0] == '[') {
		const char	*rb = memchr(hs, ']', (size_t)(he - hs));

		if (rb != NULL && rb + 1 < he && rb[1] == ':')
			colon = rb + 1;
	}
	if (colon != NULL) {
		p->port.data = (char *)colon + 1;
		p->port.len = (size_t)(he - colon - 1);
	} else {
		p->port.data = p->https ? "443" : "80";
		p->port.len = p->https ? 3 : 2;
	}
	if (he < end) {
		/* the socket form keeps ':' before its URI */
		if (*he == ':')
			he++;
		p->has_uri = true;
		p->uri.data = (char *)he;
		p->uri.len = (size_t)(end - he);
		if (l->match == LOC_REGEX || l->match == LOC_NAMED) {
			conf_error(cf, "\"proxy_pass\" cannot have URI part in "
			    "location given by regular expression, or inside "
			    "named location, or inside \"if\" statement, or "
			    "inside \"limit_except\" block");
			return -1;
		}
	}
	p->location = l->name;
	p->upstream = upstream_add_port(cf, &name, true, p->https ? 443 : 80);
	return p->upstream == NULL ? -1 : 0;
}

static int
set_proxy_set_header(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct array		**a = field;
	struct proxy_header	 *ph;

	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL)
			return -1;
		array_init(*a, cf->pool, 4, sizeof(struct proxy_header));
	}
	if ((ph = array_push(*a)) == NULL)
		return -1;
	ph->name = cf->node->args[1];
	ph->dynamic = has_vars(&cf->node->args[2]);
	ph->value = cvalue_compile(cf, &h->vars, &cf->node->args[2]);
	return ph->value == NULL ? -1 : 0;
}


static int
set_proxy_buffers(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];
	int64_t		 n, size;

	if (l->proxy.nbufs != CONF_UNSET)
		return conf_duplicate(cf);
	n = str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len);
	size = str_parse_size(CONF_ARG(cf, 2), cf->node->args[2].len);
	if (n < 2 || n > 1024 || size <= 0 || size > 16 * 1024 * 1024) {
		conf_error(cf, "invalid value in \"%s\" directive", cmd->name);
		return -1;
	}
	l->proxy.nbufs = (int)n;
	l->proxy.buf_size = (size_t)size;
	return 0;
}

/*
 * proxy_cache_bypass and proxy_no_cache: conditions on a cache usher does
 * not have, so they can change nothing; their values are checked (unknown
 * variables are errors) and dropped, so tutorial configs load.
 */
static int
set_cache_condition(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	size_t			 i;

	for (i = 1; i <= CONF_NARGS(cf); i++)
		if (cvalue_compile(cf, &h->vars, &cf->node->args[i]) == NULL)
			return -1;
	return 0;
}

static int
set_http_version(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*v = field;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if (strcmp(CONF_ARG(cf, 1), "1.0") == 0)
		*v = 10;
	else if (strcmp(CONF_ARG(cf, 1), "1.1") == 0)
		*v = 11;
	else {
		conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, 1));
		return -1;
	}
	return 0;
}

/* proxy_method: the method sent upstream, a constant or variables. */
static int
set_proxy_method(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];

	if (l->proxy.method != NULL)
		return conf_duplicate(cf);
	l->proxy.method = cvalue_compile(cf, &h->vars, &cf->node->args[1]);
	return l->proxy.method == NULL ? -1 : 0;
}

static int
set_temp_path(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	/* levels are accepted; temporary files are unlinked at once anyway */
	return conf_set_path(cf, cmd, field);
}

static int
set_proxy_redirect(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct proxy_loc	*p = &l->proxy;
	struct proxy_redirect	*r;
	struct str		*from = &cf->node->args[1];
	char			 err[256];
	bool			 def = false;

	if (CONF_NARGS(cf) == 1) {
		if (strcmp(CONF_ARG(cf, 1), "off") == 0) {
			p->redirect_mode = PROXY_REDIRECT_OFF;
			return 0;
		}
		if (strcmp(CONF_ARG(cf, 1), "default") != 0) {
			conf_error(cf, "invalid parameter \"%s\"",
			    CONF_ARG(cf, 1));
			return -1;
		}
		/* alone it is the default; among others one of the list */
		if (p->redirects == NULL) {
			p->redirect_mode = PROXY_REDIRECT_DEFAULT;
			return 0;
		}
		def = true;
	}
	if (p->redirects == NULL) {
		if ((p->redirects = pool_calloc(cf->pool,
		    sizeof(*p->redirects))) == NULL)
			return -1;
		array_init(p->redirects, cf->pool, 2,
		    sizeof(struct proxy_redirect));
	}
	/* a "default" written before the list joins it */
	if (p->redirect_mode == PROXY_REDIRECT_DEFAULT &&
	    p->redirects->n == 0) {
		if ((r = array_push(p->redirects)) == NULL)
			return -1;
		r->kind = PROXY_RD_DEFAULT;
	}
	p->redirect_mode = PROXY_REDIRECT_LIST;
	if ((r = array_push(p->redirects)) == NULL)
		return -1;
	if (def) {
		r->kind = PROXY_RD_DEFAULT;
		return 0;
	}
	if (from->len > 1 && from->data[0] == '~') {
		bool		 caseless = from->len > 2 && from->data[1] == '*';
		const char	*pat = from->data + (caseless ? 2 : 1);

		r->kind = PROXY_RD_REGEX;
		if ((r->regex = pool_calloc(cf->pool, sizeof(*r->regex))) ==
		    NULL)
			return -1;
		if (regex_compile(r->regex, cf->pool, pat, caseless, err,
		    sizeof(err)) == -1) {
			conf_error(cf, "%s", err);
			return -1;
		}
	} else if (memchr(from->data, '$', from->len) != NULL) {
		if ((r->from_value = cvalue_compile(cf, &h->vars, from)) ==
		    NULL)
			return -1;
	} else
		r->from = *from;
	r->to = cvalue_compile(cf, &h->vars, &cf->node->args[2]);
	return r->to == NULL ? -1 : 0;
}

int
proxy_loc_merge(struct conf *cf, struct http_loc *cl, const struct http_loc *pl)
{
	struct proxy_loc	*c = &cl->proxy;
	const struct proxy_loc	*p = &pl->proxy;

	CONF_MERGE_PTR(c->set_headers, p->set_headers, NULL);
	CONF_MERGE_PTR(c->method, p->method, NULL);
	CONF_MERGE_INT(c->pass_request_headers, p->pass_request_headers, 1);
	CONF_MERGE_INT(c->pass_request_body, p->pass_request_body, 1);
	CONF_MERGE_INT(c->http_version, p->http_version, 10);
	CONF_MERGE_INT(c->buffering, p->buffering, 1);
	CONF_MERGE_INT(c->request_buffering, p->request_buffering, 1);
	CONF_MERGE_SIZE(c->buffer_size, p->buffer_size, 4096);
	if (c->nbufs == CONF_UNSET) {
		c->nbufs = p->nbufs == CONF_UNSET ? 8 : p->nbufs;
		c->buf_size = p->buf_size == CONF_UNSET_SIZE ? 4096 :
		    p->buf_size;
	}
	CONF_MERGE_SIZE(c->busy_buffers_size, p->busy_buffers_size,
	    2 * c->buf_size);
	CONF_MERGE_MSEC(c->max_temp_file_size, p->max_temp_file_size,
	    1024LL * 1024 * 1024);
	CONF_MERGE_SIZE(c->temp_file_write_size, p->temp_file_write_size,
	    2 * c->buf_size);
	if (c->temp_path == NULL)
		c->temp_path = p->temp_path != NULL ? p->temp_path :
		    conf_full_path(cf, "proxy_temp", 10, false);
	if (c->temp_path == NULL ||
	    cycle_temp_path(cf->owner, c->temp_path) == -1)
		return -1;
	CONF_MERGE_MSEC(c->connect_timeout, p->connect_timeout, 60000);
	CONF_MERGE_MSEC(c->send_timeout, p->send_timeout, 60000);
	CONF_MERGE_MSEC(c->read_timeout, p->read_timeout, 60000);
	CONF_MERGE_INT(c->next_upstream, p->next_upstream,
	    PROXY_NEXT_ERROR | PROXY_NEXT_TIMEOUT);
	CONF_MERGE_INT(c->next_tries, p->next_tries, 0);
	CONF_MERGE_MSEC(c->next_timeout, p->next_timeout, 0);
	CONF_MERGE_INT(c->socket_keepalive, p->socket_keepalive, 0);
	CONF_MERGE_PTR(c->hide_headers, p->hide_headers, NULL);
	CONF_MERGE_PTR(c->pass_headers, p->pass_headers, NULL);
	CONF_MERGE_INT(c->ignore_headers, p->ignore_headers, 0);
	CONF_MERGE_INT(c->intercept_errors, p->intercept_errors, 0);
	if (c->redirect_mode == CONF_UNSET) {
		c->redirect_mode = p->redirect_mode == CONF_UNSET ?
		    PROXY_REDIRECT_DEFAULT : p->redirect_mode;
		c->redirects = p->redirects;
	}
	proxy_ssl_merge(&c->ssl, &p->ssl);
	if (c->pass && c->https && proxy_ssl_build(cf, c) == -1)
		return -1;
	if (c->next_upstream & PROXY_NEXT_OFF)
		c->next_upstream = PROXY_NEXT_OFF;
	if (c->buffer_size < 1024) {
		conf_error(cf, "\"proxy_buffer_size\" must be at least 1k");
		return -1;
	}
	return 0;
}
