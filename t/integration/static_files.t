#!/usr/bin/env python3
# Serving files: index and the directory redirect, 403 and 404 with their
# log lines, Content-Type, ETag and Last-Modified, HEAD, methods, expires,
# keep-alive and pipelining, and URIs that try to leave the root.

import calendar
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

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name files.test;
        root %%TESTDIR%%/html;
        types {
            text/html  html htm;
            text/css   css;
            image/png  png;
            application/x-custom  CuStOm;
        }
        default_type application/octet-stream;

        location /quiet/ { log_not_found off; }
        location /idx/ { index first.html second.html; }
        location /absidx/ { index nothere.html /absidx/target.txt; }
        location = /absidx/target.txt { return 200 "absolute index $uri\n"; }
        location /plain/ { default_type text/plain; }
        location /notypes/ { types { } default_type text/x-none; }
        location /noetag/ { etag off; }
        location /errp/ { error_page 404 /errpage.html; }
        location /ex1h/ { expires 1h; }
        location /exmod/ { expires modified 2h; }
        location /exneg/ { expires -1; }
        location /exzero/ { expires 0; }
        location /exepoch/ { expires epoch; }
        location /exmax/ { expires max; }
        location /exoff/ { expires off; }
    }

    server {
        listen 127.0.0.1:%%PORT_D%%;
        root %%TESTDIR%%/html;
    }
}
""")

MTIME = 1700000000      # 2023-11-14 22:13:20 UTC
FILES = {
    "html/index.html": "<p>top index</p>\n",
    "html/a.txt": "hello world\n",
    "html/page.HTML": "upper case extension\n",
    "html/style.css": "b { }\n",
    "html/file.custom": "custom\n",
    "html/noext": "no extension\n",
    "html/.hidden": "dot file\n",
    "html/dir.d/x.png": "png?\n",
    "html/sub/index.html": "sub index\n",
    "html/noindex/file.txt": "x\n",
    "html/idx/second.html": "second\n",
    "html/absidx/placeholder": "",
    "html/plain/data.unknown": "plain default\n",
    "html/notypes/page.html": "no types\n",
    "html/noetag/a.txt": "no etag\n",
    "html/errpage.html": "custom error page\n",
    "html/empty.txt": "",
    "html/secret.txt": "secret\n",
    "html/ex1h/a.txt": "x\n",
    "html/exmod/a.txt": "x\n",
    "html/exneg/a.txt": "x\n",
    "html/exzero/a.txt": "x\n",
    "html/exepoch/a.txt": "x\n",
    "html/exmax/a.txt": "x\n",
    "html/exoff/a.txt": "x\n",
    "outside.txt": "outside the root\n",
}
for name, text in FILES.items():
    t.write_file(name, text)
os.chmod(t.path("html/secret.txt"), 0o000)
os.utime(t.path("html/a.txt"), (MTIME, MTIME))
os.utime(t.path("html/exmod/a.txt"), (MTIME, MTIME))
os.makedirs(t.path("html/emptydir"), 0o755)
t.start()


def get(path, **kw):
    kw.setdefault("host", "files.test")
    return t.get(path, **kw)


def log_since(mark):
    return t.error_log()[mark:]


base = "http://files.test:%d" % t.port("A")

# index and directories
r = get("/")
is_((r.status, r.body), (200, "<p>top index</p>\n"), "/ serves index.html")
is_(r.header("content-type"), "text/html", "index.html is text/html")
r = get("/sub/")
is_((r.status, r.body), (200, "sub index\n"), "/sub/ serves its index.html")
r = get("/sub")
is_((r.status, r.header("location")), (301, base + "/sub/"),
    "a directory without its slash: 301 to it with the slash")
r = get("/sub?a=1&b=2")
is_((r.status, r.header("location")), (301, base + "/sub/?a=1&b=2"),
    "the directory redirect keeps the arguments")
r = get("/idx/")
is_((r.status, r.body), (200, "second\n"),
    "index: the first listed file that exists")
r = get("/absidx/")
is_((r.status, r.body), (200, "absolute index /absidx/target.txt\n"),
    "index: an absolute name is an internal redirect")

mark = len(t.error_log())
r = get("/noindex/")
is_(r.status, 403, "a directory without an index file: 403")
like(log_since(mark), r'\[error\] .*directory index of "%s/html/noindex/" '
     r'is forbidden' % re.escape(t.prefix), "403: the directory index log line")

mark = len(t.error_log())
r = get("/nodir/")
is_(r.status, 404, "a missing directory: 404")
like(log_since(mark), r'\[error\] .*"%s/html/nodir/index.html" is not found '
     r'\(2: No such file or directory\)' % re.escape(t.prefix),
     "missing directory: the index log line")

# 404 and 403
mark = len(t.error_log())
r = get("/missing.txt")
is_(r.status, 404, "a missing file: 404")
like(r.body, r"<title>404 Not Found</title>", "404: the error page")
like(log_since(mark), r'\[error\] .*open\(\) "%s/html/missing.txt" failed '
     r'\(2: No such file or directory\)' % re.escape(t.prefix),
     "404: the open() log line")

mark = len(t.error_log())
r = get("/quiet/missing.txt")
is_(r.status, 404, "log_not_found off: still 404")
time.sleep(0.1)
unlike(log_since(mark), r"quiet/missing", "log_not_found off: nothing logged")

mark = len(t.error_log())
r = get("/a.txt/more")
is_(r.status, 404, "a file used as a directory: 404")
like(log_since(mark), r'open\(\) ".*/html/a.txt/more" failed \(20: Not a '
     r'directory\)', "ENOTDIR: logged")

mark = len(t.error_log())
r = get("/secret.txt")
is_(r.status, 403, "an unreadable file: 403")
like(log_since(mark), r'\[error\] .*open\(\) "%s/html/secret.txt" failed '
     r'\(13: Permission denied\)' % re.escape(t.prefix),
     "403: the open() log line")

r = get("/errp/missing")
is_((r.status, r.body), (404, "custom error page\n"),
    "error_page 404 to a file: served with status 404")
ok(r.header("last-modified") is None and r.header("accept-ranges") is None,
   "a file served as an error page: no Last-Modified, no Accept-Ranges")

# Content-Type
for path, want, name in (
        ("/style.css", "text/css", "by extension"),
        ("/page.HTML", "text/html", "the extension's case does not matter"),
        ("/file.custom", "application/x-custom",
         "a types entry in upper case"),
        ("/noext", "application/octet-stream", "no extension: default_type"),
        ("/.hidden", "application/octet-stream",
         "a dot file has no extension"),
        ("/dir.d/x.png", "image/png", "a dot in a directory name is not one"),
        ("/plain/data.unknown", "text/plain",
         "an unknown extension: the location's default_type"),
        ("/notypes/page.html", "text/x-none", "an empty types block")):
    r = get(path)
    is_((r.status, r.header("content-type")), (200, want),
        "Content-Type %s" % name)

r = t.get("/a.txt", port="D")
is_(r.header("content-type"), "text/plain",
    "no types block: default_type text/plain")
r = t.get("/", port="D")
is_(r.header("content-type"), "text/html",
    "no types block: html is still text/html")
r = t.get("/style.css", port="D")
is_(r.header("content-type"), "text/plain",
    "no types block: css is not known")

# ETag, Last-Modified, Content-Length, Accept-Ranges
r = get("/a.txt")
is_((r.status, r.body), (200, "hello world\n"), "a file")
is_(r.header("content-length"), "12", "Content-Length is the file size")
is_(r.header("etag"), '"%x-%x"' % (MTIME, 12),
    'ETag is "mtime-size" in lowercase hex')
is_(r.header("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT",
    "Last-Modified is the file's mtime")
is_(r.header("accept-ranges"), "bytes", "Accept-Ranges: bytes")
r = get("/noetag/a.txt")
ok(r.status == 200 and r.header("etag") is None, "etag off: no ETag")
ok(r.header("last-modified") is not None, "etag off: Last-Modified stays")

r = get("/empty.txt")
is_((r.status, r.body, r.header("content-length")), (200, "", "0"),
    "an empty file")

# HEAD and methods
r = get("/a.txt", method="HEAD")
is_((r.status, r.header("content-length"), r.body), (200, "12", ""),
    "HEAD: the length, no body")
with t.conn() as c:
    c.request("HEAD", "/a.txt", host="files.test")
    c.request("GET", "/style.css", host="files.test")
    r1 = c.read_response(head_request=True)
    r2 = c.read_response()
    is_((r1.status, r1.body, r2.status, r2.body), (200, "", 200, "b { }\n"),
        "HEAD then GET on one connection: no stray body bytes")
r = get("/a.txt", method="POST", body="x=1")
is_(r.status, 405, "POST to a file: 405")
r = get("/missing.txt", method="POST", body="x=1")
is_(r.status, 404, "POST to a missing file: 404")
r = get("/a.txt", method="PUT", body="x")
is_(r.status, 405, "PUT: 405")
r = get("/", method="DELETE")
is_(r.status, 405, "DELETE of a directory: 405")
r = get("/a.txt", method="OPTIONS")
is_(r.status, 405, "OPTIONS: 405")

# keep-alive and pipelining
with t.conn() as c:
    c.send(build_request("GET", "/a.txt", host="files.test") +
           build_request("GET", "/missing.txt", host="files.test") +
           build_request("GET", "/sub", host="files.test") +
           build_request("GET", "/sub/", host="files.test"))
    got = [c.read_response() for _ in range(4)]
    is_([(x.status, x.body if x.status == 200 else "") for x in got],
        [(200, "hello world\n"), (404, ""), (301, ""), (200, "sub index\n")],
        "four pipelined requests answered in order on one connection")

# expires
now = time.time()


def expires_of(r):
    e = r.header("expires")
    return calendar.timegm(time.strptime(e, "%a, %d %b %Y %H:%M:%S GMT")) \
        if e else None


r = get("/ex1h/a.txt")
ok(r.header("cache-control") == "max-age=3600" and
   abs(expires_of(r) - now - 3600) < 5,
   "expires 1h: Expires an hour ahead, max-age=3600")
r = get("/exmod/a.txt")
is_((r.header("expires"), r.header("cache-control")),
    ("Wed, 15 Nov 2023 00:13:20 GMT", "no-cache"),
    "expires modified 2h: from Last-Modified; past, so no-cache")
r = get("/exneg/a.txt")
ok(r.header("cache-control") == "no-cache" and expires_of(r) < now + 1,
   "expires -1: in the past, no-cache")
r = get("/exzero/a.txt")
ok(r.header("cache-control") == "max-age=0" and
   abs(expires_of(r) - now) < 5, "expires 0: now, max-age=0")
r = get("/exepoch/a.txt")
is_((r.header("expires"), r.header("cache-control")),
    ("Thu, 01 Jan 1970 00:00:01 GMT", "no-cache"), "expires epoch")
r = get("/exmax/a.txt")
is_((r.header("expires"), r.header("cache-control")),
    ("Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000"), "expires max")
r = get("/exoff/a.txt")
ok(r.header("expires") is None and r.header("cache-control") is None,
   "expires off: neither header")
r = get("/ex1h/missing")
ok(r.status == 404 and r.header("expires") is None,
   "expires: not on a 404")

# URIs that try to leave the root
for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/sub/../../outside.txt",
             "/sub/%2E%2E/%2e%2e/outside.txt", "/..%2foutside.txt",
             "/a.txt%00.html", "/%00"):
    reply = t.raw("GET %s HTTP/1.1\r\nHost: files.test\r\nConnection: close"
                  "\r\n\r\n" % path)
    ok(reply.status in (400, 404) and b"outside the root" not in reply,
       "%s: 400 or 404, never the file outside the root" % path)
r = get("//a.txt")
is_((r.status, r.body), (200, "hello world\n"), "//a.txt: slashes merged")
r = get("/sub/..//a.txt")
is_((r.status, r.body), (200, "hello world\n"),
    "/sub/..//a.txt: resolved inside the root")

t.stop()
t.check_error_log()
sys.exit(done())
