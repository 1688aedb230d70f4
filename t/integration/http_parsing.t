#!/usr/bin/env python3
# The HTTP/1.x request parser, over raw sockets: what is rejected (and the
# connection closed), the limits, and the framing that must work
# (keep-alive, pipelining, chunked bodies, Expect: 100-continue, HEAD).

import os
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        client_max_body_size 100;
        location / { return 200 "ok $request_method $uri $args\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_SMALL%%;
        client_header_buffer_size 1k;
        large_client_header_buffers 2 1k;
        location / { return 200 "small\n"; }
    }
}
""")
t.start()

H = "Host: a\r\n"

# (name, request, expected status, None or why nginx is excused)
REJECT = [
    ("Content-Length and Transfer-Encoding",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400, None),
    ("two differing Content-Length",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 4\r\n"
     "\r\nabcd", 400, None),
    ("two equal Content-Length",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 3\r\n"
     "\r\nabc", 400, None),
    ("Content-Length: abc",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: abc\r\n\r\n", 400, None),
    ("Content-Length: -1",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400, None),
    ("Content-Length: 1 2",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\nab", 400, None),
    ("Content-Length: +3",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: +3\r\n\r\nabc", 400, None),
    ("Transfer-Encoding: gzip (not implemented)",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n", 501, None),
    ("Transfer-Encoding: chunked, gzip (chunked not last)",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n",
     400, "nginx answers 501 to any coding other than chunked alone"),
    ("Transfer-Encoding in HTTP/1.0",
     "POST / HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n", 400, None),
    ("bad chunk size",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
     "zz\r\nabc\r\n0\r\n\r\n", 400, None),
    ("chunk size overflow",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
     "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400, None),
    ("chunk data not followed by CRLF",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
     "3\r\nabcX\r\n0\r\n\r\n", 400, None),
    ("obs-fold",
     "GET / HTTP/1.1\r\n" + H + "X-Fold: a\r\n b\r\n\r\n", 400, None),
    ("whitespace before the colon",
     "GET / HTTP/1.1\r\n" + H + "X-Sp : a\r\n\r\n", 400, None),
    ("a space in a header name",
     "GET / HTTP/1.1\r\n" + H + "Bad Name: x\r\n\r\n", 400, None),
    ("an empty header name",
     "GET / HTTP/1.1\r\n" + H + ":x\r\n\r\n", 400, None),
    ("a control character in a header value",
     "GET / HTTP/1.1\r\n" + H + "X-Ctl: a\x01b\r\n\r\n", 400,
     "nginx accepts control characters other than NUL, CR, LF in values"),
    ("NUL in a header value",
     "GET / HTTP/1.1\r\n" + H + "X-Nul: a\x00b\r\n\r\n", 400, None),
    ("bad method token",
     "G(T / HTTP/1.1\r\n" + H + "\r\n", 400, None),
    ("a space in the target",
     "GET /a b HTTP/1.1\r\n" + H + "\r\n", 400, None),
    ("bad protocol name",
     "GET / HTTX/1.1\r\n" + H + "\r\n", 400, None),
    ("HTTP/1.1 without Host",
     "GET / HTTP/1.1\r\n\r\n", 400, None),
    ("Host: . (no name once the root dot goes)",
     "GET / HTTP/1.1\r\nHost: .\r\n\r\n", 400, None),
    ("absolute-form with the host \".\"",
     "GET http://./ HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
    ("two Host headers",
     "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, None),
    ("HTTP/2.0 in a request line", "GET / HTTP/2.0\r\n" + H + "\r\n", 505,
     None),
    ("HTTP/3.0 in a request line", "GET / HTTP/3.0\r\n" + H + "\r\n", 505,
     None),
    ("request line over 8k (default large_client_header_buffers)",
     "GET /" + "a" * 9000 + " HTTP/1.1\r\n" + H + "\r\n", 414, None),
    ("target above the root", "GET /../x HTTP/1.1\r\n" + H + "\r\n", 400,
     None),
]

rep = raw(t.port("A"), "TRACE / HTTP/1.1\r\n" + H + "\r\n")
ok(rep.status == 405 and rep.closed, "TRACE: 405, and the connection closed")

NEXT = "GET /next HTTP/1.1\r\n" + H + "\r\n"

for name, req, status, lenient in REJECT:
    if lenient and not usher_only(lenient):
        continue
    # A pipelined request follows: it must never be answered.
    reply = t.raw(req + NEXT, timeout=3)
    ok(reply.status == status and reply.closed,
       "%s: %d and the connection is closed" % (name, status)) or \
        diag("got %r (closed: %s)" % (bytes(reply[:300]), reply.closed))
    ok(b"ok GET /next" not in reply, "%s: the request after it is not "
       "served" % name)

# Headers over the limit: 400 (nginx: "Request Header Or Cookie Too Large")
# or 431.
for name, port, req in (
        ("a header over 8k", "A",
         "GET / HTTP/1.1\r\n" + H + "X-Long: " + "a" * 9000 + "\r\n\r\n"),
        ("a cookie over 8k", "A",
         "GET / HTTP/1.1\r\n" + H + "Cookie: " + "a" * 9000 + "\r\n\r\n"),
        ("a header over a 1k buffer", "SMALL",
         "GET / HTTP/1.1\r\n" + H + "X-Long: " + "a" * 1500 + "\r\n\r\n"),
        ("headers over 2 buffers of 1k", "SMALL",
         "GET / HTTP/1.1\r\n" + H + "".join(
             "X-%d: %s\r\n" % (i, "a" * 900) for i in range(5)) + "\r\n")):
    reply = t.raw(req, port=port, timeout=3)
    ok(reply.status in (400, 431) and reply.closed,
       "%s: 400 or 431 and closed" % name) or diag(repr(bytes(reply[:200])))

reply = t.raw("GET /" + "a" * 1500 + " HTTP/1.1\r\n" + H + "\r\n",
              port="SMALL", timeout=3)
ok(reply.status == 414 and reply.closed,
   "request line over a 1k large_client_header_buffers: 414")
reply = t.raw("GET /" + "a" * 800 + " HTTP/1.1\r\n" + H + "X-A: " + "b" * 800
              + "\r\n\r\n", port="SMALL", timeout=3, read_until_close=False)
is_(reply.status, 200, "request line and header each within a 1k buffer")

# Body over client_max_body_size: 413 as soon as the head is read.
with t.conn() as c:
    c.send("POST / HTTP/1.1\r\n" + H + "Content-Length: 101\r\n\r\n")
    r = c.read_response(timeout=3)
    is_(r and r.status, 413, "Content-Length over client_max_body_size: 413 "
        "before the body is sent")
    is_(r and r.header("connection"), "close", "413 says Connection: close")

# -- what must work

r = t.get("http://abs.test/p?q", host="a")
is_((r.status, r.body), (200, "ok GET /p q\n"), "absolute-form target")

r = t.get("/x", host=None, version="HTTP/1.0")
is_((r.status, r.body), (200, "ok GET /x \n"), "HTTP/1.0 without Host")

# RFC 9112 2.2: a bare LF may end a line of the head (nginx-tests, netcat
# and old clients send them); a bare CR may not
with t.conn() as c:
    c.send("\nGET /lf HTTP/1.1\nHost: a\nX-A: b \n\nGET /lf2 HTTP/1.1\r\n"
           "Host: a\n\r\n")
    r1 = c.read_response(timeout=3)
    r2 = c.read_response(timeout=3)
    is_((r1 and r1.status, r1 and r1.body, r2 and r2.status, r2 and r2.body),
        (200, "ok GET /lf \n", 200, "ok GET /lf2 \n"),
        "bare LF line ends, and LF mixed with CRLF: accepted")
reply = t.raw("GET /cr HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", timeout=3)
is_(reply.status, 400, "a bare CR in the head: 400")

with t.conn() as c:
    c.send("GET /one HTTP/1.1\r\n" + H + "\r\n")
    r1 = c.read_response()
    c.send("GET /two HTTP/1.1\r\n" + H + "\r\n")
    r2 = c.read_response()
    is_((r1.status, r1.body, r2.status, r2.body),
        (200, "ok GET /one \n", 200, "ok GET /two \n"),
        "keep-alive: two requests on one connection")
    is_(r1.header("connection"), "keep-alive",
        "HTTP/1.1 response says Connection: keep-alive")

with t.conn() as c:
    c.send("".join("GET /%d HTTP/1.1\r\n%s\r\n" % (i, H) for i in (1, 2, 3)))
    bodies = [c.read_response().body for _ in range(3)]
    is_(bodies, ["ok GET /1 \n", "ok GET /2 \n", "ok GET /3 \n"],
        "pipelining: 3 requests in one write, 3 responses in order")

with t.conn() as c:
    c.send("GET /c HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    r = c.read_response()
    is_((r.status, r.header("connection")), (200, "close"),
        "Connection: close is answered with Connection: close")
    ok(c.closed(3), "Connection: close: closed after the response")

with t.conn() as c:
    c.send("GET /c HTTP/1.0\r\n" + H + "\r\n")
    r = c.read_response()
    ok(r.status == 200 and c.closed(3), "HTTP/1.0 without keep-alive: closed")

def read_or_none(c, timeout=3):
    try:
        return c.read_response(timeout=timeout)
    except (OSError, EOFError) as e:
        diag("read: %s: %s" % (type(e).__name__, e))
        return None


with t.conn() as c:
    c.send("POST /e HTTP/1.1\r\n" + H + "Content-Length: 3\r\n"
           "Expect: 100-continue\r\n\r\n")
    r = read_or_none(c)
    is_(r and (r.status, r.raw_head), (100, b"HTTP/1.1 100 Continue"),
        "Expect: 100-continue: 100 Continue first")
    c.send("abc" + "GET /after-expect HTTP/1.1\r\n" + H + "\r\n")
    if r is not None and r.status == 100:
        r = read_or_none(c)
    is_(r and (r.status, r.body), (200, "ok POST /e \n"),
        "Expect: 100-continue: then the final response")
    r = read_or_none(c)
    is_(r and (r.status, r.body), (200, "ok GET /after-expect \n"),
        "Expect: 100-continue: the next request on the connection")

with t.conn() as c:
    c.send("POST /ch HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
           "3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: x\r\n\r\n"
           "GET /after HTTP/1.1\r\n" + H + "\r\n")
    r1, r2 = c.read_response(), c.read_response()
    is_((r1.status, r1.body), (200, "ok POST /ch \n"),
        "a chunked request body (extension, trailer) is accepted")
    is_((r2.status, r2.body), (200, "ok GET /after \n"),
        "the next request after a chunked body")

with t.conn() as c:
    body = "GET /smuggled HTTP/1.1\r\n" + H + "\r\n"
    c.send("POST /p HTTP/1.1\r\n" + H + "Content-Length: %d\r\n\r\n%s"
           % (len(body), body) + "GET /real HTTP/1.1\r\n" + H
           + "Connection: close\r\n\r\n")
    r1, r2 = c.read_response(), c.read_response()
    is_((r1.body, r2.body), ("ok POST /p \n", "ok GET /real \n"),
        "a body that looks like a request is skipped as a body")
    is_(c.read_response(), None, "no third response")

with t.conn() as c:
    c.send("HEAD /h HTTP/1.1\r\n" + H + "\r\nGET /g HTTP/1.1\r\n" + H + "\r\n")
    r = c.read_response(head_request=True)
    is_((r.status, r.header("content-length")), (200, "12"),
        "HEAD: the headers of the GET response")
    r2 = c.read_response()
    is_((r2.status, r2.body), (200, "ok GET /g \n"),
        "HEAD: no body (the next response follows the head directly)")

r = t.get("/", headers={"X-Utf": "caf\xc3\xa9", "X-Under_score": "x"})
is_(r.status, 200, "UTF-8 in a value and an underscore in a name are fine")

with t.conn() as c:
    c.send("POST /u HTTP/1.1\r\n" + H + "Transfer-Encoding: Chunked\r\n\r\n"
           "0\r\n\r\n")
    r = c.read_response()
    is_((r.status, r.body), (200, "ok POST /u \n"),
        "Transfer-Encoding value is case-insensitive")

t.stop()
t.check_error_log()
sys.exit(done())
