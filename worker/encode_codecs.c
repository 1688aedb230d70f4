/*
 * The codecs behind struct coder: zlib's deflate (gzip) and inflate
 * (gunzip), and Brotli and zstd when configure found them.  A deflate
 * state costs a few hundred kilobytes to set up, so idle ones are kept
 * per worker, by their parameters, and reset for the next response.
 * A gzip body handed over whole (a file, a body in memory, a small
 * proxied one that arrived at once) is coded in one call with
 * libdeflate when configure found it: two to three times faster than
 * zlib's streaming deflate at the same level.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_BROTLI
#include <brotli/encode.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "../common/pool.h"
#include "encode.h"
#include "encode_int.h"

#define IDLE_MAX	8	/* idle coders kept per worker */

struct idle {
	struct coder	*c;
	int		 key;
};

static struct idle	idle[IDLE_MAX];
static int		nidle;

/* An idle coder made with the same key, or NULL. */
static struct coder *
idle_take(int key)
{
	struct coder	*c;
	int		 i;

	for (i = nidle - 1; i >= 0; i--) {
		if (idle[i].key != key)
			continue;
		c = idle[i].c;
		idle[i] = idle[--nidle];
		return c;
	}
	return NULL;
}

/* Keeps c for reuse; false when the cache is full (the caller frees). */
static bool
idle_keep(struct coder *c)
{
	if (nidle == IDLE_MAX)
		return false;
	idle[nidle].c = c;
	idle[nidle++].key = c->key;
	return true;
}

static int
zflush(int mode)
{
	return mode == CODER_FINISH ? Z_FINISH : mode == CODER_FLUSH ?
	    Z_SYNC_FLUSH : Z_NO_FLUSH;
}

/* gzip --------------------------------------------------------------------- */

/* What a gzip coder keeps besides zlib's state. */
struct gzip_state {
	z_stream	 z;
	bool		 used;		/* z needs a reset before reuse */
	int		 level;
	char		*pend;		/* one-shot output not yet handed out */
	size_t		 pend_size, pend_pos, pend_len;
	bool		 whole;		/* coded in one shot: END once drained */
};

#ifdef HAVE_LIBDEFLATE
/* One compressor per level, per worker: they are costly to set up. */
static struct libdeflate_compressor	*compressors[10];

/* Codes all of in at once into g->pend; false to fall back to zlib. */
static bool
gzip_whole(struct gzip_state *g, const char *in, size_t len)
{
	struct libdeflate_compressor	*lc;
	size_t				 bound, n;
	char				*p;

	if (g->level < 1 || g->level > 9)
		return false;
	if ((lc = compressors[g->level]) == NULL &&
	    (lc = compressors[g->level] = libdeflate_alloc_compressor(
	    g->level)) == NULL)
		return false;
	bound = libdeflate_gzip_compress_bound(lc, len);
	if (bound > g->pend_size) {
		if ((p = realloc(g->pend, bound)) == NULL)
			return false;
		g->pend = p;
		g->pend_size = bound;
	}
	if ((n = libdeflate_gzip_compress(lc, in, len, g->pend, bound)) == 0)
		return false;
	g->pend_pos = 0;
	g->pend_len = n;
	g->whole = true;
	return true;
}
#endif

static int
deflate_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	struct gzip_state	*g = c->state;
	z_stream		*z = &g->z;
	size_t			 ai = *inlen, ao = *outlen;
	int			 rc;

#ifdef HAVE_LIBDEFLATE
	if (!g->used && !g->whole && mode == CODER_FINISH &&
	    c->in_total == 0 && gzip_whole(g, *in, *inlen)) {
		c->in_total = *inlen;
		*in += *inlen;
		*inlen = 0;
	}
#endif
	if (g->whole) {
		size_t	k = g->pend_len - g->pend_pos;

		if (k > *outlen)
			k = *outlen;
		memcpy(*out, g->pend + g->pend_pos, k);
		g->pend_pos += k;
		*out += k;
		*outlen -= k;
		c->out_total += k;
		return g->pend_pos == g->pend_len ? CODER_END : CODER_OK;
	}
	g->used = true;

	z->next_in = (Bytef *)*in;
	z->avail_in = (uInt)(ai > 0x40000000 ? 0x40000000 : ai);
	z->next_out = (Bytef *)*out;
	z->avail_out = (uInt)(ao > 0x40000000 ? 0x40000000 : ao);
	rc = deflate(z, zflush(mode));
	ai = (size_t)((const char *)z->next_in - *in);
	ao = (size_t)((char *)z->next_out - *out);
	*in += ai;
	*inlen -= ai;
	*out += ao;
	*outlen -= ao;
	c->in_total += ai;
	c->out_total += ao;
	if (rc == Z_STREAM_END)
		return CODER_END;
	if (rc == Z_OK || rc == Z_BUF_ERROR)
		return CODER_OK;
	return CODER_ERROR;
}

static void
deflate_release(struct coder *c)
{
	struct gzip_state	*g = c->state;
	bool			 clean = !g->used || deflateReset(&g->z) == Z_OK;

	g->used = g->whole = false;
	g->pend_pos = g->pend_len = 0;
	if (clean && idle_keep(c))
		return;
	deflateEnd(&g->z);
	free(g->pend);
	free(g);
	free(c);
}

struct coder *
coder_gzip(int level, int wbits, int memlevel)
{
	struct coder		*c;
	struct gzip_state	*g;
	int			 key = CODING_GZIP << 16 | level << 8 |
				    wbits << 4 | memlevel;

	if ((c = idle_take(key)) != NULL) {
		c->in_total = c->out_total = 0;
		return c;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		free(c);
		return NULL;
	}
	/* windowBits + 16: zlib writes the gzip header and trailer */
	if (deflateInit2(&g->z, level, Z_DEFLATED, wbits + 16, memlevel,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		free(c);
		return NULL;
	}
	g->level = level;
	c->coding = CODING_GZIP;
	c->run = deflate_run;
	c->release = deflate_release;
	c->state = g;
	c->key = key;
	return c;
}

/* gunzip ------------------------------------------------------------------- */

static int
inflate_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	z_stream	*z = c->state;
	size_t		 ai, ao;
	int		 rc;

	for (;;) {
		z->next_in = (Bytef *)*in;
		z->avail_in = (uInt)(*inlen > 0x40000000 ? 0x40000000 :
		    *inlen);
		z->next_out = (Bytef *)*out;
		z->avail_out = (uInt)(*outlen > 0x40000000 ? 0x40000000 :
		    *outlen);
		rc = inflate(z, Z_NO_FLUSH);
		ai = (size_t)((const char *)z->next_in - *in);
		ao = (size_t)((char *)z->next_out - *out);
		*in += ai;
		*inlen -= ai;
		*out += ao;
		*outlen -= ao;
		c->in_total += ai;
		c->out_total += ao;
		if (rc == Z_STREAM_END) {
			/* gzip allows members one after another */
			if (*inlen > 0 && inflateReset(z) == Z_OK)
				continue;
			return mode == CODER_FINISH && *inlen == 0 ?
			    CODER_END : CODER_OK;
		}
		if (rc == Z_OK)
			return CODER_OK;
		if (rc == Z_BUF_ERROR) {
			/* no progress: all input taken, or no room */
			if (mode == CODER_FINISH && *inlen == 0 &&
			    *outlen > 0 && z->avail_out > 0)
				return CODER_ERROR;	/* truncated */
			return CODER_OK;
		}
		return CODER_ERROR;
	}
}

static void
inflate_release(struct coder *c)
{
	if (inflateReset(c->state) == Z_OK && idle_keep(c))
		return;
	inflateEnd(c->state);
	free(c->state);
	free(c);
}

struct coder *
coder_gunzip(void)
{
	struct coder	*c;
	z_stream	*z;
	int		 key = CODING_GUNZIP << 16;

	if ((c = idle_take(key)) != NULL) {
		c->in_total = c->out_total = 0;
		return c;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		free(c);
		return NULL;
	}
	if (inflateInit2(z, 15 + 16) != Z_OK) {
		free(z);
		free(c);
		return NULL;
	}
	c->coding = CODING_GUNZIP;
	c->run = inflate_run;
	c->release = inflate_release;
	c->state = z;
	c->key = key;
	return c;
}

/* Brotli ------------------------------------------------------------------- */

#ifdef HAVE_BROTLI
static int
brotli_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	BrotliEncoderState	*s = c->state;
	const uint8_t		*ni = (const uint8_t *)*in;
	uint8_t			*no = (uint8_t *)*out;
	size_t			 ai = *inlen, ao = *outlen;
	BrotliEncoderOperation	 op;

	op = mode == CODER_FINISH ? BROTLI_OPERATION_FINISH :
	    mode == CODER_FLUSH ? BROTLI_OPERATION_FLUSH :
	    BROTLI_OPERATION_PROCESS;
	/* a flush or finish completes only when all output fits */
	if (!BrotliEncoderCompressStream(s, op, &ai, &ni, &ao, &no, NULL))
		return CODER_ERROR;
	c->in_total += *inlen - ai;
	c->out_total += *outlen - ao;
	*in = (const char *)ni;
	*inlen = ai;
	*out = (char *)no;
	*outlen = ao;
	if (mode == CODER_FINISH && BrotliEncoderIsFinished(s))
		return CODER_END;
	return CODER_OK;
}

static void
brotli_release(struct coder *c)
{
	/* no reset in this libbrotli: a new state each time */
	BrotliEncoderDestroyInstance(c->state);
	free(c);
}

struct coder *
coder_brotli(int level, int lgwin, int64_t size_hint)
{
	struct coder		*c;
	BrotliEncoderState	*s;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((s = BrotliEncoderCreateInstance(NULL, NULL, NULL)) == NULL) {
		free(c);
		return NULL;
	}
	BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, (uint32_t)level);
	BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, (uint32_t)lgwin);
	if (size_hint > 0 && size_hint < (1 << 30))
		BrotliEncoderSetParameter(s, BROTLI_PARAM_SIZE_HINT,
		    (uint32_t)size_hint);
	c->coding = CODING_BR;
	c->run = brotli_run;
	c->release = brotli_release;
	c->state = s;
	return c;
}
#else
struct coder *
coder_brotli(int level, int lgwin, int64_t size_hint)
{
	return NULL;
}
#endif

/* zstd --------------------------------------------------------------------- */

#ifdef HAVE_ZSTD
static int
zstd_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	ZSTD_inBuffer	ib = { *in, *inlen, 0 };
	ZSTD_outBuffer	ob = { *out, *outlen, 0 };
	size_t		left;

	left = ZSTD_compressStream2(c->state, &ob, &ib,
	    mode == CODER_FINISH ? ZSTD_e_end : mode == CODER_FLUSH ?
	    ZSTD_e_flush : ZSTD_e_continue);
	if (ZSTD_isError(left))
		return CODER_ERROR;
	*in += ib.pos;
	*inlen -= ib.pos;
	*out += ob.pos;
	*outlen -= ob.pos;
	c->in_total += ib.pos;
	c->out_total += ob.pos;
	if (mode == CODER_FINISH && left == 0 && *inlen == 0)
		return CODER_END;
	return CODER_OK;
}

static void
zstd_release(struct coder *c)
{
	if (ZSTD_isError(ZSTD_CCtx_reset(c->state,
	    ZSTD_reset_session_only)) || !idle_keep(c)) {
		ZSTD_freeCCtx(c->state);
		free(c);
	}
}

struct coder *
coder_zstd(int level, int64_t size_hint)
{
	struct coder	*c;
	ZSTD_CCtx	*z;
	int		 key = CODING_ZSTD << 16 | (level & 0xff) << 8;

	if ((c = idle_take(key)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		if ((z = ZSTD_createCCtx()) == NULL) {
			free(c);
			return NULL;
		}
		c->coding = CODING_ZSTD;
		c->run = zstd_run;
		c->release = zstd_release;
		c->state = z;
		c->key = key;
	}
	c->in_total = c->out_total = 0;
	z = c->state;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel,
	    level)) || ZSTD_isError(ZSTD_CCtx_setParameter(z,
	    ZSTD_c_checksumFlag, 1))) {
		zstd_release(c);
		return NULL;
	}
	if (size_hint >= 0)
		ZSTD_CCtx_setPledgedSrcSize(z, (unsigned long long)size_hint);
	return c;
}
#else
struct coder *
coder_zstd(int level, int64_t size_hint)
{
	return NULL;
}
#endif

/* Chains ------------------------------------------------------------------- */

#define CHAIN_BUF	8192

struct chain {
	struct coder	 c;
	struct coder	*first, *second;
	char		 buf[CHAIN_BUF];	/* first -> buf -> second */
	size_t		 pos, len;
	bool		 first_done;
};

/*
 * Runs the first coder into buf and the second from buf.  A FLUSH reaches
 * the second once the first has taken all the input (the recoder, the
 * only first coder, holds back at most a split character).
 */
static int
chain_run(struct coder *c, const char **in, size_t *inlen, char **out,
    size_t *outlen, int mode)
{
	struct chain	*s = (struct chain *)c;
	const char	*ip;
	char		*o;
	size_t		 il, room, before_in, before_out, made = 0;
	int		 rc, mode2;

	for (;;) {
		before_in = *inlen;
		before_out = *outlen;
		if (s->pos > 0) {
			memmove(s->buf, s->buf + s->pos, s->len - s->pos);
			s->len -= s->pos;
			s->pos = 0;
		}
		if (!s->first_done && s->len < CHAIN_BUF) {
			o = s->buf + s->len;
			room = CHAIN_BUF - s->len;
			rc = s->first->run(s->first, in, inlen, &o, &room,
			    mode == CODER_FLUSH ? CODER_RUN : mode);
			if (rc == CODER_ERROR)
				return CODER_ERROR;
			made = CHAIN_BUF - room - s->len;
			s->len = CHAIN_BUF - room;
			s->first_done = rc == CODER_END;
		}
		mode2 = s->first_done ? CODER_FINISH : mode == CODER_FLUSH &&
		    *inlen == 0 ? CODER_FLUSH : CODER_RUN;
		ip = s->buf + s->pos;
		il = s->len - s->pos;
		rc = s->second->run(s->second, &ip, &il, out, outlen, mode2);
		made += s->len - s->pos - il;
		s->pos = s->len - il;
		c->in_total = s->second->in_total;
		c->out_total = s->second->out_total;
		if (rc != CODER_OK)
			return rc;
		if (*outlen == 0)
			return CODER_OK;
		/* room left: the second did what its mode asked */
		if (s->pos == s->len && *inlen == 0 && mode2 != CODER_FINISH)
			return CODER_OK;
		if (*inlen == before_in && *outlen == before_out && made == 0)
			return CODER_OK;	/* no progress */
		made = 0;
	}
}

static void
chain_release(struct coder *c)
{
	struct chain	*s = (struct chain *)c;

	s->first->release(s->first);
	s->second->release(s->second);
}

struct coder *
coder_chain(struct pool *pool, struct coder *first, struct coder *second)
{
	struct chain	*s;

	if ((s = pool_calloc(pool, sizeof(*s))) == NULL)
		return NULL;
	s->c.coding = second->coding;
	s->c.run = chain_run;
	s->c.release = chain_release;
	s->c.state = s;
	s->first = first;
	s->second = second;
	return &s->c;
}

bool
coder_available(enum coding coding)
{
	switch (coding) {
	case CODING_GZIP:
	case CODING_GUNZIP:
		return true;
#ifdef HAVE_BROTLI
	case CODING_BR:
		return true;
#endif
#ifdef HAVE_ZSTD
	case CODING_ZSTD:
		return true;
#endif
	default:
		return false;
	}
}
