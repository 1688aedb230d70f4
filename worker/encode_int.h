/*
 * What the encode module's files share: the codec constructors
 * (encode_codecs.c), for encode.c's header filter and senders.
 */
#ifndef USHER_WORKER_ENCODE_INT_H
#define USHER_WORKER_ENCODE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "encode.h"

struct pool;

/* A coder ready for a new stream, or NULL (out of memory, not built). */
struct coder	*coder_gzip(int level, int wbits, int memlevel);
struct coder	*coder_gunzip(void);
struct coder	*coder_brotli(int level, int lgwin, int64_t size_hint);
struct coder	*coder_zstd(int level, int64_t size_hint);
/* A coder running first's output through second (first is the
 * charset recoder); in pool, releasing both. */
struct coder	*coder_chain(struct pool *, struct coder *first,
		    struct coder *second);
/* Whether this build has the coding's library. */
bool		 coder_available(enum coding);

#endif
