/*
 * The static file module: maps a URI to a file under root or alias, runs
 * try_files and index, answers conditional and range requests, and sends
 * the file with sendfile(2) under the client's back-pressure.  Directives
 * are static_conf.c's; response heads and error pages http_response.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "buf.h"
#include "charset.h"
#include "conn.h"
#include "encode.h"
#include "http.h"
#include "http_conf.h"
#include "static.h"
#include "vars.h"

#define MAX_IOV		16
#define READ_BUF	32768		/* the copy path (TLS): per read */
#define BOUNDARY_LEN	20

/* A file system path made from a URI. */
struct fspath {
	char	*data;		/* NUL-terminated, in the request pool */
	size_t	 len;
	size_t	 root_len;	/* the document root's bytes at its start */
};

/* What opening or testing a path found. */
struct fsinfo {
	int		 fd;		/* opened for reading, or -1 */
	struct stat	 st;
	int		 err;		/* errno of the failure */
	const char	*failed;	/* the call that failed, for the log */
};

/* A piece of the response: bytes in memory or a slice of the file. */
struct seg {
	const char	*mem;		/* NULL: file bytes */
	int64_t		 off;		/* file offset */
	int64_t		 len;		/* bytes still to send */
};

struct byte_range {
	int64_t		 start, end;	/* [start, end) */
};

/* A response being sent. */
struct sender {
	struct request	*r;
	int		 fd;		/* the file; -1 when closed */
	int		 cfd;		/* the client's fd while tracked */
	const char	*path;
	struct seg	*segs;
	size_t		 nsegs, cur;
	size_t		 chunk;		/* bytes per turn; 0: no limit */
	uint64_t	 sent;		/* bytes written, head included */
	uint64_t	 head_len;
	struct timer	 repump;	/* more after the other connections */
	char		*rbuf;		/* the copy path: file bytes read */
	size_t		 rstart, rend;
};

/*
 * The send in progress on each client fd: on_write gets only the
 * connection, and struct request has no slot for this module's state.
 */
static struct sender	**by_fd;
static size_t		  nby_fd;

static uint64_t		  boundary_seq;

static const struct mime_type	default_types[] = {
	{ STR("html"), STR("text/html") },
	{ STR("gif"), STR("image/gif") },
	{ STR("jpg"), STR("image/jpeg") },
};

/* Paths -------------------------------------------------------------------- */

/* root or the alias, evaluated (relative ones under the prefix). */
static int
doc_root(struct request *r, struct str *out)
{
	const struct static_loc	*sl = &r->loc->static_files;
	const char		*prefix = sl->prefix;
	struct str		 v;
	size_t			 plen;
	char			*p;

	if (sl->alias == NULL && r->loc->root_value == NULL) {
		out->data = r->loc->root;
		out->len = strlen(r->loc->root);
		return 0;
	}
	if (sl->alias == NULL) {
		if (cvalue_eval(r, r->loc->root_value, &v) == -1)
			return -1;
		prefix = r->loc->root_prefix;
	} else if (cvalue_eval(r, sl->alias, &v) == -1)
		return -1;
	if (v.len > 0 && v.data[0] == '/') {
		*out = v;
		return 0;
	}
	plen = strlen(prefix);
	if ((p = pool_alloc(r->pool, plen + v.len + 1)) == NULL)
		return -1;
	memcpy(p, prefix, plen);
	memcpy(p + plen, v.data, v.len);
	out->data = p;
	out->len = plen + v.len;
	return 0;
}

static int	add_expires(struct request *, time_t);

int
static_expires(struct request *r, time_t mtime)
{
	return r->loc == NULL ? 0 : add_expires(r, mtime);
}

int
static_document_root(struct request *r, struct str *out)
{
	return doc_root(r, out);
}

/* root + tail, with `reserve` spare bytes after it; 0 or -1. */
static int
build_path(struct request *r, struct fspath *fp, const struct str *root,
    const struct str *tail, size_t reserve)
{
	size_t	size = root->len + tail->len + reserve + 1;

	if (size <= tail->len || (fp->data = pool_alloc(r->pool, size)) == NULL)
		return -1;
	memcpy(fp->data, root->data, root->len);
	memcpy(fp->data + root->len, tail->data, tail->len);
	fp->len = root->len + tail->len;
	fp->root_len = root->len;
	fp->data[fp->len] = '\0';
	return 0;
}

/*
 * The path of r's URI: root + URI; with alias, the alias in place of the
 * location's name, or (regex location) the alias alone unless try_files
 * asked for the URI to be appended.  0, or -1 after logging.
 */
static int
map_uri(struct request *r, struct fspath *fp, size_t reserve, bool add_uri)
{
	const struct static_loc	*sl = &r->loc->static_files;
	struct str		 root, tail = r->uri;

	if (doc_root(r, &root) == -1)
		return -1;
	if (sl->alias != NULL && sl->alias_regex) {
		if (!add_uri)
			tail.len = 0;
	} else if (sl->alias != NULL) {
		if (tail.len < sl->alias_name.len || memcmp(tail.data,
		    sl->alias_name.data, sl->alias_name.len) != 0) {
			log_conn(LOG_ERR, r->conn->number, "\"alias\" cannot be "
			    "used in location \"%.*s\" where URI was rewritten",
			    (int)sl->alias_name.len, sl->alias_name.data);
			return -1;
		}
		tail.data += sl->alias_name.len;
		tail.len -= sl->alias_name.len;
	}
	return build_path(r, fp, &root, &tail, reserve);
}

/*
 * A path may not leave its root: no NUL, and no ".." segment made of
 * bytes that came from the request ("location /i { alias /d/; }" and
 * "/i../x" would otherwise reach /x).
 */
static bool
path_escapes(const struct fspath *fp)
{
	const char	*p = fp->data;
	size_t		 i = fp->root_len, s;

	if (memchr(p, '\0', fp->len) != NULL)
		return true;
	while (i > 0 && p[i - 1] != '/')
		i--;
	while (i < fp->len) {
		s = i;
		while (i < fp->len && p[i] != '/')
			i++;
		if (i > fp->root_len && i - s == 2 && p[s] == '.' &&
		    p[s + 1] == '.')
			return true;
		i++;
	}
	return false;
}

/* Opening with disable_symlinks -------------------------------------------- */

/* Where the check for links starts (bytes of the path not checked). */
static size_t
links_from(const struct static_loc *sl, const struct fspath *fp)
{
	const struct str	*f = &sl->symlinks_from;

	if (f->len == 0)
		return 0;
	if (STR_EQ_LIT(f->data, f->len, "$document_root"))
		return fp->root_len;
	if (f->len <= fp->len && memcmp(fp->data, f->data, f->len) == 0 &&
	    (f->len == fp->len || fp->data[f->len] == '/' ||
	    f->data[f->len - 1] == '/'))
		return f->len;
	return 0;
}

/*
 * Opens name under dfd without following a final symbolic link, unless
 * if_not_owner allows one whose owner is the target's.  -1 with errno
 * (ELOOP for a refused link).
 */
static int
open_nofollow(const struct static_loc *sl, int dfd, const char *name,
    int flags)
{
	struct stat	lst, tst;
	int		fd, err;

	if ((fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC)) != -1)
		return fd;
	err = errno;
	/* a link shows as ELOOP, or ENOTDIR when a directory was wanted */
	if ((err != ELOOP && err != ENOTDIR) ||
	    fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISLNK(lst.st_mode)) {
		errno = err;
		return -1;
	}
	if (sl->disable_symlinks == STATIC_LINKS_NOT_OWNER &&
	    (fd = openat(dfd, name, flags | O_CLOEXEC)) != -1) {
		if (fstat(fd, &tst) == 0 && tst.st_uid == lst.st_uid)
			return fd;
		close(fd);
	}
	errno = ELOOP;
	return -1;
}

/* stat() of name under dfd with the same rule for a final link. */
static int
stat_nofollow(const struct static_loc *sl, int dfd, const char *name,
    struct stat *st)
{
	struct stat	tst;

	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISLNK(st->st_mode))
		return 0;
	if (sl->disable_symlinks == STATIC_LINKS_NOT_OWNER &&
	    fstatat(dfd, name, &tst, 0) == 0 && tst.st_uid == st->st_uid) {
		*st = tst;
		return 0;
	}
	errno = ELOOP;
	return -1;
}

/* The directory where the walk starts: "/" or the unchecked part. */
static int
walk_start(struct fspath *fp, size_t from)
{
	char	save;
	int	fd;

	if (from == 0)
		return open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	save = fp->data[from];
	fp->data[from] = '\0';
	fd = open(fp->data, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fp->data[from] = save;
	return fd;
}

/* Opens (or with test_only, stats) fp one component at a time. */
static int
walk_open(const struct static_loc *sl, struct fspath *fp, bool test_only,
    struct fsinfo *fi)
{
	const char	*s, *e, *end = fp->data + fp->len;
	char		 name[NAME_MAX + 1];
	size_t		 from = links_from(sl, fp);
	int		 dfd, fd;

	fi->failed = "openat()";
	if ((dfd = walk_start(fp, from)) == -1)
		goto fail;
	for (s = fp->data + from;; s = e) {
		while (s < end && *s == '/')
			s++;
		if (s == end) {
			/* the path ends with "/": the directory itself */
			if (fstat(dfd, &fi->st) == -1)
				goto fail_dfd;
			close(dfd);
			return 0;
		}
		if ((e = memchr(s, '/', (size_t)(end - s))) == NULL)
			e = end;
		if ((size_t)(e - s) > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail_dfd;
		}
		memcpy(name, s, (size_t)(e - s));
		name[e - s] = '\0';
		if (e < end) {
			if ((fd = open_nofollow(sl, dfd, name, O_PATH |
			    O_DIRECTORY)) == -1)
				goto fail_dfd;
			close(dfd);
			dfd = fd;
			continue;
		}
		if (test_only) {
			if (stat_nofollow(sl, dfd, name, &fi->st) == -1)
				goto fail_dfd;
		} else {
			if ((fi->fd = open_nofollow(sl, dfd, name, O_RDONLY |
			    O_NONBLOCK)) == -1)
				goto fail_dfd;
			if (fstat(fi->fd, &fi->st) == -1) {
				fi->failed = "fstat()";
				goto fail_dfd;
			}
		}
		close(dfd);
		return 0;
	}
fail_dfd:
	fi->err = errno;
	close(dfd);
	if (fi->fd != -1)
		close(fi->fd);
	fi->fd = -1;
	return -1;
fail:
	fi->err = errno;
	return -1;
}

/*
 * Opens fp for reading (test_only: only looks at it), as
 * disable_symlinks says.  A directory is never left open.  0, or -1
 * with fi->err and fi->failed.
 */
static int
fs_open(struct request *r, struct fspath *fp, bool test_only,
    struct fsinfo *fi)
{
	const struct static_loc	*sl = &r->loc->static_files;

	fi->fd = -1;
	fi->err = 0;
	if (sl->disable_symlinks != STATIC_LINKS_OFF) {
		if (walk_open(sl, fp, test_only, fi) == -1)
			return -1;
	} else if (test_only) {
		fi->failed = "stat()";
		if (stat(fp->data, &fi->st) == -1) {
			fi->err = errno;
			return -1;
		}
	} else {
		/* non-blocking: a FIFO must not hang the worker */
		fi->failed = "open()";
		fi->fd = open(fp->data, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fi->fd == -1 || fstat(fi->fd, &fi->st) == -1) {
			fi->err = errno;
			if (fi->fd != -1)
				close(fi->fd);
			fi->fd = -1;
			return -1;
		}
	}
	if (fi->fd != -1 && S_ISDIR(fi->st.st_mode)) {
		close(fi->fd);
		fi->fd = -1;
	}
	return 0;
}

/* try_files ---------------------------------------------------------------- */

static struct http_loc *
find_named(struct request *r, const struct str *name)
{
	struct http_loc	*n;
	size_t		 i;

	for (i = 0; i < r->srv->named.n; i++) {
		n = *ARRAY_AT(&r->srv->named, struct http_loc *, i);
		if (str_eq(n->name.data, n->name.len, name->data, name->len))
			return n;
	}
	return NULL;
}

/* The last argument: a status, a named location or a URI (own args). */
static void
try_fallback(struct request *r, const struct static_try *t)
{
	struct http_loc	*n;
	struct str	 v, args = STR_NULL;
	char		*q;

	if (t->code != 0) {
		http_special(r, t->code);
		return;
	}
	if (cvalue_eval(r, t->value, &v) == -1 || v.len == 0) {
		http_special(r, 500);
		return;
	}
	if (v.data[0] == '@') {
		if ((n = find_named(r, &v)) == NULL) {
			log_conn(LOG_ERR, r->conn->number, "could not find named "
			    "location \"%.*s\"", (int)v.len, v.data);
			http_special(r, 500);
			return;
		}
		http_request_named(r, n);
		return;
	}
	/* as nginx: without "?" in it the request's arguments are dropped */
	if ((q = memchr(v.data, '?', v.len)) != NULL) {
		args.data = q + 1;
		args.len = v.len - (size_t)(q - v.data) - 1;
		v.len = (size_t)(q - v.data);
	}
	http_request_redirect(r, &v, &args);
}

/* A found argument v becomes the URI (with alias, after its location). */
static int
try_found(struct request *r, const struct static_try *t,
    const struct str *v, bool *add_uri)
{
	const struct static_loc	*sl = &r->loc->static_files;
	const struct str	*name = &sl->alias_name;
	char			*u;

	if (sl->alias == NULL) {
		r->uri = *v;
	} else if (sl->alias_regex) {
		if (!t->dir) {
			r->uri = *v;
			*add_uri = true;
		}
	} else {
		if ((u = pool_alloc(r->pool, name->len + v->len + 1)) == NULL)
			return -1;
		memcpy(u, name->data, name->len);
		memcpy(u + name->len, v->data, v->len);
		u[name->len + v->len] = '\0';
		r->uri.data = u;
		r->uri.len = name->len + v->len;
	}
	r->uri_modified = true;
	return 0;
}

bool
static_try_files(struct request *r, bool *add_uri)
{
	const struct static_loc	*sl = &r->loc->static_files;
	const struct static_try	*t;
	struct fspath		 fp;
	struct fsinfo		 fi;
	struct str		 root, v;
	size_t			 i;

	*add_uri = false;
	for (i = 0; i < sl->ntries; i++) {
		t = &sl->tries[i];
		if (i + 1 == sl->ntries) {
			try_fallback(r, t);
			return true;
		}
		if (cvalue_eval(r, t->value, &v) == -1) {
			http_special(r, 500);
			return true;
		}
		/* with a prefix alias, "$uri" names a file under the alias */
		if (sl->alias != NULL && !sl->alias_regex &&
		    v.len >= sl->alias_name.len && memcmp(v.data,
		    sl->alias_name.data, sl->alias_name.len) == 0) {
			v.data += sl->alias_name.len;
			v.len -= sl->alias_name.len;
		}
		if (doc_root(r, &root) == -1 ||
		    build_path(r, &fp, &root, &v, 0) == -1) {
			http_special(r, 500);
			return true;
		}
		if (path_escapes(&fp))
			continue;
		if (fs_open(r, &fp, true, &fi) == -1) {
			if (fi.err != ENOENT && fi.err != ENOTDIR &&
			    fi.err != ENAMETOOLONG)
				log_conn(LOG_ERR, r->conn->number, "%s \"%s\" "
				    "failed (%d: %s)", fi.failed, fp.data,
				    fi.err, strerror(fi.err));
			continue;
		}
		if ((S_ISDIR(fi.st.st_mode) != 0) != t->dir)
			continue;
		if (try_found(r, t, &v, add_uri) == -1) {
			http_special(r, 500);
			return true;
		}
		return false;
	}
	return false;
}

/* index -------------------------------------------------------------------- */

static void
index_error(struct request *r, const char *path, int err)
{
	if (err == EACCES) {
		log_conn(LOG_ERR, r->conn->number, "\"%s\" is forbidden (%d: %s)",
		    path, err, strerror(err));
		http_special(r, 403);
		return;
	}
	if (r->loc->log_not_found)
		log_conn(LOG_ERR, r->conn->number, "\"%s\" is not found "
		    "(%d: %s)", path, err, strerror(err));
	http_special(r, 404);
}

/*
 * When the first index file is missing, the directory is checked once:
 * a missing directory is a 404.  0 to go on, or -1 after answering.
 */
static int
index_test_dir(struct request *r, struct fspath *fp, size_t dir_len)
{
	struct fspath	 dir = *fp;
	struct fsinfo	 fi;
	char		 save = fp->data[dir_len];
	int		 rc;

	fp->data[dir_len] = '\0';
	dir.len = dir_len;
	rc = fs_open(r, &dir, true, &fi);
	fp->data[dir_len] = save;
	if (rc == 0)
		return 0;
	if (fi.err == ELOOP) {
		http_special(r, 403);
		return -1;
	}
	if (fi.err == ENOENT || fi.err == ENOTDIR) {
		index_error(r, fp->data, fi.err);
		return -1;
	}
	if (fi.err == EACCES)
		return 0;
	log_conn(LOG_CRIT, r->conn->number, "%s \"%.*s\" failed (%d: %s)",
	    fi.failed, (int)dir_len, fp->data, fi.err, strerror(fi.err));
	http_special(r, 500);
	return -1;
}

/* Redirects to uri + name; -1 if out of memory. */
static int
index_redirect(struct request *r, const struct str *name)
{
	struct str	uri;
	char		*u;

	if ((u = pool_alloc(r->pool, r->uri.len + name->len + 1)) == NULL)
		return -1;
	memcpy(u, r->uri.data, r->uri.len);
	memcpy(u + r->uri.len, name->data, name->len);
	u[r->uri.len + name->len] = '\0';
	uri.data = u;
	uri.len = r->uri.len + name->len;
	http_request_redirect(r, &uri, &r->args);
	return 0;
}

/* A URI ending with "/": the first index file that exists, or 403. */
static void
serve_index(struct request *r, bool add_uri)
{
	const struct array	*idx = r->loc->index;
	struct str		 nv, *name = &nv;
	struct fspath		 fp;
	struct fsinfo		 fi;
	size_t			 i, base;
	bool			 dir_tested = false;

	for (i = 0; idx != NULL && i < idx->n; i++) {
		if (cvalue_eval(r, *ARRAY_AT(idx, struct cvalue *, i),
		    name) == -1)
			goto fail;
		if (name->len == 0) {
			/* nginx tests the directory itself, and fails */
			log_conn(LOG_ERR, r->conn->number, "index name is "
			    "empty for \"%.*s\"", (int)r->uri.len, r->uri.data);
			goto fail;
		}
		if (name->data[0] == '/') {
			http_request_redirect(r, name, &r->args);
			return;
		}
		if (map_uri(r, &fp, name->len, add_uri) == -1)
			goto fail;
		base = fp.len;
		memcpy(fp.data + fp.len, name->data, name->len);
		fp.len += name->len;
		fp.data[fp.len] = '\0';
		if (path_escapes(&fp)) {
			http_special(r, 404);
			return;
		}
		if (fs_open(r, &fp, true, &fi) == 0) {
			if (index_redirect(r, name) == -1)
				goto fail;
			return;
		}
		if (fi.err == ELOOP) {
			http_special(r, 403);
			return;
		}
		if (fi.err == ENOTDIR || fi.err == ENAMETOOLONG ||
		    fi.err == EACCES) {
			index_error(r, fp.data, fi.err);
			return;
		}
		if (!dir_tested) {
			if (index_test_dir(r, &fp, base) == -1)
				return;
			dir_tested = true;
		}
		if (fi.err == ENOENT)
			continue;
		log_conn(LOG_CRIT, r->conn->number, "%s \"%s\" failed (%d: %s)",
		    fi.failed, fp.data, fi.err, strerror(fi.err));
		goto fail;
	}
	if (map_uri(r, &fp, 0, add_uri) == -1)
		goto fail;
	log_conn(LOG_ERR, r->conn->number, "directory index of \"%s\" is "
	    "forbidden", fp.data);
	http_special(r, 403);
	return;
fail:
	http_special(r, 500);
}

/* Response headers --------------------------------------------------------- */

#define FIND_HEADER(r, lit)	http_req_header((r), (lit), sizeof(lit) - 1)
#define ADD_HEADER(r, lit, v, vlen) \
	http_add_header((r), (lit), sizeof(lit) - 1, (v), (vlen))

/* The type for the URI's extension (as nginx finds it), or default_type. */
static struct str
content_type(const struct request *r)
{
	const struct mime_type	*m;
	const char		*u = r->uri.data;
	size_t			 i, n, elen = 0;
	const char		*ext = NULL;

	for (i = r->uri.len < 3 ? 0 : r->uri.len - 1; i > 1; i--) {
		if (u[i] == '.' && u[i - 1] != '/') {
			ext = u + i + 1;
			elen = r->uri.len - i - 1;
			break;
		}
		if (u[i] == '/')
			break;
	}
	if (ext == NULL || elen == 0)
		return r->loc->default_type;
	n = r->loc->types != NULL ? r->loc->types->n :
	    sizeof(default_types) / sizeof(default_types[0]);
	/* from the end: a later entry for the same extension wins */
	while (n-- > 0) {
		m = r->loc->types != NULL ? ARRAY_AT(r->loc->types,
		    struct mime_type, n) : &default_types[n];
		if (m->ext.len == elen && strncasecmp(m->ext.data, ext,
		    elen) == 0)
			return m->type;
	}
	return r->loc->default_type;
}

/* The statuses nginx's expires applies to. */
static bool
expires_status(int s)
{
	return s == 200 || s == 201 || s == 204 || s == 206 || s == 301 ||
	    s == 302 || s == 303 || s == 304 || s == 307 || s == 308;
}

/* Today's (or tomorrow's) local time of day `when` seconds after 00:00. */
static time_t
next_daily(time_t when)
{
	time_t		now = clock_now.sec, next;
	struct tm	tm;

	localtime_r(&now, &tm);
	tm.tm_hour = (int)(when / 3600);
	tm.tm_min = (int)(when % 3600 / 60);
	tm.tm_sec = (int)(when % 60);
	tm.tm_isdst = -1;
	if ((next = mktime(&tm)) == -1 || next > now)
		return next;
	tm.tm_mday++;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* Drops the upstream's Expires and Cache-Control: expires replaces them. */
static void
drop_cache_headers(struct request *r)
{
	struct header	*h;
	size_t		 i;

	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		if (!str_caseeq(h->name.data, h->name.len, "Expires", 7) &&
		    !str_caseeq(h->name.data, h->name.len, "Cache-Control", 13))
			continue;
		memmove(h, h + 1, (r->out_headers.n - i - 1) * sizeof(*h));
		r->out_headers.n--;
		i--;
	}
}

/*
 * Expires and Cache-Control as the expires directive says, for any
 * response (http_build_head() calls it for those not sent from here);
 * mtime -1: unknown.  0 or -1.
 */
static int
add_expires(struct request *r, time_t mtime)
{
	const struct static_loc	*sl = &r->loc->static_files;
	struct static_loc	 dyn;
	struct str		 v;
	const char		*err;
	char			 date[64], cc[48];
	time_t			 t, age;
	int			 n;

	if (r->expires_done)
		return 0;
	r->expires_done = true;
	if (sl->expires == STATIC_EXPIRES_OFF || !expires_status(r->status))
		return 0;
	if (sl->expires_value != NULL) {
		/* a bad value or "off" from a variable: no headers, as nginx */
		dyn.expires = sl->expires;
		dyn.expires_time = 0;
		if (cvalue_eval(r, sl->expires_value, &v) == -1)
			return -1;
		if (static_expires_parse(v.data, v.len, &dyn.expires,
		    &dyn.expires_time, &err) == -1 ||
		    dyn.expires == STATIC_EXPIRES_OFF)
			return 0;
		sl = &dyn;
	}
	drop_cache_headers(r);
	if (sl->expires == STATIC_EXPIRES_EPOCH)
		return ADD_HEADER(r, "Expires", "Thu, 01 Jan 1970 00:00:01 GMT",
		    29) | ADD_HEADER(r, "Cache-Control", "no-cache", 8);
	if (sl->expires == STATIC_EXPIRES_MAX)
		return ADD_HEADER(r, "Expires", "Thu, 31 Dec 2037 23:55:55 GMT",
		    29) | ADD_HEADER(r, "Cache-Control", "max-age=315360000",
		    17);
	if (sl->expires_time == 0 && sl->expires != STATIC_EXPIRES_DAILY)
		return ADD_HEADER(r, "Expires", clock_now.http_date,
		    strlen(clock_now.http_date)) |
		    ADD_HEADER(r, "Cache-Control", "max-age=0", 9);
	if (sl->expires == STATIC_EXPIRES_DAILY) {
		t = next_daily((time_t)sl->expires_time);
		age = t - clock_now.sec;
	} else if (sl->expires == STATIC_EXPIRES_ACCESS || mtime == -1) {
		t = clock_now.sec + (time_t)sl->expires_time;
		age = (time_t)sl->expires_time;
	} else {
		t = mtime + (time_t)sl->expires_time;
		age = t - clock_now.sec;
	}
	clock_http_date(date, sizeof(date), t);
	if (sl->expires_time < 0 || age < 0)
		n = snprintf(cc, sizeof(cc), "no-cache");
	else
		n = snprintf(cc, sizeof(cc), "max-age=%lld", (long long)age);
	if (n < 0 || (size_t)n >= sizeof(cc))
		return -1;
	return ADD_HEADER(r, "Expires", date, strlen(date)) |
	    ADD_HEADER(r, "Cache-Control", cc, (size_t)n);
}

/* A directory asked for without its slash: 301 to the URI with one. */
static void
redirect_dir(struct request *r)
{
	size_t	len = str_escape_uri(NULL, r->uri.data, r->uri.len) + 2 +
		    r->args.len;
	char	*l;

	if ((l = pool_alloc(r->pool, len + 1)) == NULL) {
		http_special(r, 500);
		return;
	}
	/* the URI is decoded: "/dir sp" goes out as "/dir%20sp/" */
	len = str_escape_uri(l, r->uri.data, r->uri.len);
	l[len++] = '/';
	if (r->args.len > 0) {
		l[len++] = '?';
		memcpy(l + len, r->args.data, r->args.len);
		len += r->args.len;
	}
	l[len] = '\0';
	r->location.data = l;
	r->location.len = len;
	r->status = 301;
	if (add_expires(r, -1) == -1) {
		http_special(r, 500);
		return;
	}
	http_special(r, 301);
}

/* Conditional requests (RFC 9110 13) --------------------------------------- */

/* nginx's list match: "*", or the ETag among the list (weak: W/ ignored). */
static bool
etag_listed(const struct http1_header *h, const struct str *etag, bool weak)
{
	const char	*s = h->value, *end = h->value + h->value_len;
	struct str	 e;

	if (h->value_len == 1 && s[0] == '*')
		return true;
	if (etag->len == 0)
		return false;
	e = *etag;
	if (weak && e.len > 2 && e.data[0] == 'W' && e.data[1] == '/') {
		e.data += 2;
		e.len -= 2;
	}
	while (s < end) {
		if (weak && end - s > 2 && s[0] == 'W' && s[1] == '/')
			s += 2;
		if (e.len > (size_t)(end - s))
			return false;
		if (memcmp(s, e.data, e.len) == 0) {
			s += e.len;
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			if (s == end || *s == ',')
				return true;
		}
		while (s < end && *s != ',')
			s++;
		while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
	}
	return false;
}

/*
 * The preconditions of a 200: 412, 304, or 200 to send the file.  As
 * nginx: If-Unmodified-Since, If-Match, then If-Modified-Since and
 * If-None-Match, both of which must agree for a 304.
 */
static int
preconditions(struct request *r, time_t mtime, const struct str *etag)
{
	const struct http1_header	*ius, *im, *ims, *inm;
	time_t				 t;
	int				 mode;

	ius = FIND_HEADER(r, "If-Unmodified-Since");
	if (ius != NULL && clock_parse_http_date(ius->value,
	    ius->value_len) < mtime)
		return 412;
	im = FIND_HEADER(r, "If-Match");
	if (im != NULL && !etag_listed(im, etag, false))
		return 412;
	ims = FIND_HEADER(r, "If-Modified-Since");
	inm = FIND_HEADER(r, "If-None-Match");
	if (ims == NULL && inm == NULL)
		return 200;
	if (ims != NULL) {
		mode = r->loc->static_files.if_modified_since;
		if (mode == STATIC_IMS_OFF)
			return 200;
		t = clock_parse_http_date(ims->value, ims->value_len);
		if (t != mtime && (mode == STATIC_IMS_EXACT || t < mtime))
			return 200;
	}
	if (inm != NULL && !etag_listed(inm, etag, true))
		return 200;
	return 304;
}

/* Ranges (RFC 9110 14) ----------------------------------------------------- */

enum range_result {
	RANGE_NONE = 0,		/* send the whole file */
	RANGE_OK,
	RANGE_UNSATISFIABLE
};

/* If-Range: ranges apply only if it names this ETag or Last-Modified. */
static bool
if_range_allows(struct request *r, time_t mtime, const struct str *etag)
{
	const struct http1_header	*h = FIND_HEADER(r, "If-Range");

	if (h == NULL)
		return true;
	if (h->value_len >= 2 && h->value[h->value_len - 1] == '"')
		return etag->len > 0 && str_eq(h->value, h->value_len,
		    etag->data, etag->len);
	return clock_parse_http_date(h->value, h->value_len) == mtime;
}

static int64_t
range_number(const char *p, size_t len, size_t *i, bool *overflow)
{
	int64_t	v = 0;

	while (*i < len && p[*i] >= '0' && p[*i] <= '9') {
		if (v > (INT64_MAX - (p[*i] - '0')) / 10)
			*overflow = true;
		else
			v = v * 10 + (p[*i] - '0');
		(*i)++;
	}
	return v;
}

/*
 * Parses "bytes=a-b, c-, -n" against size, as nginx does: a range that
 * starts beyond the end is dropped, none left is 416; more ranges than
 * max_ranges, or more bytes than the file, send the whole file.
 */
static enum range_result
parse_ranges(struct request *r, const char *p, size_t len, int64_t size,
    struct array *out)
{
	struct byte_range	*br;
	int64_t			 start, end, total = 0;
	int			 left = r->loc->static_files.max_ranges;
	size_t			 i = 6;
	bool			 suffix, over = false;

#define CH(k)	((k) < len ? p[k] : '\0')
	for (;;) {
		start = end = 0;
		suffix = false;
		while (CH(i) == ' ')
			i++;
		if (CH(i) != '-') {
			if (CH(i) < '0' || CH(i) > '9')
				return RANGE_UNSATISFIABLE;
			start = range_number(p, len, &i, &over);
			while (CH(i) == ' ')
				i++;
			if (CH(i) != '-')
				return RANGE_UNSATISFIABLE;
			i++;
			while (CH(i) == ' ')
				i++;
			if (CH(i) == ',' || CH(i) == '\0') {
				end = size;
				goto found;
			}
		} else {
			suffix = true;
			i++;
		}
		if (CH(i) < '0' || CH(i) > '9')
			return RANGE_UNSATISFIABLE;
		end = range_number(p, len, &i, &over);
		while (CH(i) == ' ')
			i++;
		if (CH(i) != ',' && CH(i) != '\0')
			return RANGE_UNSATISFIABLE;
		if (suffix) {
			start = end < size ? size - end : 0;
			end = size - 1;
		}
		end = end >= size ? size : end + 1;
found:
		if (over)
			return RANGE_UNSATISFIABLE;
		if (start < end) {
			if ((br = array_push(out)) == NULL)
				return RANGE_NONE;
			br->start = start;
			br->end = end;
			if (total > INT64_MAX - (end - start))
				return RANGE_UNSATISFIABLE;
			total += end - start;
			if (left-- == 0)
				return RANGE_NONE;
		} else if (start == 0)
			return RANGE_NONE;
		if (CH(i) != ',')
			break;
		i++;
	}
#undef CH
	if (out->n == 0)
		return RANGE_UNSATISFIABLE;
	return total > size ? RANGE_NONE : RANGE_OK;
}

/* Sending ------------------------------------------------------------------ */

static int
track(struct sender *s, int fd)
{
	struct sender	**n;
	size_t		  want;

	if (fd < 0)
		return -1;
	if ((size_t)fd >= nby_fd) {
		want = nby_fd > 0 ? nby_fd : 64;
		while (want <= (size_t)fd)
			want *= 2;
		if ((n = realloc(by_fd, want * sizeof(*n))) == NULL)
			return -1;
		memset(n + nby_fd, 0, (want - nby_fd) * sizeof(*n));
		by_fd = n;
		nby_fd = want;
	}
	by_fd[fd] = s;
	s->cfd = fd;
	return 0;
}

static void
sender_release(struct sender *s)
{
	timer_del(&s->repump);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	if (s->cfd >= 0 && (size_t)s->cfd < nby_fd && by_fd[s->cfd] == s)
		by_fd[s->cfd] = NULL;
	s->cfd = -1;
	if (s->rbuf != NULL)
		buf_put(s->rbuf, READ_BUF);
	s->rbuf = NULL;
}

/* The request pool's cleanup: the file is closed however the request ends. */
static void
sender_cleanup(void *arg)
{
	sender_release(arg);
}

/* The response is out (or the client is gone: ok false). */
static void
finish(struct sender *s, bool ok)
{
	struct request	*r = s->r;
	struct conn	*c = r->conn;

	sender_release(s);
	timer_del(&c->timer);
	c->on_write = NULL;
	r->body_bytes_sent = s->sent > s->head_len ? s->sent - s->head_len : 0;
	if (!ok) {
		r->close_after = true;
		r->lingering = false;
	}
	http_conn_request_done(r);
}

/*
 * writev() with MSG_MORE, for bytes that sendfile() data follows: they
 * leave together, where a head sent alone would hold the body back
 * behind Nagle's algorithm and the client's delayed ACK.
 */
static ssize_t
writev_more(struct conn *c, struct iovec *iov, int n)
{
	struct msghdr	m;
	ssize_t		w;
	size_t		want = 0;
	int		i;

	for (i = 0; i < n; i++)
		want += iov[i].iov_len;
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)n;
	do
		w = sendmsg(c->io.fd, &m, MSG_MORE);
	while (w == -1 && errno == EINTR);
	if (w >= 0) {
		if ((size_t)w < want)
			c->writable = false;
		c->sent += (uint64_t)w;
		return w;
	}
	c->writable = false;
	return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
}

/* Writes the memory segments from cur on with one writev. */
static ssize_t
write_mem(struct sender *s)
{
	struct conn	*c = s->r->conn;
	struct iovec	 iov[MAX_IOV];
	struct seg	*g;
	ssize_t		 w;
	size_t		 k, left;
	int		 n = 0;

	for (k = s->cur; k < s->nsegs && n < MAX_IOV; k++) {
		g = &s->segs[k];
		if (g->mem == NULL)
			break;
		iov[n].iov_base = (void *)g->mem;
		iov[n++].iov_len = (size_t)g->len;
	}
	if (c->tls == NULL && k < s->nsegs && s->segs[k].mem == NULL)
		w = writev_more(c, iov, n);
	else
		w = conn_writev(c, iov, n);
	if (w < 0)
		return w;
	for (left = (size_t)w; s->cur < s->nsegs; s->cur++) {
		g = &s->segs[s->cur];
		if (g->mem == NULL || left < (size_t)g->len) {
			if (g->mem != NULL) {
				g->mem += left;
				g->len -= (int64_t)left;
			}
			break;
		}
		left -= (size_t)g->len;
	}
	return w;
}

/* The copy path, for connections sendfile cannot write to (TLS). */
static ssize_t
copy_file(struct sender *s, struct seg *g, size_t want)
{
	ssize_t	n, w;

	if (s->rbuf == NULL && (s->rbuf = buf_get(READ_BUF)) == NULL)
		return IO_ERROR;
	if (s->rstart == s->rend) {
		if (want > READ_BUF)
			want = READ_BUF;
		do
			n = pread(s->fd, s->rbuf, want, g->off);
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			return n == 0 ? 0 : IO_ERROR;
		s->rstart = 0;
		s->rend = (size_t)n;
	}
	w = conn_send(s->r->conn, s->rbuf + s->rstart, s->rend - s->rstart);
	if (w > 0) {
		s->rstart += (size_t)w;
		g->off += w;
		g->len -= w;
	}
	return w;
}

/* Sends up to want bytes of the file segment; bytes, 0 if the file
 * shrank, IO_AGAIN or IO_ERROR. */
static ssize_t
write_file(struct sender *s, size_t want)
{
	struct seg	*g = &s->segs[s->cur];
	struct conn	*c = s->r->conn;
	off_t		 off = (off_t)g->off;
	ssize_t		 n;

	if ((int64_t)want > g->len)
		want = (size_t)g->len;
	if (c->tls != NULL)
		n = copy_file(s, g, want);
	else {
		do
			n = sendfile(c->io.fd, s->fd, &off, want);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			c->writable = false;
			return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
		}
		g->off += n;
		g->len -= n;
	}
	if (n > 0 && g->len == 0)
		s->cur++;
	return n;
}

static void	pump(struct sender *);

static void
on_repump(struct timer *t)
{
	pump((struct sender *)((char *)t - offsetof(struct sender, repump)));
}

static int64_t
parse_rate(const struct str *v)
{
	int64_t	n = v->len > 0 ? str_parse_size(v->data, v->len) : -1;

	return n < 0 ? 0 : n;
}

uint64_t
static_limit_rate(struct request *r, bool after)
{
	const struct static_loc	*sl = &r->loc->static_files;
	int64_t			*val = after ? &r->limit_rate_after :
				    &r->limit_rate;
	struct cvalue		*cv = after ? sl->limit_rate_after_value :
				    sl->limit_rate_value;
	struct str		 v;

	if (*val >= 0)
		return (uint64_t)*val;
	if (cv == NULL)
		*val = (int64_t)(after ? sl->limit_rate_after : sl->limit_rate);
	else
		*val = cvalue_eval(r, cv, &v) == -1 ? 0 : parse_rate(&v);
	return (uint64_t)*val;
}

void
static_set_limit_rate(struct request *r, const struct str *v)
{
	int64_t	n = v->len > 0 ? str_parse_size(v->data, v->len) : -1;

	/* as nginx: a bad value is logged and changes nothing */
	if (n < 0) {
		log_conn(LOG_ERR, r->conn->number, "invalid $limit_rate "
		    "\"%.*s\"", (int)v->len, v->data);
		return;
	}
	r->limit_rate = n;
}

/*
 * limit_rate, reckoned as nginx does in whole seconds since the request
 * began (the first second's worth at once): the bytes that may go now, or
 * 0 after arming the timer for when more may.
 */
static size_t
rate_allows(struct sender *s)
{
	uint64_t		 rate = static_limit_rate(s->r, false), secs;
	int64_t			 limit;

	if (rate == 0)
		return SIZE_MAX;
	secs = (clock_now.real_ms - s->r->start_ms) / 1000 + 1;
	limit = (int64_t)(rate * secs) - ((int64_t)s->sent -
	    (int64_t)static_limit_rate(s->r, true));
	if (limit > 0)
		return (size_t)limit;
	s->repump.fn = on_repump;
	timer_set(&s->repump, (uint64_t)(-limit) * 1000 / rate + 1);
	return 0;
}

/* Writes what the client takes; a fair share per turn, then yields. */
static void
pump(struct sender *s)
{
	struct conn	*c = s->r->conn;
	uint64_t	 start = s->sent;
	size_t		 budget, want;
	ssize_t		 n;

	budget = s->chunk > 0 ? s->chunk : SIZE_MAX;
	if ((want = rate_allows(s)) == 0)
		return;
	if (want < budget)
		budget = want;
	while (s->cur < s->nsegs) {
		if (!c->writable) {
			timer_set(&c->timer, (uint64_t)s->r->loc->send_timeout);
			return;
		}
		if (s->sent - start >= budget) {
			/* fair to the other connections: the rest next turn */
			if (rate_allows(s) == 0)
				return;
			s->repump.fn = on_repump;
			timer_set(&s->repump, 0);
			return;
		}
		want = budget - (size_t)(s->sent - start);
		if (want > 0x7ffff000)
			want = 0x7ffff000;
		n = s->segs[s->cur].mem != NULL ? write_mem(s) :
		    write_file(s, want);
		if (n == IO_AGAIN) {
			/* TLS may wait to read first: writable stays set */
			timer_set(&c->timer, (uint64_t)s->r->loc->send_timeout);
			return;
		}
		if (n == 0 && s->segs[s->cur].mem == NULL) {
			log_conn(LOG_ERR, c->number, "\"%s\" was truncated while "
			    "sending response to client", s->path);
			finish(s, false);
			return;
		}
		if (n < 0) {
			log_conn(LOG_INFO, c->number, "%s() failed (%d: %s) while "
			    "sending response to client", c->tls != NULL ||
			    s->segs[s->cur].mem != NULL ? "writev" :
			    "sendfile", errno, strerror(errno));
			finish(s, false);
			return;
		}
		s->sent += (uint64_t)n;
		s->r->bytes_sent += (uint64_t)n;
	}
	finish(s, true);
}

static void
on_writable(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct sender		*s;

	if (c->io.fd < 0 || (size_t)c->io.fd >= nby_fd)
		return;
	s = by_fd[c->io.fd];
	if (s != NULL && hc != NULL && s->r == hc->req)
		pump(s);
}

/*
 * A small body is read now and written with the head in one go (one
 * writev, one TLS record): written apart, the body would wait behind
 * Nagle's algorithm for the client's delayed ACK of the head.
 */
static void
inline_small(struct sender *s)
{
	struct seg	*g;
	int64_t		 total = 0;
	size_t		 i, at;
	ssize_t		 n;

	for (i = 1; i < s->nsegs; i++)
		if (s->segs[i].mem == NULL)
			total += s->segs[i].len;
	if (total == 0 || total > READ_BUF ||
	    (s->rbuf = buf_get(READ_BUF)) == NULL)
		return;
	for (i = 1, at = 0; i < s->nsegs; i++) {
		g = &s->segs[i];
		if (g->mem != NULL)
			continue;
		do
			n = pread(s->fd, s->rbuf + at, (size_t)g->len, g->off);
		while (n == -1 && errno == EINTR);
		/* a short read: the sending path finds the truncation */
		if (n != g->len)
			return;
		at += (size_t)n;
	}
	for (i = 1, at = 0; i < s->nsegs; i++) {
		g = &s->segs[i];
		if (g->mem != NULL)
			continue;
		g->mem = s->rbuf + at;
		at += (size_t)g->len;
	}
	close(s->fd);
	s->fd = -1;
}

/* Builds the head and starts writing; the body pieces are in s->segs. */
static void
start_send(struct sender *s)
{
	struct request	*r = s->r;
	struct conn	*c = r->conn;
	size_t		 hlen;
	char		*head;

	if ((head = http_build_head(r, &hlen)) == NULL) {
		finish(s, false);
		return;
	}
	s->segs[0].mem = head;
	s->segs[0].len = (int64_t)hlen;
	s->head_len = hlen;
	s->chunk = r->loc->static_files.sendfile_max_chunk;
	if (r->coder != NULL && s->fd != -1 && (s->nsegs == 1 ||
	    (s->nsegs == 2 && s->segs[1].mem == NULL))) {
		/* coded on the fly (gzip): the file goes through the coder */
		int	fd = s->fd;

		s->fd = -1;
		encode_send_file(r, head, hlen, fd,
		    s->nsegs == 2 ? s->segs[1].off : 0,
		    s->nsegs == 2 ? s->segs[1].len : 0, s->path, s->chunk);
		return;
	}
	if (s->nsegs == 1 && s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd != -1 && static_limit_rate(r, false) == 0)
		inline_small(s);
	if (track(s, c->io.fd) == -1) {
		finish(s, false);
		return;
	}
	http_conn_set_writing(r);
	c->on_write = on_writable;
	pump(s);
}

/* The pieces of a multipart/byteranges body; -1 if out of memory. */
static int
multipart(struct request *r, struct sender *s, const struct array *ranges,
    const struct str *type, int64_t size)
{
	const struct byte_range	*br;
	char			 bnd[BOUNDARY_LEN + 1], *h, *ct;
	size_t			 i, hsize;
	int64_t			 total = 0;
	int			 n;

	n = snprintf(bnd, sizeof(bnd), "%0*llu", BOUNDARY_LEN,
	    (unsigned long long)++boundary_seq);
	if (n != BOUNDARY_LEN)
		return -1;
	s->nsegs = 2 * ranges->n + 2;
	if ((s->segs = pool_calloc(r->pool, s->nsegs * sizeof(*s->segs))) ==
	    NULL)
		return -1;
	hsize = 2 + 2 + BOUNDARY_LEN + 16 + type->len + 23 + 3 * 21 + 8;
	for (i = 0; i < ranges->n; i++) {
		br = ARRAY_AT(ranges, struct byte_range, i);
		if ((h = pool_alloc(r->pool, hsize)) == NULL)
			return -1;
		if (type->len > 0)
			n = snprintf(h, hsize, "\r\n--%s\r\nContent-Type: %.*s\r\n"
			    "Content-Range: bytes %lld-%lld/%lld\r\n\r\n", bnd,
			    (int)type->len, type->data, (long long)br->start,
			    (long long)br->end - 1, (long long)size);
		else
			n = snprintf(h, hsize, "\r\n--%s\r\nContent-Range: "
			    "bytes %lld-%lld/%lld\r\n\r\n", bnd,
			    (long long)br->start, (long long)br->end - 1,
			    (long long)size);
		if (n < 0 || (size_t)n >= hsize)
			return -1;
		s->segs[1 + 2 * i].mem = h;
		s->segs[1 + 2 * i].len = n;
		s->segs[2 + 2 * i].off = br->start;
		s->segs[2 + 2 * i].len = br->end - br->start;
		total += n + (br->end - br->start);
	}
	if ((h = pool_alloc(r->pool, BOUNDARY_LEN + 9)) == NULL ||
	    (ct = pool_alloc(r->pool, BOUNDARY_LEN + 32)) == NULL)
		return -1;
	n = snprintf(h, BOUNDARY_LEN + 9, "\r\n--%s--\r\n", bnd);
	s->segs[s->nsegs - 1].mem = h;
	s->segs[s->nsegs - 1].len = n;
	total += n;
	n = snprintf(ct, BOUNDARY_LEN + 32, "multipart/byteranges; boundary=%s",
	    bnd);
	r->content_type.data = ct;
	r->content_type.len = (size_t)n;
	r->out_length = total;
	return 0;
}

/*
 * Decides what of the file goes out: one range, several, or all of it
 * (s->segs), and the range header that goes last (cr: Content-Range,
 * else Accept-Ranges when *accept).  0; -1 after answering 416; -2 if
 * out of memory.
 */
static int
plan_body(struct request *r, struct sender *s, const struct str *etag,
    time_t mtime, char *cr, size_t crsize, bool *accept)
{
	const struct http1_header	*h = FIND_HEADER(r, "Range");
	const struct byte_range		*br;
	struct array			 ranges = { 0 };
	enum range_result		 rr = RANGE_NONE;
	int64_t				 size = r->out_length;
	int				 n;

	/* recoding through UTF-8 changes the size: the whole body, as nginx */
	*accept = !charset_header(r) && r->status == 200 &&
	    r->loc->static_files.max_ranges > 0;
	if (*accept && h != NULL && h->value_len >= 7 &&
	    strncasecmp(h->value, "bytes=", 6) == 0 &&
	    if_range_allows(r, mtime, etag)) {
		if (array_init(&ranges, r->pool, 4, sizeof(struct byte_range))
		    == -1)
			return -2;
		rr = parse_ranges(r, h->value, h->value_len, size, &ranges);
	}
	if (rr == RANGE_UNSATISFIABLE) {
		n = snprintf(cr, crsize, "bytes */%lld", (long long)size);
		r->out_length = -1;
		if (ADD_HEADER(r, "Content-Range", cr, (size_t)n) == -1)
			return -2;
		charset_forget(r);
		http_special(r, 416);
		return -1;
	}
	if (rr == RANGE_OK && ranges.n > 1 && r->coder != NULL)
		rr = RANGE_NONE;	/* the recoder takes one piece only */
	if (rr == RANGE_OK)
		r->status = 206;
	if (rr == RANGE_OK && ranges.n > 1)
		return multipart(r, s, &ranges, &r->content_type, size) == -1 ?
		    -2 : 0;
	s->nsegs = 2;
	if ((s->segs = pool_calloc(r->pool, 2 * sizeof(*s->segs))) == NULL)
		return -2;
	s->segs[1].len = size;
	if (rr == RANGE_OK) {
		br = ARRAY_AT(&ranges, struct byte_range, 0);
		n = snprintf(cr, crsize, "bytes %lld-%lld/%lld",
		    (long long)br->start, (long long)br->end - 1,
		    (long long)size);
		if (n < 0 || (size_t)n >= crsize)
			return -2;
		s->segs[1].off = br->start;
		s->segs[1].len = br->end - br->start;
		r->out_length = br->end - br->start;
	}
	if (s->segs[1].len == 0)
		s->nsegs = 1;
	return 0;
}

/* Last-Modified, ETag, expires and the range header, in nginx's order. */
static int
add_headers(struct request *r, time_t mtime, const struct str *etag,
    const char *cr, bool accept)
{
	char	date[64];

	if (r->status == 200 || r->status == 206 || r->status == 304) {
		clock_http_date(date, sizeof(date), mtime);
		if (ADD_HEADER(r, "Last-Modified", date, strlen(date)) == -1)
			return -1;
	}
	if (etag->len > 0 && ADD_HEADER(r, "ETag", etag->data, etag->len) ==
	    -1)
		return -1;
	if (add_expires(r, mtime) == -1)
		return -1;
	if (cr[0] != '\0')
		return ADD_HEADER(r, "Content-Range", cr, strlen(cr));
	if (accept && r->status == 200)
		return ADD_HEADER(r, "Accept-Ranges", "bytes", 5);
	return 0;
}

/* v in lowercase hex without leading zeros; returns the length (<= 16). */
static size_t
hex(char *buf, uint64_t v)
{
	char	tmp[16];
	size_t	n = 0, i;

	do {
		tmp[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/*
 * The file is open: preconditions, ranges, headers, then the send.  The
 * status is 200, or the one an error_page asked for (then without
 * conditionals or ranges, as nginx).
 */
static void
respond_file(struct request *r, struct sender *s, const struct stat *st)
{
	struct str	etag = STR_NULL;
	char		tag[48], cr[80] = "";
	time_t		mtime = st->st_mtime;
	bool		accept = false;
	int		n, rc;

	r->status = r->err_status > 0 ? r->err_status : 200;
	r->content_type = content_type(r);
	r->out_length = (int64_t)st->st_size;
	if (r->loc->static_files.etag) {
		/* "mtime-size" in hex, as nginx; by hand, it is on every hit */
		n = 0;
		tag[n++] = '"';
		n += (int)hex(tag + n, (uint64_t)mtime);
		tag[n++] = '-';
		n += (int)hex(tag + n, (uint64_t)st->st_size);
		tag[n++] = '"';
		etag.data = tag;
		etag.len = (size_t)n;
	}
	if (r->status == 200 && (rc = preconditions(r, mtime, &etag)) != 200) {
		if (rc == 412) {
			http_special(r, 412);
			return;
		}
		r->status = 304;
		r->out_length = -1;
		s->nsegs = 1;
		if ((s->segs = pool_calloc(r->pool, sizeof(*s->segs))) == NULL)
			goto fail;
	} else if ((rc = plan_body(r, s, &etag, mtime, cr, sizeof(cr),
	    &accept)) == -1)
		return;
	else if (rc < 0)
		goto fail;
	if (add_headers(r, mtime, &etag, cr, accept) == -1)
		goto fail;
	if (r->head)
		s->nsegs = 1;
	start_send(s);
	return;
fail:
	http_special(r, 500);
}

/* Serving ------------------------------------------------------------------ */

static void
open_failed(struct request *r, const struct fspath *fp, const struct fsinfo *fi)
{
	int	level = LOG_ERR, status;

	switch (fi->err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		status = 404;
		break;
	case EACCES:
	case ELOOP:
	case EMLINK:
		status = 403;
		break;
	default:
		level = LOG_CRIT;
		status = 500;
		break;
	}
	if (status != 404 || r->loc->log_not_found)
		log_conn(level, r->conn->number, "%s \"%s\" failed (%d: %s)",
		    fi->failed, fp->data, fi->err, strerror(fi->err));
	http_special(r, status);
}

/*
 * gzip_static and its kin: a precompressed sibling (name.br, name.zst,
 * name.gz) the client takes, or that "always" serves.  Opens it into fi
 * and returns the coding's name, or NULL (fp unchanged).  fp has room
 * for the suffix.
 */
static const char *
open_precompressed(struct request *r, struct fspath *fp, struct fsinfo *fi)
{
	static const struct {
		enum coding	 coding;
		const char	*suffix;
		const char	*name;
	} v[] = {
		{ CODING_BR, ".br", "br" },
		{ CODING_ZSTD, ".zst", "zstd" },
		{ CODING_GZIP, ".gz", "gzip" },
	};
	const struct encode_loc	*e = &r->loc->encode;
	const struct enc_coding	*c;
	struct fsinfo		 t;
	size_t			 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		c = v[i].coding == CODING_BR ? &e->brotli :
		    v[i].coding == CODING_ZSTD ? &e->zstd : &e->gzip;
		if (c->statik == ENC_STATIC_OFF || (c->statik == ENC_STATIC_ON &&
		    !encode_client_accepts(r, v[i].coding)))
			continue;
		n = strlen(v[i].suffix);
		memcpy(fp->data + fp->len, v[i].suffix, n + 1);
		fp->len += n;
		if (fs_open(r, fp, false, &t) == 0 && t.fd != -1 &&
		    S_ISREG(t.st.st_mode)) {
			*fi = t;
			return v[i].name;
		}
		if (t.fd != -1)
			close(t.fd);
		fp->len -= n;
		fp->data[fp->len] = '\0';
	}
	return NULL;
}

static void
serve(struct request *r, bool add_uri)
{
	struct sender	*s;
	struct fspath	 fp;
	struct fsinfo	 fi;
	const char	*coding = NULL;
	int		 m = r->method_id;

	if (m != HTTP1_M_GET && m != HTTP1_M_HEAD && m != HTTP1_M_POST) {
		http_special(r, 405);
		return;
	}
	if (r->uri.len > 0 && r->uri.data[r->uri.len - 1] == '/') {
		serve_index(r, add_uri);
		return;
	}
	if (map_uri(r, &fp, 4, add_uri) == -1) {
		http_special(r, 500);
		return;
	}
	if (path_escapes(&fp)) {
		log_conn(LOG_ERR, r->conn->number, "\"%s\" is outside of the "
		    "root", fp.data);
		http_special(r, 404);
		return;
	}
	if ((m == HTTP1_M_GET || m == HTTP1_M_HEAD) &&
	    (coding = open_precompressed(r, &fp, &fi)) != NULL) {
		if (http_add_header(r, "Content-Encoding", 16, coding,
		    strlen(coding)) == -1 || (r->loc->encode.vary &&
		    http_add_header(r, "Vary", 4, "Accept-Encoding", 15) == -1)) {
			close(fi.fd);
			http_special(r, 500);
			return;
		}
	} else if (fs_open(r, &fp, false, &fi) == -1) {
		open_failed(r, &fp, &fi);
		return;
	}
	if (S_ISDIR(fi.st.st_mode)) {
		redirect_dir(r);
		return;
	}
	if ((s = pool_calloc(r->pool, sizeof(*s))) == NULL ||
	    pool_cleanup_add(r->pool, sender_cleanup, s) == -1) {
		close(fi.fd);
		http_special(r, 500);
		return;
	}
	s->r = r;
	s->fd = fi.fd;
	s->cfd = -1;
	s->path = fp.data;
	if (!S_ISREG(fi.st.st_mode)) {
		log_conn(LOG_CRIT, r->conn->number, "\"%s\" is not a regular "
		    "file", fp.data);
		http_special(r, 404);
		return;
	}
	if (m == HTTP1_M_POST) {
		http_special(r, 405);
		return;
	}
	respond_file(r, s, &fi.st);
}

void
static_handler(struct request *r)
{
	bool	add_uri = false;

	if (r->loc->static_files.tries != NULL &&
	    static_try_files(r, &add_uri))
		return;
	serve(r, add_uri);
}
