#!/usr/bin/env python3
# Binary upgrade on the fly (daemon on), as nginx does it:
#   USR2 to the master: PID file renamed PID.oldbin, the binary re-executed
#   as a new master (a child of the old one, inheriting the listeners) with
#   its own workers; WINCH to the old master: its workers stop; QUIT to the
#   old master: it exits, the new one serves and owns the pid file.
#   Rollback: QUIT to the new master instead; the old one renames
#   PID.oldbin back.
# The binary must be started with an absolute path (nginx re-executes
# argv[0]); USHER is used as given.

import os
import signal
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
worker_processes 2;

http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { return 200 "up\n"; }
    }
}
""", daemon=True)
t.start()
OLDBIN = t.pid_file + ".oldbin"


def new_master_up(old):
    """The new master: in the pid file, not old, a child of old, with two
    workers of its own."""
    new = t.master_pid()
    if not new or new == old or not os.path.exists(OLDBIN):
        return None
    if len(t.worker_pids(new)) != 2:
        return None
    return new


# -- upgrade under load
old = t.master_pid()
old_workers = t.wait_workers(2)
is_(len(old_workers), 2, "two workers before the upgrade")

load = Load(t.port("A"), threads=4, duration=6.0).start()
time.sleep(0.5)
t.signal(signal.SIGUSR2, old)
new = wait_for(lambda: new_master_up(old), 10)
ok(new, "USR2: a new master with two workers of its own")
is_(t.master_pid(oldbin=True), old, "USR2: the old pid is in PID.oldbin")
ok(new and ppid(new) == old, "USR2: the new master is a child of the old")
new_workers = t.worker_pids(new) if new else []
ok(new_workers and not set(new_workers) & set(old_workers),
   "USR2: the new master's workers are new processes")
is_(sorted(t.worker_pids(old)), sorted(old_workers),
    "USR2: the old master keeps its workers")

t.signal(signal.SIGWINCH, old)
ok(wait_for(lambda: not t.worker_pids(old) and
            not any(pid_alive(w) for w in old_workers), 10),
   "WINCH to the old master: its workers exit")
ok(pid_alive(old), "WINCH: the old master stays")
time.sleep(0.5)
t.signal(signal.SIGQUIT, old)
ok(wait_for(lambda: not pid_alive(old), 10),
   "QUIT to the old master: it exits")
load.wait()
is_(load.failures, 0, "USR2, WINCH, QUIT under load (4 threads): no failed "
    "request") or diag(load.summary())
ok(load.requests > 50, "the load made requests (%d)" % load.requests)

is_(t.master_pid(), new, "the new master owns the pid file")
ok(not os.path.exists(OLDBIN), "PID.oldbin is gone")
is_(t.get("/").body, "up\n", "the new master serves")
ok(new and pid_alive(new) and len(t.worker_pids(new)) == 2,
   "the new master runs with two workers")

# -- rollback: USR2, then QUIT to the new master
old = new
old_workers = t.worker_pids(old)
t.signal(signal.SIGUSR2, old)
new = wait_for(lambda: new_master_up(old), 10)
ok(new, "second USR2: a new master")
new_workers = t.worker_pids(new) if new else []
if new:
    t.signal(signal.SIGQUIT, new)
ok(new and wait_for(lambda: not pid_alive(new), 10),
   "QUIT to the new master: it exits")
ok(wait_for(lambda: t.master_pid() == old and not os.path.exists(OLDBIN), 5),
   "rollback: the old master renames PID.oldbin back to the pid file")
ok(not any(pid_alive(w) for w in new_workers),
   "rollback: the new master's workers are gone")
is_(sorted(t.worker_pids(old)), sorted(old_workers),
    "rollback: the old master kept its workers")
codes = [t.get("/").status for _ in range(10)]
is_(codes, [200] * 10, "rollback: the old master serves")

ok(t.stop(), "TERM stops the master")
t.check_error_log()
sys.exit(done())
