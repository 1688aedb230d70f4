#!/usr/bin/env python3
# Response headers: add_header (which codes, "always", inheritance),
# server_tokens in Server and in error pages, Date, and the built-in error
# pages.

import email.utils
import os
import re
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
    add_header X-Http http;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        add_header X-Server server;
        add_header X-Always always always;

        location /inherit   { return 200 "inherit"; }
        location /own       { add_header X-Loc loc; return 200 "own"; }
        location /multi     { add_header X-M one; add_header X-M two; return 200 "multi"; }
        location /var       { add_header X-Uri $uri; add_header X-Empty $http_x_none; return 200 "var"; }
        location /s201      { return 201 "created"; }
        location /s204      { return 204; }
        location /s301      { return 301 /x; }
        location /s302      { return 302 /x; }
        location /s303      { return 303 /x; }
        location /s307      { return 307 /x; }
        location /s308      { return 308 /x; }
        location /s400      { return 400; }
        location /s403      { return 403; }
        location /s404      { return 404; }
        location /s404t     { return 404 "text"; }
        location /s500      { return 500; }
        location /s502      { return 502; }
        location /s503      { return 503; }
    }

    server {
        listen 127.0.0.1:%%PORT_OFF%%;
        server_tokens off;
        location / { return 404; }
        location /ok { return 200 "ok"; }
    }

    server {
        listen 127.0.0.1:%%PORT_NOHDR%%;
        add_header X-Only-Here here;
        location / { add_header X-Loc2 loc2 always; return 404; }
    }
}
""")
t.start()
N = t.name

r = t.get("/inherit")
is_((r.header("x-server"), r.header("x-http"), r.header("x-always")),
    ("server", None, "always"),
    "a location without add_header inherits the server's (not http's)")
r = t.get("/own")
is_((r.header("x-loc"), r.header("x-server"), r.header("x-always")),
    ("loc", None, None),
    "a location with its own add_header replaces the server's")
is_(t.get("/multi").headers.get("x-m"), ["one", "two"],
    "two add_header with one name: both headers")
r = t.get("/var")
is_((r.header("x-uri"), "x-empty" in r.headers), ("/var", False),
    "add_header with a variable; an empty value adds no header")

for code in (201, 204, 301, 302, 303, 307, 308):
    r = t.get("/s%d" % code)
    is_((r.status, r.header("x-server"), r.header("x-always")),
        (code, "server", "always"), "%d: add_header applies" % code)
for code in (400, 403, 404, 500, 502, 503):
    r = t.get("/s%d" % code)
    is_((r.status, r.header("x-server"), r.header("x-always")),
        (code, None, "always"),
        "%d: only add_header ... always applies" % code)
r = t.get("/s404t")
is_((r.status, r.header("x-server"), r.header("x-always")),
    (404, None, "always"), "404 with text: only always applies")

r = t.get("/s404", port="NOHDR")
is_((r.header("x-only-here"), r.header("x-loc2")), (None, "loc2"),
    "always in the location, error response")

# Server, Date
r = t.get("/inherit")
like(r.header("server") or "", r"^%s/\d+\.\d+" % N,
     "server_tokens on: Server is NAME/VERSION")
r2 = t.get("/ok", port="OFF")
is_(r2.header("server"), N, "server_tokens off: Server is NAME")
d = r.header("date") or ""
ok(re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|"
            r"Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$", d) and
   abs(email.utils.parsedate_to_datetime(d).timestamp() - time.time()) < 10,
   "Date: now, in IMF-fixdate") or diag(d)
is_(r.headers.get("date") and not isinstance(r.headers["date"], list), True,
    "one Date header")
is_(r.header("content-length"), "7", "Content-Length of a return text")

# Error pages
r = t.get("/s404")
is_(r.header("content-type"), "text/html", "error page: text/html")
like(r.body, r"<title>404 Not Found</title>", "error page: status in the title")
like(r.body, r"<h1>404 Not Found</h1>", "error page: status in the heading")
like(r.body, r"<hr><center>%s/[^<]+</center>" % N,
     "error page: NAME/VERSION at the bottom (server_tokens on)")
like(r.body, r"^<html>[\s\S]*</html>\r?\n?$", "error page: one HTML document")
is_(r.header("content-length"), str(len(r.raw_body)),
    "error page: Content-Length")
ok(len(r.raw_body) < 600, "error page is small")
r = t.get("/", port="OFF")
like(r.body, r"<hr><center>%s</center>\r\n" % N,
     "server_tokens off: no version in the error page")
for code, text in ((400, "400 Bad Request"), (403, "403 Forbidden"),
                   (500, "500 Internal Server Error"),
                   (502, "502 Bad Gateway"),
                   (503, "503 Service Temporarily Unavailable")):
    r = t.get("/s%d" % code)
    like(r.body, r"<title>%s</title>" % text, "error page title: %s" % text)
r = t.get("/s404", method="HEAD")
is_((r.status, r.body), (404, ""), "HEAD of an error: no body")
ok(int(r.header("content-length") or 0) > 0,
   "HEAD of an error: the Content-Length of the page")

t.stop()
t.check_error_log()
sys.exit(done())
