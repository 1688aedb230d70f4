/*
 * The charset module: labels Content-Type with "; charset=NAME" for the
 * types in charset_types, and recodes the body when the source charset
 * differs from the one to send, through a charset_map (charset_recode.c
 * holds the recoder itself).
 */
#ifndef USHER_WORKER_CHARSET_H
#define USHER_WORKER_CHARSET_H

#include "../common/array.h"
#include "../common/conf.h"
#include "../common/str.h"

struct coder;
struct cvalue;
struct request;

/* One charset_map block: "from" is an 8-bit charset, "to" another or
 * utf-8.  Unmapped bytes at or above 0x80 become '?', as nginx does. */
struct charset_map {
	struct str	 from, to;
	bool		 utf8;		/* to is utf-8 */
	unsigned char	*fwd;		/* from -> to: 256 bytes, or 256 x 4
					   (length, then up to 3 bytes) */
	unsigned char	*rev;		/* to -> from, 8-bit maps: 256 bytes */
	unsigned char	**pages;	/* utf-8 -> from: 256 pages of 256,
					   by code point; 0: unmapped */
};

struct charset_loc {
	struct str		 charset;	/* empty: off */
	bool			 charset_set;
	struct cvalue		*charset_cv;	/* charset $var */
	struct array		*types;		/* struct str */
	int			 override;
	struct str		 source;
	struct cvalue		*source_cv;
	struct conf_node	*where;		/* for the missing map error */
	const struct array	*maps;		/* struct charset_map */
};

extern const struct conf_cmd	charset_cmds[];

void	charset_loc_init(struct charset_loc *);
int	charset_loc_merge(struct conf *, struct charset_loc *,
	    const struct charset_loc *parent);
/*
 * The charset header filter, run once per response before the coding
 * filter: labels r->content_type and, when the body is to be recoded,
 * sets r->coder to a recoder (dropping the length if the size may
 * change).  Returns true when it did drop it: ranges then do not apply.
 */
bool	charset_header(struct request *);

/* Forgets the decision for r's response (an error page replaces it and
 * gets its own). */
void	charset_forget(struct request *);

/* A recoder for map m, from its "from" side (reverse: from its "to"
 * side), allocated in r's pool; NULL when out of memory. */
struct coder	*charset_recoder(struct request *, const struct charset_map *m,
		    bool reverse);

#endif
