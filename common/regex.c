/* The PCRE2 wrapper. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "regex.h"
#include "str.h"

static pcre2_match_data	*match_data;

static void
code_free(void *code)
{
	pcre2_code_free(code);
}

int
regex_compile(struct regex *re, struct pool *p, const char *pattern,
    bool caseless, char *err, size_t errlen)
{
	pcre2_code	*code;
	int		 ec, n, namecount, entry;
	PCRE2_SIZE	 eo;
	PCRE2_SPTR	 table;
	uint32_t	 v;
	char		 msg[256];

	memset(re, 0, sizeof(*re));
	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    caseless ? PCRE2_CASELESS : 0, &ec, &eo, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
		snprintf(err, errlen, "pcre2_compile() failed: %s in \"%s\" "
		    "at \"%s\"", msg, pattern, pattern + eo);
		return -1;
	}
	/* JIT is an optimisation: a system that forbids it still works */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	if (pool_cleanup_add(p, code_free, code) == -1) {
		pcre2_code_free(code);
		return -1;
	}
	re->code = code;
	re->pattern = pattern;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &v);
	re->ncaptures = (int)v;
	pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &v);
	namecount = (int)v;
	if (namecount > 0) {
		pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &v);
		entry = (int)v;
		pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
		re->nnames = (size_t)re->ncaptures + 1;
		re->names = pool_calloc(p, re->nnames * sizeof(char *));
		if (re->names == NULL)
			return -1;
		for (n = 0; n < namecount; n++) {
			PCRE2_SPTR	e = table + n * entry;
			int		 num = (e[0] << 8) | e[1];

			re->names[num] = pool_strdup(p, (const char *)e + 2);
		}
	}
	if (match_data == NULL)
		match_data = pcre2_match_data_create(REGEX_MAX_CAPTURES * 3,
		    NULL);
	return match_data == NULL ? -1 : 0;
}

bool
regex_match(const struct regex *re, const char *s, size_t len, int *caps,
    size_t ncaps)
{
	PCRE2_SIZE	*ov;
	int		 rc, i;

	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, match_data,
	    NULL);
	if (rc < 0)
		return false;
	if (caps == NULL)
		return true;
	ov = pcre2_get_ovector_pointer(match_data);
	for (i = 0; (size_t)i < ncaps / 2; i++) {
		if (i < rc && ov[2 * i] != PCRE2_UNSET) {
			caps[2 * i] = (int)ov[2 * i];
			caps[2 * i + 1] = (int)ov[2 * i + 1];
		} else {
			caps[2 * i] = -1;
			caps[2 * i + 1] = -1;
		}
	}
	return true;
}

int
regex_named(const struct regex *re, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < re->nnames; i++)
		if (re->names[i] != NULL &&
		    str_eq(re->names[i], strlen(re->names[i]), name, len))
			return (int)i;
	return -1;
}
