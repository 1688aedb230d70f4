/*
 * Settings of the static file module (alias, try_files, etag, ranges,
 * expires, ...).  Serving files is static.c's business.
 */
#ifndef USHER_WORKER_STATIC_CONF_H
#define USHER_WORKER_STATIC_CONF_H

struct conf;
struct http_loc;

struct static_loc {
	int	placeholder;
};

extern const struct conf_cmd	static_cmds[];

void	static_loc_init(struct static_loc *);
int	static_loc_merge(struct conf *, struct http_loc *,
	    const struct http_loc *parent);

#endif
