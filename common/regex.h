/*
 * PCRE2 regexes compiled once at configuration load (with JIT where the
 * system allows) and matched with per-process match data.
 */
#ifndef USHER_COMMON_REGEX_H
#define USHER_COMMON_REGEX_H

#include <stdbool.h>
#include <stddef.h>

struct pool;

#define REGEX_MAX_CAPTURES	10	/* $0..$9 */

struct regex {
	void		*code;		/* pcre2_code */
	int		 ncaptures;	/* numbered groups, without $0 */
	char		**names;	/* named groups, indexed by number */
	size_t		 nnames;
	const char	*pattern;
};

/*
 * Compiles pattern; on failure fills err (with the offset) and returns -1.
 * The code is freed when the pool is.
 */
int	regex_compile(struct regex *, struct pool *, const char *pattern,
	    bool caseless, char *err, size_t errlen);
/*
 * Matches s[0..len); caps gets 2 * (ncaptures + 1) offsets (-1 for groups
 * that did not take part).  Returns true on a match.
 */
bool	regex_match(const struct regex *, const char *s, size_t len,
	    int *caps, size_t ncaps);
/* The group number of a name, or -1. */
int	regex_named(const struct regex *, const char *name, size_t len);

#endif
