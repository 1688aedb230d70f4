/*
 * The list of every worker-side directive table: grep here to find every
 * directive the http side knows (main and events are master/core_conf.c).
 */
#include <stddef.h>

#include "../common/conf.h"
#include "access.h"
#include "access_log.h"
#include "geo.h"
#include "http_conf.h"
#include "map.h"
#include "proxy_conf.h"
#include "rewrite.h"
#include "split_clients.h"
#include "static_conf.h"
#include "charset.h"
#include "encode.h"
#include "stub_status.h"
#include "tls.h"
#include "upstream_conf.h"
#include "worker.h"

const struct conf_cmd *const worker_conf_tables[] = {
	http_core_cmds,
	rewrite_cmds,
	access_log_cmds,
	proxy_cmds,
	proxy_ssl_cmds,
	upstream_cmds,
	static_cmds,
	map_cmds,
	geo_cmds,
	access_cmds,
	split_clients_cmds,
	tls_cmds,
	charset_cmds,
	encode_cmds,
	stub_status_cmds,
	NULL
};
