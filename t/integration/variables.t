#!/usr/bin/env python3
# Request variables, seen through "return 200 ..." bodies.

import datetime
import os
import re
import socket
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

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name primary.test alias.test;

        location /uri      { return 200 "$uri|$request_uri|$document_uri|$args|$query_string|$is_args"; }
        location /arg      { return 200 "$arg_x|$arg_xx|$arg_y|$arg_none|"; }
        location /method   { return 200 "$request_method|$request"; }
        location /host     { return 200 "$host|$http_host|$server_name"; }
        location /proto    { return 200 "$scheme|$server_protocol"; }
        location /addr     { return 200 "$remote_addr|$remote_port|$server_addr|$server_port"; }
        location /conn     { return 200 "$connection|$connection_requests"; }
        location /id       { return 200 "$request_id|$pid"; }
        location /hdr      { return 200 "$http_user_agent|$http_x_foo_bar|$http_x_none|$content_length"; }
        location /cookie   { return 200 "$cookie_a|$cookie_ab|$cookie_none|"; }
        location /time     { return 200 "$msec|$time_iso8601|$time_local"; }
        location /hostname { return 200 "$hostname"; }
        location /rw       { rewrite ^/rw/(.*)$ /uri/$1?added=1 last; }
    }
}
""")
t.start()
port = t.port("A")


def body(path, **kw):
    r = t.get(path, **kw)
    return r.body if r.status == 200 else "status %s" % r.status


is_(body("/uri/a/../b%20c?q=1&r"),
    "/uri/b c|/uri/a/../b%20c?q=1&r|/uri/b c|q=1&r|q=1&r|?",
    "$uri (normalised), $request_uri (as sent), $document_uri, $args, "
    "$query_string, $is_args")
is_(body("/uri/x"), "/uri/x|/uri/x|/uri/x|||", "no args: empty $args and "
    "$is_args")
is_(body("/rw/z?orig=2"), "/uri/z|/rw/z?orig=2|/uri/z|added=1&orig=2|"
    "added=1&orig=2|?", "after a rewrite: $uri and $args change, "
    "$request_uri does not")

is_(body("/arg?xx=1&x=%41&x=3&y="), "%41|1|||",
    "$arg_x: the first x, not decoded; xx is another name; empty and absent")

is_(body("/method", method="PATCH"), "PATCH|PATCH /method HTTP/1.1",
    "$request_method and $request")
is_(body("/method?a=b", method="POST", body="abc"),
    "POST|POST /method?a=b HTTP/1.1", "$request keeps the query")

is_(body("/host", host="Alias.Test:8080"),
    "alias.test|Alias.Test:8080|primary.test",
    "$host lowercased without port, $http_host as sent, $server_name the "
    "first name")
is_(body("http://Abs.Test/host", host="other.test"),
    "abs.test|other.test|primary.test",
    "$host from an absolute request target")
is_(body("/host", host=None, version="HTTP/1.0"), "primary.test||primary.test",
    "$host without Host is the server name")

is_(body("/proto"), "http|HTTP/1.1", "$scheme and $server_protocol")
is_(body("/proto", host=None, version="HTTP/1.0"), "http|HTTP/1.0",
    "$server_protocol HTTP/1.0")

with t.conn() as c:
    r = c.get("/addr")
    is_(r.body, "127.0.0.1|%d|127.0.0.1|%d" % (c.sock.getsockname()[1], port),
        "$remote_addr, $remote_port, $server_addr, $server_port")

with t.conn() as c:
    a = c.get("/conn").body.split("|")
    b = c.get("/conn").body.split("|")
    ok(a[0].isdigit() and a[0] == b[0], "$connection: same on keep-alive")
    is_((a[1], b[1]), ("1", "2"), "$connection_requests counts requests")
c2 = body("/conn").split("|")
isnt(c2[0], a[0], "$connection: another connection, another number")

i1 = body("/id").split("|")
i2 = body("/id").split("|")
like(i1[0], r"^[0-9a-f]{32}$", "$request_id: 32 hex digits")
isnt(i1[0], i2[0], "$request_id: new for each request")
ok(i1[1].isdigit() and int(i1[1]) in t.worker_pids(), "$pid: a worker's pid")

is_(body("/hdr", headers={"User-Agent": "ua/1", "X-Foo-Bar": "fb"}),
    "ua/1|fb||", "$http_*: dashes become underscores; absent is empty")
is_(body("/hdr", headers={"x-FOO-bar": "case"}), "|case||",
    "$http_*: header names are case-insensitive")
is_(body("/hdr", method="POST", body="12345"), "|||5", "$content_length")

is_(body("/cookie", headers={"Cookie": "ab=2; a=1; b=3"}), "1|2||",
    "$cookie_a and $cookie_ab are distinct; absent is empty")
is_(body("/cookie", headers={"Cookie": "x=0;a=9"}), "9|||",
    "$cookie_a after a ';' without a space")

ms, iso, loc = body("/time").split("|")
ok(re.match(r"^\d+\.\d{3}$", ms) and abs(float(ms) - time.time()) < 10,
   "$msec") or diag(ms)
ok(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", iso) and
   abs(datetime.datetime.fromisoformat(iso).timestamp() - time.time()) < 10,
   "$time_iso8601") or diag(iso)
ok(re.match(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$", loc) and
   abs(datetime.datetime.strptime(loc, "%d/%b/%Y:%H:%M:%S %z").timestamp()
       - time.time()) < 10, "$time_local") or diag(loc)

is_(body("/hostname"), socket.gethostname().lower(), "$hostname")

t.stop()
t.check_error_log()
sys.exit(done())
