/*
 * The generic directive parsers: flags, numbers, sizes, times, strings,
 * paths and enumerations, with nginx's error messages.
 */
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "pool.h"

int
conf_duplicate(struct conf *cf)
{
	conf_error(cf, "\"%s\" directive is duplicate", CONF_ARG(cf, 0));
	return -1;
}

int
conf_set_flag(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int		*v = field;
	const char	*a = CONF_ARG(cf, 1);

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if (strcasecmp(a, "on") == 0)
		*v = 1;
	else if (strcasecmp(a, "off") == 0)
		*v = 0;
	else {
		conf_error(cf, "invalid value \"%s\" in \"%s\" directive, "
		    "it must be \"on\" or \"off\"", a, cmd->name);
		return -1;
	}
	return 0;
}

int
conf_set_int(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int				*v = field;
	const struct conf_bounds	*b = cmd->extra;
	int64_t				 n;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	n = str_atoi(CONF_ARG(cf, 1), cf->node->args[1].len);
	if (n < 0 || n > 0x7fffffff) {
		conf_error(cf, "\"%s\" directive invalid number", cmd->name);
		return -1;
	}
	if (b != NULL && (n < b->min || n > b->max)) {
		conf_error(cf, "\"%s\" must be between %lld and %lld",
		    cmd->name, (long long)b->min, (long long)b->max);
		return -1;
	}
	*v = (int)n;
	return 0;
}

int
conf_set_size(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	size_t	*v = field;
	int64_t	 n;

	if (*v != CONF_UNSET_SIZE)
		return conf_duplicate(cf);
	n = str_parse_size(CONF_ARG(cf, 1), cf->node->args[1].len);
	if (n < 0) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	*v = (size_t)n;
	return 0;
}

int
conf_set_off(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int64_t	*v = field;
	int64_t	 n;

	if (*v != CONF_UNSET_MSEC)
		return conf_duplicate(cf);
	n = str_parse_size(CONF_ARG(cf, 1), cf->node->args[1].len);
	if (n < 0) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	*v = n;
	return 0;
}

static int
set_time(struct conf *cf, const struct conf_cmd *cmd, void *field,
    int64_t unit)
{
	int64_t	*v = field;
	int64_t	 n;

	if (*v != CONF_UNSET_MSEC)
		return conf_duplicate(cf);
	n = str_parse_msec(CONF_ARG(cf, 1), cf->node->args[1].len, unit);
	/* millisecond timers are 32-bit in nginx: about 24 days at most */
	if (n < 0 || (unit == 1 && n > 0x7fffffff)) {
		conf_error(cf, "\"%s\" directive invalid value", cmd->name);
		return -1;
	}
	*v = n;
	return 0;
}

int
conf_set_msec(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return set_time(cf, cmd, field, 1);
}

int
conf_set_sec(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	return set_time(cf, cmd, field, 1000);
}

int
conf_set_str(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct str	*v = field;

	if (v->data != NULL)
		return conf_duplicate(cf);
	*v = cf->node->args[1];
	return 0;
}

int
conf_set_path(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	char	**v = field;

	if (*v != NULL)
		return conf_duplicate(cf);
	*v = conf_full_path(cf, CONF_ARG(cf, 1), cf->node->args[1].len,
	    false);
	return *v == NULL ? -1 : 0;
}

static const struct conf_enum *
enum_find(const struct conf_enum *e, const char *name)
{
	for (; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

int
conf_set_enum(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int			*v = field;
	const struct conf_enum	*e;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	if ((e = enum_find(cmd->extra, CONF_ARG(cf, 1))) == NULL) {
		conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, 1));
		return -1;
	}
	*v = e->value;
	return 0;
}

int
conf_set_bitmask(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	int			*v = field;
	const struct conf_enum	*e;
	size_t			 i;

	if (*v != CONF_UNSET)
		return conf_duplicate(cf);
	*v = 0;
	for (i = 1; i < cf->node->nargs; i++) {
		if ((e = enum_find(cmd->extra, CONF_ARG(cf, i))) == NULL) {
			conf_error(cf, "invalid value \"%s\"", CONF_ARG(cf, i));
			return -1;
		}
		*v |= e->value;
	}
	return 0;
}

struct array *
conf_array(struct conf *cf, struct array **a, size_t size)
{
	if (*a == NULL) {
		if ((*a = pool_calloc(cf->pool, sizeof(**a))) == NULL ||
		    array_init(*a, cf->pool, 4, size) == -1)
			return NULL;
	}
	return *a;
}

int
conf_set_str_list(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct array	*a;
	struct str	*s;
	size_t		 i;

	if ((a = conf_array(cf, field, sizeof(struct str))) == NULL)
		return -1;
	for (i = 1; i < cf->node->nargs; i++) {
		if ((s = array_push(a)) == NULL)
			return -1;
		*s = cf->node->args[i];
	}
	return 0;
}
