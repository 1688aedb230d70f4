#!/usr/bin/env python3
# proxy_pass: which URI reaches the backend.  With a URI part in the
# directive, the part of the (normalized) request URI that matched the
# location prefix is replaced by it; without one, the request URI goes as
# the client sent it (encoded characters and arguments kept); with
# variables, the URL is built per request (and a URI in it is sent as is);
# after "rewrite ... break", the rewritten URI is sent (a URI part in the
# directive is then ignored).  The upstream may be an "upstream" block's
# name, host:port, a hostname resolved at load, or a unix socket.

import hashlib
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

        location /a/      { proxy_pass http://127.0.0.1:%%PORT_B%%/x/; }
        location /b/      { proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /c       { proxy_pass http://127.0.0.1:%%PORT_B%%/; }
        location = /exact { proxy_pass http://127.0.0.1:%%PORT_B%%/other; }

        location /var/    {
            proxy_pass http://127.0.0.1:$http_x_port$request_uri;
        }
        location /varuri/ {
            proxy_pass http://127.0.0.1:$http_x_port/fixed/$arg_v;
        }

        location ~ ^/re(gex)?/ { proxy_pass http://127.0.0.1:%%PORT_B%%; }

        location /rw/  { rewrite ^/rw/(.*)$ /rewritten/$1 break;
                         proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /rwu/ { rewrite ^/rwu/(.*)$ /new/$1 break;
                         proxy_pass http://127.0.0.1:%%PORT_B%%/ignored/; }

        location /named/  { proxy_pass http://named; }
        location /named2/ { proxy_pass http://named/n2/; }

        location /unix/   { proxy_pass http://unix:%%TESTDIR%%/be.sock:/u/; }
        location /unix2/  { proxy_pass http://unix:%%TESTDIR%%/be.sock; }

        location /lh/     { proxy_pass http://localhost:%%PORT_B%%/lh-x/; }
    }
}
""")
b = EchoBackend(t.port("B"), "B")
b2 = EchoBackend(t.port("B2"), "B2")
u = EchoBackend(name="U", unix=t.path("be.sock"))
started = t.try_start("proxy_pass in many forms")


def echo(path, **kw):
    """(status, the backend's name, the target it received, the echo)."""
    try:
        r = t.get(path, **kw)
    except Exception as e:
        diag("%s: %s" % (path, e))
        return (None, None, None, None)
    e = echo_of(r)
    return (r.status, r.header("x-be-name"), e and e["target"], e)


def target(path, want, name, **kw):
    st, who, got, e = echo(path, **kw)
    is_((st, got), (200, want), name)
    return who


if started:
    # -- a URI part replaces the matched prefix
    target("/a/one", "/x/one", "/a/ -> http://B/x/: the prefix is replaced")
    target("/a/", "/x/", "/a/ -> http://B/x/: the bare prefix")
    target("/a/one?k=v&z", "/x/one?k=v&z",
           "/a/ -> http://B/x/: the arguments follow")
    target("/a/%41b%20c?q=%41", "/x/Ab%20c?q=%41",
           "/a/ -> http://B/x/: the normalized URI is sent, re-escaped; "
           "the arguments as they came")
    target("/a/p/../q", "/x/q",
           "/a/ -> http://B/x/: dot segments are resolved first")
    target("/c/d", "//d", "/c -> http://B/: plain prefix replacement (/c/d)")
    target("/cat", "/at", "/c -> http://B/: plain prefix replacement (/cat)")
    target("/exact", "/other", "= /exact -> http://B/other")
    target("/exact?x=1", "/other?x=1", "= /exact -> http://B/other, with "
           "arguments")

    # -- no URI part: the request URI as sent
    target("/b/one", "/b/one", "http://B: the URI unchanged")
    target("/b/%41%2Fx%20y?q=%41&z=a+b", "/b/%41%2Fx%20y?q=%41&z=a+b",
           "http://B: encoded characters and arguments unchanged")
    target("/b/p/./q//r", "/b/p/./q//r",
           "http://B: the URI as the client sent it, not normalized")
    target("/regex/r?a=1", "/regex/r?a=1",
           "regex location, no URI part: the URI unchanged")
    target("/re/%7Er", "/re/%7Er", "regex location: encoded characters kept")

    # -- the method and body go too
    st, who, got, e = echo("/b/post", method="POST", body="0123456789")
    is_((st, e and e["method"], e and e["body_len"]), (200, "POST", 10),
        "a POST and its body are passed")
    is_(e and e["body_sha256"], hashlib.sha256(b"0123456789").hexdigest(),
        "the POST body arrives intact")
    r = t.get("/b/head", method="HEAD")
    is_((r.status, r.body, r.header("x-be-name")), (200, "", "B"),
        "HEAD is passed and answered without a body")
    is_(b.log[-1]["method"] if b.log else None, "HEAD",
        "the backend got a HEAD")

    # -- variables: the URL per request
    who = target("/var/v1?a=b", "/var/v1?a=b",
                 "proxy_pass with variables ($request_uri): the URI",
                 headers={"X-Port": str(t.port("B"))})
    is_(who, "B", "proxy_pass with variables: port from the request -> B")
    who = target("/var/v2", "/var/v2",
                 "proxy_pass with variables: another request",
                 headers={"X-Port": str(t.port("B2"))})
    is_(who, "B2", "proxy_pass with variables: another port -> B2")
    target("/varuri/zzz?v=val&w=1", "/fixed/val",
           "proxy_pass with variables and a URI: sent as is (no "
           "arguments added)", headers={"X-Port": str(t.port("B2"))})

    # -- rewrite ... break
    target("/rw/one?k=v", "/rewritten/one?k=v",
           "rewrite ... break: the rewritten URI (and arguments) is sent")
    target("/rwu/two", "/new/two", "rewrite ... break with a URI part in "
           "proxy_pass: the URI part is ignored, the rewritten URI is sent")

    # -- upstream forms
    st, who, got, e = echo("/named/n?q=1")
    is_((st, who, got), (200, "B", "/named/n?q=1"),
        "an upstream block by name (no URI part)")
    st, who, got, e = echo("/named2/m")
    is_((st, who, got), (200, "B", "/n2/m"),
        "an upstream block by name, with a URI part")
    st, who, got, e = echo("/unix/s?q=2")
    is_((st, who, got), (200, "U", "/u/s?q=2"),
        "a unix socket: http://unix:/path:/u/")
    st, who, got, e = echo("/unix2/s")
    is_((st, who, got), (200, "U", "/unix2/s"),
        "a unix socket without a URI part")
    st, who, got, e = echo("/lh/h")
    is_((st, who, got), (200, "B", "/lh-x/h"),
        "a hostname (localhost:PORT) resolved at load")
    is_(e and e["peer"].split(":")[0], "127.0.0.1",
        "the backend sees the proxy's connection from 127.0.0.1")

    t.stop()

b.close()
b2.close()
u.close()
t.check_error_log()
sys.exit(done())
