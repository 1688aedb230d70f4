/*
 * The directives of on-the-fly compression: nginx's gzip, gzip_static and
 * gunzip modules, and Brotli and zstd named as the widely used
 * third-party nginx modules name them (ngx_brotli, zstd-nginx-module).
 */
#include "config.h"

#include <string.h>

#include "../common/pool.h"
#include "../common/regex.h"
#include "encode.h"
#include "encode_int.h"
#include "http.h"
#include "http_conf.h"

#define ENC(f)		LOC(encode.f)
#define EALL		CONF_HTTP_ALL
#define EALL_IF		(CONF_HTTP_ALL | CONF_LIF)

static conf_set_fn	set_bufs, set_proxied, set_disable, set_window,
			set_hash, set_brotli_window, set_coding_on,
			set_ignored, set_unsupported;

static const struct conf_bounds	gzip_levels = { 1, 9 };
static const struct conf_bounds	brotli_levels = { 0, 11 };
static const struct conf_bounds	zstd_levels = { 1, 22 };

static const struct conf_enum	http_versions[] = {
	{ "1.0", 10 }, { "1.1", 11 }, { NULL, 0 }
};

static const struct conf_enum	static_modes[] = {
	{ "off", ENC_STATIC_OFF }, { "on", ENC_STATIC_ON },
	{ "always", ENC_STATIC_ALWAYS }, { NULL, 0 }
};

static const struct conf_enum	proxied_flags[] = {
	{ "off", ENC_PROXIED_OFF },
	{ "expired", ENC_PROXIED_EXPIRED },
	{ "no-cache", ENC_PROXIED_NO_CACHE },
	{ "no-store", ENC_PROXIED_NO_STORE },
	{ "private", ENC_PROXIED_PRIVATE },
	{ "no_last_modified", ENC_PROXIED_NO_LM },
	{ "no_etag", ENC_PROXIED_NO_ETAG },
	{ "auth", ENC_PROXIED_AUTH },
	{ "any", ENC_PROXIED_ANY },
	{ NULL, 0 }
};

/*	  name                 where    args              parser            field                     extra */
const struct conf_cmd encode_cmds[] = {
	{ "gzip",              EALL_IF, CONF_FLAG,        set_coding_on,    ENC(gzip.on),             NULL },
	{ "gzip_types",        EALL,    CONF_ARGS_MIN(1), conf_set_str_list, ENC(gzip.types),         NULL },
	{ "gzip_min_length",   EALL,    CONF_ARGS(1, 1),  conf_set_off,     ENC(gzip.min_length),     NULL },
	{ "gzip_comp_level",   EALL,    CONF_ARGS(1, 1),  conf_set_int,     ENC(gzip.level),          &gzip_levels },
	{ "gzip_buffers",      EALL,    CONF_ARGS(2, 2),  set_bufs,         ENC(gzip_bufs_num),       NULL },
	{ "gzip_http_version", EALL,    CONF_ARGS(1, 1),  conf_set_enum,    ENC(http_version),        http_versions },
	{ "gzip_proxied",      EALL,    CONF_ARGS_MIN(1), set_proxied,      ENC(proxied),             NULL },
	{ "gzip_vary",         EALL,    CONF_FLAG,        conf_set_flag,    ENC(vary),                NULL },
	{ "gzip_disable",      EALL,    CONF_ARGS_MIN(1), set_disable,      0, 0,                     NULL },
	{ "gzip_window",       EALL,    CONF_ARGS(1, 1),  set_window,       ENC(wbits),               NULL },
	{ "gzip_hash",         EALL,    CONF_ARGS(1, 1),  set_hash,         ENC(memlevel),            NULL },
	{ "gzip_static",       EALL,    CONF_ARGS(1, 1),  conf_set_enum,    ENC(gzip.statik),         static_modes },
	{ "gunzip",            EALL,    CONF_FLAG,        conf_set_flag,    ENC(gunzip),              NULL },
	{ "gunzip_buffers",    EALL,    CONF_ARGS(2, 2),  set_bufs,         ENC(gunzip_bufs_num),     NULL },
	{ "brotli",            EALL_IF, CONF_FLAG,        set_coding_on,    ENC(brotli.on),           NULL },
	{ "brotli_types",      EALL,    CONF_ARGS_MIN(1), conf_set_str_list, ENC(brotli.types),       NULL },
	{ "brotli_min_length", EALL,    CONF_ARGS(1, 1),  conf_set_off,     ENC(brotli.min_length),   NULL },
	{ "brotli_comp_level", EALL,    CONF_ARGS(1, 1),  conf_set_int,     ENC(brotli.level),        &brotli_levels },
	{ "brotli_window",     EALL,    CONF_ARGS(1, 1),  set_brotli_window, ENC(brotli_lgwin),       NULL },
	{ "brotli_buffers",    EALL,    CONF_ARGS(2, 2),  set_ignored,      0, 0,                     NULL },
	{ "brotli_static",     EALL,    CONF_ARGS(1, 1),  conf_set_enum,    ENC(brotli.statik),       static_modes },
	{ "zstd",              EALL_IF, CONF_FLAG,        set_coding_on,    ENC(zstd.on),             NULL },
	{ "zstd_types",        EALL,    CONF_ARGS_MIN(1), conf_set_str_list, ENC(zstd.types),         NULL },
	{ "zstd_min_length",   EALL,    CONF_ARGS(1, 1),  conf_set_off,     ENC(zstd.min_length),     NULL },
	{ "zstd_comp_level",   EALL,    CONF_ARGS(1, 1),  conf_set_int,     ENC(zstd.level),          &zstd_levels },
	{ "zstd_buffers",      EALL,    CONF_ARGS(2, 2),  set_ignored,      0, 0,                     NULL },
	{ "zstd_static",       EALL,    CONF_ARGS(1, 1),  conf_set_enum,    ENC(zstd.statik),         static_modes },
	{ "zstd_dict_file",    CONF_HTTP, CONF_ARGS(1, 1), set_unsupported, 0, 0,                     NULL },
	{ NULL }
};

static void
coding_init(struct enc_coding *c)
{
	c->on = CONF_UNSET;
	c->types = NULL;
	c->min_length = CONF_UNSET_MSEC;
	c->level = CONF_UNSET;
	c->statik = CONF_UNSET;
}

void
encode_loc_init(struct encode_loc *e)
{
	memset(e, 0, sizeof(*e));
	coding_init(&e->gzip);
	coding_init(&e->brotli);
	coding_init(&e->zstd);
	e->gzip_bufs_num = CONF_UNSET;
	e->http_version = CONF_UNSET;
	e->proxied = CONF_UNSET;
	e->vary = CONF_UNSET;
	e->disable_msie6 = CONF_UNSET;
	e->wbits = CONF_UNSET;
	e->memlevel = CONF_UNSET;
	e->brotli_lgwin = CONF_UNSET;
	e->gunzip = CONF_UNSET;
	e->gunzip_bufs_num = CONF_UNSET;
}

static void
coding_merge(struct enc_coding *c, const struct enc_coding *p, int level)
{
	CONF_MERGE_INT(c->on, p->on, 0);
	CONF_MERGE_PTR(c->types, p->types, NULL);
	CONF_MERGE_MSEC(c->min_length, p->min_length, 20);
	CONF_MERGE_INT(c->level, p->level, level);
	CONF_MERGE_INT(c->statik, p->statik, ENC_STATIC_OFF);
}

int
encode_loc_merge(struct conf *cf, struct encode_loc *e,
    const struct encode_loc *p)
{
	coding_merge(&e->gzip, &p->gzip, 1);
	coding_merge(&e->brotli, &p->brotli, 6);
	coding_merge(&e->zstd, &p->zstd, 1);
	if (e->gzip_bufs_num == CONF_UNSET) {
		e->gzip_bufs_num = p->gzip_bufs_num != CONF_UNSET ?
		    p->gzip_bufs_num : 32;
		e->gzip_bufs_size = p->gzip_bufs_num != CONF_UNSET ?
		    p->gzip_bufs_size : 4096;
	}
	if (e->gunzip_bufs_num == CONF_UNSET) {
		e->gunzip_bufs_num = p->gunzip_bufs_num != CONF_UNSET ?
		    p->gunzip_bufs_num : 32;
		e->gunzip_bufs_size = p->gunzip_bufs_num != CONF_UNSET ?
		    p->gunzip_bufs_size : 4096;
	}
	CONF_MERGE_INT(e->http_version, p->http_version, 11);
	CONF_MERGE_INT(e->proxied, p->proxied, ENC_PROXIED_OFF);
	CONF_MERGE_INT(e->vary, p->vary, 0);
	CONF_MERGE_PTR(e->disable, p->disable, NULL);
	CONF_MERGE_INT(e->disable_msie6, p->disable_msie6, 0);
	CONF_MERGE_INT(e->wbits, p->wbits, 15);
	CONF_MERGE_INT(e->memlevel, p->memlevel, 8);
	CONF_MERGE_INT(e->brotli_lgwin, p->brotli_lgwin, 19);
	CONF_MERGE_INT(e->gunzip, p->gunzip, 0);
	return 0;
}

/* brotli/zstd "on" in a build without the library is a clear error. */
static int
set_coding_on(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	enum coding	coding = cmd->name[0] == 'b' ? CODING_BR :
			    cmd->name[0] == 'z' ? CODING_ZSTD : CODING_GZIP;

	if (conf_set_flag(cf, cmd, field) == -1)
		return -1;
	if (*(int *)field && !coder_available(coding)) {
		conf_error(cf, "\"%s\" is not available: usher was built "
		    "without %s", cmd->name, coding == CODING_BR ? "libbrotli" :
		    "libzstd");
		return -1;
	}
	return 0;
}

/* gzip_buffers / gunzip_buffers NUMBER SIZE; the size follows the count. */
static int
set_bufs(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*num = field;
	size_t	*size = (size_t *)((char *)field +
		    (offsetof(struct encode_loc, gzip_bufs_size) -
		    offsetof(struct encode_loc, gzip_bufs_num)));
	int64_t	 n, s;

	if (*num != CONF_UNSET)
		return conf_duplicate(cf);
	n = str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len);
	s = str_parse_size(CONF_ARG(cf, 2), cf->node->args[2].len);
	if (n < 1 || n > 1024 || s <= 0 || s > 16 * 1024 * 1024) {
		conf_error(cf, "invalid value in \"%s\" directive", cmd->name);
		return -1;
	}
	*num = (int)n;
	*size = (size_t)s;
	return 0;
}

static int
set_proxied(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	const struct conf_cmd	 c = { cmd->name, 0, 0, NULL, 0, 0,
				    proxied_flags };

	return conf_set_bitmask(cf, &c, field);
}

static int
set_disable(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_loc	*l = cf->slots[CONF_SLOT_LOC];
	struct regex	*re, **slot;
	char		 err[128];
	size_t		 i;

	for (i = 1; i < cf->node->nargs; i++) {
		if (strcmp(CONF_ARG(cf, i), "msie6") == 0) {
			l->encode.disable_msie6 = 1;
			continue;
		}
		if ((re = pool_calloc(cf->pool, sizeof(*re))) == NULL ||
		    conf_array(cf, &l->encode.disable, sizeof(re)) == NULL ||
		    (slot = array_push(l->encode.disable)) == NULL)
			return -1;
		/* User-Agent patterns are matched caselessly, as nginx does */
		if (regex_compile(re, cf->pool, CONF_ARG(cf, i), true, err,
		    sizeof(err)) == -1) {
			conf_error(cf, "%s", err);
			return -1;
		}
		*slot = re;
	}
	if (l->encode.disable_msie6 == CONF_UNSET)
		l->encode.disable_msie6 = 0;
	return 0;
}

/* A power of two between lo and hi (bytes), as its log2; -1 if not. */
static int
log2_size(struct conf *cf, int64_t lo, int64_t hi)
{
	int64_t	s = str_parse_size(CONF_ARG(cf, 1), cf->node->args[1].len);
	int	b;

	if (s < lo || s > hi || (s & (s - 1)) != 0)
		return -1;
	for (b = 0; ((int64_t)1 << b) < s; b++)
		;
	return b;
}

static int
set_window(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*v = field, b;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if ((b = log2_size(cf, 512, 32768)) == -1) {
		conf_error(cf, "\"gzip_window\" must be 512, 1k, 2k, 4k, 8k, "
		    "16k, or 32k");
		return -1;
	}
	*v = b;
	return 0;
}

/* gzip_hash names the hash table's memory; zlib takes memLevel, which
 * is log2(size) - 8: 512 bytes is 1, 128k is 9. */
static int
set_hash(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*v = field, b;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if ((b = log2_size(cf, 512, 131072)) == -1) {
		conf_error(cf, "\"gzip_hash\" must be 512, 1k, 2k, 4k, 8k, "
		    "16k, 32k, 64k, or 128k");
		return -1;
	}
	*v = b - 8;
	return 0;
}

static int
set_brotli_window(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int	*v = field, b;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if ((b = log2_size(cf, 1024, 16 * 1024 * 1024)) == -1) {
		conf_error(cf, "\"brotli_window\" must be a power of two "
		    "between 1k and 16m");
		return -1;
	}
	*v = b;
	return 0;
}

/* Accepted for compatibility; usher sizes these buffers itself. */
static int
set_ignored(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return 0;
}

static int
set_unsupported(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	conf_error(cf, "\"%s\" is not supported", cmd->name);
	return -1;
}
