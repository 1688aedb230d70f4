/* Slice comparison, number and unit parsing. */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "str.h"

bool
str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* ASCII lowercase by table: two loads a byte, no branches */
static const unsigned char	lower_tab[256] = {
#define R(i)	(unsigned char)((i) >= 'A' && (i) <= 'Z' ? (i) | 0x20 : (i))
#define R4(i)	R(i), R(i + 1), R(i + 2), R(i + 3)
#define R16(i)	R4(i), R4(i + 4), R4(i + 8), R4(i + 12)
#define R64(i)	R16(i), R16(i + 16), R16(i + 32), R16(i + 48)
	R64(0), R64(64), R64(128), R64(192)
#undef R64
#undef R16
#undef R4
#undef R
};

bool
str_caseeq_n(const char *a, const char *b, size_t len)
{
	const unsigned char	*x = (const unsigned char *)a;
	const unsigned char	*y = (const unsigned char *)b;
	size_t			 i;

	for (i = 0; i < len; i++)
		if (lower_tab[x[i]] != lower_tab[y[i]])
			return false;
	return true;
}

void
str_lower(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		dst[i] = (char)lower((unsigned char)src[i]);
}

const char *
str_casefind(const char *h, size_t hlen, const char *n, size_t nlen)
{
	size_t	i;

	if (nlen == 0)
		return h;
	for (i = 0; i + nlen <= hlen; i++)
		if (str_caseeq(h + i, nlen, n, nlen))
			return h + i;
	return NULL;
}

int64_t
str_atoi(const char *p, size_t len)
{
	int64_t	v = 0;
	size_t	i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (INT64_MAX - (p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int64_t
str_hextoi(const char *p, size_t len)
{
	int64_t	v = 0;
	size_t	i;
	int	d;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = lower((unsigned char)p[i]);

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		if (v > (INT64_MAX - d) / 16)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

int64_t
str_parse_size(const char *p, size_t len)
{
	int64_t	v, scale = 1;

	if (len == 0)
		return -1;
	switch (p[len - 1]) {
	case 'k': case 'K': scale = 1024; len--; break;
	case 'm': case 'M': scale = 1024 * 1024; len--; break;
	case 'g': case 'G': scale = 1024 * 1024 * 1024; len--; break;
	}
	if ((v = str_atoi(p, len)) < 0 || v > INT64_MAX / scale)
		return -1;
	return v * scale;
}

int64_t
str_parse_msec(const char *p, size_t len, int64_t unit)
{
	int64_t	total = 0, v, scale, last = INT64_MAX;
	size_t	i = 0, start;
	bool	any = false, bare = false;

	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && p[i] >= '0' && p[i] <= '9')
			i++;
		if ((v = str_atoi(p + start, i - start)) < 0)
			return -1;
		if (i == len || p[i] == ' ') {
			/* a unit-less number is only valid alone */
			if (any)
				return -1;
			scale = unit;
			bare = true;
		} else {
			if (bare)
				return -1;
			switch (p[i++]) {
			case 'm':
				if (i < len && p[i] == 's') {
					i++;
					scale = 1;
				} else
					scale = 60LL * 1000;
				break;
			case 's': scale = 1000; break;
			case 'h': scale = 3600LL * 1000; break;
			case 'd': scale = 86400LL * 1000; break;
			case 'w': scale = 7 * 86400LL * 1000; break;
			case 'M': scale = 30 * 86400LL * 1000; break;
			case 'y': scale = 365 * 86400LL * 1000; break;
			default: return -1;
			}
		}
		/* units go from the largest down, each at most once: "1h30m" */
		if (!bare) {
			if (scale >= last)
				return -1;
			last = scale;
		}
		if (v > (INT64_MAX - total) / scale)
			return -1;
		total += v * scale;
		any = true;
	}
	return any ? total : -1;
}

size_t
str_utoa(char *buf, uint64_t v)
{
	char	tmp[21];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

const char *
str_hostname(void)
{
	static char	name[HOST_NAME_MAX + 1];

	if (name[0] == '\0' && gethostname(name, sizeof(name) - 1) == -1)
		memcpy(name, "localhost", sizeof("localhost"));
	return name;
}

static size_t
escape(char *dst, const char *src, size_t len, const char *specials)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i, n = 0;
	unsigned char		c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c > 0x20 && c < 0x7f && strchr(specials, c) == NULL) {
			if (dst != NULL)
				dst[n] = (char)c;
			n++;
			continue;
		}
		if (dst != NULL) {
			dst[n] = '%';
			dst[n + 1] = hex[c >> 4];
			dst[n + 2] = hex[c & 15];
		}
		n += 3;
	}
	return n;
}

size_t
str_escape_uri(char *dst, const char *src, size_t len)
{
	return escape(dst, src, len, "\"#%<>?\\^`{|}");
}

size_t
str_escape_args(char *dst, const char *src, size_t len)
{
	return escape(dst, src, len, "\"#%&+;<>?\\^`{|}");
}
