#!/usr/bin/env python3
# Bodies through the proxy, checked by sha256: 20 MB request bodies
# (Content-Length and chunked) reach the backend intact; 20 MB responses
# (Content-Length, chunked, close-delimited) reach the client intact; an
# HTTP/1.0 client never gets chunked; a client that reads slowly while the
# backend sends 100 MB costs the worker bounded memory (backpressure or a
# temporary file, not RAM) and still gets every byte; proxy_buffering off
# passes bytes on as they come; proxy_request_buffering off passes the
# request on before its body is complete.

import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

MB = 1 << 20

t = Usher(r"""
events { }
worker_processes 1;
http {
    access_log off;
    client_max_body_size 64m;

    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /    { proxy_http_version 1.1;
                        proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /v10/ { proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /nobuf/ { proxy_buffering off;
                        proxy_http_version 1.1;
                        proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /noreqbuf/ { proxy_request_buffering off;
                        proxy_http_version 1.1;
                        proxy_pass http://127.0.0.1:%%PORT_B%%; }
    }
}
""")
b = EchoBackend(t.port("B"), "B")
A = t.port("A")
started = t.try_start("a proxy for big bodies")

if started:
    # -- request bodies
    n = 20 * MB
    for chunked in (False, True):
        what = "chunked" if chunked else "Content-Length"
        for path in ("/req", "/v10/req"):
            r = stream_request(A, "POST", path, body_len=n, chunked=chunked,
                               timeout=30)
            e = echo_of(r.head.decode("latin-1")) if r.head else None
            is_((r.status, e and e["body_len"], e and e["body_sha256"]),
                (200, n, pattern_sha256(n)),
                "a 20 MB %s request body reaches the backend intact (%s)"
                % (what, "HTTP/1.0 upstream" if "v10" in path
                   else "HTTP/1.1 upstream")) or diag(r)

    # -- response bodies
    for mode in ("fixed", "chunked", "close"):
        r = stream_request(A, "GET", "/resp/" + mode, timeout=30, headers={
            "X-Be-Len": str(n), "X-Be-Mode": mode})
        is_((r.status, r.body_len, r.sha256, r.complete),
            (200, n, pattern_sha256(n), True),
            "a 20 MB %s response reaches the client intact" % mode) \
            or diag(r)
        if mode == "fixed":
            is_(r.header("content-length"), str(n),
                "a fixed-length response keeps its Content-Length")

    # -- an HTTP/1.0 client
    for mode in ("chunked", "close", "fixed"):
        r = stream_request(A, "GET", "/old/" + mode, version="HTTP/1.0",
                           timeout=30, headers={"X-Be-Len": str(MB + 7),
                                                "X-Be-Mode": mode})
        is_((r.status, r.body_len, r.sha256),
            (200, MB + 7, pattern_sha256(MB + 7)),
            "HTTP/1.0 client, %s upstream response: the body intact" % mode) \
            or diag(r)
        ok(r.framing in ("close", "length") and
           r.header("transfer-encoding") is None,
           "HTTP/1.0 client, %s upstream response: close- or "
           "length-delimited, never chunked" % mode) \
            or diag("framing %s, headers %r" % (r.framing, r.headers))

    # -- a slow reader while the backend sends 100 MB
    workers = t.worker_pids()
    is_(len(workers), 1, "one worker")
    w = workers[0] if workers else None
    base = worker_rss_kb(w) if w else None
    big = 100 * MB
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(10)
    s.connect(("127.0.0.1", A))
    s.sendall(("GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Be-Len: %d\r\n"
               "Connection: close\r\n\r\n" % big).encode())
    got = bytearray()
    peak = base or 0
    end = time.monotonic() + 3.0
    s.settimeout(1.0)
    while time.monotonic() < end:
        try:
            got += s.recv(16384)
        except socket.timeout:
            pass
        time.sleep(0.05)
        rss = worker_rss_kb(w) if w else None
        if rss:
            peak = max(peak, rss)
    head, _, first = bytes(got).partition(b"\r\n\r\n")
    like(head, r"^HTTP/1\.1 200 ", "slow reader: 200")
    ok(len(got) < 4 * MB, "slow reader: the client read little so far "
       "(%d bytes)" % len(got))
    diag("worker RSS %s kB before, %s kB at most while the client reads "
         "slowly" % (base, peak))
    ok(base is not None and peak - base < 64 * 1024,
       "slow reader, 100 MB response: the worker's RSS grows by less than "
       "64 MB (%s kB)" % (peak - base if base else None))
    # then read the rest at full speed: nothing is lost
    h = hashlib.sha256(first)
    total = len(first)
    s.settimeout(10)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            h.update(d)
            total += len(d)
            if total >= big:
                break
    except OSError as e:
        diag("reading the rest: %s" % e)
    s.close()
    is_((total, h.hexdigest()), (big, pattern_sha256(big)),
        "slow reader: then every byte of the 100 MB arrives, intact")

    # -- proxy_buffering off: bytes pass as they come
    for mode in ("fixed", "chunked"):
        r = stream_request(A, "GET", "/nobuf/" + mode, timeout=10, headers={
            "X-Be-Len": "100000", "X-Be-Part": "1000", "X-Be-Pause": "1",
            "X-Be-Mode": mode})
        is_((r.status, r.body_len, r.sha256), (200, 100000,
                                               pattern_sha256(100000)),
            "proxy_buffering off (%s): the body intact" % mode)
        ok(r.t_first is not None and r.t_first < 0.5,
           "proxy_buffering off (%s): the first bytes arrive at once, while "
           "the backend waits 1 s" % mode) \
            or diag("first byte after %s s" % r.t_first)
        ok(r.t_done is not None and r.t_done >= 0.9,
           "proxy_buffering off (%s): the rest after the backend's pause"
           % mode) or diag("done after %s s" % r.t_done)

    # -- proxy_request_buffering: when does the backend see the request?
    def half_sent(path, chunked):
        """Send the head and half a 200 kB body, wait 1 s; returns whether
        the backend saw the request head meanwhile, and the response after
        the rest was sent."""
        size = 200000
        body = pattern(size)
        before = b.heads
        c = t.conn(timeout=10)
        hdrs = [("X-Test", "half")]
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
            wire = b"%x\r\n" % (size // 2) + body[:size // 2] + b"\r\n"
            rest = (b"%x\r\n" % (size - size // 2) + body[size // 2:] +
                    b"\r\n0\r\n\r\n")
        else:
            hdrs.append(("Content-Length", str(size)))
            wire, rest = body[:size // 2], body[size // 2:]
        c.request("POST", path, hdrs, None)
        c.send(wire)
        seen = bool(wait_for(lambda: b.heads > before, 1.0))
        c.send(rest)
        try:
            r = c.read_response(timeout=10)
        except Exception as ex:
            diag("%s: %s" % (path, ex))
            r = None
        c.close()
        e = echo_of(r) if r else None
        return seen, r and r.status, e and (e["body_len"], e["body_sha256"])

    want = (200, (200000, pattern_sha256(200000)))
    seen, st, got = half_sent("/noreqbuf/cl", False)
    ok(seen, "proxy_request_buffering off: the backend gets the request "
       "before the body is complete")
    is_((st, got), want, "proxy_request_buffering off: the body intact")
    seen, st, got = half_sent("/noreqbuf/chunked", True)
    ok(seen, "proxy_request_buffering off, HTTP/1.1 upstream: a chunked "
       "body streams too")
    is_((st, got), want,
        "proxy_request_buffering off, chunked: the body intact")
    seen, st, got = half_sent("/buffered", False)
    ok(not seen, "proxy_request_buffering on (default): the backend gets "
       "nothing before the body is complete")
    is_((st, got), want, "proxy_request_buffering on: the body intact")

    t.stop()

b.close()
t.check_error_log()
sys.exit(done())
