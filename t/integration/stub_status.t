#!/usr/bin/env python3
# stub_status: nginx's text format, with counters that all workers share
# (the totals add up whichever worker answers), and the Reading / Writing /
# Waiting split of the active connections.

import os
import re
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        location = /status { stub_status; }
        location / { return 200 "x"; }
        location = /vars {
            return 200 "$connections_active $connections_reading $connections_writing $connections_waiting";
        }
    }
}
""")
t.start()

FMT = (r"^Active connections: (\d+) \nserver accepts handled requests\n"
       r" (\d+) (\d+) (\d+) \nReading: (\d+) Writing: (\d+) Waiting: (\d+) \n$")


def status():
    r = t.get("/status")
    m = re.match(FMT, r.body)
    return r, (tuple(int(x) for x in m.groups()) if m else None)


r, s0 = status()
is_(r.header("content-type"), "text/plain", "text/plain")
ok(s0 is not None, "nginx's format") or diag(repr(r.body))
for i in range(10):
    t.get("/")
r, s1 = status()
is_(s1[3] - s0[3], 11, "requests: +11 after 10 requests and this one, "
    "counted by both workers together")
is_(s1[1] - s0[1], 11, "accepts: +11 (one connection each)")
is_(s1[1], s1[2], "handled equals accepts")
is_((s1[0], s1[4], s1[5], s1[6]), (1, 0, 1, 0),
    "alone: 1 active, writing (this request)")
with t.conn() as c:
    c.get("/")          # stays open, idle in keep-alive
    with t.conn() as half:
        half.send("GET / HTTP/1.1\r\nHost: x\r\n")   # head not finished
        wait_for(lambda: status()[1][4] == 1, timeout=3)
        r, s2 = status()
        is_((s2[0], s2[4], s2[5], s2[6]), (3, 1, 1, 1),
            "3 active: 1 reading, 1 writing, 1 waiting")
# the counters as variables: this connection is active and writing
with Conn(t.port("A")) as c:
    idle = Conn(t.port("A"))
    idle.get("/")
    fresh = Conn(t.port("A"))
    time.sleep(0.3)
    r = c.get("/vars")
    like(r.body, r"^(\d+) 0 1 (\d+)$", "$connections_* variables") or diag(
        r.body)
    m = re.match(r"^(\d+) 0 1 (\d+)$", r.body)
    ok(m and int(m.group(1)) >= 3 and int(m.group(2)) >= 2,
       "... an idle keep-alive connection and one that sent nothing yet are "
       "waiting") or diag(r.body)
    idle.close()
    fresh.close()
t.check_error_log()
sys.exit(done())
