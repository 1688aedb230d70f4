/*
 * TLS to upstreams: the proxy_ssl_* settings of a location and the client
 * SSL_CTX built from them at configuration time (proxy_ssl_conf.c).  The
 * handshake and session reuse at run time are tls_client.c's.
 */
#ifndef USHER_WORKER_PROXY_SSL_H
#define USHER_WORKER_PROXY_SSL_H

#include <stdbool.h>

#include "../common/array.h"
#include "../common/str.h"

struct conf;
struct conf_cmd;
struct cvalue;
struct proxy_loc;

/* A file named by a directive, and where, for errors at build time. */
struct proxy_ssl_file {
	char		*path;		/* absolute; NULL if not set */
	const char	*file;
	unsigned	 line;
};

struct proxy_ssl {
	int			 server_name;	/* send SNI */
	struct cvalue		*name;	/* NULL: $proxy_host */
	bool			 name_set;
	int			 verify;
	int			 verify_depth;
	struct proxy_ssl_file	 trusted;
	struct proxy_ssl_file	 crl;
	struct proxy_ssl_file	 certificate;
	struct proxy_ssl_file	 certificate_key;
	struct proxy_ssl_file	 password_file;
	int			 protocols;	/* TLS_PROTO_* */
	struct str		 ciphers;
	struct array		*conf_commands;	/* str pairs */
	int			 session_reuse;
	void			*ctx;		/* SSL_CTX *, shared */
};

extern const struct conf_cmd	proxy_ssl_cmds[];

void	proxy_ssl_init(struct proxy_ssl *);
void	proxy_ssl_merge(struct proxy_ssl *, const struct proxy_ssl *parent);
/*
 * Gives a location whose proxy_pass may be https its SSL_CTX, reading
 * certificates now (one context for every location with the same
 * settings).  0, or -1 after logging an [emerg] with file and line.
 */
int	proxy_ssl_build(struct conf *, struct proxy_loc *);

#endif
