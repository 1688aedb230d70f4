/* The cached clock and HTTP date formatting and parsing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "str.h"

struct clock_now	clock_now;

static const char	*wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char	*months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
			    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char *
two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

void
clock_http_date(char *buf, size_t size, time_t t)
{
	struct tm	tm;
	int64_t		days, era, y;
	unsigned	doe, yoe, doy, mp, d, m, secs;
	char		*p = buf;

	if (t < 0 || t > 253402300799LL || size < 30) {
		gmtime_r(&t, &tm);
		snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		    wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return;
	}
	/*
	 * By hand (every file served has a Last-Modified): days to a civil
	 * date in the proleptic Gregorian calendar, counted in 400-year eras
	 * that start on March 1st so leap days fall at an era's end.
	 */
	days = t / 86400;
	secs = (unsigned)(t % 86400);
	era = (days + 719468) / 146097;
	doe = (unsigned)(days + 719468 - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (m <= 2);
	memcpy(p, wdays[(days + 4) % 7], 3);	/* 1970-01-01: a Thursday */
	p[3] = ',';
	p[4] = ' ';
	p = two(p + 5, d);
	*p++ = ' ';
	memcpy(p, months[m - 1], 3);
	p[3] = ' ';
	p = two(two(p + 4, (unsigned)(y / 100)), (unsigned)(y % 100));
	*p++ = ' ';
	p = two(p, secs / 3600);
	*p++ = ':';
	p = two(p, secs / 60 % 60);
	*p++ = ':';
	p = two(p, secs % 60);
	memcpy(p, " GMT", 5);
}

void
clock_update(void)
{
	struct timespec	ts;
	struct tm	tm;
	long		off;
	char		sign;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_now.mono_ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	clock_now.real_ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (ts.tv_sec == clock_now.sec && clock_now.http_date[0] != '\0')
		return;
	clock_now.sec = ts.tv_sec;
	clock_http_date(clock_now.http_date, sizeof(clock_now.http_date),
	    ts.tv_sec);
	localtime_r(&ts.tv_sec, &tm);
	off = tm.tm_gmtoff / 60;
	sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(clock_now.log_time, sizeof(clock_now.log_time),
	    "%04d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(clock_now.local_time, sizeof(clock_now.local_time),
	    "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld", tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, sign, off / 60, off % 60);
	snprintf(clock_now.iso8601, sizeof(clock_now.iso8601),
	    "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    off / 60, off % 60);
}

static int
month_index(const char *p)
{
	int	i;

	for (i = 0; i < 12; i++)
		if (memcmp(p, months[i], 3) == 0)
			return i;
	return -1;
}

static int
days_in(int mon, int y)
{
	static const int	days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };
	bool			leap = (y % 4 == 0 && y % 100 != 0) ||
				    y % 400 == 0;

	return mon == 1 && leap ? 29 : days[mon];
}

/* Reads exactly n digits. */
static int
digits(const char *p, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + p[i] - '0';
	}
	return v;
}

time_t
clock_parse_http_date(const char *p, size_t len)
{
	char		buf[64];
	const char	*s, *c;
	struct tm	tm;
	int		y, mon, d, h, mi, sec;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	if ((c = strchr(buf, ',')) != NULL) {
		s = c + 1;
		while (*s == ' ')
			s++;
		if (strlen(s) == 24 && s[2] == ' ' && s[6] == ' ' &&
		    s[11] == ' ') {
			/* IMF-fixdate: 06 Nov 1994 08:49:37 GMT */
			d = digits(s, 2);
			mon = month_index(s + 3);
			y = digits(s + 7, 4);
			s += 12;
		} else if (strlen(s) == 22 && s[2] == '-' && s[6] == '-' &&
		    s[9] == ' ') {
			/* rfc850: 06-Nov-94 08:49:37 GMT */
			d = digits(s, 2);
			mon = month_index(s + 3);
			y = digits(s + 7, 2);
			if (y >= 0)
				y += y < 70 ? 2000 : 1900;
			s += 10;
		} else
			return -1;
		if (strcmp(s + 8, " GMT") != 0)
			return -1;
	} else if (len == 24 && buf[3] == ' ' && buf[7] == ' ' &&
	    buf[10] == ' ' && buf[19] == ' ') {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		mon = month_index(buf + 4);
		d = buf[8] == ' ' ? digits(buf + 9, 1) : digits(buf + 8, 2);
		y = digits(buf + 20, 4);
		s = buf + 11;
	} else
		return -1;
	if (s[2] != ':' || s[5] != ':')
		return -1;
	h = digits(s, 2);
	mi = digits(s + 3, 2);
	sec = digits(s + 6, 2);
	if (d < 1 || mon < 0 || y < 1970 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59 ||
	    d > days_in(mon, y))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}
