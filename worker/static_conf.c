/*
 * Directives of the static file module: their table, parsers, and the
 * location-level init and merge.  Serving files is static.c's business.
 */
#include <string.h>

#include "../common/conf.h"
#include "../common/pool.h"
#include "http_conf.h"
#include "static_conf.h"

#define MAX_RANGES_UNLIMITED	0x7fffffff
#define SENDFILE_CHUNK		(2 * 1024 * 1024)

static conf_set_fn	set_alias, set_try_files, set_expires,
			set_disable_symlinks, set_open_file_cache,
			set_limit_rate;

static const struct conf_enum	ims_values[] = {
	{ "off", STATIC_IMS_OFF },
	{ "exact", STATIC_IMS_EXACT },
	{ "before", STATIC_IMS_BEFORE },
	{ NULL, 0 }
};

#define SL(f)	LOC(static_files.f)

/*	  name                      where                     args              parser                field                       extra */
const struct conf_cmd static_cmds[] = {
	{ "alias",                  CONF_LOCATION,            CONF_ARGS(1, 1),  set_alias,            0, 0,                       NULL },
	{ "try_files",              CONF_SERVER | CONF_LOCATION, CONF_ARGS_MIN(2), set_try_files,     0, 0,                       NULL },
	{ "etag",                   CONF_HTTP_ALL,            CONF_FLAG,        conf_set_flag,        SL(etag),                   NULL },
	{ "if_modified_since",      CONF_HTTP_ALL,            CONF_ARGS(1, 1),  conf_set_enum,        SL(if_modified_since),      ims_values },
	{ "max_ranges",             CONF_HTTP_ALL,            CONF_ARGS(1, 1),  conf_set_int,         SL(max_ranges),             NULL },
	{ "expires",                CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 2),  set_expires,          SL(expires),                NULL },
	{ "disable_symlinks",       CONF_HTTP_ALL,            CONF_ARGS(1, 2),  set_disable_symlinks, SL(disable_symlinks),       NULL },
	{ "sendfile_max_chunk",     CONF_HTTP_ALL,            CONF_ARGS(1, 1),  conf_set_size,        SL(sendfile_max_chunk),     NULL },
	{ "limit_rate",             CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  set_limit_rate,       SL(limit_rate),             NULL },
	{ "limit_rate_after",       CONF_HTTP_ALL | CONF_LIF, CONF_ARGS(1, 1),  set_limit_rate,       SL(limit_rate_after),       NULL },
	{ "open_file_cache",        CONF_HTTP_ALL,            CONF_ARGS(1, 2),  set_open_file_cache,  SL(ofc_max),                NULL },
	{ "open_file_cache_valid",  CONF_HTTP_ALL,            CONF_ARGS(1, 1),  conf_set_sec,         SL(ofc_valid),              NULL },
	{ "open_file_cache_min_uses", CONF_HTTP_ALL,          CONF_ARGS(1, 1),  conf_set_int,         SL(ofc_min_uses),           NULL },
	{ "open_file_cache_errors", CONF_HTTP_ALL,            CONF_FLAG,        conf_set_flag,        SL(ofc_errors),             NULL },
	{ NULL }
};

void
static_loc_init(struct static_loc *s)
{
	memset(s, 0, sizeof(*s));
	s->etag = CONF_UNSET;
	s->if_modified_since = CONF_UNSET;
	s->max_ranges = CONF_UNSET;
	s->expires = CONF_UNSET;
	s->disable_symlinks = CONF_UNSET;
	s->sendfile_max_chunk = CONF_UNSET_SIZE;
	s->limit_rate = CONF_UNSET_SIZE;
	s->limit_rate_after = CONF_UNSET_SIZE;
	s->ofc_max = CONF_UNSET_MSEC;
	s->ofc_inactive = CONF_UNSET_MSEC;
	s->ofc_valid = CONF_UNSET_MSEC;
	s->ofc_min_uses = CONF_UNSET;
	s->ofc_errors = CONF_UNSET;
}

/* alias is inherited only where no root was set at the same level. */
static int
merge_alias(struct conf *cf, struct http_loc *l, const struct http_loc *p)
{
	struct static_loc	*s = &l->static_files;
	const struct static_loc	*up = &p->static_files;
	bool			 own_root = l->root != p->root;
	struct conf_node	 at, *saved;

	if (s->alias != NULL) {
		if (!own_root)
			return 0;
		/* root and alias at one level: nginx refuses the second */
		memset(&at, 0, sizeof(at));
		at.file = s->alias_file;
		at.line = s->alias_line;
		saved = cf->node;
		cf->node = &at;
		conf_error(cf, "\"root\" directive is duplicate, \"alias\" "
		    "directive was specified earlier");
		cf->node = saved;
		return -1;
	}
	if (own_root || up->alias == NULL)
		return 0;
	s->alias = up->alias;
	s->alias_name = up->alias_name;
	s->alias_regex = up->alias_regex;
	s->prefix = up->prefix;
	return 0;
}

int
static_loc_merge(struct conf *cf, struct http_loc *l, const struct http_loc *p)
{
	struct static_loc	*s = &l->static_files;
	const struct static_loc	*up = &p->static_files;

	if (merge_alias(cf, l, p) == -1)
		return -1;
	CONF_MERGE_INT(s->etag, up->etag, 1);
	CONF_MERGE_INT(s->if_modified_since, up->if_modified_since,
	    STATIC_IMS_EXACT);
	CONF_MERGE_INT(s->max_ranges, up->max_ranges, MAX_RANGES_UNLIMITED);
	if (s->expires == CONF_UNSET) {
		s->expires = up->expires == CONF_UNSET ? STATIC_EXPIRES_OFF :
		    up->expires;
		s->expires_time = up->expires_time;
		s->expires_value = up->expires_value;
	}
	if (s->disable_symlinks == CONF_UNSET) {
		s->disable_symlinks = up->disable_symlinks == CONF_UNSET ?
		    STATIC_LINKS_OFF : up->disable_symlinks;
		s->symlinks_from = up->symlinks_from;
	}
	CONF_MERGE_SIZE(s->sendfile_max_chunk, up->sendfile_max_chunk,
	    SENDFILE_CHUNK);
	if (s->limit_rate == CONF_UNSET_SIZE)
		s->limit_rate_value = up->limit_rate_value;
	if (s->limit_rate_after == CONF_UNSET_SIZE)
		s->limit_rate_after_value = up->limit_rate_after_value;
	CONF_MERGE_SIZE(s->limit_rate, up->limit_rate, 0);
	CONF_MERGE_SIZE(s->limit_rate_after, up->limit_rate_after, 0);
	if (s->ofc_max == CONF_UNSET_MSEC) {
		s->ofc_max = up->ofc_max == CONF_UNSET_MSEC ? 0 : up->ofc_max;
		s->ofc_inactive = up->ofc_inactive == CONF_UNSET_MSEC ? 60000 :
		    up->ofc_inactive;
	}
	CONF_MERGE_MSEC(s->ofc_valid, up->ofc_valid, 60000);
	CONF_MERGE_INT(s->ofc_min_uses, up->ofc_min_uses, 1);
	CONF_MERGE_INT(s->ofc_errors, up->ofc_errors, 0);
	return 0;
}

/* Parsers ------------------------------------------------------------------ */

static int
set_alias(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	struct str		 v = cf->node->args[1];

	if (s->alias != NULL)
		return conf_duplicate(cf);
	if (l->root_set) {
		conf_error(cf, "\"alias\" directive is duplicate, \"root\" "
		    "directive was specified earlier");
		return -1;
	}
	if (l->match == LOC_NAMED) {
		conf_error(cf, "the \"alias\" directive cannot be used inside "
		    "the named location");
		return -1;
	}
	if (v.len == 0) {
		conf_error(cf, "invalid value \"\" in \"alias\" directive");
		return -1;
	}
	/* a literal relative path is resolved now, one with variables later */
	if (v.data[0] != '/' && memchr(v.data, '$', v.len) == NULL) {
		if ((v.data = conf_full_path(cf, v.data, v.len, false)) == NULL)
			return -1;
		v.len = strlen(v.data);
	}
	if ((s->alias = cvalue_compile(cf, &h->vars, &v)) == NULL)
		return -1;
	if ((s->prefix = pool_strdup(cf->pool, cf->prefix)) == NULL)
		return -1;
	s->alias_name = l->name;
	s->alias_regex = l->match == LOC_REGEX;
	s->alias_file = cf->node->file;
	s->alias_line = cf->node->line;
	return 0;
}

static int
set_try_files(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	struct static_try	*t;
	struct str		 v;
	size_t			 i, n = CONF_NARGS(cf);
	int64_t			 code;

	if (s->tries != NULL)
		return conf_duplicate(cf);
	if ((s->tries = pool_calloc(cf->pool, n * sizeof(*t))) == NULL)
		return -1;
	s->ntries = n;
	for (i = 0; i < n; i++) {
		t = &s->tries[i];
		v = cf->node->args[i + 1];
		/* "name/" tests for a directory; the last one is a fallback */
		if (i + 1 < n && v.len > 0 && v.data[v.len - 1] == '/') {
			t->dir = true;
			v.len--;
		}
		if (i + 1 == n && v.len > 0 && v.data[0] == '=') {
			code = str_atoi(v.data + 1, v.len - 1);
			if (code < 0 || code > 999) {
				conf_error(cf, "invalid code \"%.*s\"",
				    (int)v.len, v.data);
				return -1;
			}
			t->code = (int)code;
			continue;
		}
		if ((t->value = cvalue_compile(cf, &h->vars, &v)) == NULL)
			return -1;
	}
	return 0;
}

/* "[modified] time", "epoch", "max", "off"; time may be "@h:m" daily. */
/* limit_rate and limit_rate_after: a size, or variables read per request */
static int
set_limit_rate(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	struct str		*v = &cf->node->args[1];
	struct cvalue		**cv;
	size_t			*size = field;

	if (memchr(v->data, '$', v->len) == NULL)
		return conf_set_size(cf, cmd, field);
	if (*size != CONF_UNSET_SIZE)
		return conf_duplicate(cf);
	cv = size == &s->limit_rate ? &s->limit_rate_value :
	    &s->limit_rate_after_value;
	*size = 0;
	*cv = cvalue_compile(cf, &h->vars, v);
	return *cv == NULL ? -1 : 0;
}

static int
set_expires(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*h = cf->slots[CONF_SLOT_HTTP];
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	struct str		 v = cf->node->args[CONF_NARGS(cf)];
	const char		*err;

	if (s->expires != CONF_UNSET)
		return conf_duplicate(cf);
	s->expires = STATIC_EXPIRES_ACCESS;
	if (CONF_NARGS(cf) == 2) {
		if (strcmp(CONF_ARG(cf, 1), "modified") != 0) {
			conf_error(cf, "\"expires\" directive invalid value");
			return -1;
		}
		s->expires = STATIC_EXPIRES_MODIFIED;
	}
	/* "expires $expires;" with a map: parsed per response */
	if (memchr(v.data, '$', v.len) != NULL) {
		s->expires_value = cvalue_compile(cf, &h->vars, &v);
		return s->expires_value == NULL ? -1 : 0;
	}
	if (static_expires_parse(v.data, v.len, &s->expires, &s->expires_time,
	    &err) == -1) {
		conf_error(cf, "\"expires\" directive %s", err);
		return -1;
	}
	return 0;
}

int
static_expires_parse(const char *v, size_t len, int *expires, int64_t *time,
    const char **err)
{
	int64_t	ms;
	bool	minus = false;

	*err = "invalid value";
	if (*expires != STATIC_EXPIRES_MODIFIED) {
		if (str_eq(v, len, "epoch", 5)) {
			*expires = STATIC_EXPIRES_EPOCH;
			return 0;
		}
		if (str_eq(v, len, "max", 3)) {
			*expires = STATIC_EXPIRES_MAX;
			return 0;
		}
		if (str_eq(v, len, "off", 3)) {
			*expires = STATIC_EXPIRES_OFF;
			return 0;
		}
	}
	if (len > 0 && v[0] == '@') {
		if (*expires == STATIC_EXPIRES_MODIFIED) {
			*err = "daily time cannot be used with \"modified\" "
			    "parameter";
			return -1;
		}
		*expires = STATIC_EXPIRES_DAILY;
		v++;
		len--;
	} else if (len > 0 && (v[0] == '+' || v[0] == '-')) {
		minus = v[0] == '-';
		v++;
		len--;
	}
	ms = str_parse_msec(v, len, 1000);
	if (ms < 0 || ms % 1000 != 0)
		return -1;
	*time = ms / 1000;
	if (*expires == STATIC_EXPIRES_DAILY && *time > 24 * 60 * 60) {
		*err = "daily time value must be less than 24 hours";
		return -1;
	}
	if (minus)
		*time = -*time;
	return 0;
}

/* "off", "on" or "if_not_owner", then maybe "from=part". */
static int
set_disable_symlinks(struct conf *cf, const struct conf_cmd *cmd,
    void *field)
{
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	const char		*v = CONF_ARG(cf, 1);

	if (s->disable_symlinks != CONF_UNSET)
		return conf_duplicate(cf);
	if (strcmp(v, "off") == 0)
		s->disable_symlinks = STATIC_LINKS_OFF;
	else if (strcmp(v, "on") == 0)
		s->disable_symlinks = STATIC_LINKS_ON;
	else if (strcmp(v, "if_not_owner") == 0)
		s->disable_symlinks = STATIC_LINKS_NOT_OWNER;
	else {
		conf_error(cf, "invalid parameter \"%s\"", v);
		return -1;
	}
	if (CONF_NARGS(cf) == 1)
		return 0;
	v = CONF_ARG(cf, 2);
	if (strncmp(v, "from=", 5) != 0 || v[5] == '\0') {
		conf_error(cf, "invalid parameter \"%s\"", v);
		return -1;
	}
	if (s->disable_symlinks == STATIC_LINKS_OFF) {
		conf_error(cf, "\"from=\" cannot be used with \"off\" parameter");
		return -1;
	}
	s->symlinks_from.data = (char *)v + 5;
	s->symlinks_from.len = cf->node->args[2].len - 5;
	/* only $document_root may be a variable here */
	if (memchr(v + 5, '$', s->symlinks_from.len) != NULL &&
	    strcmp(v + 5, "$document_root") != 0) {
		conf_error(cf, "only \"$document_root\" is supported in "
		    "\"from=\" of \"disable_symlinks\"");
		return -1;
	}
	return 0;
}

/* "off", or "max=N [inactive=time]". */
static int
set_open_file_cache(struct conf *cf, const struct conf_cmd *cmd,
    void *field)
{
	struct http_loc		*l = cf->slots[CONF_SLOT_LOC];
	struct static_loc	*s = &l->static_files;
	const char		*v;
	size_t			 i;
	int64_t			 n;

	if (s->ofc_max != CONF_UNSET_MSEC)
		return conf_duplicate(cf);
	s->ofc_inactive = 60000;
	for (i = 1; i <= CONF_NARGS(cf); i++) {
		v = CONF_ARG(cf, i);
		if (strncmp(v, "max=", 4) == 0) {
			n = str_atoi(v + 4, strlen(v + 4));
			if (n <= 0) {
				conf_error(cf, "invalid \"open_file_cache\" "
				    "parameter \"%s\"", v);
				return -1;
			}
			s->ofc_max = n;
		} else if (strncmp(v, "inactive=", 9) == 0) {
			n = str_parse_msec(v + 9, strlen(v + 9), 1000);
			if (n < 0) {
				conf_error(cf, "invalid \"open_file_cache\" "
				    "parameter \"%s\"", v);
				return -1;
			}
			s->ofc_inactive = n;
		} else if (strcmp(v, "off") == 0 && CONF_NARGS(cf) == 1) {
			s->ofc_max = 0;
		} else {
			conf_error(cf, "invalid \"open_file_cache\" parameter "
			    "\"%s\"", v);
			return -1;
		}
	}
	if (s->ofc_max == CONF_UNSET_MSEC) {
		conf_error(cf, "\"open_file_cache\" must have the \"max\" "
		    "parameter");
		return -1;
	}
	return 0;
}
