#!/usr/bin/env python3
# The master's signals (daemon on): HUP reloads without failing a request,
# a broken reload changes nothing, USR1 reopens logs, QUIT drains in-flight
# requests, a killed worker is replaced; "-s stop|quit|reopen|reload" send
# them through the pid file.

import os
import signal
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

CONF = r"""
events { }
worker_processes 2;

http {
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { return 200 "VERSION\n"; }
    }
}
"""


def conf(version):
    return CONF.replace("VERSION", version)


# A worker killed on purpose is reported by the master as an alert (nginx:
# "worker process PID exited on signal 9"); that one alert is allowed.
killed = []

t = Usher(conf("v1"), daemon=True)
t.start()
master = t.master_pid()
ok(master and pid_alive(master), "daemon on: the master in the pid file runs")
ok(t.proc is None and os.getpid() not in (master, ppid(master) or 0),
   "daemon on: the master is not the test's child")
workers = t.wait_workers(2)
is_(len(workers), 2, "worker_processes 2: two workers")
is_(t.get("/").body, "v1\n", "serving v1")

# -- reload under load
load = Load(t.port("A"), threads=4, duration=3.0).start()
time.sleep(1.0)
t.write_conf(conf("v2"))
t.signal(signal.SIGHUP)
load.wait()
is_(load.failures, 0, "HUP under load (4 threads, 3 s): no failed request") \
    or diag(load.summary())
ok(load.requests > 50, "the load made requests (%d)" % load.requests)
ok("v2\n" in load.bodies, "the new config was served during the load")
is_(t.get("/").body, "v2\n", "after HUP: the new config is served")
is_(t.master_pid(), master, "HUP: the master stays the same")
new = t.wait_workers(2)
is_(len(new), 2, "after HUP: back to two workers")
ok(not set(new) & set(workers), "after HUP: the workers are new")
ok(wait_for(lambda: not any(pid_alive(w) for w in workers), 5),
   "after HUP: the old workers exit")

# -- a broken config keeps the old one
mark = len(t.error_log())
t.write_conf(conf("v3").replace("return 200", "retrun 200"))
t.signal(signal.SIGHUP)
ok(wait_for(lambda: "[emerg]" in t.error_log()[mark:], 5),
   "HUP with a broken config: the [emerg] is logged")
like(t.error_log()[mark:], r'\[emerg\] .*unknown directive "retrun"',
     "HUP with a broken config: the error is named")
time.sleep(0.5)
is_(t.get("/").body, "v2\n", "HUP with a broken config: the old config "
    "is still served")
is_(sorted(t.worker_pids()), sorted(new),
    "HUP with a broken config: the workers are kept")
ok(pid_alive(master), "HUP with a broken config: the master runs")

# -- USR1 reopens the logs
t.write_conf(conf("v4"))
rc, out, err = t.run("-s", "reload")
is_(rc, 0, "-s reload exits 0") or diag(err)
ok(wait_for(lambda: t.get("/").body == "v4\n", 5),
   "-s reload: the new config is served")
os.rename(t.path("access.log"), t.path("access.log.1"))
t.get("/before-reopen")
ok(any("/before-reopen" in line
       for line in t.wait_log("access.log.1", regex="/before-reopen")),
   "before USR1: lines go to the renamed file")
t.signal(signal.SIGUSR1)
ok(wait_for(lambda: os.path.exists(t.path("access.log")), 5),
   "USR1: the access log is created again")
time.sleep(0.3)
t.get("/after-reopen")
ok(any("/after-reopen" in line
       for line in t.wait_log("access.log", regex="/after-reopen")),
   "USR1: new lines go to the new file")
ok(not any("/after-reopen" in line for line in t.access_log("access.log.1")),
   "USR1: no new lines in the renamed file")

os.rename(t.path("access.log"), t.path("access.log.2"))
rc, out, err = t.run("-s", "reopen")
is_(rc, 0, "-s reopen exits 0") or diag(err)
ok(wait_for(lambda: os.path.exists(t.path("access.log")), 5),
   "-s reopen: the access log is created again")

# -- a killed worker is replaced
workers = t.wait_workers(2)
killed.append(workers[0])
os.kill(workers[0], signal.SIGKILL)
again = wait_for(lambda: (lambda w: w if len(w) == 2 and workers[0] not in w
                          else None)(t.worker_pids()), 5)
ok(again and workers[1] in again, "SIGKILL of a worker: a new worker "
   "replaces it, the other is kept")
codes = [t.get("/").status for _ in range(20)]
is_(codes, [200] * 20, "SIGKILL of a worker: requests still succeed")

# -- several quick reloads do not pile up old workers
before = set(t.worker_pids())
for i in range(5):
    t.write_conf(conf("q%d" % i))
    t.signal(signal.SIGHUP)
    time.sleep(0.15)
ok(wait_for(lambda: t.get("/").body == "q4\n", 5),
   "after 5 quick reloads: the last config is served")
final = wait_for(lambda: (lambda w: w if len(w) == 2 else None)(
    t.worker_pids()), 10)
ok(final and not set(final) & before,
   "after 5 quick reloads: two workers, all new") or diag(t.worker_pids())

# -- QUIT drains a request in flight
with t.conn() as c:
    c.send("GET /slow HTTP/1.1\r\nHost: a\r\nX-Part: one\r\n")
    time.sleep(0.2)
    t.signal(signal.SIGQUIT)
    time.sleep(0.5)
    c.send("X-Rest: two\r\n\r\n")
    try:
        r = c.read_response(timeout=5)
    except Exception as e:
        r = None
        diag("read: %s" % e)
    is_(r and (r.status, r.body, r.header("connection")),
        (200, "q4\n", "close"),
        "QUIT: a request in flight completes, and its connection closes")
ok(wait_for(lambda: not pid_alive(master), 10), "QUIT: the master exits")
ok(not any(pid_alive(w) for w in final or []), "QUIT: the workers exit")
refused = False
try:
    t.get("/")
except OSError:
    refused = True
ok(refused, "QUIT: the port is closed")

# -- -s quit / -s stop
t.write_conf(conf("s1"))
t.start()
m = t.master_pid()
rc, out, err = t.run("-s", "quit")
is_(rc, 0, "-s quit exits 0") or diag(err)
ok(wait_for(lambda: not pid_alive(m), 10), "-s quit: the master exits")
t.start()
m = t.master_pid()
rc, out, err = t.run("-s", "stop")
is_(rc, 0, "-s stop exits 0") or diag(err)
ok(wait_for(lambda: not pid_alive(m), 10), "-s stop: the master exits")
ok(wait_for(lambda: not os.path.exists(t.pid_file), 5),
   "the pid file is removed at exit")

t.check_error_log(allow=r"\[alert\].*\b(%s)\b.*signal 9"
                  % "|".join(str(k) for k in killed or [0]))
sys.exit(done())
