#!/usr/bin/env python3
# A reload that changes an upstream's servers (A -> B), under a concurrent
# request loop: no request fails, and once the reload is done every
# response comes from B (idle keep-alive connections to A are not reused by
# the new configuration).

import os
import signal
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

CONF = r"""
events { }
worker_processes 2;
http {
    access_log off;

    upstream u { server 127.0.0.1:%%PORT_SERVER%%; keepalive 4; }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://u;
        }
    }
}
"""


def conf(server):
    return CONF.replace("SERVER", server)


t = Usher(conf("SA"))
a = EchoBackend(t.port("SA"), "A")
b = EchoBackend(t.port("SB"), "B")
started = t.try_start("an upstream with server A")

if started:
    is_(t.get("/?be_reply=name").body, "A\n", "before the reload: A answers")
    workers = t.worker_pids()
    load = Load(t.port("A"), path="/?be_reply=name", threads=4,
                duration=4.0).start()
    time.sleep(1.5)
    t.write_conf(conf("SB"))
    t.signal(signal.SIGHUP)
    load.wait()
    is_(load.failures, 0, "reload A -> B under load (4 threads, 4 s): no "
        "failed request") or diag(load.summary())
    ok(load.requests > 50, "the load made requests (%d)" % load.requests)
    ok(load.bodies.get("A\n", 0) > 0 and load.bodies.get("B\n", 0) > 0,
       "during the load, A then B answered") or diag(load.bodies)
    ok(wait_for(lambda: not any(pid_alive(w) for w in workers), 5),
       "the old workers exit")
    a.reset()
    got = {}
    for i in range(40):
        try:
            body = t.get("/?be_reply=name").body
        except Exception as e:
            body = str(e)
        got[body] = got.get(body, 0) + 1
    is_(got, {"B\n": 40}, "after the reload: every response comes from B")
    is_(a.requests, 0, "after the reload: A gets no request")
    t.stop()

a.close()
b.close()
t.check_error_log()
sys.exit(done())
