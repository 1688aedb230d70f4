/* Directives of the static file module (to be written). */
#include "../common/conf.h"
#include "http_conf.h"
#include "static_conf.h"

const struct conf_cmd static_cmds[] = {
	{ NULL }
};

void
static_loc_init(struct static_loc *s)
{
	s->placeholder = 0;
}

int
static_loc_merge(struct conf *cf, struct http_loc *l, const struct http_loc *p)
{
	return 0;
}
