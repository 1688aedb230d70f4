/*
 * Tests of worker/tls_client.c's pure parts: the ssl name taken from a
 * proxy_ssl_name value (the port dropped, IPv6 brackets kept) and the IP
 * literals that are checked as addresses and never sent as SNI.  Inputs
 * sit right before an unreadable page, so any over-read crashes.
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "worker/tls_client.c"

static char	*guard_end;	/* first byte of the PROT_NONE page */

static void
guard_setup(void)
{
	size_t	 page = (size_t)sysconf(_SC_PAGESIZE);
	char	*p;

	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + page, page, PROT_NONE) != 0) {
		perror("mmap");
		exit(1);
	}
	guard_end = p + page;
}

/* s copied to end right at the unreadable page (no NUL after it). */
static const char *
guarded(const char *s, size_t len)
{
	char	*d = guard_end - len;

	memcpy(d, s, len);
	return d;
}

static void
name_is(const char *in, const char *want)
{
	size_t	len = strlen(in);
	size_t	n = tls_client_name_len(guarded(in, len), len);

	ok(n == strlen(want) && memcmp(in, want, n) == 0,
	    "name of \"%s\" is \"%s\" (got %zu bytes)", in, want, n);
}

static void
ip_is(const char *in, bool want)
{
	char	out[64];
	size_t	len = strlen(in);

	ok(ip_literal(guarded(in, len), len, out, sizeof(out)) == want,
	    "\"%s\" %s an IP literal", in, want ? "is" : "is not");
}

int
main(void)
{
	guard_setup();
	name_is("", "");
	name_is("backend", "backend");
	name_is("backend:8443", "backend");
	name_is("good.test:", "good.test");
	name_is(":443", "");
	name_is("127.0.0.1:443", "127.0.0.1");
	name_is("[::1]", "[::1]");
	name_is("[::1]:8443", "[::1]");
	name_is("[2001:db8::1]:443", "[2001:db8::1]");
	name_is("[::1", "[");		/* no ']': the first ':' ends it */
	name_is("a:b:c", "a");

	ip_is("127.0.0.1", true);
	ip_is("[::1]", true);
	ip_is("::1", true);
	ip_is("[2001:db8::1]", true);
	ip_is("good.test", false);
	ip_is("1.2.3", false);
	ip_is("", false);
	ip_is("[]", false);
	ip_is("[", false);
	ip_is("127.0.0.1.nip.io", false);
	ip_is("0123456789012345678901234567890123456789012345678901234567890"
	    "1234567890", false);
	return done_testing();
}
