#!/usr/bin/env python3
# Active health checks (usher's own; nginx OSS has none):
#   upstream u { server A; server B;
#                health_check interval=500ms fails=1 passes=1 uri=/health; }
# The checker asks each server for /health every 500 ms.  When B's check
# fails, B gets no client request within about 2 s, though B still answers
# requests and no client sees a failure; when it passes again, B gets
# traffic again.

import os
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

if FLAVOR == "nginx":
    skip_all("health_check is usher's own (nginx OSS has no active checks)")
require_binary()

t = Usher(r"""
events { }
worker_processes 2;
http {
    access_log off;

    upstream u {
        server 127.0.0.1:%%PORT_SA%%;
        server 127.0.0.1:%%PORT_SB%%;
        health_check interval=500ms fails=1 passes=1 uri=/health;
    }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { proxy_pass http://u; }
    }
}
""")
a = EchoBackend(t.port("SA"), "A")
b = EchoBackend(t.port("SB"), "B")
started = t.try_start("an upstream with health_check")


def tally(n=20):
    c = {}
    for i in range(n):
        try:
            r = t.get("/?be_reply=name")
            k = r.body.strip() if r.status == 200 else "status %d" % r.status
        except Exception as e:
            k = str(e)
        c[k] = c.get(k, 0) + 1
    return c


if started:
    c = tally()
    ok(c.get("A", 0) >= 5 and c.get("B", 0) >= 5 and
       c.get("A", 0) + c.get("B", 0) == 20,
       "both healthy: both servers get requests") or diag(c)
    n0 = b.health_checks
    r0 = a.requests + b.requests
    time.sleep(2.0)
    n = b.health_checks - n0
    ok(2 <= n <= 8, "interval=500ms: 2 to 8 checks of B's /health in 2 s "
       "(%d)" % n)
    ok(a.health_checks > 0, "A's /health is checked too (%d)"
       % a.health_checks)
    is_(a.requests + b.requests, r0, "the checker asks for uri=/health, "
        "nothing else")

    # a request loop all along: no client ever sees a failure
    load = Load(t.port("A"), path="/?be_reply=name", threads=2,
                duration=12.0).start()

    # B's check fails
    b.health_status = 503
    t0 = time.monotonic()
    gone = wait_for(lambda: tally(10).get("B", 0) == 0, 4.0, 0.1)
    secs = time.monotonic() - t0
    ok(gone and secs <= 3.0, "B's check fails: within about 2 s, no request "
       "goes to B (%.1f s)" % secs)
    b.reset()
    c = tally(20)
    is_(c, {"A": 20}, "while B's check fails: every request goes to A")
    time.sleep(1.0)
    is_(b.requests, 0, "while B's check fails: B gets no client request")
    ok(b.health_checks > 0, "while B is out, it is still checked")

    # B's check passes again
    b.health_status = 200
    t0 = time.monotonic()
    back = wait_for(lambda: tally(10).get("B", 0) > 0, 4.0, 0.1)
    secs = time.monotonic() - t0
    ok(back and secs <= 3.0, "B's check passes again: within about 2 s, B "
       "gets traffic (%.1f s)" % secs)
    c = tally(20)
    ok(c.get("A", 0) >= 5 and c.get("B", 0) >= 5,
       "B is back in the rotation") or diag(c)

    load.stop()
    is_(load.failures, 0, "all along, no client request failed") \
        or diag(load.summary())
    ok(load.requests > 20, "the request loop ran (%d)" % load.requests)
    t.stop()

a.close()
b.close()
t.check_error_log()
sys.exit(done())
