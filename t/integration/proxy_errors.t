#!/usr/bin/env python3
# Upstream errors and retries.  A refused connect is a 502, a backend that
# does not answer within proxy_read_timeout a 504, one that cannot be
# reached within proxy_connect_timeout a 504; each is logged at [error] with
# "upstream", the client and the request, as nginx does.  proxy_next_upstream
# retries on the next server (error, timeout, http_500, http_502), never a
# non-idempotent request (POST) once it may have been sent, unless
# non_idempotent is listed; proxy_next_upstream_tries 1 and
# proxy_next_upstream off do not retry.

import os
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;

    upstream two    { server 127.0.0.1:%%PORT_DEAD%%;
                      server 127.0.0.1:%%PORT_B%%; }
    upstream deadb  { server 127.0.0.1:%%PORT_DEAD%% max_fails=0;
                      server 127.0.0.1:%%PORT_B%% backup; }
    upstream slow   { server 127.0.0.1:%%PORT_SLOW%% max_fails=0;
                      server 127.0.0.1:%%PORT_B%% backup; }
    upstream closer { server 127.0.0.1:%%PORT_CLOSER%% max_fails=0;
                      server 127.0.0.1:%%PORT_B%% backup; }
    upstream five   { server 127.0.0.1:%%PORT_FIVE%% max_fails=0;
                      server 127.0.0.1:%%PORT_B%% backup; }

    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /refused/ { proxy_pass http://127.0.0.1:%%PORT_DEAD%%; }
        location /rtimeout/ { proxy_read_timeout 1s;
                              proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /ctimeout/ { proxy_connect_timeout 1s;
                              proxy_pass http://127.0.0.1:%%PORT_HOLE%%; }
        location /closed/   { proxy_pass http://127.0.0.1:%%PORT_CLOSER%%; }

        location /two/      { proxy_pass http://two; }
        location /deadb/    { proxy_pass http://deadb; }
        location /slow/     { proxy_read_timeout 1s; proxy_pass http://slow; }
        location /slow-err/ { proxy_read_timeout 1s;
                              proxy_next_upstream error;
                              proxy_pass http://slow; }
        location /five/     { proxy_next_upstream error timeout http_500
                                                  http_502;
                              proxy_pass http://five; }
        location /five-def/ { proxy_pass http://five; }
        location /closer/   { proxy_pass http://closer; }
        location /closer-ni/ { proxy_next_upstream error timeout
                                                   non_idempotent;
                               proxy_pass http://closer; }
        location /tries1/   { proxy_next_upstream_tries 1;
                              proxy_pass http://closer; }
        location /nu-off/   { proxy_next_upstream off;
                              proxy_pass http://closer; }
    }
}
""")
DEAD = t.port("DEAD")          # nothing listens there
b = EchoBackend(t.port("B"), "B")
slow = EchoBackend(t.port("SLOW"), "SLOW")
slow.override = {"delay": "3"}
closer = EchoBackend(t.port("CLOSER"), "CLOSER")
closer.override = {"action": "close"}
five = EchoBackend(t.port("FIVE"), "FIVE")
hole = Blackhole(t.port("HOLE"), accept=False)
started = t.try_start("upstreams that fail")

REQ_INFO = (r'client: 127\.0\.0\.1, server: [^,]*, request: "%s %s HTTP/1\.1"'
            r', upstream: "http://127\.0\.0\.1:%d%s"')


def logged(regex, mark):
    """Wait (the worker may log after answering) for regex in the error log
    after mark; returns the log's new part."""
    wait_for(lambda: re.search(regex, t.error_log()[mark:]), 2.0)
    return t.error_log()[mark:]


def req(path, method="GET", **kw):
    t0 = time.monotonic()
    try:
        r = t.get(path, method=method, timeout=10,
                  body="post-body" if method == "POST" else None, **kw)
    except Exception as e:
        diag("%s %s: %s" % (method, path, e))
        return None, None, time.monotonic() - t0
    return r.status, r.header("x-be-name"), time.monotonic() - t0


if started:
    # -- 502: refused
    mark = len(t.error_log())
    r = t.get("/refused/x")
    is_(r.status, 502, "the upstream refuses: 502")
    like(r.body, r"<title>502 Bad Gateway</title>", "the 502 page")
    log = logged("refused", mark)
    like(log, r"\[error\] .*connect\(\) failed \(111: Connection refused\) "
         r"while connecting to upstream, " +
         REQ_INFO % ("GET", "/refused/x", DEAD, "/refused/x"),
         "refused: logged at [error], with the client, request and upstream")

    # -- 504: read timeout
    mark = len(t.error_log())
    st, who, secs = req("/rtimeout/x", headers={"X-Be-Delay": "3"})
    is_(st, 504, "no answer within proxy_read_timeout 1s: 504")
    ok(0.8 <= secs <= 2.5, "504 after about 1 s (%.2f s)" % secs)
    log = logged("timed out", mark)
    like(log, r"\[error\] .*upstream timed out \(110: Connection timed out\) "
         r"while reading response header from upstream, " +
         REQ_INFO % ("GET", "/rtimeout/x", t.port("B"), "/rtimeout/x"),
         "read timeout: logged at [error], with the client and request")

    # -- 504: connect timeout (a listener whose accept queue is full)
    if hole.full:
        mark = len(t.error_log())
        st, who, secs = req("/ctimeout/x")
        is_(st, 504, "no connection within proxy_connect_timeout 1s: 504")
        ok(0.8 <= secs <= 2.5, "504 after about 1 s (%.2f s)" % secs)
        log = logged("timed out", mark)
        like(log, r"\[error\] .*upstream timed out \(110: Connection timed "
             r"out\) while connecting to upstream, " +
             REQ_INFO % ("GET", "/ctimeout/x", t.port("HOLE"), "/ctimeout/x"),
             "connect timeout: logged at [error]")
    else:
        skip("cannot fill an accept queue on this system", 3)

    # -- 502: closed without an answer
    mark = len(t.error_log())
    st, who, secs = req("/closed/x")
    is_(st, 502, "the upstream closes without answering: 502")
    log = logged("prematurely", mark)
    like(log, r"\[error\] .*upstream prematurely closed connection while "
         r"reading response header from upstream, " +
         REQ_INFO % ("GET", "/closed/x", t.port("CLOSER"), "/closed/x"),
         "closed early: logged at [error]")

    # -- next upstream: a refusing server among two
    got = [req("/two/%d" % i)[:2] for i in range(10)]
    is_(got, [(200, "B")] * 10,
        "two servers, one refusing: every request gets 200 from the other")
    st, who, secs = req("/deadb/post", "POST")
    is_((st, who), (200, "B"), "a POST whose connect was refused is retried "
        "(it was never sent)")

    # -- next upstream: timeout
    slow.reset()
    st, who, secs = req("/slow/x")
    is_((st, who), (200, "B"), "proxy_next_upstream timeout: a slow server's "
        "request goes to the next one")
    ok(0.8 <= secs <= 2.5, "... after the 1 s read timeout (%.2f s)" % secs)
    is_(slow.requests, 1, "the slow server got the request first")
    st, who, secs = req("/slow-err/x")
    is_(st, 504, "proxy_next_upstream error (no timeout): 504, no retry")

    # -- next upstream: http_500, http_502
    for code in ("500", "502"):
        five.override = {"status": code}
        five.reset()
        b.reset()
        st, who, secs = req("/five/x")
        is_((st, who, five.requests), (200, "B", 1),
            "proxy_next_upstream http_%s: the %s is retried on the next "
            "server" % (code, code))
        st, who, secs = req("/five-def/x")
        is_((st, who), (int(code), "FIVE"), "default proxy_next_upstream: "
            "the upstream's %s is passed to the client" % code)

    # -- no retry of a request that may have been sent
    closer.reset()
    b.reset()
    st, who, secs = req("/closer/get")
    is_((st, who), (200, "B"), "GET, the server closes after reading the "
        "request: retried on the next server")
    is_(closer.requests, 1, "... after the first server got it")
    closer.reset()
    b.reset()
    mark = len(t.error_log())
    st, who, secs = req("/closer/post", "POST")
    is_(st, 502, "POST, the server closes after reading the request: 502, "
        "not retried")
    is_((closer.requests, b.requests), (1, 0),
        "the POST reached the first server only")
    st, who, secs = req("/closer-ni/post", "POST")
    is_((st, who), (200, "B"), "proxy_next_upstream non_idempotent: the POST "
        "is retried")
    b.reset()
    st, who, secs = req("/tries1/get")
    is_((st, b.requests), (502, 0), "proxy_next_upstream_tries 1: no retry")
    st, who, secs = req("/nu-off/get")
    is_((st, b.requests), (502, 0), "proxy_next_upstream off: no retry")

    t.stop()

for x in (b, slow, closer, five, hole):
    x.close()
t.check_error_log()
sys.exit(done())
