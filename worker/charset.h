/*
 * The charset module: adds "; charset=NAME" to the Content-Type of
 * responses whose type is listed in charset_types.  Converting between
 * charsets (charset_map) is not supported: a configuration that would need
 * it is refused at load.
 */
#ifndef USHER_WORKER_CHARSET_H
#define USHER_WORKER_CHARSET_H

#include "../common/array.h"
#include "../common/conf.h"
#include "../common/str.h"

struct http_loc;
struct request;

struct charset_loc {
	struct str	 charset;	/* empty: off */
	bool		 charset_set;
	struct array	*types;		/* struct str */
	int		 override;
	struct str	 source;
};

extern const struct conf_cmd	charset_cmds[];

void	charset_loc_init(struct charset_loc *);
int	charset_loc_merge(struct conf *, struct charset_loc *,
	    const struct charset_loc *parent);
/* The Content-Type to send for r (with the charset when it applies). */
struct str	charset_content_type(struct request *);

#endif
