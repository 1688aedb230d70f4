/*
 * On-the-fly content coding, the runtime: which coding a response gets
 * (nginx's gzip rules: status, type, length, Content-Encoding, the
 * client's Accept-Encoding, gzip_http_version, gzip_proxied,
 * gzip_disable), the headers that change with it, and sending a body
 * from memory or from a file through the coder.  Proxied bodies are
 * coded by proxy_stream.c as they arrive.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pool.h"
#include "../common/regex.h"
#include "buf.h"
#include "conn.h"
#include "encode.h"
#include "encode_int.h"
#include "http.h"
#include "http_conf.h"
#include "loop.h"

#define CS_IN		32768	/* file bytes per read */
#define CS_OUT		32768	/* coded bytes per write, framing included */
#define CS_HDR		16	/* room for a chunk's "%zx\r\n" */
#define CS_TAIL		7	/* "\r\n" and "0\r\n\r\n" */

static const struct str	html = STR("text/html");

/* Accept-Encoding ---------------------------------------------------------- */

/* q as thousandths; -1 when malformed (the coding then counts as absent). */
static int
parse_q(const char *p, size_t len)
{
	int	q, scale;
	size_t	i;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (len == 1)
		return q;
	if (p[1] != '.' || len > 5)
		return -1;
	for (i = 2, scale = 100; i < len; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

struct accept {
	int	gzip, br, zstd, star;	/* q in thousandths; -1: not named */
};

/*
 * Reads every "coding;q=x" of the header(s).  A coding named twice keeps
 * its last q, as most servers do; x-gzip is gzip.
 */
static void
parse_accept(const struct request *r, struct accept *a)
{
	const struct http1_req	*in = r->in;
	const char		*p, *end, *tok, *par;
	size_t			 i, tlen;
	int			 q, *slot;

	a->gzip = a->br = a->zstd = a->star = -1;
	for (i = 0; in != NULL && i < in->nheaders; i++) {
		if (!STR_CASEEQ_LIT(in->headers[i].name,
		    in->headers[i].name_len, "accept-encoding"))
			continue;
		p = in->headers[i].value;
		end = p + in->headers[i].value_len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' ||
			    *p == ','))
				p++;
			tok = p;
			while (p < end && *p != ',' && *p != ';' && *p != ' ' &&
			    *p != '\t')
				p++;
			tlen = (size_t)(p - tok);
			q = 1000;
			/* parameters up to the next comma */
			while (p < end && *p != ',') {
				if (*p != ';') {
					p++;
					continue;
				}
				p++;
				while (p < end && (*p == ' ' || *p == '\t'))
					p++;
				par = p;
				while (p < end && *p != ',' && *p != ';' &&
				    *p != ' ' && *p != '\t')
					p++;
				if (p - par >= 2 && (par[0] == 'q' ||
				    par[0] == 'Q') && par[1] == '=')
					q = parse_q(par + 2,
					    (size_t)(p - par - 2));
			}
			if (tlen == 0 || q < 0)
				continue;
			if (STR_CASEEQ_LIT(tok, tlen, "gzip") ||
			    STR_CASEEQ_LIT(tok, tlen, "x-gzip"))
				slot = &a->gzip;
			else if (STR_CASEEQ_LIT(tok, tlen, "br"))
				slot = &a->br;
			else if (STR_CASEEQ_LIT(tok, tlen, "zstd"))
				slot = &a->zstd;
			else if (tlen == 1 && tok[0] == '*')
				slot = &a->star;
			else
				continue;
			*slot = q;
		}
	}
}

/* The q the client gives a coding: named, else through "*", else 0. */
static int
accept_q(const struct accept *a, enum coding coding)
{
	int	q = coding == CODING_GZIP ? a->gzip : coding == CODING_BR ?
		    a->br : a->zstd;

	if (q >= 0)
		return q;
	return a->star > 0 ? a->star : 0;
}

/* Request-side rules ------------------------------------------------------- */

static struct header *
resp_header(struct request *r, const char *name, size_t len)
{
	struct header	*h;
	size_t		 i;

	for (i = 0; i < r->out_headers.n; i++) {
		h = ARRAY_AT(&r->out_headers, struct header, i);
		if (str_caseeq(h->name.data, h->name.len, name, len))
			return h;
	}
	return NULL;
}

static void
resp_header_del(struct request *r, const char *name, size_t len)
{
	struct header	*h = r->out_headers.elts;
	size_t		 i, j;

	for (i = j = 0; i < r->out_headers.n; i++)
		if (!str_caseeq(h[i].name.data, h[i].name.len, name, len))
			h[j++] = h[i];
	r->out_headers.n = j;
}

#define REQ_HEADER(r, lit)	http_req_header((r), (lit), sizeof(lit) - 1)
#define RESP_HEADER(r, lit)	resp_header((r), (lit), sizeof(lit) - 1)

/* gzip_disable msie6: MSIE 4 to 6, but not 6 with SV1 (XP SP2 fixed it). */
static bool
old_msie(const char *ua, size_t len)
{
	const char	*m = str_casefind(ua, len, "MSIE ", 5);
	size_t		 rest;

	if (m == NULL)
		return false;
	rest = len - (size_t)(m - ua) - 5;
	m += 5;
	if (rest < 2 || m[0] < '4' || m[0] > '6' || m[1] != '.')
		return false;
	return !(m[0] == '6' && str_casefind(ua, len, "SV1", 3) != NULL);
}

static bool
has_token(const struct header *h, const char *tok, size_t len)
{
	return h != NULL && str_casefind(h->value.data, h->value.len, tok,
	    len) != NULL;
}

/* gzip_proxied: whether a request that came through a proxy may get a
 * coded response. */
static bool
proxied_ok(struct request *r, int flags)
{
	struct header	*h;
	time_t		 t;

	if (flags & ENC_PROXIED_ANY)
		return true;
	if (flags & ENC_PROXIED_OFF)
		return false;
	if ((flags & ENC_PROXIED_AUTH) && REQ_HEADER(r, "Authorization"))
		return true;
	if ((flags & ENC_PROXIED_EXPIRED) &&
	    (h = RESP_HEADER(r, "Expires")) != NULL) {
		t = clock_parse_http_date(h->value.data, h->value.len);
		if (t == (time_t)-1 || t <= (time_t)(clock_now.real_ms / 1000))
			return true;
	}
	h = RESP_HEADER(r, "Cache-Control");
	if (((flags & ENC_PROXIED_NO_CACHE) && has_token(h, "no-cache", 8)) ||
	    ((flags & ENC_PROXIED_NO_STORE) && has_token(h, "no-store", 8)) ||
	    ((flags & ENC_PROXIED_PRIVATE) && has_token(h, "private", 7)))
		return true;
	if ((flags & ENC_PROXIED_NO_LM) && !RESP_HEADER(r, "Last-Modified"))
		return true;
	if ((flags & ENC_PROXIED_NO_ETAG) && !RESP_HEADER(r, "ETag"))
		return true;
	return false;
}

/* The rules nginx applies to the request before any coding (and before
 * gzip_static): version, proxies, disabled browsers. */
static bool
request_ok(struct request *r, const struct encode_loc *e)
{
	const struct http1_header	*ua;
	struct regex			**re;
	size_t				 i;

	if (r->version < e->http_version)
		return false;
	if (REQ_HEADER(r, "Via") != NULL && !proxied_ok(r, e->proxied))
		return false;
	if ((e->disable != NULL || e->disable_msie6) &&
	    (ua = REQ_HEADER(r, "User-Agent")) != NULL) {
		if (e->disable_msie6 && old_msie(ua->value, ua->value_len))
			return false;
		for (i = 0; e->disable != NULL && i < e->disable->n; i++) {
			re = ARRAY_AT(e->disable, struct regex *, i);
			if (regex_match(*re, ua->value, ua->value_len, NULL, 0))
				return false;
		}
	}
	return true;
}

static const struct encode_loc *
loc_conf(const struct request *r)
{
	return &(r->loc ? r->loc : r->srv->loc)->encode;
}

bool
encode_client_accepts(struct request *r, enum coding coding)
{
	struct accept	a;

	if (!request_ok(r, loc_conf(r)))
		return false;
	parse_accept(r, &a);
	return accept_q(&a, coding) > 0;
}

/* The header filter --------------------------------------------------------- */

static bool
type_listed(const struct enc_coding *c, const struct str *ct)
{
	const struct str	*t;
	const char		*semi;
	size_t			 i, len;

	if (ct->len == 0)
		return false;
	semi = memchr(ct->data, ';', ct->len);
	len = semi ? (size_t)(semi - ct->data) : ct->len;
	while (len > 0 && ct->data[len - 1] == ' ')
		len--;
	/* text/html is always in the list, as in nginx */
	if (str_caseeq(ct->data, len, html.data, html.len))
		return true;
	for (i = 0; c->types != NULL && i < c->types->n; i++) {
		t = ARRAY_AT(c->types, struct str, i);
		if ((t->len == 1 && t->data[0] == '*') ||
		    str_caseeq(t->data, t->len, ct->data, len))
			return true;
	}
	return false;
}

static bool
coding_fits(const struct enc_coding *c, const struct request *r)
{
	return c->on && (r->out_length < 0 || r->out_length >=
	    c->min_length) && type_listed(c, &r->content_type);
}

static void
add_vary(struct request *r)
{
	struct header	*h = RESP_HEADER(r, "Vary");

	if (h != NULL && (has_token(h, "accept-encoding", 15) ||
	    (h->value.len == 1 && h->value.data[0] == '*')))
		return;
	http_add_header(r, "Vary", 4, "Accept-Encoding", 15);
}

/* A coded body is another representation: strong validators no longer
 * hold.  A weak ETag stays, a strong one becomes weak, others go. */
static void
weaken_etag(struct request *r)
{
	struct header	*h = RESP_HEADER(r, "ETag");
	char		*v;

	if (h == NULL)
		return;
	if (h->value.len >= 2 && h->value.data[0] == 'W' &&
	    h->value.data[1] == '/')
		return;
	if (h->value.len > 0 && h->value.data[0] == '"' &&
	    (v = pool_alloc(r->pool, h->value.len + 2)) != NULL) {
		v[0] = 'W';
		v[1] = '/';
		memcpy(v + 2, h->value.data, h->value.len);
		h->value.data = v;
		h->value.len += 2;
		return;
	}
	resp_header_del(r, "ETag", 4);
}

static void
coder_cleanup(void *arg)
{
	struct request	*r = arg;

	if (r->coder != NULL)
		r->coder->release(r->coder);
	r->coder = NULL;
}

/* The response's framing changes: the length is no longer known. */
static int
start_coding(struct request *r, struct coder *c, const char *name,
    size_t nlen)
{
	struct coder	*chain;

	if (r->head) {
		/* the head GET would get, and no body to code */
		if (c != NULL)
			c->release(c);
		r->out_length = -1;
		resp_header_del(r, "Accept-Ranges", 13);
		weaken_etag(r);
		return 0;
	}
	if (c == NULL) {
		log_conn(LOG_ALERT, r->conn->number, "cannot start %.*s "
		    "coding (out of memory)", (int)nlen, name);
		return -1;
	}
	if (r->coder != NULL) {
		/* recoded first (charset), as nginx orders its filters */
		if ((chain = coder_chain(r->pool, r->coder, c)) == NULL) {
			c->release(c);
			return -1;
		}
		r->coder = chain;
		c = chain;
	} else if (pool_cleanup_add(r->pool, coder_cleanup, r) == -1) {
		c->release(c);
		return -1;
	}
	r->coder = c;
	r->out_length = -1;
	if (r->version >= 11)
		r->chunked_out = true;
	else
		r->close_after = true;
	resp_header_del(r, "Accept-Ranges", 13);
	weaken_etag(r);
	return 0;
}

/* gunzip: a gzipped response for a client that does not take gzip. */
static void
gunzip_header(struct request *r, const struct encode_loc *e)
{
	struct accept	a;

	if (e->vary)
		add_vary(r);
	parse_accept(r, &a);
	if (request_ok(r, e) && accept_q(&a, CODING_GZIP) > 0)
		return;
	if (start_coding(r, coder_gunzip(), "gunzip", 6) == 0)
		resp_header_del(r, "Content-Encoding", 16);
}

void
encode_header(struct request *r)
{
	const struct encode_loc	*e = loc_conf(r);
	static const enum coding order[] = { CODING_BR, CODING_ZSTD,
					    CODING_GZIP };
	const struct enc_coding	*c;
	struct header		*ce;
	struct accept		 a;
	struct coder		*coder;
	enum coding		 best = CODING_NONE;
	int64_t			 len = r->out_length;
	int			 q, best_q = 0, wbits, memlevel, s = r->status;
	size_t			 i;

	if ((r->coder != NULL && r->coder->coding != CODING_RECODE) ||
	    r->encode_tested || r->upgraded)
		return;
	r->encode_tested = true;
	if (!e->gzip.on && !e->brotli.on && !e->zstd.on && !e->gunzip)
		return;
	ce = RESP_HEADER(r, "Content-Encoding");
	if (ce != NULL && ce->value.len > 0) {
		/* gunzip decodes whatever the status (an error page too) */
		if (e->gunzip && s >= 200 && s != 204 && s != 304 &&
		    STR_CASEEQ_LIT(ce->value.data, ce->value.len, "gzip"))
			gunzip_header(r, e);
		return;
	}
	if (s != 200 && s != 403 && s != 404)
		return;
	if (!coding_fits(&e->gzip, r) && !coding_fits(&e->brotli, r) &&
	    !coding_fits(&e->zstd, r))
		return;
	/* the answer depends on Accept-Encoding from here on */
	if (e->vary)
		add_vary(r);
	if (!request_ok(r, e))
		return;
	parse_accept(r, &a);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		c = order[i] == CODING_GZIP ? &e->gzip : order[i] == CODING_BR ?
		    &e->brotli : &e->zstd;
		if (!coding_fits(c, r))
			continue;
		if ((q = accept_q(&a, order[i])) > best_q) {
			best_q = q;
			best = order[i];
		}
	}
	switch (best) {
	case CODING_GZIP:
		/* a window and hash no bigger than the body needs */
		wbits = e->wbits;
		memlevel = e->memlevel;
		if (len > 0) {
			while (wbits > 9 && len < (1 << (wbits - 1)) - 262) {
				wbits--;
				memlevel--;
			}
			if (memlevel < 1)
				memlevel = 1;
		}
		coder = coder_gzip(e->gzip.level, wbits, memlevel);
		if (start_coding(r, coder, "gzip", 4) == 0)
			http_add_header(r, "Content-Encoding", 16, "gzip", 4);
		break;
	case CODING_BR:
		coder = coder_brotli(e->brotli.level, e->brotli_lgwin, len);
		if (start_coding(r, coder, "br", 2) == 0)
			http_add_header(r, "Content-Encoding", 16, "br", 2);
		break;
	case CODING_ZSTD:
		coder = coder_zstd(e->zstd.level, len);
		if (start_coding(r, coder, "zstd", 4) == 0)
			http_add_header(r, "Content-Encoding", 16, "zstd", 4);
		break;
	default:
		break;
	}
}

/* Bodies in memory ---------------------------------------------------------- */

/* Frames n coded bytes at data (CS_HDR bytes of room before it) as one
 * chunk, with the last chunk after it when last; returns the start. */
static char *
frame_chunk(char *data, size_t *n, bool last)
{
	char	hdr[CS_HDR];
	size_t	len = *n;
	int	h = 0;

	if (len > 0) {
		h = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
		memcpy(data - h, hdr, (size_t)h);
		memcpy(data + len, "\r\n", 2);
		len += 2;
	}
	if (last) {
		memcpy(data + len, "0\r\n\r\n", 5);
		len += 5;
	}
	*n = len + (size_t)h;
	return data - h;
}

int
encode_memory(struct request *r, const char *body, size_t len,
    struct str *out)
{
	struct coder	*c = r->coder;
	char		*buf, *o, *nbuf;
	size_t		 size, room, used;
	int		 rc;

	/* deflate's worst case is a few bytes per 16 KB over the input */
	size = len + len / 8 + 128;
	if ((buf = pool_alloc(r->pool, size + CS_HDR + CS_TAIL)) == NULL)
		return -1;
	o = buf + CS_HDR;
	room = size;
	while ((rc = c->run(c, &body, &len, &o, &room, CODER_FINISH)) !=
	    CODER_END) {
		if (rc == CODER_ERROR || room > 0 || size > SIZE_MAX / 8) {
			log_conn(LOG_ALERT, r->conn->number, "coding a "
			    "response in memory failed");
			return -1;
		}
		/* recoding into UTF-8 or entities may grow the body */
		used = size;
		size = size * 4;
		if ((nbuf = pool_alloc(r->pool, size + CS_HDR + CS_TAIL)) ==
		    NULL)
			return -1;
		memcpy(nbuf + CS_HDR, buf + CS_HDR, used);
		buf = nbuf;
		o = buf + CS_HDR + used;
		room = size - used;
	}
	size -= room;
	if (r->chunked_out)
		out->data = frame_chunk(buf + CS_HDR, &size, true);
	else
		out->data = buf + CS_HDR;
	out->len = size;
	return 0;
}

/* Files --------------------------------------------------------------------- */

struct csend {
	struct request	*r;
	int		 fd;
	int64_t		 off, left;
	const char	*path;
	char		*head;
	size_t		 head_len, head_sent;
	char		*in;
	size_t		 in_pos, in_len;
	char		*out;
	char		*op;		/* framed bytes to write */
	size_t		 olen;
	bool		 finished;	/* the coder ended: all produced */
	size_t		 chunk;		/* bytes per turn; 0: no limit */
	uint64_t	 sent;
	struct timer	 repump;
};

static void
csend_release(void *arg)
{
	struct csend	*s = arg;

	timer_del(&s->repump);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	if (s->in != NULL)
		buf_put(s->in, CS_IN);
	if (s->out != NULL)
		buf_put(s->out, CS_OUT);
	s->in = s->out = NULL;
	if (s->r->coded_send == s)
		s->r->coded_send = NULL;
}

static void
csend_finish(struct csend *s, bool ok)
{
	struct request	*r = s->r;
	struct conn	*c = r->conn;

	csend_release(s);
	timer_del(&c->timer);
	c->on_write = NULL;
	r->body_bytes_sent = s->sent > s->head_len ? s->sent - s->head_len : 0;
	if (!ok) {
		r->close_after = true;
		r->lingering = false;
	}
	http_conn_request_done(r);
}

/* Codes the next piece of the file into s->out; -1 on a read or coding
 * error (logged). */
static int
produce(struct csend *s)
{
	struct coder	*c = s->r->coder;
	const char	*ip;
	char		*o = s->out + CS_HDR;
	size_t		 il, room = CS_OUT - CS_HDR - CS_TAIL, olen = room;
	ssize_t		 n;
	int		 rc;

	while (olen > 0 && !s->finished) {
		if (s->in_pos == s->in_len && s->left > 0) {
			do
				n = pread(s->fd, s->in, s->left < CS_IN ?
				    (size_t)s->left : CS_IN, s->off);
			while (n == -1 && errno == EINTR);
			if (n <= 0) {
				log_conn(LOG_ERR, s->r->conn->number, "\"%s\" "
				    "was truncated while sending response to "
				    "client", s->path);
				return -1;
			}
			s->in_pos = 0;
			s->in_len = (size_t)n;
			s->off += n;
			s->left -= n;
		}
		ip = s->in + s->in_pos;
		il = s->in_len - s->in_pos;
		rc = c->run(c, &ip, &il, &o, &olen, s->left == 0 ?
		    CODER_FINISH : CODER_RUN);
		s->in_pos = s->in_len - il;
		if (rc == CODER_ERROR) {
			log_conn(LOG_ERR, s->r->conn->number, "coding \"%s\" "
			    "failed", s->path);
			return -1;
		}
		if (rc == CODER_END)
			s->finished = true;
		else if (il > 0 && olen > 0 && s->left == 0 &&
		    c->coding == CODING_GUNZIP)
			return -1;	/* data after the end: corrupt */
	}
	s->olen = room - olen;
	if (s->r->chunked_out)
		s->op = frame_chunk(s->out + CS_HDR, &s->olen, s->finished);
	else
		s->op = s->out + CS_HDR;
	return 0;
}

static void	csend_pump(struct csend *);

static void
on_repump(struct timer *t)
{
	csend_pump((struct csend *)((char *)t - offsetof(struct csend,
	    repump)));
}

static void
csend_pump(struct csend *s)
{
	struct request	*r = s->r;
	struct conn	*c = r->conn;
	struct iovec	 iov[2];
	uint64_t	 start = s->sent;
	ssize_t		 w;
	int		 n;

	for (;;) {
		if (s->olen == 0 && s->head_sent == s->head_len) {
			if (s->finished) {
				csend_finish(s, true);
				return;
			}
			if (s->chunk > 0 && s->sent - start >= s->chunk) {
				/* fair to the other connections */
				s->repump.fn = on_repump;
				timer_set(&s->repump, 0);
				return;
			}
		}
		if (s->olen == 0 && !s->finished && produce(s) == -1) {
			csend_finish(s, false);
			return;
		}
		if (!c->writable) {
			timer_set(&c->timer, (uint64_t)r->loc->send_timeout);
			return;
		}
		n = 0;
		if (s->head_sent < s->head_len) {
			iov[n].iov_base = s->head + s->head_sent;
			iov[n++].iov_len = s->head_len - s->head_sent;
		}
		if (s->olen > 0) {
			iov[n].iov_base = s->op;
			iov[n++].iov_len = s->olen;
		}
		if (n == 0)
			continue;
		w = conn_writev(c, iov, n);
		if (w == IO_AGAIN) {
			timer_set(&c->timer, (uint64_t)r->loc->send_timeout);
			return;
		}
		if (w < 0) {
			log_conn(LOG_INFO, c->number, "writev() failed (%d: %s) "
			    "while sending response to client", errno,
			    strerror(errno));
			csend_finish(s, false);
			return;
		}
		s->sent += (uint64_t)w;
		r->bytes_sent += (uint64_t)w;
		if (s->head_sent < s->head_len) {
			size_t	k = s->head_len - s->head_sent;

			if ((size_t)w < k) {
				s->head_sent += (size_t)w;
				continue;
			}
			s->head_sent = s->head_len;
			w -= (ssize_t)k;
		}
		s->op += w;
		s->olen -= (size_t)w;
	}
}

static void
csend_on_write(struct conn *c)
{
	struct http_conn	*hc = c->data;
	struct request		*r = hc != NULL ? hc->req : NULL;

	if (r != NULL && r->coded_send != NULL)
		csend_pump(r->coded_send);
}

void
encode_send_file(struct request *r, char *head, size_t hlen, int fd,
    int64_t off, int64_t len, const char *path, size_t chunk)
{
	struct csend	*s;
	struct conn	*c = r->conn;

	if ((s = pool_calloc(r->pool, sizeof(*s))) == NULL ||
	    pool_cleanup_add(r->pool, csend_release, s) == -1) {
		close(fd);
		r->close_after = true;
		http_conn_request_done(r);
		return;
	}
	s->r = r;
	s->fd = fd;
	s->off = off;
	s->left = len;
	s->path = path;
	s->head = head;
	s->head_len = hlen;
	s->chunk = chunk;
	r->coded_send = s;
	if ((s->in = buf_get(CS_IN)) == NULL ||
	    (s->out = buf_get(CS_OUT)) == NULL) {
		csend_finish(s, false);
		return;
	}
	http_conn_set_writing(r);
	c->on_write = csend_on_write;
	csend_pump(s);
}

/* Variables ----------------------------------------------------------------- */

static int
var_ratio(struct request *r, struct str *out, uintptr_t coding)
{
	struct coder	*c = r->coder;
	uint64_t	 in, o, whole;
	char		*buf;
	int		 n;

	if (c == NULL || (uintptr_t)c->coding != coding || c->out_total == 0)
		return -1;
	in = c->in_total;
	o = c->out_total;
	if ((buf = pool_alloc(r->pool, 32)) == NULL)
		return -1;
	/* two decimals, rounded, as nginx prints it */
	whole = (in * 1000 / o + 5) / 10;
	n = snprintf(buf, 32, "%llu.%02llu", (unsigned long long)(whole / 100),
	    (unsigned long long)(whole % 100));
	out->data = buf;
	out->len = (size_t)n;
	return 0;
}

int
encode_vars_init(struct http_main *h)
{
	vars_define(&h->vars, "gzip_ratio", var_ratio, CODING_GZIP,
	    VAR_NOCACHE);
	vars_define(&h->vars, "brotli_ratio", var_ratio, CODING_BR,
	    VAR_NOCACHE);
	vars_define(&h->vars, "zstd_ratio", var_ratio, CODING_ZSTD,
	    VAR_NOCACHE);
	return 0;
}
