/*
 * The charset module: the charset parameter of Content-Type.  Only
 * labelling: usher never recodes a body, so a source_charset that differs
 * from charset is a configuration error rather than a silent mislabel.
 */
#include <string.h>
#include <strings.h>

#include "../common/pool.h"
#include "charset.h"
#include "http.h"
#include "http_conf.h"

#define CHARSET(f)	LOC(charset.f)

static conf_set_fn	set_charset, set_charset_map;

/*	  name               where                     args              parser              field                 extra */
const struct conf_cmd charset_cmds[] = {
	{ "charset",         CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  set_charset,        CHARSET(charset),     NULL },
	{ "charset_types",   CONF_HTTP_ALL,            CONF_ARGS_MIN(1), conf_set_str_list,  CHARSET(types),       NULL },
	{ "override_charset", CONF_HTTP_ALL | CONF_LIF, CONF_FLAG,       conf_set_flag,      CHARSET(override),    NULL },
	{ "source_charset",  CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  conf_set_str,       CHARSET(source),      NULL },
	{ "charset_map",     CONF_HTTP,                CONF_BLOCK | CONF_ARGS(2, 2), set_charset_map, 0, 0,        NULL },
	{ NULL }
};

static const struct str	default_types[] = {
	STR("text/html"), STR("text/xml"), STR("text/plain"),
	STR("text/vnd.wap.wml"), STR("application/javascript"),
	STR("application/rss+xml")
};

void
charset_loc_init(struct charset_loc *c)
{
	memset(c, 0, sizeof(*c));
	c->override = CONF_UNSET;
}

static int
set_charset(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];

	if (l->charset.charset_set)
		return conf_duplicate(cf);
	l->charset.charset_set = true;
	if (strcmp(CONF_ARG(cf, 1), "off") != 0)
		l->charset.charset = cf->node->args[1];
	return 0;
}

static int
set_charset_map(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	conf_error(cf, "\"charset_map\" is not supported: usher labels "
	    "responses with a charset but does not convert them");
	return -1;
}

int
charset_loc_merge(struct conf *cf, struct charset_loc *c,
    const struct charset_loc *p)
{
	if (!c->charset_set) {
		c->charset = p->charset;
		c->charset_set = p->charset_set;
	}
	CONF_MERGE_PTR(c->types, p->types, NULL);
	CONF_MERGE_INT(c->override, p->override, 0);
	if (c->source.data == NULL)
		c->source = p->source;
	if (c->charset.len > 0 && c->source.len > 0 &&
	    !str_caseeq(c->charset.data, c->charset.len, c->source.data,
	    c->source.len)) {
		conf_error(cf, "conversion from \"%s\" to \"%s\" is not "
		    "supported (no charset_map)", c->source.data,
		    c->charset.data);
		return -1;
	}
	return 0;
}

static bool
listed(const struct charset_loc *c, const char *t, size_t len)
{
	const struct str	*types;
	size_t			 i, n;

	if (c->types != NULL) {
		types = c->types->elts;
		n = c->types->n;
	} else {
		types = default_types;
		n = sizeof(default_types) / sizeof(default_types[0]);
	}
	for (i = 0; i < n; i++)
		if ((types[i].len == 1 && types[i].data[0] == '*') ||
		    str_caseeq(types[i].data, types[i].len, t, len))
			return true;
	return false;
}

struct str
charset_content_type(struct request *r)
{
	const struct http_loc		*l = r->loc ? r->loc : r->srv->loc;
	const struct charset_loc	*c = &l->charset;
	struct str			 ct = r->content_type, out;
	const char			*semi;
	size_t				 tlen;

	if (c->charset.len == 0 || ct.len == 0)
		return ct;
	semi = memchr(ct.data, ';', ct.len);
	tlen = semi ? (size_t)(semi - ct.data) : ct.len;
	while (tlen > 0 && ct.data[tlen - 1] == ' ')
		tlen--;
	if (!listed(c, ct.data, tlen))
		return ct;
	/* one already named is kept: usher does not recode bodies */
	if (semi != NULL && str_casefind(semi, ct.len - tlen, "charset=", 8))
		return ct;
	if ((out.data = pool_alloc(r->pool, ct.len + 10 + c->charset.len)) ==
	    NULL)
		return ct;
	memcpy(out.data, ct.data, ct.len);
	memcpy(out.data + ct.len, "; charset=", 10);
	memcpy(out.data + ct.len + 10, c->charset.data, c->charset.len);
	out.len = ct.len + 10 + c->charset.len;
	return out;
}
