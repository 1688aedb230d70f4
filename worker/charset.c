/*
 * The charset module: its directives, the charset_map tables built at
 * load, and the header filter that labels Content-Type and decides
 * whether the body is recoded.  The recoding itself is charset_recode.c.
 */
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/pool.h"
#include "charset.h"
#include "conn.h"
#include "encode.h"
#include "http.h"
#include "http_conf.h"
#include "vars.h"

#define CHARSET(f)	LOC(charset.f)

static conf_set_fn	set_charset, set_source, set_charset_map;

/*	  name               where                     args              parser              field                 extra */
const struct conf_cmd charset_cmds[] = {
	{ "charset",         CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  set_charset,        CHARSET(charset),     NULL },
	{ "charset_types",   CONF_HTTP_ALL,            CONF_ARGS_MIN(1), conf_set_str_list,  CHARSET(types),       NULL },
	{ "override_charset", CONF_HTTP_ALL | CONF_LIF, CONF_FLAG,       conf_set_flag,      CHARSET(override),    NULL },
	{ "source_charset",  CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  set_source,         CHARSET(source),      NULL },
	{ "charset_map",     CONF_HTTP,                CONF_BLOCK | CONF_ARGS(2, 2), set_charset_map, 0, 0,        NULL },
	{ NULL }
};

static const struct str	default_types[] = {
	STR("text/html"), STR("text/xml"), STR("text/plain"),
	STR("text/vnd.wap.wml"), STR("application/javascript"),
	STR("application/rss+xml")
};

#define IS_UTF8(s)	STR_CASEEQ_LIT((s).data, (s).len, "utf-8")

void
charset_loc_init(struct charset_loc *c)
{
	memset(c, 0, sizeof(*c));
	c->override = CONF_UNSET;
}

/* A name, or a variable evaluated per request. */
static int
set_name(struct conf *cf, struct str *name, struct cvalue **cv)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	const struct str	*a = &cf->node->args[1];

	l->charset.where = cf->node;
	if (a->data[0] == '$') {
		if ((*cv = cvalue_compile(cf, &h->vars, a)) == NULL)
			return -1;
		return 0;
	}
	*name = *a;
	return 0;
}

static int
set_charset(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];

	if (l->charset.charset_set)
		return conf_duplicate(cf);
	l->charset.charset_set = true;
	if (strcmp(CONF_ARG(cf, 1), "off") == 0)
		return 0;
	return set_name(cf, &l->charset.charset, &l->charset.charset_cv);
}

static int
set_source(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];

	if (l->charset.source.data != NULL || l->charset.source_cv != NULL)
		return conf_duplicate(cf);
	return set_name(cf, &l->charset.source, &l->charset.source_cv);
}

/* charset_map blocks ------------------------------------------------------ */

static int
hex_byte(const char *p, size_t len)
{
	int	v = 0;
	size_t	i;

	if (len == 0 || len > 2)
		return -1;
	for (i = 0; i < len; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* The code point of a one to three byte UTF-8 sequence; -1 if it is not
 * exactly one well-formed character of the BMP. */
static long
utf8_bmp(const unsigned char *s, size_t n)
{
	long	cp;
	size_t	need, i;

	if (n == 1)
		return s[0] < 0x80 ? s[0] : -1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else
		return -1;
	if (n != need)
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (need == 3 && cp < 0x800)
		return -1;
	return cp;
}

/* One "XX YY" line of a map into m. */
static int
map_line(struct conf *cf, struct pool *pool, struct charset_map *m)
{
	const struct str	*a = cf->node->args;
	unsigned char		 seq[3] = { 0 }, *e;
	long			 cp;
	size_t			 i;
	int			 from, b;

	if (cf->node->nargs != 2 || cf->node->block) {
		conf_error(cf, "invalid parameters number");
		return -1;
	}
	if ((from = hex_byte(a[0].data, a[0].len)) == -1) {
		conf_error(cf, "invalid value \"%.*s\"", (int)a[0].len,
		    a[0].data);
		return -1;
	}
	if (!m->utf8) {
		if ((b = hex_byte(a[1].data, a[1].len)) == -1)
			goto invalid;
		m->fwd[from] = (unsigned char)b;
		m->rev[b] = (unsigned char)from;
		return 0;
	}
	if (a[1].len == 0 || a[1].len % 2 != 0 || a[1].len > 6)
		goto invalid;
	for (i = 0; i < a[1].len / 2; i++) {
		if ((b = hex_byte(a[1].data + 2 * i, 2)) == -1)
			goto invalid;
		seq[i] = (unsigned char)b;
	}
	if ((cp = utf8_bmp(seq, i)) == -1)
		goto invalid;
	e = m->fwd + 4 * from;
	e[0] = (unsigned char)i;
	memcpy(e + 1, seq, i);
	if (m->pages[cp >> 8] == NULL &&
	    (m->pages[cp >> 8] = pool_calloc(pool, 256)) == NULL)
		return -1;
	m->pages[cp >> 8][cp & 0xff] = (unsigned char)from;
	return 0;
invalid:
	conf_error(cf, "invalid value \"%.*s\"", (int)a[1].len, a[1].data);
	return -1;
}

/* Bytes below 0x80 map to themselves, the others to '?' until named. */
static int
map_new(struct pool *pool, struct charset_map *m)
{
	int	i;

	if (m->utf8) {
		if ((m->fwd = pool_alloc(pool, 256 * 4)) == NULL ||
		    (m->pages = pool_calloc(pool, 256 * sizeof(*m->pages)))
		    == NULL || (m->pages[0] = pool_calloc(pool, 256)) == NULL)
			return -1;
		for (i = 0; i < 256; i++) {
			m->fwd[4 * i] = 1;
			m->fwd[4 * i + 1] = i < 0x80 ? (unsigned char)i : '?';
			if (i < 0x80)
				m->pages[0][i] = (unsigned char)i;
		}
		return 0;
	}
	if ((m->fwd = pool_alloc(pool, 256)) == NULL ||
	    (m->rev = pool_alloc(pool, 256)) == NULL)
		return -1;
	for (i = 0; i < 256; i++)
		m->fwd[i] = m->rev[i] = i < 0x80 ? (unsigned char)i : '?';
	return 0;
}

static int
set_charset_map(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct conf_node	*block = cf->node;
	const struct str	*a = block->args;
	struct charset_map	*m;
	size_t			 i;
	int			 rc = 0;

	if (str_caseeq(a[1].data, a[1].len, a[2].data, a[2].len)) {
		conf_error(cf, "\"charset_map\" between the same charsets "
		    "\"%s\" and \"%s\"", a[1].data, a[2].data);
		return -1;
	}
	if (IS_UTF8(a[1])) {
		conf_error(cf, "\"charset_map\" with \"utf-8\" charset should "
		    "be given in the second column");
		return -1;
	}
	if (h->charset_maps == NULL && ((h->charset_maps = pool_calloc(
	    cf->pool, sizeof(struct array))) == NULL ||
	    array_init(h->charset_maps, cf->pool, 2,
	    sizeof(struct charset_map)) == -1))
		return -1;
	for (i = 0; i < h->charset_maps->n; i++) {
		m = ARRAY_AT(h->charset_maps, struct charset_map, i);
		if ((str_caseeq(m->from.data, m->from.len, a[1].data,
		    a[1].len) && str_caseeq(m->to.data, m->to.len, a[2].data,
		    a[2].len)) || (str_caseeq(m->from.data, m->from.len,
		    a[2].data, a[2].len) && str_caseeq(m->to.data, m->to.len,
		    a[1].data, a[1].len))) {
			conf_error(cf, "duplicate \"charset_map\" between "
			    "\"%s\" and \"%s\"", a[1].data, a[2].data);
			return -1;
		}
	}
	if ((m = array_push(h->charset_maps)) == NULL)
		return -1;
	memset(m, 0, sizeof(*m));
	m->from = a[1];
	m->to = a[2];
	m->utf8 = IS_UTF8(a[2]);
	if (map_new(cf->pool, m) == -1)
		return -1;
	for (i = 0; i < block->nchildren && rc == 0; i++) {
		cf->node = &block->children[i];
		rc = map_line(cf, cf->pool, m);
	}
	cf->node = block;
	return rc;
}

/* The map between two charsets, either way round; NULL if none. */
static const struct charset_map *
find_map(const struct array *maps, const struct str *src,
    const struct str *dst, bool *reverse)
{
	const struct charset_map	*m;
	size_t				 i;

	for (i = 0; maps != NULL && i < maps->n; i++) {
		m = ARRAY_AT(maps, struct charset_map, i);
		if (str_caseeq(m->from.data, m->from.len, src->data,
		    src->len) && str_caseeq(m->to.data, m->to.len, dst->data,
		    dst->len)) {
			*reverse = false;
			return m;
		}
		if (str_caseeq(m->to.data, m->to.len, src->data, src->len) &&
		    str_caseeq(m->from.data, m->from.len, dst->data,
		    dst->len)) {
			*reverse = true;
			return m;
		}
	}
	return NULL;
}

int
charset_loc_merge(struct conf *cf, struct charset_loc *c,
    const struct charset_loc *p)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct conf_node	*node;
	bool			 reverse;
	int			 rc = 0;

	if (!c->charset_set) {
		c->charset = p->charset;
		c->charset_cv = p->charset_cv;
		c->charset_set = p->charset_set;
	}
	CONF_MERGE_PTR(c->types, p->types, NULL);
	CONF_MERGE_INT(c->override, p->override, 0);
	if (c->source.data == NULL && c->source_cv == NULL) {
		c->source = p->source;
		c->source_cv = p->source_cv;
	}
	if (c->where == NULL)
		c->where = p->where;
	c->maps = h != NULL ? h->charset_maps : NULL;
	/* names known now must have their map, as nginx checks at load */
	if (c->charset.len > 0 && c->source.len > 0 &&
	    !str_caseeq(c->charset.data, c->charset.len, c->source.data,
	    c->source.len) &&
	    find_map(c->maps, &c->source, &c->charset, &reverse) == NULL) {
		node = cf->node;
		if (c->where != NULL)
			cf->node = c->where;
		conf_error(cf, "no \"charset_map\" between the charsets "
		    "\"%.*s\" and \"%.*s\"", (int)c->source.len,
		    c->source.data, (int)c->charset.len, c->charset.data);
		cf->node = node;
		rc = -1;
	}
	return rc;
}

/* The header filter ------------------------------------------------------ */

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

/* The media type alone, without parameters. */
static size_t
type_len(const struct str *ct)
{
	const char	*semi = memchr(ct->data, ';', ct->len);
	size_t		 len = semi ? (size_t)(semi - ct->data) : ct->len;

	while (len > 0 && ct->data[len - 1] == ' ')
		len--;
	return len;
}

/*
 * Splits a Content-Type: *base is what comes before a charset parameter
 * (the whole value when there is none, spaces trimmed), *cs its value
 * without quotes (empty when absent).
 */
static void
split_type(const struct str *ct, size_t *base, struct str *cs)
{
	const char	*p = memchr(ct->data, ';', ct->len), *end, *v;
	size_t		 len = ct->len;

	cs->data = NULL;
	cs->len = 0;
	end = ct->data + ct->len;
	while (p != NULL) {
		v = p + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (end - v >= 8 && strncasecmp(v, "charset=", 8) == 0) {
			len = (size_t)(p - ct->data);
			v += 8;
			cs->data = (char *)v;
			while (v < end && *v != ';' && *v != ' ')
				v++;
			cs->len = (size_t)(v - cs->data);
			if (cs->len >= 2 && cs->data[0] == '"' &&
			    cs->data[cs->len - 1] == '"') {
				cs->data++;
				cs->len -= 2;
			}
			break;
		}
		p = memchr(v, ';', (size_t)(end - v));
	}
	while (len > 0 && (ct->data[len - 1] == ' ' ||
	    ct->data[len - 1] == '\t'))
		len--;
	*base = len;
}

/* Content-Type as base + "; charset=" + name; redirects get none, as
 * nginx (old browsers took it for the next page's). */
static void
label(struct request *r, size_t base, const struct str *name)
{
	struct str	*ct = &r->content_type;
	char		*p;

	if (r->status == 301 || r->status == 302)
		return;
	if ((p = pool_alloc(r->pool, base + 10 + name->len)) == NULL)
		return;
	memcpy(p, ct->data, base);
	memcpy(p + base, "; charset=", 10);
	memcpy(p + base + 10, name->data, name->len);
	ct->data = p;
	ct->len = base + 10 + name->len;
}

static bool
has_encoding(struct request *r)
{
	const struct header	*h;
	size_t			 i;

	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		if (STR_CASEEQ_LIT(h->name.data, h->name.len,
		    "Content-Encoding") && h->value.len > 0)
			return true;
	}
	return false;
}

static void
drop_accept_ranges(struct request *r)
{
	struct header	*h = r->out_headers.elts;
	size_t		 i, j;

	for (i = j = 0; i < r->out_headers.n; i++)
		if (!STR_CASEEQ_LIT(h[i].name.data, h[i].name.len,
		    "Accept-Ranges"))
			h[j++] = h[i];
	r->out_headers.n = j;
}

static void
recoder_cleanup(void *arg)
{
	struct request	*r = arg;

	if (r->coder != NULL)
		r->coder->release(r->coder);
	r->coder = NULL;
}

/* Starts recoding r's body by m; true when its size may change. */
static bool
start_recoding(struct request *r, const struct charset_map *m, bool reverse)
{
	struct coder	*c;
	bool		 resize = m->utf8;

	if (resize) {
		/* the length is no longer known */
		r->out_length = -1;
		drop_accept_ranges(r);
	}
	if (r->head || r->status == 204 || r->status == 304 || r->upgraded)
		return resize;
	if ((c = charset_recoder(r, m, reverse)) == NULL ||
	    pool_cleanup_add(r->pool, recoder_cleanup, r) == -1) {
		log_conn(LOG_ALERT, r->conn->number, "cannot start recoding "
		    "(out of memory)");
		return resize;
	}
	r->coder = c;
	if (resize) {
		if (r->version >= 11)
			r->chunked_out = true;
		else
			r->close_after = true;
	}
	return resize;
}

void
charset_forget(struct request *r)
{
	/* the recoder holds only request memory */
	if (r->coder != NULL && r->coder->coding == CODING_RECODE)
		r->coder = NULL;
	r->charset_tested = r->recode_resizes = false;
}

/* A charset setting's value for r: the name, or its variable's value. */
static void
value_of(struct request *r, const struct str *name, const struct cvalue *cv,
    struct str *out)
{
	*out = *name;
	if (cv != NULL && cvalue_eval(r, cv, out) == -1)
		out->len = 0;
}

bool
charset_header(struct request *r)
{
	const struct http_loc		*l = r->loc ? r->loc : r->srv->loc;
	const struct charset_loc	*c = &l->charset;
	const struct charset_map	*m;
	struct str			 dst, src, have;
	size_t				 base;
	bool				 reverse;

	if (r->charset_tested)
		return r->recode_resizes;
	r->charset_tested = true;
	if ((c->charset.len == 0 && c->charset_cv == NULL) ||
	    r->content_type.len == 0 || r->coder != NULL)
		return false;
	split_type(&r->content_type, &base, &have);
	if (have.len > 0) {
		/* the response names its charset: kept unless overridden */
		if (!c->override)
			return false;
	} else if (!listed(c, r->content_type.data,
	    type_len(&r->content_type)))
		return false;
	value_of(r, &c->charset, c->charset_cv, &dst);
	if (dst.len == 0)
		return false;
	if (have.len > 0)
		src = have;
	else
		value_of(r, &c->source, c->source_cv, &src);
	if (src.len == 0 || str_caseeq(src.data, src.len, dst.data,
	    dst.len)) {
		label(r, base, &dst);
		return false;
	}
	/* a coded body (gzip_static, an upstream's gzip) is left alone */
	if (has_encoding(r))
		return false;
	if ((m = find_map(c->maps, &src, &dst, &reverse)) == NULL) {
		log_conn(LOG_ERR, r->conn->number, "no \"charset_map\" between "
		    "the charsets \"%.*s\" and \"%.*s\"", (int)src.len,
		    src.data, (int)dst.len, dst.data);
		return false;
	}
	label(r, base, &dst);
	r->recode_resizes = start_recoding(r, m, reverse);
	return r->recode_resizes;
}
