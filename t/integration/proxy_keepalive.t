#!/usr/bin/env python3
# Keep-alive connections to upstreams: with "keepalive N" in the upstream,
# proxy_http_version 1.1 and an empty Connection header, sequential
# requests reuse a few backend connections, and at most N idle ones are
# kept; without keepalive every request opens a connection.  A backend
# that closes an idle connection, or closes one just as it is reused, or
# answers "Connection: close", never costs the client an error.

import os
import sys
import threading
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
worker_processes 1;
http {
    access_log off;

    upstream ka   { server 127.0.0.1:%%PORT_B%%; keepalive 8; }
    upstream noka { server 127.0.0.1:%%PORT_B%%; }
    upstream idle { server 127.0.0.1:%%PORT_IDLE%%; keepalive 8; }
    upstream drop { server 127.0.0.1:%%PORT_DROP%%; keepalive 8; }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /ka/   { proxy_pass http://ka; }
        location /noka/ { proxy_pass http://noka; }
        location /idle/ { proxy_pass http://idle; }
        location /drop/ { proxy_pass http://drop; }
    }
}
""")
b = EchoBackend(t.port("B"), "B")
idle = EchoBackend(t.port("IDLE"), "IDLE")
idle.idle_timeout = 0.3        # closes an idle connection after 0.3 s
drop = EchoBackend(t.port("DROP"), "DROP")
drop.drop_after = 1            # a reused connection is closed unanswered
started = t.try_start("upstreams with keepalive")


def run(path, n, headers=None):
    """n sequential requests (a client connection each); the statuses."""
    out = []
    for i in range(n):
        try:
            r = t.get(path % i if "%" in path else path, headers=headers)
            out.append(r.status)
        except Exception as e:
            out.append(str(e))
    return out


if started:
    # -- reuse
    b.reset()
    st = run("/ka/%d", 50)
    is_(st, [200] * 50, "keepalive 8: 50 sequential requests succeed")
    ok(1 <= b.connections <= 2, "keepalive 8: 50 requests use very few "
       "backend connections (%d)" % b.connections)
    e = b.log[-1] if b.log else None
    is_((e and e["version"], echo_headers(e, "Connection")), ("HTTP/1.1", []),
        "keepalive: HTTP/1.1 and no Connection header to the backend")
    ok(max(b.per_conn.values() or [0]) >= 25,
       "keepalive: one backend connection carried most of the requests")

    b.reset()
    with t.conn() as c:
        st = [c.get("/ka/c%d" % i).status for i in range(10)]
    is_(st, [200] * 10, "a keep-alive client: 10 requests")
    ok(b.connections <= 1, "a keep-alive client's 10 requests: one backend "
       "connection at most (%d)" % b.connections)

    # -- no keepalive
    b.reset()
    st = run("/noka/%d", 20)
    is_(st, [200] * 20, "no keepalive: 20 requests succeed")
    is_(b.connections, 20, "no keepalive: a backend connection per request")
    b.reset()
    st = run("/ka/%d", 10, headers={"X-Be-Conn": "close"})
    is_((st, len(set(e["conn"] for e in b.log))), ([200] * 10, 10),
        "the backend answers Connection: close: the connection is not "
        "reused, no error") or diag([(e["conn"], e["req"]) for e in b.log])

    # -- at most N idle connections are kept
    b.reset()
    res = []

    def one(i):
        try:
            res.append(t.get("/ka/burst%d" % i, timeout=10,
                             headers={"X-Be-Delay": "0.5"}).status)
        except Exception as e:
            res.append(str(e))

    ths = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(10)
    is_(sorted(res), [200] * 16, "16 concurrent requests succeed")
    ok(b.connections >= 9, "16 concurrent requests: more than 8 backend "
       "connections (%d)" % b.connections)
    ok(wait_for(lambda: b.open <= 8, 3), "keepalive 8: at most 8 idle "
       "connections are kept (%d open)" % b.open)
    ok(b.open >= 1, "keepalive 8: idle connections are kept (%d)" % b.open)

    # -- a backend that closes idle connections
    st = []
    for i in range(5):
        st += run("/idle/%d" % i, 1)
        time.sleep(0.6)
    is_(st, [200] * 5, "the backend closes idle connections between "
        "requests: no client error")
    ok(idle.connections >= 5, "... and new backend connections are made "
       "(%d)" % idle.connections)

    # -- a backend that closes a connection as it is reused
    st = run("/drop/%d", 10)
    is_(st, [200] * 10, "the backend closes a reused connection without "
        "answering: the request is retried on a new one, no client error")
    ok(drop.requests > 10, "... the backend did see requests on reused "
       "connections (%d requests, %d connections)" % (drop.requests,
                                                      drop.connections))

    t.stop()

for x in (b, idle, drop):
    x.close()
t.check_error_log()
sys.exit(done())
