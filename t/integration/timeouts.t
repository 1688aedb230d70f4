#!/usr/bin/env python3
# Client timeouts: client_header_timeout, keepalive_timeout,
# keepalive_requests, client_body_timeout.  A timed-out client is closed
# (nginx closes without an answer; a 408 answer is tolerated), and other
# clients are served meanwhile.

import os
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;
    client_header_timeout 1s;
    client_body_timeout 1s;
    keepalive_timeout 1s;
    keepalive_requests 3;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { return 200 "ok\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_LONG%%;
        keepalive_timeout 10s;
        location / { return 200 "long\n"; }
    }
}
""")
t.start()


def timed_close(c, limit=4.0):
    """Seconds until the server closes c (None if it does not), and the
    bytes it sent before."""
    t0 = time.monotonic()
    closed = c.closed(limit)
    return (time.monotonic() - t0 if closed else None), c.buf


def silent_or_408(data):
    return data == b"" or data.startswith(b"HTTP/1.1 408 ")


# client_header_timeout: half a request line, then nothing.
for name, partial in (("half a request line", "GET / HTT"),
                      ("half the headers", "GET / HTTP/1.1\r\nHost: a\r\nX-A:"),
                      ("nothing at all", "")):
    with t.conn() as c:
        if partial:
            c.send(partial)
        t0 = time.monotonic()
        # Another client is served while this one stalls.
        r = t.get("/")
        ok(r.status == 200 and time.monotonic() - t0 < 0.8,
           "client_header_timeout (%s): another client is served meanwhile"
           % name)
        secs, data = timed_close(c)
        ok(secs is not None and 0.5 <= time.monotonic() - t0 <= 3.0,
           "client_header_timeout 1s (%s): closed after about 1 s" % name) \
            or diag("closed after %r s" % secs)
        ok(silent_or_408(data), "client_header_timeout (%s): no response "
           "other than a 408" % name) or diag(repr(data))

# keepalive_timeout: an idle keep-alive connection is closed.
with t.conn() as c:
    r = c.get("/")
    is_(r.status, 200, "a first request on a keep-alive connection")
    t0 = time.monotonic()
    secs, data = timed_close(c)
    ok(secs is not None and 0.5 <= secs <= 3.0,
       "keepalive_timeout 1s: the idle connection is closed after about 1 s") \
        or diag("closed after %r s" % secs)
    is_(data, b"", "keepalive_timeout: nothing is sent on close")

with t.conn(port="LONG") as c:
    r = c.get("/")
    secs, data = timed_close(c, 2.0)
    is_(secs, None, "keepalive_timeout 10s: still open after 2 s")
    r = c.get("/")
    is_((r.status, r.body), (200, "long\n"),
        "keepalive_timeout 10s: a second request after 2 s idle")

# keepalive_requests: the third request's response closes the connection.
with t.conn() as c:
    conns = []
    for i in range(3):
        r = c.get("/")
        conns.append((r.status, r.header("connection")))
    is_(conns, [(200, "keep-alive"), (200, "keep-alive"), (200, "close")],
        "keepalive_requests 3: the third response says Connection: close")
    ok(c.closed(2), "keepalive_requests 3: closed after the third response")

t.stop()

# client_body_timeout: a body that stops half-way, in a location that reads
# the body (proxy_pass: the whole body is read before the backend is asked).
t.write_conf(r"""
events { }
http {
    access_log off;
    client_body_timeout 1s;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        location /proxy { proxy_pass http://127.0.0.1:%%PORT_BACKEND%%; }
    }
}
""")
backend = Backend(t.port("BACKEND"))
if t.try_start("a proxy_pass location"):
    r = t.get("/proxy/full", method="POST", body="0123456789")
    is_((r.status, r.body), (200, "backend POST /proxy/full 10\n"),
        "a full body is read and proxied")

    for name, req in (("Content-Length body",
                       "POST /proxy/a HTTP/1.1\r\nHost: a\r\n"
                       "Content-Length: 10\r\n\r\nabc"),
                      ("chunked body",
                       "POST /proxy/b HTTP/1.1\r\nHost: a\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")):
        with t.conn() as c:
            seen = backend.requests
            c.send(req)
            secs, data = timed_close(c)
            ok(secs is not None and 0.5 <= secs <= 3.0,
               "client_body_timeout 1s (%s): closed after about 1 s" % name) \
                or diag("closed after %r s" % secs)
            ok(silent_or_408(data), "client_body_timeout (%s): no response "
               "other than a 408" % name) or diag(repr(data))
            is_(backend.requests, seen, "client_body_timeout (%s): nothing "
                "sent to the backend" % name)
    t.stop()
backend.close()
t.check_error_log()
sys.exit(done())
