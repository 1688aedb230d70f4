/*
 * Tests of common/str.c (comparison, searching, number, size and time
 * parsing, formatting) and of common/clock.c's HTTP dates: the three
 * formats of RFC 9110 5.6.7, invalid dates, and formatting round trips.
 * Inputs sit right before an unreadable page, so any over-read crashes.
 */
#include <sys/mman.h>

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "common/clock.h"
#include "common/str.h"

static char	*guard_end;	/* first byte of the PROT_NONE page */
static size_t	 guard_room;

/* Writable pages followed by an unreadable one. */
static void
guard_setup(void)
{
	size_t	 page = (size_t)sysconf(_SC_PAGESIZE);
	char	*p;

	guard_room = 4 * page;
	p = mmap(NULL, guard_room + page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + guard_room, page, PROT_NONE) != 0) {
		perror("mmap");
		exit(2);
	}
	guard_end = p + guard_room;
}

/* Copies s (without its NUL) so that it ends where the unreadable page
 * begins; the copy is valid until the next call. */
static const char *
guarded(const char *s)
{
	size_t	len = strlen(s);

	if (len > guard_room)
		abort();
	memmove(guard_end - len, s, len);
	return guard_end - len;
}

/* Each parser called on a guarded copy of a C string. */
static int64_t
atoi_of(const char *s)
{
	return str_atoi(guarded(s), strlen(s));
}

static int64_t
hextoi_of(const char *s)
{
	return str_hextoi(guarded(s), strlen(s));
}

static int64_t
size_of(const char *s)
{
	return str_parse_size(guarded(s), strlen(s));
}

static int64_t
msec_of(const char *s, int64_t unit)
{
	return str_parse_msec(guarded(s), strlen(s), unit);
}

static time_t
date_of(const char *s)
{
	return clock_parse_http_date(guarded(s), strlen(s));
}


static void
test_eq(void)
{
	ok(str_eq("abc", 3, "abc", 3), "str_eq equal");
	ok(!str_eq("abc", 3, "abd", 3), "str_eq differs in the last byte");
	ok(!str_eq("abc", 3, "ab", 2), "str_eq: a prefix is not equal");
	ok(str_eq("", 0, "x", 0), "str_eq of two empty slices");
	ok(STR_EQ_LIT("include", 7, "include"), "STR_EQ_LIT");

	ok(str_caseeq(guarded("Content-Length"), 14, "content-LENGTH", 14),
	    "str_caseeq ignores ASCII case");
	ok(!str_caseeq("Host", 4, "Hosts", 5), "str_caseeq: lengths differ");
	ok(!str_caseeq("Host", 4, "Hast", 4), "str_caseeq: letters differ");
	ok(!str_caseeq("[", 1, "{", 1), "'[' and '{' differ only in bit 5 "
	    "but are not letters");
	ok(!str_caseeq("@", 1, "`", 1), "'@' and '`' are not a case pair");
	ok(!str_caseeq("\xc4", 1, "\xe4", 1), "Latin-1 letters are not "
	    "folded");
	ok(str_caseeq("a\0b", 3, "A\0B", 3), "str_caseeq compares past a NUL");
	ok(STR_CASEEQ_LIT("KEEP-alive", 10, "keep-alive"), "STR_CASEEQ_LIT");
}

static void
test_lower(void)
{
	char	buf[16];

	memset(buf, '#', sizeof(buf));
	str_lower(buf, "AbC-[Z]@\xc4", 9);
	ok(memcmp(buf, "abc-[z]@\xc4#", 10) == 0,
	    "str_lower changes A-Z only, and writes len bytes");
}

static void
test_casefind(void)
{
	const char	*h = "Keep-Alive, Upgrade";
	size_t		 hlen = strlen(h);
	const char	*g;

	ok(str_casefind(h, hlen, "upgrade", 7) == h + 12,
	    "str_casefind at the end");
	ok(str_casefind(h, hlen, "KEEP", 4) == h, "str_casefind at the start");
	ok(str_casefind(h, hlen, "close", 5) == NULL, "str_casefind absent");
	ok(str_casefind(h, hlen, "", 0) == h, "an empty needle is found at 0");
	ok(str_casefind("ab", 2, "abc", 3) == NULL, "a needle longer than "
	    "the haystack");
	g = guarded("aaab");
	ok(str_casefind(g, 4, "AAB", 3) == g + 1, "match after a false start");
	g = guarded("xxaab");
	ok(str_casefind(g, 5, "AAB", 3) == g + 2, "overlapping partial match");
	g = guarded("abcdef");
	ok(str_casefind(g, 3, "cd", 2) == NULL, "hlen bounds the search");
	g = guarded("upgradE");
	ok(str_casefind(g, 7, "upgrade", 7) == g, "needle as long as the "
	    "haystack");
}

static void
test_atoi(void)
{
	is_int(atoi_of("0"), 0, "atoi 0");
	is_int(atoi_of("007"), 7, "atoi leading zeros");
	is_int(atoi_of("1234567890"), 1234567890, "atoi");
	is_int(atoi_of("9223372036854775807"), INT64_MAX, "atoi INT64_MAX");
	is_int(atoi_of("9223372036854775808"), -1, "atoi INT64_MAX + 1");
	is_int(atoi_of("9223372036854775810"), -1, "atoi INT64_MAX + 3");
	is_int(atoi_of("99999999999999999999"), -1, "atoi 20 digits");
	is_int(atoi_of("18446744073709551616"), -1, "atoi 2^64 (wraps to 0 "
	    "in uint64)");
	is_int(atoi_of(""), -1, "atoi empty");
	is_int(atoi_of("-1"), -1, "atoi minus");
	is_int(atoi_of("+1"), -1, "atoi plus");
	is_int(atoi_of(" 1"), -1, "atoi leading space");
	is_int(atoi_of("1 "), -1, "atoi trailing space");
	is_int(atoi_of("12a"), -1, "atoi trailing letter");
	is_int(atoi_of("1.0"), -1, "atoi decimal point");
	is_int(str_atoi("123", 2), 12, "atoi stops at len");
	is_int(str_atoi("12\0" "3", 4), -1, "atoi NUL inside len");
}

static void
test_hextoi(void)
{
	is_int(hextoi_of("0"), 0, "hextoi 0");
	is_int(hextoi_of("ff"), 255, "hextoi ff");
	is_int(hextoi_of("FF"), 255, "hextoi FF");
	is_int(hextoi_of("aBc"), 0xabc, "hextoi mixed case");
	is_int(hextoi_of("0000000000000000000001"), 1, "hextoi many leading "
	    "zeros");
	is_int(hextoi_of("7fffffffffffffff"), INT64_MAX, "hextoi INT64_MAX");
	is_int(hextoi_of("8000000000000000"), -1, "hextoi INT64_MAX + 1");
	is_int(hextoi_of("10000000000000000"), -1, "hextoi 2^64");
	is_int(hextoi_of(""), -1, "hextoi empty");
	is_int(hextoi_of("g"), -1, "hextoi g");
	is_int(hextoi_of("0x10"), -1, "hextoi 0x prefix");
	is_int(hextoi_of("1 "), -1, "hextoi trailing space");
	is_int(hextoi_of("-1"), -1, "hextoi minus");
	is_int(hextoi_of("@"), -1, "hextoi '@' (just before 'A')");
	is_int(hextoi_of("`"), -1, "hextoi '`' (just before 'a')");
}

static void
test_size(void)
{
	is_int(size_of("0"), 0, "size 0");
	is_int(size_of("10"), 10, "size 10");
	is_int(size_of("10k"), 10240, "size 10k");
	is_int(size_of("10K"), 10240, "size 10K");
	is_int(size_of("1m"), 1048576, "size 1m");
	is_int(size_of("1M"), 1048576, "size 1M");
	is_int(size_of("1g"), 1073741824, "size 1g");
	is_int(size_of("3G"), 3221225472LL, "size 3G");
	is_int(size_of("8589934591g"), 9223372035781033984LL,
	    "size 8589934591g, the largest in g");
	is_int(size_of("8589934592g"), -1, "size 8589934592g overflows");
	is_int(size_of("9223372036854775807"), INT64_MAX, "size INT64_MAX");
	is_int(size_of("9007199254740992k"), -1, "size 2^53 k overflows");
	is_int(size_of("1.5m"), -1, "size 1.5m");
	is_int(size_of("1kb"), -1, "size 1kb");
	is_int(size_of("1km"), -1, "size two suffixes");
	is_int(size_of("-1"), -1, "size -1");
	is_int(size_of("k"), -1, "size k alone");
	is_int(size_of(""), -1, "size empty");
	is_int(size_of("1t"), -1, "size 1t (no terabytes)");
	is_int(size_of(" 1k"), -1, "size leading space");
	is_int(size_of("1 k"), -1, "size space before the unit");
}

static void
test_msec(void)
{
	is_int(msec_of("500ms", 1), 500, "500ms");
	is_int(msec_of("10s", 1), 10000, "10s");
	is_int(msec_of("1m", 1), 60000, "1m is a minute");
	is_int(msec_of("1m30s", 1), 90000, "1m30s");
	is_int(msec_of("1h 30m", 1), 5400000, "\"1h 30m\"");
	is_int(msec_of("1h30m", 1), 5400000, "1h30m");
	is_int(msec_of("1d", 1), 86400000, "1d");
	is_int(msec_of("2w", 1), 1209600000, "2w");
	is_int(msec_of("1M", 1), 2592000000LL, "1M is 30 days");
	is_int(msec_of("1y", 1), 31536000000LL, "1y is 365 days");
	is_int(msec_of("1y1M1w1d1h1m1s1ms", 1), 31536000000LL + 2592000000LL +
	    604800000 + 86400000 + 3600000 + 60000 + 1000 + 1,
	    "every unit once, largest first");
	is_int(msec_of("1m5ms", 1), 60005, "1m5ms: m then ms");
	is_int(msec_of("0", 1), 0, "0");
	is_int(msec_of("0s", 1), 0, "0s");
	is_int(msec_of("10", 1), 10, "bare number in ms");
	is_int(msec_of("10", 1000), 10000, "bare number in s");
	is_int(msec_of("10ms", 1000), 10, "a unit wins over the default");
	is_int(msec_of(" 10s ", 1), 10000, "spaces around");
	is_int(msec_of("9223372036854775807ms", 1), INT64_MAX,
	    "INT64_MAX ms");
	is_int(msec_of("9223372036854775807s", 1), -1, "overflow in s");
	is_int(msec_of("9223372036854775s 808ms", 1), -1, "overflow in "
	    "the sum");
	is_int(msec_of("9223372036854775s 807ms", 1), INT64_MAX,
	    "the sum up to INT64_MAX");
	is_int(msec_of("9223372036854775807", 1000), -1, "bare overflow");

	is_int(msec_of("30s1m", 1), -1, "units out of order");
	is_int(msec_of("1h1h", 1), -1, "a unit twice");
	is_int(msec_of("1ms1ms", 1), -1, "ms twice");
	is_int(msec_of("1S", 1), -1, "1S");
	is_int(msec_of("1H", 1), -1, "1H");
	is_int(msec_of("10x", 1), -1, "10x");
	is_int(msec_of("1.5s", 1), -1, "1.5s");
	is_int(msec_of("", 1), -1, "empty");
	is_int(msec_of("   ", 1), -1, "spaces only");
	is_int(msec_of("ms", 1), -1, "unit without a number");
	is_int(msec_of("s", 1), -1, "s alone");
	is_int(msec_of("-1s", 1), -1, "negative");
	is_int(msec_of("10 20", 1), -1, "two bare numbers");
	is_int(msec_of("10 5s", 1), -1, "bare number then a unit");
	is_int(msec_of("5s 10", 1), -1, "a unit then a bare number");
	is_int(msec_of("1ms500", 1), -1, "digits after ms");
	is_int(msec_of("1mss", 1), -1, "mss");
	is_int(msec_of("1m s", 1), -1, "a unit letter after a space");
	is_int(msec_of("1s\t", 1), -1, "a tab is not a separator");
}

static void
test_utoa(void)
{
	char	buf[32];

	memset(buf, '#', sizeof(buf));
	is_int(str_utoa(buf, 0), 1, "utoa 0 length");
	ok(memcmp(buf, "0\0#", 3) == 0, "utoa 0 writes \"0\" and a NUL only");
	is_int(str_utoa(buf, 1234567890), 10, "utoa length");
	is_str(buf, "1234567890", "utoa");
	is_int(str_utoa(buf, 10), 2, "utoa 10 length");
	is_str(buf, "10", "utoa 10");
	memset(buf, '#', sizeof(buf));
	is_int(str_utoa(buf, UINT64_MAX), 20, "utoa UINT64_MAX length");
	is_str(buf, "18446744073709551615", "utoa UINT64_MAX");
	is_int(buf[21], '#', "utoa writes at most 21 bytes");
}

static void
test_parse_date(void)
{
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777,
	    "IMF-fixdate");
	is_int(date_of("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777,
	    "rfc850-date");
	is_int(date_of("Sun Nov  6 08:49:37 1994"), 784111777,
	    "asctime-date, one-digit day");
	is_int(date_of("Sun Nov 06 08:49:37 1994"), 784111777,
	    "asctime-date, two-digit day");
	is_int(date_of("Thu, 01 Jan 1970 00:00:00 GMT"), 0, "the epoch");
	is_int(date_of("Tue, 29 Feb 2000 23:59:59 GMT"), 951868799,
	    "29 February of a leap year");
	is_int(date_of("Tue, 19 Jan 2038 03:14:08 GMT"), 2147483648LL,
	    "past 2038");
	is_int(date_of("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL,
	    "year 9999");
	is_int(date_of("Thursday, 01-Jan-70 00:00:00 GMT"), 0,
	    "rfc850 year 70 is 1970");
	is_int(date_of("Tuesday, 01-Jan-69 00:00:00 GMT"), 3124224000LL,
	    "rfc850 year 69 is 2069");
	is_int(clock_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMTxyz", 29),
	    784111777, "len bounds the input");

	is_int(date_of(""), -1, "empty");
	is_int(date_of("garbage"), -1, "garbage");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 UTC"), -1, "UTC, not GMT");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 gmt"), -1, "gmt lowercase");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37"), -1, "no zone");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 GMT "), -1,
	    "trailing space");
	is_int(date_of("Sun, 6 Nov 1994 08:49:37 GMT"), -1, "one-digit day");
	is_int(date_of("Sun, 00 Nov 1994 08:49:37 GMT"), -1, "day 0");
	is_int(date_of("Sun, 32 Nov 1994 08:49:37 GMT"), -1, "day 32");
	is_int(date_of("Sun, 06 Foo 1994 08:49:37 GMT"), -1, "bad month");
	is_int(date_of("Sun, 06 nov 1994 08:49:37 GMT"), -1,
	    "month is case-sensitive");
	is_int(date_of("Sun, 06 Nov 94 08:49:37 GMT"), -1,
	    "two-digit year in IMF-fixdate");
	is_int(date_of("Wed, 31 Dec 1969 23:59:59 GMT"), -1, "before 1970");
	is_int(date_of("Sun, 06 Nov 1994 24:00:00 GMT"), -1, "hour 24");
	is_int(date_of("Sun, 06 Nov 1994 08:60:37 GMT"), -1, "minute 60");
	is_int(date_of("Sun, 06 Nov 1994 08:49:61 GMT"), -1, "second 61");
	is_int(date_of("Sun, 06 Nov 1994 08-49-37 GMT"), -1, "dashes in time");
	is_int(date_of("Sun, 06 Nov 1994 8:49:37 GMT"), -1, "one-digit hour");
	is_int(date_of("Sun, 06 Nov 199x 08:49:37 GMT"), -1, "letter in year");
	is_int(date_of("Sunday, 06-Nov-1994 08:49:37 GMT"), -1,
	    "four-digit year in rfc850-date");
	is_int(date_of("Sun Nov  6 08:49:37 94"), -1, "two-digit year in "
	    "asctime-date");
	is_int(date_of("Sun Nov  6 08:49:37 1994 GMT"), -1,
	    "GMT in asctime-date");
	is_int(date_of("Sun Nov  x 08:49:37 1994"), -1, "asctime bad day");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 GMT, 06 Nov 1994 08:49:37 "
	    "GMT"), -1, "two dates");
	is_int(date_of("Sun, 06 Nov 1994 08:49:37 GMT"
	    "                                        "), -1,
	    "64 bytes or more");

	/* Known bugs: fields with no separator check, impossible days. */
	ok(date_of("Sun, 06 Nov 1994x08:49:37 GMT") == -1,
	    "IMF-fixdate: a bad separator before the time is refused");
	ok(date_of("Sunday, 06-Nov-94x08:49:37 GMT") == -1,
	    "rfc850-date: a bad separator before the time is refused");
	ok(date_of("Sun Nov  6x08:49:37x1994") == -1,
	    "asctime-date: bad separators around the time are refused");
	ok(date_of("Wed, 31 Feb 2021 08:49:37 GMT") == -1,
	    "31 February is refused (nginx does); got %lld",
	    (long long)date_of("Wed, 31 Feb 2021 08:49:37 GMT"));
	ok(date_of("Mon, 29 Feb 2021 00:00:00 GMT") == -1,
	    "29 February of a common year is refused");
}

static void
test_format_date(void)
{
	static const time_t	ts[] = { 0, 784111777, 951868799, 1700000000,
				    2147483648LL, 4107542400LL,
				    253402300799LL };
	char			buf[64];
	size_t			i;

	clock_http_date(buf, sizeof(buf), 784111777);
	is_str(buf, "Sun, 06 Nov 1994 08:49:37 GMT", "clock_http_date");
	clock_http_date(buf, sizeof(buf), 1700000000);
	is_str(buf, "Tue, 14 Nov 2023 22:13:20 GMT", "clock_http_date 2023");
	clock_http_date(buf, sizeof(buf), 0);
	is_str(buf, "Thu, 01 Jan 1970 00:00:00 GMT", "clock_http_date epoch");
	memset(buf, '#', sizeof(buf));
	clock_http_date(buf, 30, 784111777);
	ok(strlen(buf) == 29 && buf[30] == '#', "30 bytes are enough");
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		clock_http_date(buf, sizeof(buf), ts[i]);
		is_int(date_of(buf), ts[i], "round trip of %lld: %s",
		    (long long)ts[i], buf);
	}
	/* the hand-made formatter agrees with strftime across the range */
	{
		char		want[64];
		struct tm	tm;
		time_t		t;
		int		bad = 0;

		for (t = 0; t < 253402300799LL; t += 86400 * 7 + 3727) {
			clock_http_date(buf, sizeof(buf), t);
			gmtime_r(&t, &tm);
			strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT",
			    &tm);
			if (strcmp(buf, want) != 0 && bad++ == 0)
				printf("# %lld: %s, want %s\n", (long long)t,
				    buf, want);
		}
		is_int(bad, 0, "clock_http_date agrees with strftime from 1970 "
		    "to 9999");
	}
}

int
main(void)
{
	guard_setup();
	test_eq();
	test_lower();
	test_casefind();
	test_atoi();
	test_hextoi();
	test_size();
	test_msec();
	test_utoa();
	test_parse_date();
	test_format_date();
	return done_testing();
}
