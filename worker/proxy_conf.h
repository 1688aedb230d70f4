/*
 * The proxy module's location settings (proxy_pass and friends).  How
 * they are used is proxy.c's business.
 */
#ifndef USHER_WORKER_PROXY_CONF_H
#define USHER_WORKER_PROXY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/array.h"
#include "../common/str.h"
#include "proxy_ssl.h"

struct cvalue;
struct upstream;

/* proxy_next_upstream conditions */
#define PROXY_NEXT_ERROR		0x0001
#define PROXY_NEXT_TIMEOUT		0x0002
#define PROXY_NEXT_INVALID_HEADER	0x0004
#define PROXY_NEXT_500			0x0008
#define PROXY_NEXT_502			0x0010
#define PROXY_NEXT_503			0x0020
#define PROXY_NEXT_504			0x0040
#define PROXY_NEXT_403			0x0080
#define PROXY_NEXT_404			0x0100
#define PROXY_NEXT_429			0x0200
#define PROXY_NEXT_NON_IDEMPOTENT	0x0400
#define PROXY_NEXT_OFF			0x0800

/* proxy_ignore_headers */
#define PROXY_IGN_X_ACCEL_REDIRECT	0x0001
#define PROXY_IGN_X_ACCEL_EXPIRES	0x0002
#define PROXY_IGN_X_ACCEL_LIMIT_RATE	0x0004
#define PROXY_IGN_X_ACCEL_BUFFERING	0x0008
#define PROXY_IGN_X_ACCEL_CHARSET	0x0010
#define PROXY_IGN_EXPIRES		0x0020
#define PROXY_IGN_CACHE_CONTROL		0x0040
#define PROXY_IGN_SET_COOKIE		0x0080
#define PROXY_IGN_VARY			0x0100

enum proxy_redirect_mode {
	PROXY_REDIRECT_DEFAULT = 0,
	PROXY_REDIRECT_OFF,
	PROXY_REDIRECT_LIST
};

struct proxy_header {
	struct str	 name;
	struct cvalue	*value;
	bool		 dynamic;	/* value has variables */
};

enum proxy_redirect_kind {
	PROXY_RD_PREFIX = 0,	/* from: a prefix, maybe with variables */
	PROXY_RD_REGEX,		/* ~ or ~*: the whole value, $1.. in to */
	PROXY_RD_DEFAULT	/* "default" among others */
};

struct proxy_redirect {
	int		 kind;
	struct str	 from;		/* literal prefix */
	struct cvalue	*from_value;	/* with variables, or NULL */
	struct regex	*regex;
	struct cvalue	*to;
};

struct proxy_loc {
	/* proxy_pass, when this location has one */
	bool			 pass;
	struct cvalue		*url;		/* with variables: per request */
	struct upstream		*upstream;	/* static target */
	struct str		 host;		/* $proxy_host */
	struct str		 port;		/* $proxy_port */
	struct str		 uri;		/* URI part, if has_uri */
	bool			 has_uri;
	bool			 https;	/* or variables: may be */
	struct str		 location;	/* the location's prefix */
	const char		*file;
	unsigned		 line;

	struct array		*set_headers;	/* struct proxy_header */
	struct cvalue		*method;	/* proxy_method, or NULL */
	int			 pass_request_headers;
	int			 pass_request_body;
	int			 http_version;	/* 10 or 11 */
	int			 buffering;
	int			 request_buffering;
	size_t			 buffer_size;
	int			 nbufs;
	size_t			 buf_size;
	size_t			 busy_buffers_size;
	int64_t			 max_temp_file_size;
	size_t			 temp_file_write_size;
	char			*temp_path;
	int64_t			 connect_timeout;
	int64_t			 send_timeout;
	int64_t			 read_timeout;
	int			 next_upstream;
	int			 next_tries;
	int64_t			 next_timeout;
	int			 socket_keepalive;
	struct array		*hide_headers;	/* struct str */
	struct array		*pass_headers;	/* struct str */
	int			 ignore_headers;
	int			 redirect_mode;
	struct array		*redirects;	/* struct proxy_redirect */
	int			 intercept_errors;
	struct proxy_ssl	 ssl;		/* proxy_ssl_* */
};

extern const struct conf_cmd	proxy_cmds[];

struct conf;
struct http_loc;
struct http_main;

void	proxy_loc_init(struct proxy_loc *);
int	proxy_loc_merge(struct conf *, struct http_loc *, const struct http_loc *);
/* Registers $proxy_host and the other proxy variables. */
int	proxy_vars_init(struct http_main *);

#endif
