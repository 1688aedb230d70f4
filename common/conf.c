/*
 * Reading configuration text into a tree of directives and running the
 * tree through the directive tables.  The generic value parsers are in
 * conf_set.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pool.h"

#define CONF_MAX_INCLUDE_DEPTH	32
#define CONF_MAX_FILE_SIZE	(64 * 1024 * 1024)

/* The reader's position in one text. */
struct reader {
	struct conf	*cf;
	const char	*file;		/* NULL: the command line */
	const char	*p, *end;
	unsigned	 line;
};

/* A growing list of nodes for one block while it is being read. */
struct nodelist {
	struct conf_node	*v;
	size_t			 n, cap;
};

static int	read_block(struct reader *, struct nodelist *, bool in_block);

void
conf_error(struct conf *cf, const char *fmt, ...)
{
	char			 msg[2048];
	va_list			 ap;
	const struct conf_node	*n = cf->node;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n == NULL)
		log_error(LOG_EMERG, "%s", msg);
	else if (n->file == NULL)
		log_error(LOG_EMERG, "%s in command line", msg);
	else
		log_error(LOG_EMERG, "%s in %s:%u", msg, n->file, n->line);
}

/* Errors found while reading, before a node exists. */
__attribute__((format(printf, 2, 3)))
static void
reader_error(struct reader *r, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->file == NULL)
		log_error(LOG_EMERG, "%s in command line", msg);
	else
		log_error(LOG_EMERG, "%s in %s:%u", msg, r->file, r->line);
}

int
conf_init(struct conf *cf, struct pool *pool, const char *prefix,
    const char *conf_path, const struct conf_cmd *const *tables)
{
	const char	*slash;

	memset(cf, 0, sizeof(*cf));
	cf->pool = pool;
	if ((cf->temp = pool_create(16384)) == NULL)
		return -1;
	cf->prefix = prefix;
	cf->conf_path = conf_path;
	cf->tables = tables;
	slash = strrchr(conf_path, '/');
	cf->conf_prefix = slash ? pool_strndup(pool, conf_path,
	    (size_t)(slash - conf_path) + 1) : prefix;
	if (cf->conf_prefix == NULL)
		return -1;
	return array_init(&cf->files, pool, 8, sizeof(struct conf_file));
}

char *
conf_full_path(struct conf *cf, const char *path, size_t len,
    bool conf_relative)
{
	const char	*base;
	size_t		 blen;
	char		*p;

	if (len > 0 && path[0] == '/')
		return pool_strndup(cf->pool, path, len);
	base = conf_relative ? cf->conf_prefix : cf->prefix;
	blen = strlen(base);
	if ((p = pool_alloc(cf->pool, blen + len + 1)) == NULL)
		return NULL;
	memcpy(p, base, blen);
	memcpy(p + blen, path, len);
	p[blen + len] = '\0';
	return p;
}

static struct conf_node *
nodelist_add(struct conf *cf, struct nodelist *l)
{
	if (l->n == l->cap) {
		size_t			 cap = l->cap ? l->cap * 2 : 16;
		struct conf_node	*v;

		if ((v = pool_alloc(cf->temp, cap * sizeof(*v))) == NULL)
			return NULL;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

/* Token reading ---------------------------------------------------------- */

enum tok {
	TOK_WORD = 1,
	TOK_SEMI,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_EOF,
	TOK_ERROR
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Unescapes \" \' \\ \n \r \t; any other backslash stays as written so
 * regexes keep their escapes.
 */
static size_t
unescape(char *d, const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			switch (s[i + 1]) {
			case '"': case '\'': case '\\':
				d[n++] = s[++i];
				continue;
			case 'n': d[n++] = '\n'; i++; continue;
			case 'r': d[n++] = '\r'; i++; continue;
			case 't': d[n++] = '\t'; i++; continue;
			}
		}
		d[n++] = s[i];
	}
	d[n] = '\0';
	return n;
}

static enum tok
next_token(struct reader *r, struct str *word, bool *quoted)
{
	const char	*start;
	char		 q;
	bool		 dollar;

	for (;;) {
		while (r->p < r->end && is_space(*r->p)) {
			if (*r->p == '\n')
				r->line++;
			r->p++;
		}
		if (r->p == r->end)
			return TOK_EOF;
		if (*r->p != '#')
			break;
		while (r->p < r->end && *r->p != '\n')
			r->p++;
	}
	*quoted = false;
	switch (*r->p) {
	case ';': r->p++; return TOK_SEMI;
	case '{': r->p++; return TOK_OPEN;
	case '}': r->p++; return TOK_CLOSE;
	case '"': case '\'':
		q = *r->p++;
		start = r->p;
		while (r->p < r->end && *r->p != q) {
			if (*r->p == '\\' && r->p + 1 < r->end)
				r->p++;
			if (*r->p == '\n')
				r->line++;
			r->p++;
		}
		if (r->p == r->end) {
			/* whatever came before, this directive never ends */
			reader_error(r, "unexpected end of file, expecting "
			    "\";\" or \"}\"");
			return TOK_ERROR;
		}
		r->p++;
		if (r->p < r->end && !is_space(*r->p) && *r->p != ';' &&
		    *r->p != '{' && *r->p != ')') {
			reader_error(r, "unexpected \"%c\"", *r->p);
			return TOK_ERROR;
		}
		*quoted = true;
		if ((word->data = pool_alloc(r->cf->temp,
		    (size_t)(r->p - 1 - start) + 1)) == NULL)
			return TOK_ERROR;
		word->len = unescape(word->data, start,
		    (size_t)(r->p - 1 - start));
		return TOK_WORD;
	}
	start = r->p;
	dollar = false;
	while (r->p < r->end) {
		char	c = *r->p;

		if (c == '{' && dollar) {
			r->p++;
			continue;
		}
		if (is_space(c) || c == ';' || c == '{')
			break;
		if (c == '\\' && r->p + 1 < r->end) {
			if (r->p[1] == '\n')
				r->line++;
			r->p += 2;
			dollar = false;
			continue;
		}
		dollar = c == '$';
		r->p++;
	}
	if ((word->data = pool_alloc(r->cf->temp,
	    (size_t)(r->p - start) + 1)) == NULL)
		return TOK_ERROR;
	word->len = unescape(word->data, start, (size_t)(r->p - start));
	return TOK_WORD;
}

/* Including ---------------------------------------------------------------- */

static int	read_file(struct conf *, const char *path, struct nodelist *,
		    bool in_block);

static int
include(struct reader *r, struct conf_node *n, struct nodelist *l,
    bool in_block)
{
	struct conf	*cf = r->cf;
	char		*path;
	glob_t		 g;
	size_t		 i;
	int		 rc;

	cf->node = n;
	if (n->nargs != 2) {
		conf_error(cf, "invalid number of arguments in \"include\" "
		    "directive");
		return -1;
	}
	if (cf->include_depth >= CONF_MAX_INCLUDE_DEPTH) {
		conf_error(cf, "include nesting is too deep");
		return -1;
	}
	if ((path = conf_full_path(cf, n->args[1].data, n->args[1].len,
	    true)) == NULL)
		return -1;
	if (strpbrk(path, "*?[") == NULL) {
		cf->include_depth++;
		rc = read_file(cf, path, l, in_block);
		cf->include_depth--;
		if (rc == -1)
			cf->node = n;
		return rc;
	}
	rc = glob(path, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return 0;
	if (rc != 0) {
		conf_error(cf, "glob() \"%s\" failed", path);
		return -1;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		struct stat	st;

		/* directories matched by a glob are skipped, as nginx does */
		if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		cf->include_depth++;
		rc = read_file(cf, pool_strdup(cf->pool, g.gl_pathv[i]), l,
		    in_block);
		cf->include_depth--;
		if (rc == -1)
			break;
	}
	globfree(&g);
	return rc == -1 ? -1 : 0;
}

/* Reading blocks ------------------------------------------------------------- */

/*
 * Reads directives until the end of the text, or the '}' closing the
 * block when in_block.
 */
static int
read_block(struct reader *r, struct nodelist *l, bool in_block)
{
	struct conf		*cf = r->cf;
	struct str		 words[256];
	unsigned char		 quoted[256];
	size_t			 nwords = 0;
	struct conf_node	*n;
	struct nodelist		 sub;
	enum tok		 t;
	bool			 q;

	for (;;) {
		t = next_token(r, &words[nwords], &q);
		switch (t) {
		case TOK_ERROR:
			return -1;
		case TOK_WORD:
			if (nwords == sizeof(words) / sizeof(words[0]) - 1) {
				reader_error(r, "too many arguments");
				return -1;
			}
			quoted[nwords++] = q;
			continue;
		case TOK_EOF:
			if (nwords > 0) {
				reader_error(r, "unexpected end of file, "
				    "expecting \";\" or \"}\"");
				return -1;
			}
			if (in_block) {
				reader_error(r, "unexpected end of file, "
				    "expecting \"}\"");
				return -1;
			}
			return 0;
		case TOK_CLOSE:
			if (nwords > 0 || !in_block) {
				reader_error(r, "unexpected \"}\"");
				return -1;
			}
			return 0;
		case TOK_SEMI:
		case TOK_OPEN:
			if (nwords == 0) {
				reader_error(r, "unexpected \"%c\"",
				    t == TOK_SEMI ? ';' : '{');
				return -1;
			}
			break;
		}
		if ((n = nodelist_add(cf, l)) == NULL)
			return -1;
		n->file = r->file;
		n->line = r->line;
		n->nargs = nwords;
		n->args = pool_alloc(cf->pool, nwords * sizeof(struct str));
		n->quoted = pool_alloc(cf->pool, nwords);
		if (n->args == NULL || n->quoted == NULL)
			return -1;
		memcpy(n->quoted, quoted, nwords);
		for (size_t i = 0; i < nwords; i++) {
			n->args[i].data = pool_strndup(cf->pool,
			    words[i].data, words[i].len);
			n->args[i].len = words[i].len;
			if (n->args[i].data == NULL)
				return -1;
		}
		nwords = 0;
		if (t == TOK_OPEN) {
			n->block = true;
			memset(&sub, 0, sizeof(sub));
			if (read_block(r, &sub, true) == -1)
				return -1;
			/* the node may have moved while the list grew */
			n = &l->v[l->n - 1];
			n->children = sub.v;
			n->nchildren = sub.n;
			continue;
		}
		if (STR_EQ_LIT(n->args[0].data, n->args[0].len, "include")) {
			struct conf_node	inc = *n;

			l->n--;
			if (include(r, &inc, l, in_block) == -1)
				return -1;
			/* inc lives on this stack frame only */
			cf->node = NULL;
		}
	}
}

static int
read_text(struct conf *cf, const char *file, const char *text, size_t len,
    struct nodelist *l, bool in_block)
{
	struct reader	r;

	r.cf = cf;
	r.file = file;
	r.p = text;
	r.end = text + len;
	r.line = 1;
	/* an included file holds whole directives, never a closing brace */
	(void)in_block;
	return read_block(&r, l, false);
}

static int
read_file(struct conf *cf, const char *path, struct nodelist *l,
    bool in_block)
{
	struct conf_file	*f;
	struct stat		 st;
	char			*text;
	ssize_t			 n;
	size_t			 got = 0;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_error(cf, "open() \"%s\" failed (%d: %s)", path, errno,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_MAX_FILE_SIZE) {
		conf_error(cf, "\"%s\" is not a regular file of a sane size",
		    path);
		close(fd);
		return -1;
	}
	if ((text = pool_alloc(cf->pool, (size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	if ((f = array_push(&cf->files)) == NULL)
		return -1;
	f->path = path;
	f->text = text;
	f->len = got;
	return read_text(cf, path, text, got, l, in_block);
}

int
conf_read(struct conf *cf, const char *global, struct conf_node *root)
{
	struct nodelist	l;

	memset(&l, 0, sizeof(l));
	memset(root, 0, sizeof(*root));
	if (global != NULL && read_text(cf, NULL, global, strlen(global), &l,
	    false) == -1)
		return -1;
	if (read_file(cf, cf->conf_path, &l, false) == -1)
		return -1;
	root->block = true;
	root->children = l.v;
	root->nchildren = l.n;
	return 0;
}

/* Running directives --------------------------------------------------------- */

static const struct conf_cmd *
find_cmd(struct conf *cf, const struct str *name, unsigned where,
    bool *known)
{
	const struct conf_cmd *const	*t;
	const struct conf_cmd		*c;

	*known = false;
	for (t = cf->tables; *t != NULL; t++)
		for (c = *t; c->name != NULL; c++) {
			if (!str_eq(c->name, strlen(c->name), name->data,
			    name->len))
				continue;
			*known = true;
			if (c->where & where)
				return c;
		}
	return NULL;
}

static int
run_node(struct conf *cf, struct conf_node *n)
{
	const struct conf_cmd	*c;
	const char		*name = n->args[0].data;
	size_t			 nargs = n->nargs - 1;
	void			*field = NULL;
	bool			 known;

	cf->node = n;
	if ((c = find_cmd(cf, &n->args[0], cf->where, &known)) == NULL) {
		if (known)
			conf_error(cf, "\"%s\" directive is not allowed here",
			    name);
		else
			conf_error(cf, "unknown directive \"%s\"", name);
		return -1;
	}
	if ((c->args & CONF_BLOCK) && !n->block) {
		conf_error(cf, "directive \"%s\" has no opening \"{\"", name);
		return -1;
	}
	if (!(c->args & CONF_BLOCK) && n->block) {
		conf_error(cf, "directive \"%s\" is not terminated by \";\"",
		    name);
		return -1;
	}
	if (nargs < CONF_ARGS_MINOF(c->args) ||
	    nargs > CONF_ARGS_MAXOF(c->args)) {
		conf_error(cf, "invalid number of arguments in \"%s\" "
		    "directive", name);
		return -1;
	}
	if (c->slot != CONF_SLOT_NONE && cf->slots[c->slot] != NULL)
		field = (char *)cf->slots[c->slot] + c->offset;
	cf->node = n;
	return c->set(cf, c, field);
}

int
conf_run_block(struct conf *cf, const struct conf_node *block,
    unsigned where)
{
	unsigned		 saved_where = cf->where;
	struct conf_node	*saved_node = cf->node;
	size_t			 i;

	cf->where = where;
	for (i = 0; i < block->nchildren; i++) {
		if (run_node(cf, &block->children[i]) == -1)
			return -1;
		cf->where = where;
	}
	cf->where = saved_where;
	cf->node = saved_node;
	return 0;
}
