/*
 * Content codings applied on the fly: gzip (zlib), and, when built with
 * their libraries, Brotli and zstd; also gunzip for clients that do not
 * take gzip.  The header filter (encode_header) decides per response and
 * rewrites the framing headers; the body senders (proxy_stream.c,
 * static.c, http_respond) push the body through the request's coder.
 */
#ifndef USHER_WORKER_ENCODE_H
#define USHER_WORKER_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/array.h"
#include "../common/conf.h"
#include "../common/str.h"

struct http_main;
struct request;

#define ENC_STATIC_OFF		0
#define ENC_STATIC_ON		1
#define ENC_STATIC_ALWAYS	2

/* gzip_proxied */
#define ENC_PROXIED_OFF		0x0001
#define ENC_PROXIED_EXPIRED	0x0002
#define ENC_PROXIED_NO_CACHE	0x0004
#define ENC_PROXIED_NO_STORE	0x0008
#define ENC_PROXIED_PRIVATE	0x0010
#define ENC_PROXIED_NO_LM	0x0020
#define ENC_PROXIED_NO_ETAG	0x0040
#define ENC_PROXIED_AUTH	0x0080
#define ENC_PROXIED_ANY		0x0100

/* One coding's settings (gzip, brotli, zstd share the shape). */
struct enc_coding {
	int		 on;
	struct array	*types;		/* struct str; NULL: text/html only */
	int64_t		 min_length;
	int		 level;
	int		 statik;	/* ENC_STATIC_* */
};

/* Per location. */
struct encode_loc {
	struct enc_coding gzip, brotli, zstd;
	int		 gzip_bufs_num;
	size_t		 gzip_bufs_size;
	int		 http_version;	/* 10 or 11 */
	int		 proxied;	/* ENC_PROXIED_* */
	int		 vary;
	struct array	*disable;	/* struct regex * */
	int		 disable_msie6;
	int		 wbits;		/* gzip_window, as log2 */
	int		 memlevel;	/* gzip_hash, as zlib's memLevel */
	int		 brotli_lgwin;	/* brotli_window, as log2 */
	int		 gunzip;
	int		 gunzip_bufs_num;
	size_t		 gunzip_bufs_size;
};

extern const struct conf_cmd	encode_cmds[];

void	encode_loc_init(struct encode_loc *);
int	encode_loc_merge(struct conf *, struct encode_loc *,
	    const struct encode_loc *parent);
/* Registers $gzip_ratio and its kin. */
int	encode_vars_init(struct http_main *);

/* Runtime ------------------------------------------------------------------ */

enum coding {
	CODING_NONE = 0,
	CODING_GZIP,
	CODING_BR,
	CODING_ZSTD,
	CODING_GUNZIP,		/* decoding gzip for the client */
	CODING_RECODE		/* charset recoding (charset_recode.c) */
};

#define CODER_RUN	0	/* code what there is, flush nothing */
#define CODER_FLUSH	1	/* and make all of it decodable now */
#define CODER_FINISH	2	/* the input is complete */

#define CODER_OK	0	/* more input, or more room, wanted */
#define CODER_END	1	/* finished: every byte is out */
#define CODER_ERROR	(-1)

struct coder;

/* The request's coding in progress (r->coder). */
struct coder {
	int		 coding;	/* enum coding */
	/* Codes from *in into *out, advancing both. */
	int		(*run)(struct coder *, const char **in, size_t *inlen,
			    char **out, size_t *outlen, int mode);
	void		(*release)(struct coder *);
	uint64_t	 in_total, out_total;
	void		*state;
	int		 key;		/* cache slot of the state */
};

/*
 * The header filter: decides whether r's response is coded, sets
 * r->coder and rewrites Content-Encoding, the length and framing, ETag,
 * Accept-Ranges and Vary.  Called once, before the head is built.
 */
void	encode_header(struct request *);
/* Which codings r's client accepts, for the *_static lookups. */
bool	encode_client_accepts(struct request *, enum coding);
/* Codes a whole body held in memory (chunk-framed when r->chunked_out);
 * 0 or -1. */
int	encode_memory(struct request *, const char *body, size_t len,
	    struct str *out);
/*
 * Sends the head and then len bytes of fd from off through r's coder;
 * takes fd (closed when done) and ends the request.
 */
void	encode_send_file(struct request *, char *head, size_t hlen, int fd,
	    int64_t off, int64_t len, const char *path, size_t chunk);

#endif
