/*
 * The recoder: a struct coder that maps a body from one charset to
 * another through a charset_map, byte for byte between 8-bit charsets,
 * or between an 8-bit charset and UTF-8.  Deciding when to recode is
 * charset.c's; sending the coded body is the coder framework's.
 */
#include <stdio.h>
#include <string.h>

#include "../common/pool.h"
#include "charset.h"
#include "encode.h"
#include "http.h"

enum {
	RECODE_BYTE = 0,	/* 8-bit to 8-bit */
	RECODE_TO_UTF8,
	RECODE_FROM_UTF8
};

struct recoder {
	struct coder		 c;
	int			 kind;
	const unsigned char	*table;		/* 256, or 256 x 4 to UTF-8 */
	unsigned char *const	*pages;		/* FROM_UTF8 */
	char			 pend[12];	/* output that did not fit */
	size_t			 plen, ppos;
	unsigned char		 saved[4];	/* a split UTF-8 sequence */
	size_t			 slen;
};

/* Copies what fits of n bytes to the output, keeps the rest pending. */
static void
put(struct recoder *s, const char *b, size_t n, char **out, size_t *outlen)
{
	size_t	k = n < *outlen ? n : *outlen;

	memcpy(*out, b, k);
	*out += k;
	*outlen -= k;
	if (k < n) {
		memcpy(s->pend, b + k, n - k);
		s->plen = n - k;
		s->ppos = 0;
	}
}

/*
 * Decodes one UTF-8 sequence at p (n bytes there, n > 0, p[0] >= 0x80):
 * the bytes it takes, with *cp the code point or -1 when malformed (only
 * the bytes that belong to it are taken); 0 when more bytes are needed.
 */
static size_t
utf8_next(const unsigned char *p, size_t n, long *cp)
{
	size_t	need, i;
	long	v, min;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, v = p[0] & 0x1f, min = 0x80;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, v = p[0] & 0x0f, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, v = p[0] & 0x07, min = 0x10000;
	else {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < need; i++) {
		if (i == n)
			return 0;
		if ((p[i] & 0xc0) != 0x80) {
			*cp = -1;
			return i;
		}
		v = v << 6 | (p[i] & 0x3f);
	}
	*cp = v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ?
	    -1 : v;
	return need;
}

/* A character to the 8-bit charset: its byte, or "&#N;" as nginx does
 * for one the map lacks; '?' for malformed input. */
static void
from_utf8_char(struct recoder *s, long cp, char **out, size_t *outlen)
{
	char		 ent[12];
	unsigned char	 b = 0;
	int		 n;

	if (cp < 0) {
		put(s, "?", 1, out, outlen);
		return;
	}
	if (cp < 0x10000 && s->pages[cp >> 8] != NULL)
		b = s->pages[cp >> 8][cp & 0xff];
	if (b != 0) {
		put(s, (const char *)&b, 1, out, outlen);
		return;
	}
	n = snprintf(ent, sizeof(ent), "&#%ld;", cp);
	put(s, ent, (size_t)n, out, outlen);
}

static void
run_from_utf8(struct recoder *s, const unsigned char **ip, size_t *il,
    char **out, size_t *outlen, bool last)
{
	const unsigned char	*p = *ip, *end = p + *il;
	size_t			 k, take;
	long			 cp;

	/* a sequence split by the previous input first */
	while (s->slen > 0 && *outlen > 0 && s->plen == 0) {
		take = (size_t)(end - p) < 4 - s->slen ? (size_t)(end - p) :
		    4 - s->slen;
		memcpy(s->saved + s->slen, p, take);
		k = utf8_next(s->saved, s->slen + take, &cp);
		if (k == 0) {
			if (!last) {
				s->slen += take;
				p += take;
				break;
			}
			k = s->slen + take;
			cp = -1;
		}
		/* k counts saved bytes and then new ones */
		p += k > s->slen ? k - s->slen : 0;
		if (k < s->slen) {
			memmove(s->saved, s->saved + k, s->slen - k);
			s->slen -= k;
		} else
			s->slen = 0;
		from_utf8_char(s, cp, out, outlen);
	}
	while (p < end && *outlen > 0 && s->plen == 0 && s->slen == 0) {
		if (*p < 0x80) {
			*(*out)++ = (char)*p++;
			(*outlen)--;
			continue;
		}
		if ((k = utf8_next(p, (size_t)(end - p), &cp)) == 0) {
			if (!last) {
				s->slen = (size_t)(end - p);
				memcpy(s->saved, p, s->slen);
				p = end;
				break;
			}
			k = (size_t)(end - p);
			cp = -1;
		}
		p += k;
		from_utf8_char(s, cp, out, outlen);
	}
	*il -= (size_t)(p - *ip);
	*ip = p;
}

static int
recode_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	struct recoder		*s = (struct recoder *)c;
	const unsigned char	*p = (const unsigned char *)*in, *e;
	char			*o = *out;
	size_t			 n, i, room = *outlen, il = *inlen;
	bool			 last = mode == CODER_FINISH;

	/* what did not fit last time goes first */
	if (s->plen > 0) {
		n = s->plen - s->ppos < room ? s->plen - s->ppos : room;
		memcpy(o, s->pend + s->ppos, n);
		o += n;
		room -= n;
		s->ppos += n;
		if (s->ppos == s->plen)
			s->plen = s->ppos = 0;
	}
	switch (s->kind) {
	case RECODE_BYTE:
		n = il < room ? il : room;
		for (i = 0; i < n; i++)
			o[i] = (char)s->table[p[i]];
		o += n;
		room -= n;
		p += n;
		il -= n;
		break;
	case RECODE_TO_UTF8:
		while (il > 0 && room > 0 && s->plen == 0) {
			e = s->table + 4 * *p++;
			il--;
			put(s, (const char *)e + 1, e[0], &o, &room);
		}
		break;
	default:
		run_from_utf8(s, &p, &il, &o, &room, last);
		break;
	}
	c->in_total += *inlen - il;
	c->out_total += *outlen - room;
	*in = (const char *)p;
	*inlen = il;
	*out = o;
	*outlen = room;
	if (last && il == 0 && s->plen == 0 && s->slen == 0)
		return CODER_END;
	return CODER_OK;
}

static void
recode_release(struct coder *c)
{
	(void)c;	/* request memory */
}

struct coder *
charset_recoder(struct request *r, const struct charset_map *m, bool reverse)
{
	struct recoder	*s;

	if ((s = pool_calloc(r->pool, sizeof(*s))) == NULL)
		return NULL;
	s->c.coding = CODING_RECODE;
	s->c.run = recode_run;
	s->c.release = recode_release;
	s->c.state = s;
	if (!m->utf8) {
		s->kind = RECODE_BYTE;
		s->table = reverse ? m->rev : m->fwd;
	} else if (!reverse) {
		s->kind = RECODE_TO_UTF8;
		s->table = m->fwd;
	} else {
		s->kind = RECODE_FROM_UTF8;
		s->pages = m->pages;
	}
	return &s->c;
}
