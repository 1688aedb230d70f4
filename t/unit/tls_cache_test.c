/*
 * The shared session cache's store: lookups, replacing, LRU eviction when
 * full, expiry, sessions spanning several slots, and a lock left behind by
 * a process that died holding it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../worker/tls_cache.h"
#include "tap.h"

/* tls_cache.c's OpenSSL side needs it; unused here */
int	tls_ex_srv(void);
int
tls_ex_srv(void)
{
	return 0;
}

static void
id_of(uint8_t *id, int n)
{
	memset(id, 0, 32);
	memcpy(id, &n, sizeof(n));
}

int
main(void)
{
	size_t	 size = TLS_CACHE_MIN_SIZE;
	void	*z = calloc(1, size);
	uint8_t	 id[32], der[TLS_CACHE_MAX_SESSION], out[TLS_CACHE_MAX_SESSION];
	int64_t	 later = time(NULL) + 300;
	size_t	 cap;
	ssize_t	 n;
	int	 i, found;
	pid_t	 pid;

	memset(der, 'x', sizeof(der));
	id_of(id, 1);
	is_int(tls_cache_fetch(z, size, id, 32, out, sizeof(out)), -1,
	    "an empty (all zero) zone is a valid empty cache");
	der[0] = 'A';
	is_int(tls_cache_store(z, size, id, 32, der, 200, later), 0,
	    "store one session");
	n = tls_cache_fetch(z, size, id, 32, out, sizeof(out));
	ok(n == 200 && out[0] == 'A', "fetch it back");
	der[0] = 'B';
	tls_cache_store(z, size, id, 32, der, 1000, later);
	n = tls_cache_fetch(z, size, id, 32, out, sizeof(out));
	ok(n == 1000 && out[0] == 'B' && memcmp(out, der, 1000) == 0,
	    "storing the same id replaces it, over several slots");
	is_int(tls_cache_count(z, size), 1, "one session held");
	tls_cache_remove(z, size, id, 32);
	is_int(tls_cache_fetch(z, size, id, 32, out, sizeof(out)), -1,
	    "removed");

	/* fill it past capacity: the least recently used go first */
	for (i = 0; i < 1000; i++) {
		id_of(id, i);
		if (i == 5) {	/* keep touching session 0 */
			uint8_t	 id0[32];

			id_of(id0, 0);
			tls_cache_fetch(z, size, id0, 32, out, sizeof(out));
		}
		if (i > 5 && i % 10 == 0) {
			uint8_t	 id0[32];

			id_of(id0, 0);
			tls_cache_fetch(z, size, id0, 32, out, sizeof(out));
		}
		der[0] = (uint8_t)i;
		tls_cache_store(z, size, id, 32, der, 300, later);
	}
	cap = tls_cache_count(z, size);
	ok(cap > 20 && cap < 1000, "a full zone holds a bounded number (%zu)",
	    cap);
	id_of(id, 999);
	ok(tls_cache_fetch(z, size, id, 32, out, sizeof(out)) == 300,
	    "the newest session is there");
	id_of(id, 1);
	is_int(tls_cache_fetch(z, size, id, 32, out, sizeof(out)), -1,
	    "an old, unused session was evicted");
	id_of(id, 0);
	ok(tls_cache_fetch(z, size, id, 32, out, sizeof(out)) == 300,
	    "an old session used recently was kept (LRU)");
	for (i = 0, found = 0; i < 1000; i++) {
		id_of(id, i);
		found += tls_cache_fetch(z, size, id, 32, out, sizeof(out)) > 0;
	}
	is_int(found, (long long)cap, "what is counted can be fetched");

	id_of(id, 5000);
	tls_cache_store(z, size, id, 32, der, 100, time(NULL) - 1);
	is_int(tls_cache_fetch(z, size, id, 32, out, sizeof(out)), -1,
	    "an expired session is not returned");
	is_int(tls_cache_store(z, size, id, 32, der, TLS_CACHE_MAX_SESSION + 1,
	    later), -1, "a session over the limit is not stored");
	is_int(tls_cache_store(z, size, id, 0, der, 10, later), -1,
	    "nor one without an id");

	/* a process that dies holding the lock */
	if ((pid = fork()) == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	*(int *)z = (int)pid;
	id_of(id, 999);
	is_int(tls_cache_fetch(z, size, id, 32, out, sizeof(out)), -1,
	    "a lock held by a dead process is taken over, the cache wiped");
	id_of(id, 7);
	is_int(tls_cache_store(z, size, id, 32, der, 100, later), 0,
	    "and the cache works on");
	is_int(*(int *)z, 0, "the lock is free again");
	free(z);
	return done_testing();
}
