#!/usr/bin/env python3
# WebSocket through the proxy, the documented way: proxy_http_version 1.1,
# "proxy_set_header Upgrade $http_upgrade" and "Connection upgrade" (or the
# map $http_upgrade $connection_upgrade idiom).  The 101 passes, the
# connection becomes a tunnel that carries frames both ways until either
# side closes or it is idle longer than proxy_read_timeout.  Without the
# Upgrade header passed, there is no upgrade.

import os
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

LOCATIONS = r"""
        location /ws/ {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection CONNECTION;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /noup/ {
            proxy_http_version 1.1;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
"""

CONF = r"""
events { }
http {
    access_log off;
MAP
    server {
        listen 127.0.0.1:%%PORT_A%%;
LOCATIONS
    }
}
""".replace("LOCATIONS", LOCATIONS)

PLAIN = CONF.replace("MAP", "").replace("CONNECTION", '"upgrade"')
MAPPED = CONF.replace("MAP", """
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
""").replace("CONNECTION", "$connection_upgrade")

b = None


def exercise(t, what, mapped=False):
    """The WebSocket tests against a running instance t."""
    A = t.port("A")
    if mapped:
        r = t.get("/ws/plain")
        e = echo_of(r)
        is_((r.status, echo_header(e, "Connection"),
             echo_header(e, "Upgrade")), (200, "close", None),
            "%s: a request without Upgrade: Connection: close and no "
            "Upgrade to the backend" % what)
    c, r = ws_handshake(A, "/ws/chat")
    is_(r and r.status, 101, "%s: the handshake is answered 101" % what)
    if not r or r.status != 101:
        c.close()
        return
    is_((r.header("upgrade") or "").lower(), "websocket",
        "%s: Upgrade: websocket" % what)
    is_((r.header("connection") or "").lower(), "upgrade",
        "%s: Connection: upgrade" % what)
    is_(r.header("sec-websocket-accept"), c.expected_accept,
        "%s: the backend's Sec-WebSocket-Accept passes" % what)
    e = b.log[-1] if b.log else None
    is_((echo_header(e, "Upgrade"), (echo_header(e, "Connection") or "")
         .lower(), e and e["version"]), ("websocket", "upgrade", "HTTP/1.1"),
        "%s: the backend got Upgrade, Connection: upgrade, HTTP/1.1" % what)

    c.send(0x1, "hello")
    is_(c.recv(), (0x1, b"hello"), "%s: a text frame is echoed" % what)
    big = pattern(100000)
    c.send(0x2, big)
    f = c.recv()
    ok(f and f[0] == 0x2 and f[1] == big,
       "%s: a 100 kB binary frame is echoed intact" % what) or diag(c.error)
    if f is None:
        c.close()
        return
    for i in range(10):
        c.send(0x1, "msg %d" % i)
    got = [c.recv() for i in range(10)]
    is_(got, [(0x1, ("msg %d" % i).encode()) for i in range(10)],
        "%s: ten frames in a row, echoed in order" % what)
    c.send(0x9, "are you there")
    is_(c.recv(), (0xA, b"are you there"), "%s: ping, pong" % what)

    # traffic keeps the tunnel open past proxy_read_timeout
    alive = True
    for i in range(5):
        time.sleep(0.4)
        alive = alive and c.send(0x1, "tick %d" % i) and \
            c.recv() == (0x1, ("tick %d" % i).encode())
    ok(alive, "%s: a tunnel in use stays open for 2 s with "
       "proxy_read_timeout 1s" % what)

    # idle: closed after proxy_read_timeout
    t0 = time.monotonic()
    closed = c.closed(4.0)
    secs = time.monotonic() - t0
    ok(closed and 0.7 <= secs <= 2.5, "%s: an idle tunnel is closed after "
       "proxy_read_timeout 1s" % what) or diag("closed %s after %.2f s" % (
           closed, secs))
    c.close()

    # a close frame ends the tunnel
    c, r = ws_handshake(A, "/ws/close")
    c.send(0x1, "x")
    c.recv()
    c.send(0x8, b"\x03\xe8")
    is_(c.recv(), (0x8, b"\x03\xe8"), "%s: close is answered by close" % what)
    ok(c.closed(2.0), "%s: then the connection closes" % what)
    c.close()

    # the Upgrade header not passed: no upgrade
    c, r = ws_handshake(A, "/noup/x")
    is_(r and r.status, 200, "%s: without Upgrade passed to the backend, no "
        "upgrade (200)" % what)
    e = b.log[-1] if b.log else None
    is_(echo_header(e, "Upgrade"), None,
        "%s: ... the client's Upgrade was not passed" % what)
    c.close()


t = Usher(PLAIN)
b = EchoBackend(t.port("B"), "B")
if t.try_start("WebSocket with Connection \"upgrade\""):
    exercise(t, "Connection \"upgrade\"")
    t.stop()
t.check_error_log()

t2 = Usher()
t2.ports["B"] = t.port("B")     # the same backend
t2.write_conf(MAPPED)
if t2.try_start("WebSocket with the map idiom"):
    exercise(t2, "map $connection_upgrade", mapped=True)
    t2.stop()
b.close()
t2.check_error_log()
sys.exit(done())
