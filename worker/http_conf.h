/*
 * The http, server and location configuration structs, and the helpers
 * that build them.  Every module keeps its location-level settings in a
 * nested struct of struct http_loc so one table row can name any field.
 */
#ifndef USHER_WORKER_HTTP_CONF_H
#define USHER_WORKER_HTTP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../common/array.h"
#include "../common/conf.h"
#include "../common/regex.h"
#include "../common/str.h"
#include "access_log.h"
#include "charset.h"
#include "encode.h"
#include "proxy_conf.h"
#include "static_conf.h"
#include "tls.h"
#include "rewrite.h"
#include "vars.h"

struct cycle;
struct listener;
struct shm_zone;
struct request;

#define LOC(f)		CONF_SLOT_LOC, offsetof(struct http_loc, f)
#define SRV(f)		CONF_SLOT_SRV, offsetof(struct http_srv, f)
#define HTTP(f)		CONF_SLOT_HTTP, offsetof(struct http_main, f)

enum loc_match {
	LOC_PREFIX = 0,
	LOC_EXACT,		/* = */
	LOC_NOREGEX,		/* ^~ */
	LOC_REGEX,		/* ~ and ~* */
	LOC_NAMED		/* @name */
};

struct header_add {		/* add_header */
	struct str		 name;
	struct cvalue		*value;
	bool			 always;
};

struct error_page {
	int			 status;
	int			 overwrite;	/* -1: keep, 0: "=": from target */
	struct cvalue		*uri;
};

struct mime_type {
	struct str		 ext;		/* lowercase */
	struct str		 type;
};

/* keepalive_disable: browsers that get no keep-alive */
#define KEEPALIVE_DISABLE_MSIE6		0x1	/* POST from MSIE 4-6 */
#define KEEPALIVE_DISABLE_SAFARI	0x2

/* client_body_in_file_only */
#define BODY_FILE_OFF	0
#define BODY_FILE_ON	1	/* kept after the request */
#define BODY_FILE_CLEAN	2	/* removed after the request */

struct http_loc {
	/* where it sits */
	struct str		 name;
	int			 match;		/* enum loc_match */
	struct regex		*regex;
	struct http_loc		*parent;
	struct array		 children;	/* struct http_loc * */
	struct http_srv		*srv;
	bool			 internal;
	/* limit_except: methods outside lmt_methods use the lmt block */
	struct http_loc		*lmt;
	uint32_t		 lmt_methods;	/* bits of http_lmt_method() */

	/* content and paths */
	char			*root;		/* literal, resolved */
	struct cvalue		*root_value;	/* with variables, or NULL */
	const char		*root_prefix;	/* for a relative one */
	bool			 root_set;
	struct array		*index;		/* struct cvalue * */
	struct str		 default_type;
	struct array		*types;		/* struct mime_type */

	/* limits and timeouts */
	int64_t			 keepalive_timeout;
	int64_t			 keepalive_header;	/* "Keep-Alive: timeout=" */
	int			 keepalive_requests;
	int64_t			 keepalive_time;	/* age to stop reusing at */
	int			 keepalive_disable;	/* KEEPALIVE_DISABLE_* */
	int64_t			 client_body_timeout;
	int64_t			 send_timeout;
	int64_t			 client_max_body_size;
	int			 server_tokens;
	int			 log_not_found;
	int			 absolute_redirect;
	int			 port_in_redirect;
	int			 server_name_in_redirect;
	int			 recursive_error_pages;

	/* rewrite module: the script of this level, run in order */
	struct rewrite_script	*script;
	int			 rewrite_log;

	struct array		*access_rules;	/* allow, deny (access.c) */
	struct array		*add_headers;	/* struct header_add */
	struct array		*add_trailers;	/* struct header_add */
	struct array		*error_pages;	/* struct error_page */

	struct access_log_conf	 log;

	size_t			 client_body_buffer_size;
	char			*client_body_temp_path;
	int			 client_body_in_file_only;	/* BODY_FILE_* */
	int			 client_body_in_single_buffer;	/* no effect */
	/* content handler; not inherited (proxy_pass) */
	void			(*handler)(struct request *);
	struct proxy_loc	 proxy;
	struct static_loc	 static_files;
	struct charset_loc	 charset;
	struct encode_loc	 encode;
	bool			 stub_status;
};

struct server_name {
	struct str		 name;		/* lowercase; without wildcard */
	struct str		 shown;		/* $server_name: as written,
						   ".x" as "x" (nginx) */
	int			 kind;		/* SN_* */
	bool			 bare_too;	/* ".example.com": example.com too */
	struct regex		*regex;
};

#define SN_EXACT	0
#define SN_WILD_HEAD	1	/* *.example.com or .example.com */
#define SN_WILD_TAIL	2	/* www.example.* */
#define SN_REGEX	3

struct http_srv {
	struct array		 names;		/* struct server_name */
	struct http_loc		*loc;		/* the server level's own */
	struct rewrite_script	*script;	/* server-level rewrite phase */
	size_t			 client_header_buffer_size;
	size_t			 large_header_size;
	int			 large_header_num;
	int64_t			 client_header_timeout;
	int			 merge_slashes;
	int			 underscores_in_headers;
	int			 ignore_invalid_headers;
	const char		*file;		/* where it was defined */
	unsigned		 line;
	bool			 has_listen;
	bool			 listen_ssl;	/* some listen of it has "ssl" */
	bool			 tls_default;	/* default server of an ssl address */
	struct tls_srv		 tls;
	/* locations, ordered for lookup */
	struct http_loc		**exact;	/* sorted by name */
	size_t			 nexact;
	struct http_loc		**prefix;	/* sorted by name */
	size_t			 nprefix;
	struct http_loc		**regex;	/* config order */
	size_t			 nregex;
	struct array		 named;		/* struct http_loc * */
};

/* The servers reachable through one address (a listener, or a specific
 * address on a wildcard listener). */
struct http_addr {
	struct addr		 addr;
	struct http_srv		*default_srv;
	struct array		 servers;	/* struct http_srv * */
	bool			 default_set;
	bool			 reuseport;
	bool			 ssl;
	int			 backlog;
	struct listener		*listener;
	struct http_addr	*specific;	/* addresses a wildcard covers */
};

struct http_main {
	struct array		 servers;	/* struct http_srv * */
	struct array		 addrs;		/* struct http_addr * */
	struct array		 formats;	/* struct log_format * */
	struct array		 upstreams;	/* struct upstream * */
	struct shm_zone		*status_zone;	/* stub_status counters */
	struct vars		 vars;		/* the variable registry */
	struct http_srv		*srv;		/* http level defaults */
	struct http_loc		*loc;
	struct cycle		*cycle;
	int			 variables_hash_max_size;
	struct array		*charset_maps;	/* struct charset_map */
};

/* New location/server structs with every field unset. */
struct http_loc	*http_loc_new(struct conf *);
/* An if or limit_except block without proxy_pass keeps l's handler. */
void		 http_loc_inherit_handler(struct http_loc *b,
		    const struct http_loc *l);
/* The bit of a method for limit_except (unknown methods: none). */
uint32_t	 http_lmt_method(const char *m, size_t len);
struct http_srv	*http_srv_new(struct conf *);
/* Fills unset fields from the parent level, then the defaults. */
int		 http_loc_merge(struct conf *, struct http_loc *,
		    const struct http_loc *parent);
void		 http_srv_merge(struct http_srv *, const struct http_srv *);

extern const struct conf_cmd	http_core_cmds[];

#endif
