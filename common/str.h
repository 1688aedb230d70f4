/*
 * Length-counted strings ("slices") and the small string helpers that the
 * configuration and HTTP code share.
 */
#ifndef USHER_COMMON_STR_H
#define USHER_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct str {
	char	*data;
	size_t	 len;
};

#define STR(lit)	{ (char *)(lit), sizeof(lit) - 1 }
#define STR_NULL	{ NULL, 0 }

bool	 str_eq(const char *a, size_t alen, const char *b, size_t blen);
bool	 str_caseeq_n(const char *a, const char *b, size_t len);

/* Inline: header names are compared many times per request, and most
 * comparisons end at the length. */
static inline bool
str_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && str_caseeq_n(a, b, alen);
}
#define	 STR_CASEEQ_LIT(p, len, lit) \
	str_caseeq((p), (len), (lit), sizeof(lit) - 1)
#define	 STR_EQ_LIT(p, len, lit) \
	str_eq((p), (len), (lit), sizeof(lit) - 1)
/* ASCII lowercase of src into dst (len bytes). */
void	 str_lower(char *dst, const char *src, size_t len);
/* Finds needle in haystack, case-insensitively for ASCII; NULL if absent. */
const char *str_casefind(const char *h, size_t hlen, const char *n, size_t nlen);

/* Parses 1*DIGIT; -1 on anything else or overflow of INT64_MAX. */
int64_t	 str_atoi(const char *p, size_t len);
/* Parses hexadecimal; -1 on error. */
int64_t	 str_hextoi(const char *p, size_t len);

/* Size with k/m/g suffix (either case); -1 on error. */
int64_t	 str_parse_size(const char *p, size_t len);
/*
 * Time with units ms s m h d w M y, combinable ("1h 30m", "1m30s");
 * a bare number means `default_unit_ms` milliseconds each.  -1 on error.
 */
int64_t	 str_parse_msec(const char *p, size_t len, int64_t default_unit_ms);

/*
 * Percent-escapes a decoded path for a Location header as nginx does
 * (controls, space, non-ASCII and " # % < > ? \ ^ ` { | }) into dst, or
 * only counts when dst is NULL; returns the escaped length.
 */
size_t	 str_escape_uri(char *dst, const char *src, size_t len);
/* The same for an argument: also & + ; (nginx's NGX_ESCAPE_ARGS). */
size_t	 str_escape_args(char *dst, const char *src, size_t len);

/* Decimal formatting into buf (at least 21 bytes); returns the length. */
size_t	 str_utoa(char *buf, uint64_t v);

/* Hostname of this machine, computed once. */
const char *str_hostname(void);

#endif
