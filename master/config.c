/*
 * Building a cycle from the configuration files: the directive tables of
 * both processes run over the tree conf.c reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/conf.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "../worker/worker.h"
#include "config.h"
#include "core_conf.h"

#define MAX_TABLES	64

struct cycle *
config_load(const struct start_opts *o, unsigned generation)
{
	static const struct conf_cmd	*tables[MAX_TABLES];
	struct pool			*pool;
	struct cycle			*c;
	struct conf_node		 root;
	size_t				 i, n = 0;

	if (n == 0 && tables[0] == NULL) {
		tables[n++] = core_cmds;
		for (i = 0; worker_conf_tables[i] != NULL &&
		    n < MAX_TABLES - 1; i++)
			tables[n++] = worker_conf_tables[i];
		tables[n] = NULL;
	}
	if ((pool = pool_create(64 * 1024)) == NULL)
		return NULL;
	if ((c = pool_calloc(pool, sizeof(*c))) == NULL)
		goto fail;
	c->pool = pool;
	c->generation = generation;
	c->prefix = o->prefix;
	c->prefix_given = o->prefix_given;
	c->conf_path = o->conf_path;
	if (o->error_log != NULL)
		c->error_log_default = o->error_log;
	else
		c->error_log_default = o->prefix_given ? "logs/error.log" :
		    USHER_ERROR_LOG_PATH;
	if (array_init(&c->listeners, pool, 4, sizeof(struct listener)) == -1 ||
	    array_init(&c->open_files, pool, 4, sizeof(struct open_file *)) == -1 ||
	    array_init(&c->zones, pool, 4, sizeof(void *)) == -1 ||
	    array_init(&c->temp_paths, pool, 4, sizeof(const char *)) == -1)
		goto fail;
	if (conf_init(&c->conf, pool, o->prefix, o->conf_path, tables) == -1)
		goto fail;
	c->conf.owner = c;
	c->conf.slots[CONF_SLOT_MAIN] = &c->core;
	core_conf_init(c);
	if (conf_read(&c->conf, o->globals, &root) == -1)
		goto fail;
	if (conf_run_block(&c->conf, &root, CONF_MAIN) == -1)
		goto fail;
	c->conf.node = NULL;
	if (core_conf_finish(c) == -1)
		goto fail;
	pool_destroy(c->conf.temp);
	c->conf.temp = NULL;
	return c;
fail:
	if (c != NULL && c->conf.temp != NULL)
		pool_destroy(c->conf.temp);
	pool_destroy(pool);
	return NULL;
}

/*
 * Makes the directories of temporary files, owned by the workers' user,
 * as nginx does.  A failure is only a warning: workers then fall back to
 * /tmp for their unlinked files.
 */
static void
make_temp_paths(struct cycle *c)
{
	const char	*path;
	size_t		 i;

	for (i = 0; i < c->temp_paths.n; i++) {
		path = *ARRAY_AT(&c->temp_paths, const char *, i);
		if (mkdir(path, 0700) == -1) {
			if (errno != EEXIST)
				log_error(LOG_WARN, "mkdir() \"%s\" failed "
				    "(%d: %s)", path, errno, strerror(errno));
			continue;
		}
		if (geteuid() == 0 && chown(path, c->core.uid,
		    (gid_t)-1) == -1)
			log_error(LOG_WARN, "chown(\"%s\", %d) failed (%d: "
			    "%s)", path, (int)c->core.uid, errno,
			    strerror(errno));
	}
}

int
config_open_files(struct cycle *c)
{
	struct open_file	*f;
	struct log_target	*t;
	size_t			 i, j;

	make_temp_paths(c);

	for (i = 0; i < c->open_files.n; i++) {
		f = *ARRAY_AT(&c->open_files, struct open_file *, i);
		if ((f->fd = log_open_file(f->path)) == -1) {
			log_error(LOG_EMERG, "open() \"%s\" failed (%d: %s)",
			    f->path, errno, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < c->core.error_logs.n; i++) {
		t = ARRAY_AT(&c->core.error_logs, struct log_target, i);
		if (t->path == NULL)
			continue;
		for (j = 0; j < c->open_files.n; j++) {
			f = *ARRAY_AT(&c->open_files, struct open_file *, j);
			if (strcmp(f->path, t->path) == 0)
				t->fd = f->fd;
		}
	}
	return 0;
}

void
config_use_logs(struct cycle *c)
{
	log_set_targets(c->core.error_logs.elts, c->core.error_logs.n);
}

void
config_reopen_files(struct cycle *c, uid_t uid)
{
	struct open_file	*f;
	struct log_target	*t;
	size_t			 i, j;
	int			 fd;

	for (i = 0; i < c->open_files.n; i++) {
		f = *ARRAY_AT(&c->open_files, struct open_file *, i);
		if ((fd = log_open_file(f->path)) == -1) {
			log_error(LOG_ALERT, "open() \"%s\" failed (%d: %s)",
			    f->path, errno, strerror(errno));
			continue;
		}
		/* workers reopen too, as the unprivileged user */
		if (uid != (uid_t)-1 && fchown(fd, uid, (gid_t)-1) == -1)
			log_error(LOG_ALERT, "chown(\"%s\", %d) failed (%d: "
			    "%s)", f->path, (int)uid, errno, strerror(errno));
		/* dup2 keeps the number every logger already holds */
		if (f->fd != -1) {
			dup2(fd, f->fd);
			close(fd);
		} else
			f->fd = fd;
	}
	for (i = 0; i < c->core.error_logs.n; i++) {
		t = ARRAY_AT(&c->core.error_logs, struct log_target, i);
		for (j = 0; t->path != NULL && j < c->open_files.n; j++) {
			f = *ARRAY_AT(&c->open_files, struct open_file *, j);
			if (strcmp(f->path, t->path) == 0)
				t->fd = f->fd;
		}
	}
}

void
config_free(struct cycle *c)
{
	struct open_file	*f;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->open_files.n; i++) {
		f = *ARRAY_AT(&c->open_files, struct open_file *, i);
		if (f->fd != -1)
			close(f->fd);
	}
	pool_destroy(c->pool);
}

void
config_dump(struct cycle *c)
{
	struct conf_file	*f;
	size_t			 i;

	for (i = 0; i < c->conf.files.n; i++) {
		f = ARRAY_AT(&c->conf.files, struct conf_file, i);
		printf("# configuration file %s:\n", f->path);
		fwrite(f->text, 1, f->len, stdout);
		if (f->len == 0 || f->text[f->len - 1] != '\n')
			printf("\n");
		printf("\n");
	}
	fflush(stdout);
}
