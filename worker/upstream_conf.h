/*
 * Configuring upstream groups: the upstream block and its directives, the
 * names proxy_pass refers to, and what the end of the http block settles
 * (placeholders, implicit groups, shared zones).  The runtime API is
 * upstream.h.
 */
#ifndef USHER_WORKER_UPSTREAM_CONF_H
#define USHER_WORKER_UPSTREAM_CONF_H

#include <stdbool.h>

struct conf;
struct conf_cmd;
struct http_main;
struct str;
struct upstream;

extern const struct conf_cmd	upstream_cmds[];

/*
 * The group proxy_pass names (implicit: true): the upstream block of
 * that name if one was read, else a placeholder that upstream_finish()
 * fills in place, so the pointer stays valid either way.  name is
 * "NAME", "host[:port]", "[v6][:port]" or "unix:/path" and is copied.
 * The upstream block itself calls it with implicit false: then a second
 * block of the same name is an error.  NULL after conf_error().
 */
struct upstream	*upstream_add(struct conf *, const struct str *name,
		    bool implicit);
/* The same, with the port an implicit group gets when name has none
 * (upstream_add() uses 80; give 443 for https). */
struct upstream	*upstream_add_port(struct conf *, const struct str *name,
		    bool implicit, int default_port);
/*
 * At the end of the http block: placeholders become the block of their
 * name (or, when several proxy_pass with different default ports named
 * it before the block, copies of it: alias_of), the rest are resolved as
 * host[:port] into implicit groups; then every group's shared zone is
 * declared in the cycle.  0, or -1 after conf_error() naming the
 * proxy_pass or upstream block at fault.
 */
int		 upstream_finish(struct conf *, struct http_main *);

#endif
