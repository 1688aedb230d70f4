#!/usr/bin/env python3
# Headers through the proxy.
# Request side: Host is $proxy_host (the upstream as written), the request
# goes as HTTP/1.0 with "Connection: close" unless proxy_http_version 1.1;
# proxy_set_header adds or overrides (an empty value removes, a level that
# sets any replaces the inherited ones), proxy_pass_request_headers off
# sends none of the client's; $proxy_add_x_forwarded_for appends the client
# to an incoming chain; hop-by-hop headers are not passed.  Client headers
# keep their order, case and repeats.
# Response side: proxy_hide_header, proxy_pass_header, the Server and Date
# are the proxy's own (the upstream's hidden), X-Pad and X-Accel-* hidden,
# proxy_redirect default/off/explicit rewrite Location, add_header works on
# proxied responses.

import os
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;

    upstream named { server 127.0.0.1:%%PORT_B%%; }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        proxy_set_header X-Level server;

        location /plain/  { proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /named/  { proxy_pass http://named; }
        location /v11/    { proxy_http_version 1.1;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /set/ {
            proxy_set_header Host "set.example";
            proxy_set_header X-Custom "c-$request_method";
            proxy_set_header User-Agent "";
            proxy_set_header X-Empty "";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /host/   { proxy_set_header Host $host;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /nohdr/  { proxy_pass_request_headers off;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /xff/    { proxy_set_header X-Forwarded-For
                                $proxy_add_x_forwarded_for;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }

        location /hide/   { proxy_hide_header X-Secret;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /passhdr/ { proxy_pass_header Server;
                            proxy_pass_header X-Accel-Expires;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /redir/  { proxy_pass http://127.0.0.1:%%PORT_B%%/back/; }
        location /nredir/ { proxy_pass http://named/n/; }
        location /redir-off/ { proxy_redirect off;
                            proxy_pass http://127.0.0.1:%%PORT_B%%/back/; }
        location /redir-x/ { proxy_redirect http://backend.example/
                                           http://front.example/;
                            proxy_pass http://127.0.0.1:%%PORT_B%%/back/; }
        location /add/    { add_header X-Added yes;
                            add_header X-Always yes always;
                            proxy_pass http://127.0.0.1:%%PORT_B%%; }
    }
}
""")
B = "127.0.0.1:%d" % t.port("B")
b = EchoBackend(t.port("B"), "B")
started = t.try_start("proxy_set_header, proxy_hide_header, proxy_redirect")


def echo(path, headers=None, **kw):
    """(response, echo) for path."""
    try:
        r = t.get(path, headers=headers, **kw)
    except Exception as e:
        diag("%s: %s" % (path, e))
        return None, None
    return r, echo_of(r)


if started:
    # -- defaults
    r, e = echo("/plain/x", host="front.example")
    is_(echo_headers(e, "Host"), [B],
        "default Host: $proxy_host, the upstream's host:port as written")
    is_(e and e["version"], "HTTP/1.0",
        "default: the request goes as HTTP/1.0")
    is_(echo_headers(e, "Connection"), ["close"],
        "default: Connection: close")
    is_(echo_headers(e, "X-Level"), ["server"],
        "proxy_set_header at server level is inherited")
    r, e = echo("/named/x")
    is_(echo_headers(e, "Host"), ["named"],
        "default Host with an upstream block: its name")
    r, e = echo("/v11/x")
    is_((e and e["version"], echo_headers(e, "Connection")),
        ("HTTP/1.1", ["close"]),
        "proxy_http_version 1.1: HTTP/1.1, still Connection: close")

    # -- client headers: order, case, repeats
    r, e = echo("/plain/order", headers=[
        ("x-lower", "1"), ("X-MiXed-Case", "2"), ("X-Dup", "a"),
        ("X-Other", "3"), ("X-Dup", "b"), ("User-Agent", "t/1")])
    got = [(k, v) for k, v in (e["headers"] if e else [])
           if k.lower() in ("x-lower", "x-mixed-case", "x-dup", "x-other",
                            "user-agent")]
    is_(got, [("x-lower", "1"), ("X-MiXed-Case", "2"), ("X-Dup", "a"),
              ("X-Other", "3"), ("X-Dup", "b"), ("User-Agent", "t/1")],
        "client headers pass in order, with their case, repeats kept")

    # -- proxy_set_header
    r, e = echo("/set/x", headers={"User-Agent": "agent/1",
                                   "X-Empty": "client-value"})
    is_(echo_headers(e, "Host"), ["set.example"],
        "proxy_set_header Host overrides $proxy_host")
    is_(echo_headers(e, "X-Custom"), ["c-GET"],
        "proxy_set_header with a variable")
    is_(echo_headers(e, "User-Agent"), [],
        "proxy_set_header User-Agent \"\": the client's is not passed")
    is_(echo_headers(e, "X-Empty"), [],
        "proxy_set_header X-Empty \"\": the client's header is removed")
    is_(echo_headers(e, "X-Level"), [],
        "proxy_set_header in a location replaces the server level's")
    is_(echo_headers(e, "Connection"), ["close"],
        "with proxy_set_header: Connection: close is still sent")
    r, e = echo("/host/x", host="front.example:8080")
    is_(echo_headers(e, "Host"), ["front.example"],
        "proxy_set_header Host $host: the client's host, no port")

    # -- proxy_pass_request_headers off
    r, e = echo("/nohdr/x", headers={"X-Client": "1", "Cookie": "a=b",
                                     "User-Agent": "agent/1"})
    names = sorted(k.lower() for k, v in (e["headers"] if e else []))
    is_(names, ["connection", "host", "x-level"],
        "proxy_pass_request_headers off: only the proxy's own headers")

    # -- X-Forwarded-For
    r, e = echo("/xff/x")
    is_(echo_headers(e, "X-Forwarded-For"), ["127.0.0.1"],
        "$proxy_add_x_forwarded_for without an incoming header: the client")
    r, e = echo("/xff/x", headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.2"})
    is_(echo_headers(e, "X-Forwarded-For"), ["10.0.0.1, 10.0.0.2, 127.0.0.1"],
        "$proxy_add_x_forwarded_for appends the client to the chain")
    r, e = echo("/plain/x", headers={"X-Forwarded-For": "10.0.0.9"})
    is_(echo_headers(e, "X-Forwarded-For"), ["10.0.0.9"],
        "without proxy_set_header, an incoming X-Forwarded-For passes as is")

    # -- hop-by-hop headers
    r, e = echo("/plain/hop", headers=[
        ("Connection", "X-Hop, keep-alive"), ("X-Hop", "secret"),
        ("Keep-Alive", "timeout=300"), ("TE", "trailers"),
        ("Trailer", "X-T"), ("Upgrade", "foo/1"),
        ("Proxy-Connection", "keep-alive"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
        ("X-End", "end")])
    is_(r and r.status, 200, "a request with hop-by-hop headers")
    is_(echo_headers(e, "Connection"), ["close"],
        "hop-by-hop: the client's Connection is not passed")
    for h in ("Keep-Alive", "TE", "Upgrade"):
        is_(echo_headers(e, h), [], "hop-by-hop: %s is not passed" % h)
    # nginx passes what Connection names and these three; usher must not.
    for h in ("X-Hop", "Trailer", "Proxy-Connection", "Proxy-Authorization"):
        if usher_only("nginx passes %s upstream" % h):
            is_(echo_headers(e, h), [], "hop-by-hop: %s is not passed" % h)
    is_(echo_headers(e, "X-End"), ["end"],
        "the other headers after them are passed")
    r, e = echo("/plain/te", method="POST", headers=[
        ("Transfer-Encoding", "chunked")], body="5\r\nhello\r\n0\r\n\r\n")
    is_((e and echo_headers(e, "Transfer-Encoding"),
         e and echo_headers(e, "Content-Length"), e and e["body_len"]),
        ([], ["5"], 5), "a chunked request body goes with Content-Length "
        "(buffered), not the client's Transfer-Encoding")
    r, e = echo("/plain/expect", method="POST", headers=[
        ("Expect", "100-continue")], body="abc")
    is_((r and r.status, echo_headers(e, "Expect")), (200, []),
        "Expect: 100-continue is answered by the proxy, not passed")

    # -- response headers
    r, e = echo("/plain/resp")
    isnt(r and r.header("server"), "echo-backend",
         "the upstream's Server is hidden")
    ok(r and r.header("server") and not isinstance(r.headers["server"], list),
       "the response has one Server header, the proxy's")
    date = r and r.headers.get("date")
    ok(isinstance(date, str) and "1970" not in date,
       "the upstream's Date is hidden, the proxy's sent") or diag(date)
    is_((r and r.header("x-be-name"), r and r.header("x-be-mode")),
        ("B", "fixed"), "the upstream's other headers pass")
    r, e = echo("/plain/pad", headers={
        "X-Be-Header": "X-Pad: avoid browser bug"})
    is_(r and r.header("x-pad"), None, "X-Pad is hidden by default")
    r, e = echo("/plain/accel", headers={"X-Be-Header": "X-Accel-Expires: 5"})
    is_(r and r.header("x-accel-expires"), None,
        "X-Accel-Expires is hidden by default")
    r, e = echo("/hide/x", headers=[("X-Be-Header", "X-Secret: s"),
                                    ("X-Be-Header", "X-Public: p")])
    is_((r and r.header("x-secret"), r and r.header("x-public")), (None, "p"),
        "proxy_hide_header X-Secret: hidden, the others pass")
    r, e = echo("/passhdr/x", headers={"X-Be-Header": "X-Accel-Expires: 5"})
    is_(r and r.headers.get("server"), "echo-backend",
        "proxy_pass_header Server: the upstream's Server, and only it")
    is_(r and r.header("x-accel-expires"), "5",
        "proxy_pass_header X-Accel-Expires passes it")
    r, e = echo("/plain/multi", headers=[("X-Be-Header", "Set-Cookie: a=1"),
                                         ("X-Be-Header", "Set-Cookie: b=2")])
    is_(r and r.headers.get("set-cookie"), ["a=1", "b=2"],
        "repeated response headers pass, in order")
    r, e = echo("/plain/st", headers={"X-Be-Status": "404"})
    is_((r and r.status, r and r.header("x-be-name")), (404, "B"),
        "the upstream's status passes")
    is_(e and e["target"], "/plain/st", "with the upstream's body")

    # -- proxy_redirect
    A = t.port("A")
    for path, loc, want, name in (
            ("/redir/r", "http://%s/back/there?x=1" % B,
             "http://localhost:%d/redir/there?x=1" % A,
             "proxy_redirect default: the upstream URL becomes the "
             "client's"),
            ("/redir/r", "http://other.example/back/z",
             "http://other.example/back/z",
             "proxy_redirect default: another host is kept"),
            ("/redir/r", "http://%s/elsewhere" % B,
             "http://%s/elsewhere" % B,
             "proxy_redirect default: outside the proxied URI is kept"),
            ("/nredir/r", "http://named/n/y",
             "http://localhost:%d/nredir/y" % A,
             "proxy_redirect default with an upstream block's name"),
            ("/redir-off/r", "http://%s/back/there" % B,
             "http://%s/back/there" % B,
             "proxy_redirect off: Location unchanged"),
            ("/redir-x/r", "http://backend.example/p/q",
             "http://front.example/p/q",
             "proxy_redirect from to: replaced"),
            ("/redir-x/r", "http://%s/back/q" % B,
             "http://%s/back/q" % B,
             "proxy_redirect from to: the default is no longer applied")):
        r, e = echo(path, headers={"X-Be-Status": "302",
                                   "X-Be-Location": loc})
        is_((r and r.status, r and r.header("location")), (302, want), name)

    # -- add_header on proxied responses
    r, e = echo("/add/x")
    is_((r and r.status, r and r.header("x-added"),
         r and r.header("x-always")), (200, "yes", "yes"),
        "add_header on a proxied 200")
    r, e = echo("/add/x", headers={"X-Be-Status": "404"})
    is_((r and r.status, r and r.header("x-added"),
         r and r.header("x-always")), (404, None, "yes"),
        "add_header on a proxied 404: only the 'always' one")

    t.stop()

b.close()
t.check_error_log()
sys.exit(done())
