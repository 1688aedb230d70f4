/*
 * Access logs: the log_format and access_log directives, and writing a
 * line per request through a per-worker buffer per log.  Variables are
 * vars.c's; opening and reopening files is the master's (cycle.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/conf.h"
#include "../common/cycle.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "access_log.h"
#include "http.h"
#include "http_conf.h"
#include "vars.h"

#ifndef USHER_HTTP_LOG_PATH
#define USHER_HTTP_LOG_PATH	"logs/access.log"
#endif

/* Unbuffered lines are formatted here, then written at once. */
#define LOG_SCRATCH_SIZE	(64 * 1024)
/* Formats with more parts than this take their value array from the
 * request pool. */
#define LOG_STACK_PARTS		64

/* A piece of a format: literal bytes, or a variable (escaped, "-"). */
struct lf_part {
	struct str	lit;
	int		var;		/* -1: literal */
};

/* nginx's predefined format, so log parsers written for nginx keep working */
#define COMBINED_FORMAT	"$remote_addr - $remote_user [$time_local] " \
    "\"$request\" $status $body_bytes_sent \"$http_referer\" " \
    "\"$http_user_agent\""

/* per worker: logs holding a buffer, for access_log_flush_all() */
static struct access_log	*buffered_logs;
static char			*scratch;
static time_t			 last_error_sec;

/*
 * Output width of each byte.  escape=default: '"', '\\', controls and
 * bytes above 126 as \xHH.  json: RFC 8259 7, short forms where there
 * are, \u00HH for the other controls.
 */
static const unsigned char	width_default[256] = {
	[0 ... 0x1f] = 4,
	[0x20 ... 0x21] = 1, ['"'] = 4, [0x23 ... 0x5b] = 1, ['\\'] = 4,
	[0x5d ... 0x7e] = 1,
	[0x7f ... 0xff] = 4
};
static const unsigned char	width_json[256] = {
	[0 ... 0x07] = 6, ['\b'] = 2, ['\t'] = 2, ['\n'] = 2, [0x0b] = 6,
	['\f'] = 2, ['\r'] = 2, [0x0e ... 0x1f] = 6,
	[0x20 ... 0x21] = 1, ['"'] = 2, [0x23 ... 0x5b] = 1, ['\\'] = 2,
	[0x5d ... 0xff] = 1
};

/* Formats ----------------------------------------------------------------- */

static struct log_format *
find_format(const struct array *formats, const char *name, size_t len)
{
	struct log_format	*f;
	size_t			 i;

	for (i = 0; i < formats->n; i++) {
		f = *ARRAY_AT(formats, struct log_format *, i);
		if (str_eq(f->name.data, f->name.len, name, len))
			return f;
	}
	return NULL;
}

/*
 * Compiles text (already ending with the newline) into f's parts; $1 is
 * not a capture here but an unknown variable, as in nginx.
 */
static int
format_compile(struct conf *cf, struct vars *vs, struct log_format *f,
    const struct str *text)
{
	struct cvalue	*cv;
	size_t		 i;

	if ((cv = cvalue_compile(cf, vs, text)) == NULL)
		return -1;
	if (!cv->dynamic) {
		if ((f->parts = pool_alloc(cf->pool, sizeof(*f->parts))) ==
		    NULL)
			return -1;
		f->parts[0].lit = cv->literal;
		f->parts[0].var = -1;
		f->nparts = 1;
		return 0;
	}
	if ((f->parts = pool_alloc(cf->pool,
	    cv->nparts * sizeof(*f->parts))) == NULL)
		return -1;
	for (i = 0; i < cv->nparts; i++) {
		switch (cv->parts[i].kind) {
		case CV_LITERAL:
			f->parts[i].lit = cv->parts[i].lit;
			f->parts[i].var = -1;
			break;
		case CV_VAR:
			f->parts[i].lit.data = NULL;
			f->parts[i].lit.len = 0;
			f->parts[i].var = cv->parts[i].n;
			break;
		default:
			conf_error(cf, "unknown \"%d\" variable",
			    cv->parts[i].n);
			return -1;
		}
	}
	f->nparts = cv->nparts;
	return 0;
}

/* Compiles and registers a format; 0, or -1 after conf_error(). */
static int
format_add(struct conf *cf, struct array *formats, struct vars *vs,
    const struct str *name, int escape, const struct str *text)
{
	struct log_format	*f, **slot;

	if ((f = pool_calloc(cf->pool, sizeof(*f))) == NULL ||
	    (f->name.data = pool_strndup(cf->pool, name->data,
	    name->len)) == NULL)
		return -1;
	f->name.len = name->len;
	f->escape = escape;
	if (format_compile(cf, vs, f, text) == -1 ||
	    (slot = array_push(formats)) == NULL)
		return -1;
	*slot = f;
	return 0;
}

int
access_log_http_init(struct conf *cf, struct array *formats,
    struct vars *vs)
{
	static const struct str	name = STR("combined");
	static const struct str	text = STR(COMBINED_FORMAT "\n");

	if (formats->size == 0 && array_init(formats, cf->pool, 4,
	    sizeof(struct log_format *)) == -1)
		return -1;
	return format_add(cf, formats, vs, &name, VAR_ESCAPE_DEFAULT, &text);
}

/* log_format NAME [escape=default|json|none] STRING ... */
static int
set_log_format(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*hm = cf->slots[CONF_SLOT_HTTP];
	struct array		*formats = field;
	const struct str	*a = cf->node->args;
	size_t			 nargs = CONF_NARGS(cf), first = 2;
	size_t			 i, len;
	struct str		 text;
	int			 escape = VAR_ESCAPE_DEFAULT;
	char			*p;

	if (hm == NULL || formats == NULL) {
		conf_error(cf, "\"%s\" directive is not allowed here",
		    cmd->name);
		return -1;
	}
	if (find_format(formats, a[1].data, a[1].len) != NULL) {
		conf_error(cf, "duplicate \"log_format\" name \"%s\"",
		    a[1].data);
		return -1;
	}
	if (a[2].len > 7 && memcmp(a[2].data, "escape=", 7) == 0) {
		p = a[2].data + 7;
		if (strcmp(p, "default") == 0)
			escape = VAR_ESCAPE_DEFAULT;
		else if (strcmp(p, "json") == 0)
			escape = VAR_ESCAPE_JSON;
		else if (strcmp(p, "none") == 0)
			escape = VAR_ESCAPE_NONE;
		else {
			conf_error(cf, "unknown log format escaping \"%s\"", p);
			return -1;
		}
		first = 3;
	}
	if (first > nargs) {
		conf_error(cf, "invalid number of arguments in \"%s\" "
		    "directive", cmd->name);
		return -1;
	}
	/* the strings are joined as written, and the line ends with \n */
	len = 1;
	for (i = first; i <= nargs; i++)
		len += a[i].len;
	if ((text.data = pool_alloc(cf->temp, len)) == NULL)
		return -1;
	text.len = 0;
	for (i = first; i <= nargs; i++) {
		memcpy(text.data + text.len, a[i].data, a[i].len);
		text.len += a[i].len;
	}
	text.data[text.len++] = '\n';
	return format_add(cf, formats, &hm->vars, &a[1], escape, &text);
}

/* Logs -------------------------------------------------------------------- */

/* Frees a log's worker state with its configuration (a reload without a
 * master replaces the configuration in the same process). */
static void
log_release(void *arg)
{
	struct access_log	*log = arg, **pp;

	if (log->buf == NULL)
		return;
	for (pp = &buffered_logs; *pp != NULL; pp = &(*pp)->next_buffered)
		if (*pp == log) {
			*pp = log->next_buffered;
			break;
		}
	timer_del(&log->flush_timer);
	free(log->buf);
	log->buf = NULL;
	log->len = 0;
}

static struct access_log *
log_new(struct conf *cf, struct access_log_conf *lc, const char *path,
    size_t plen, struct log_format *f)
{
	struct access_log	*log, **slot;
	char			*full;

	if (lc->logs == NULL) {
		if ((lc->logs = pool_alloc(cf->pool, sizeof(*lc->logs))) ==
		    NULL || array_init(lc->logs, cf->pool, 2,
		    sizeof(struct access_log *)) == -1)
			return NULL;
	}
	if ((full = conf_full_path(cf, path, plen, false)) == NULL ||
	    (log = pool_calloc(cf->pool, sizeof(*log))) == NULL ||
	    (log->file = cycle_open_file(cf->owner, full)) == NULL ||
	    (slot = array_push(lc->logs)) == NULL ||
	    pool_cleanup_add(cf->pool, log_release, log) == -1)
		return NULL;
	log->format = f;
	*slot = log;
	return log;
}

/*
 * access_log PATH [FORMAT [buffer=SIZE] [flush=TIME]] | off
 * Several at one level all apply.
 */
static int
set_access_log(struct conf *cf, const struct conf_cmd *cmd, void *field)
{
	struct http_main	*hm = cf->slots[CONF_SLOT_HTTP];
	struct access_log_conf	*lc = field;
	const struct str	*a = cf->node->args;
	size_t			 nargs = CONF_NARGS(cf), i;
	struct log_format	*f;
	struct access_log	*log;
	int64_t			 buffer = 0, flush = 0;
	struct str		 cond = STR_NULL;

	if (hm == NULL || lc == NULL) {
		conf_error(cf, "\"%s\" directive is not allowed here",
		    cmd->name);
		return -1;
	}
	if (strcmp(a[1].data, "off") == 0) {
		if (nargs > 1) {
			conf_error(cf, "invalid parameter \"%s\"", a[2].data);
			return -1;
		}
		lc->off = true;
		return 0;
	}
	if (a[1].len >= 7 && memcmp(a[1].data, "syslog:", 7) == 0) {
		conf_error(cf, "logging to syslog is not supported");
		return -1;
	}
	if (memchr(a[1].data, '$', a[1].len) != NULL) {
		conf_error(cf, "variables in access_log paths are not "
		    "supported");
		return -1;
	}
	if (nargs >= 2)
		f = find_format(&hm->formats, a[2].data, a[2].len);
	else
		f = find_format(&hm->formats, "combined", 8);
	if (f == NULL) {
		conf_error(cf, "unknown log format \"%s\"",
		    nargs >= 2 ? a[2].data : "combined");
		return -1;
	}
	for (i = 3; i <= nargs; i++) {
		const char	*v = a[i].data;
		size_t		 vlen = a[i].len;

		if (vlen > 7 && memcmp(v, "buffer=", 7) == 0) {
			buffer = str_parse_size(v + 7, vlen - 7);
			if (buffer <= 0) {
				conf_error(cf, "invalid buffer size \"%s\"",
				    v + 7);
				return -1;
			}
		} else if (vlen > 6 && memcmp(v, "flush=", 6) == 0) {
			flush = str_parse_msec(v + 6, vlen - 6, 1000);
			if (flush <= 0) {
				conf_error(cf, "invalid flush time \"%s\"",
				    v + 6);
				return -1;
			}
		} else if (strcmp(v, "gzip") == 0 ||
		    strncmp(v, "gzip=", 5) == 0) {
			conf_error(cf, "\"gzip\" in \"access_log\" is not "
			    "supported");
			return -1;
		} else if (vlen > 3 && strncmp(v, "if=", 3) == 0) {
			cond.data = (char *)v + 3;
			cond.len = vlen - 3;
		} else {
			conf_error(cf, "invalid parameter \"%s\"", v);
			return -1;
		}
	}
	if (flush > 0 && buffer == 0) {
		conf_error(cf, "no buffer is defined for access_log \"%s\"",
		    a[1].data);
		return -1;
	}
	if ((log = log_new(cf, lc, a[1].data, a[1].len, f)) == NULL)
		return -1;
	if (cond.len > 0 &&
	    (log->cond = cvalue_compile(cf, &hm->vars, &cond)) == NULL)
		return -1;
	log->buffer_size = (size_t)buffer;
	log->flush_ms = flush;
	return 0;
}

int
access_log_merge(struct conf *cf, struct access_log_conf *lc,
    const struct access_log_conf *parent, bool top)
{
	struct cycle		*c = cf->owner;
	struct http_main	*hm = cf->slots[CONF_SLOT_HTTP];
	struct log_format	*f;
	const char		*path;

	if (lc->logs != NULL || lc->off)
		return 0;
	if (parent != NULL && (parent->logs != NULL || parent->off)) {
		lc->logs = parent->logs;
		lc->off = parent->off;
		return 0;
	}
	if (!top)
		return 0;
	if (hm == NULL)
		hm = c->http;
	if (hm == NULL ||
	    (f = find_format(&hm->formats, "combined", 8)) == NULL) {
		conf_error(cf, "no \"combined\" log format for the default "
		    "access log");
		return -1;
	}
	path = c->prefix_given ? "logs/access.log" : USHER_HTTP_LOG_PATH;
	return log_new(cf, lc, path, strlen(path), f) == NULL ? -1 : 0;
}

/*	  name          where          args              parser          field         extra */
const struct conf_cmd	access_log_cmds[] = {
	{ "log_format", CONF_HTTP,     CONF_ARGS_MIN(2), set_log_format, HTTP(formats), NULL },
	{ "access_log", CONF_HTTP_ALL | CONF_LIF | CONF_LMT, CONF_ARGS_MIN(1), set_access_log, LOC(log), NULL },
	{ NULL }
};

/* Writing ----------------------------------------------------------------- */

/* Writes p[0..len) whole; errors are logged at most once a second. */
static void
write_all(struct access_log *log, const char *p, size_t len)
{
	int	fd = log->file->fd;
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (clock_now.sec != last_error_sec) {
				last_error_sec = clock_now.sec;
				log_error(LOG_CRIT, "write() to \"%s\" failed "
				    "(%d: %s)", log->file->path,
				    n == 0 ? 0 : errno,
				    n == 0 ? "nothing written" :
				    strerror(errno));
			}
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void
log_flush(struct access_log *log)
{
	if (log->len > 0 && log->file->fd != -1)
		write_all(log, log->buf, log->len);
	log->len = 0;
	timer_del(&log->flush_timer);
}

static void
on_flush_timer(struct timer *t)
{
	log_flush((struct access_log *)((char *)t -
	    offsetof(struct access_log, flush_timer)));
}

void
access_log_flush_all(void)
{
	struct access_log	*log;

	for (log = buffered_logs; log != NULL; log = log->next_buffered)
		log_flush(log);
}

/* Sets up a buffered log's worker state on its first line; -1: no memory,
 * the line is written directly instead. */
static int
log_buffer_init(struct access_log *log)
{
	if ((log->buf = malloc(log->buffer_size)) == NULL)
		return -1;
	log->len = 0;
	log->flush_timer.fn = on_flush_timer;
	log->next_buffered = buffered_logs;
	buffered_logs = log;
	return 0;
}

/* Output bytes of a value under an escaping. */
static size_t
value_width(int escape, const struct str *v)
{
	const unsigned char	*w, *s = (const unsigned char *)v->data;
	size_t			 i, n = 0;

	if (v->data == NULL)		/* not found */
		return escape == VAR_ESCAPE_DEFAULT ? 1 : 0;
	if (escape == VAR_ESCAPE_NONE)
		return v->len;
	w = escape == VAR_ESCAPE_JSON ? width_json : width_default;
	for (i = 0; i < v->len; i++)
		n += w[s[i]];
	return n;
}

static char *
value_copy(int escape, char *d, const struct str *v)
{
	static const char	 hex_upper[] = "0123456789ABCDEF";
	static const char	 hex_lower[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)v->data;
	size_t			 i;
	unsigned char		 c;

	if (v->data == NULL) {
		if (escape == VAR_ESCAPE_DEFAULT)
			*d++ = '-';
		return d;
	}
	if (escape == VAR_ESCAPE_NONE) {
		memcpy(d, v->data, v->len);
		return d + v->len;
	}
	for (i = 0; i < v->len; i++) {
		c = s[i];
		if (escape == VAR_ESCAPE_DEFAULT) {
			if (width_default[c] == 1) {
				*d++ = (char)c;
				continue;
			}
			*d++ = '\\';
			*d++ = 'x';
			*d++ = hex_upper[c >> 4];
			*d++ = hex_upper[c & 0xf];
			continue;
		}
		switch (width_json[c]) {
		case 1:
			*d++ = (char)c;
			continue;
		case 2:
			*d++ = '\\';
			*d++ = c == '\n' ? 'n' : c == '\r' ? 'r' :
			    c == '\t' ? 't' : c == '\b' ? 'b' :
			    c == '\f' ? 'f' : (char)c;
			continue;
		}
		memcpy(d, "\\u00", 4);
		d[4] = hex_lower[c >> 4];
		d[5] = hex_lower[c & 0xf];
		d += 6;
	}
	return d;
}

static void
render(const struct log_format *f, const struct str *vals, char *d)
{
	const struct lf_part	*p;
	size_t			 i;

	for (i = 0; i < f->nparts; i++) {
		p = &f->parts[i];
		if (p->var < 0) {
			memcpy(d, p->lit.data, p->lit.len);
			d += p->lit.len;
		} else
			d = value_copy(f->escape, d, &vals[i]);
	}
}

/*
 * One line into one log: the values are fetched once and measured, so
 * the line is written straight into its buffer with no copy and no
 * allocation.
 */
static void
log_one(struct request *r, struct access_log *log)
{
	const struct log_format	*f = log->format;
	struct str		 stack[LOG_STACK_PARTS], *vals = stack, c;
	size_t			 i, len = 0, w;
	char			*d;

	if (log->file->fd == -1)
		return;
	/* if=: a condition that is empty or "0" skips the line */
	if (log->cond != NULL && (cvalue_eval(r, log->cond, &c) == -1 ||
	    c.len == 0 || (c.len == 1 && c.data[0] == '0')))
		return;
	if (f->nparts > LOG_STACK_PARTS &&
	    (vals = pool_alloc(r->pool, f->nparts * sizeof(*vals))) == NULL)
		return;
	for (i = 0; i < f->nparts; i++) {
		if (f->parts[i].var < 0)
			w = f->parts[i].lit.len;
		else {
			if (vars_get(r, f->parts[i].var, &vals[i]) == -1)
				vals[i].data = NULL;
			w = value_width(f->escape, &vals[i]);
		}
		if (w > SIZE_MAX - len)
			return;
		len += w;
	}
	if (log->buffer_size > 0 &&
	    (log->buf != NULL || log_buffer_init(log) == 0)) {
		if (len > log->buffer_size - log->len)
			log_flush(log);
		if (len <= log->buffer_size) {
			render(f, vals, log->buf + log->len);
			if (log->len == 0 && log->flush_ms > 0)
				timer_set(&log->flush_timer,
				    (uint64_t)log->flush_ms);
			log->len += len;
			return;
		}
	}
	if (len <= LOG_SCRATCH_SIZE &&
	    (scratch != NULL || (scratch = malloc(LOG_SCRATCH_SIZE)) != NULL))
		d = scratch;
	else if ((d = pool_alloc(r->pool, len)) == NULL)
		return;
	render(f, vals, d);
	write_all(log, d, len);
}

void
access_log_write(struct request *r)
{
	const struct http_loc		*loc = r->loc;
	const struct access_log_conf	*lc;
	size_t				 i;

	/* a request refused before routing logs with its server's settings */
	if (loc == NULL)
		loc = r->srv != NULL ? r->srv->loc :
		    r->http != NULL ? r->http->loc : NULL;
	if (loc == NULL)
		return;
	lc = &loc->log;
	if (lc->off || lc->logs == NULL)
		return;
	for (i = 0; i < lc->logs->n; i++)
		log_one(r, *ARRAY_AT(lc->logs, struct access_log *, i));
}
