#!/usr/bin/env python3
# alias (prefix, exact and regex locations with captures, inherited by
# nested locations) and try_files (files, directories, =code, @named and
# URI fallbacks), as nginx does them.

import os
import re
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
        server_name alias.test;
        root %%TESTDIR%%/html;

        location /al/ { alias %%TESTDIR%%/data/; }
        location /alfile { alias %%TESTDIR%%/data/d.txt; }
        location = /exact { alias %%TESTDIR%%/data/sub/x.txt; }
        location ~ ^/re/(\w+)/(.+)$ { alias %%TESTDIR%%/data/$1/$2; }
        location ~ ^/rd/(.*)$ { alias %%TESTDIR%%/data/$1; }
        location ~ ^/named/(?<file>.+)$ { alias %%TESTDIR%%/data/$file; }
        location /nest/ {
            alias %%TESTDIR%%/data/;
            location /nest/sub/ { }
            location /nest/own/ { root %%TESTDIR%%/html; }
        }
        location /i { alias %%TESTDIR%%/data/; }

        location /tf/ { try_files $uri /fallback.txt; }
        location /tfd/ { try_files $uri $uri/ =404; }
        location /tfc/ { try_files $uri =410; }
        location /tfn/ { try_files $uri @fb; }
        location /tfmiss/ { try_files $uri @nowhere; }
        location /tfu/ { try_files $uri /echo?from=$uri; }
        location /tfu2/ { try_files $uri /echo; }
        location /tfx/ { try_files /nothere.txt $uri.txt =404; }
        location /tfnest/ {
            try_files /nothere =410;
            location /tfnest/in/ { }
        }
        location = /echo { return 200 "echo uri=$uri args=$args\n"; }
        location @fb { return 200 "named uri=$uri args=$args\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_S%%;
        root %%TESTDIR%%/html;
        try_files $uri /srvfb.txt;
    }
}
""")
for name, text in {
        "data/d.txt": "data d\n",
        "data/index.html": "data index\n",
        "data/sub/x.txt": "data sub x\n",
        "data/sub/index.html": "data sub index\n",
        "html/fallback.txt": "fallback\n",
        "html/srvfb.txt": "server fallback\n",
        "html/a.txt": "html a\n",
        "html/nest/own/f.txt": "html nest own\n",
        "html/tf/real.txt": "tf real\n",
        "html/tfd/dir/index.html": "tfd dir index\n",
        "html/tfd/file.txt": "tfd file\n",
        "html/tfx/page.txt": "tfx page\n",
        "html/tfnest/in/x": "tfnest in x\n",
        "outside.txt": "outside the data\n"}.items():
    t.write_file(name, text)
t.start()


def get(path, **kw):
    kw.setdefault("host", "alias.test")
    return t.get(path, **kw)


base = "http://alias.test:%d" % t.port("A")

# alias
for path, want, name in (
        ("/al/d.txt", "data d\n", "a prefix location's alias"),
        ("/al/sub/x.txt", "data sub x\n", "alias: deeper paths"),
        ("/al/", "data index\n", "alias: the index of its directory"),
        ("/al/sub/", "data sub index\n", "alias: a subdirectory's index"),
        ("/alfile", "data d\n", "alias naming a file"),
        ("/exact", "data sub x\n", "alias in an exact location"),
        ("/re/sub/x.txt", "data sub x\n", "a regex location: $1 and $2"),
        ("/rd/d.txt", "data d\n", "a regex location: one capture"),
        ("/rd/", "data index\n",
         "a regex alias to a directory: its index"),
        ("/named/sub/x.txt", "data sub x\n", "a named capture"),
        ("/nest/d.txt", "data d\n", "alias in the outer location"),
        ("/nest/sub/x.txt", "data sub x\n",
         "a nested location inherits alias"),
        ("/nest/own/f.txt", "html nest own\n",
         "a nested location with root does not")):
    r = get(path)
    is_((r.status, r.body), (200, want), "%s: %s" % (path, name))
r = get("/al/sub")
is_((r.status, r.header("location")), (301, base + "/al/sub/"),
    "alias: the directory redirect uses the URI")
r = get("/al/d.txt")
is_(r.header("content-type"), "text/plain",
    "alias: Content-Type from the URI")
mark = len(t.error_log())
r = get("/al/missing")
is_(r.status, 404, "alias: a missing file")
like(t.error_log()[mark:], r'open\(\) "%s/data/missing" failed' %
     re.escape(t.prefix), "alias: the log names the aliased path")
r = get("/re/nothere/x.txt")
is_(r.status, 404, "regex alias: a missing file")

if usher_only("nginx serves /i../outside.txt from above the alias"):
    r = get("/i../outside.txt")
    ok(r.status == 404 and "outside" not in r.body,
       "location /i with alias /data/: /i../ cannot climb out")

# try_files
for path, want, name in (
        ("/tf/real.txt", (200, "tf real\n"), "an existing file"),
        ("/tf/missing", (200, "fallback\n"), "missing: the fallback URI"),
        ("/tfd/file.txt", (200, "tfd file\n"), "$uri is a file"),
        ("/tfd/dir/", (200, "tfd dir index\n"), "$uri/ is a directory"),
        ("/tfx/page", (200, "tfx page\n"), "$uri.txt"),
        ("/tfn/missing?a=1", (200, "named uri=/tfn/missing args=a=1\n"),
         "@named keeps the URI and the arguments"),
        ("/tfu/missing?a=1", (200, "echo uri=/echo args=from=/tfu/missing\n"),
         "a fallback URI with arguments: those replace the request's"),
        ("/tfu2/missing?a=1", (200, "echo uri=/echo args=\n"),
         "a fallback URI without '?': the arguments are dropped")):
    r = get(path)
    is_((r.status, r.body), want, "try_files %s: %s" % (path, name))
r = get("/tfd/dir")
is_((r.status, r.header("location")), (301, base + "/tfd/dir/"),
    "try_files $uri/ found a directory: redirect to add the slash")
mark = len(t.error_log())
r = get("/tfd/missing")
is_(r.status, 404, "try_files =404")
r = get("/tfc/missing")
is_(r.status, 410, "try_files =410")
r = get("/tfnest/x")
is_(r.status, 410, "try_files in the outer location")
r = get("/tfnest/in/x")
is_((r.status, r.body), (200, "tfnest in x\n"),
    "try_files is not inherited by a nested location")
r = get("/tfmiss/x")
is_(r.status, 500, "try_files to an unknown named location: 500")
like(t.error_log()[mark:], r'could not find named location "@nowhere"',
     "the unknown named location is logged")
r = t.get("/a.txt", port="S")
is_((r.status, r.body), (200, "html a\n"), "try_files at server level")
r = t.get("/missing", port="S")
is_((r.status, r.body), (200, "server fallback\n"),
    "try_files at server level: the fallback")

t.stop()
t.check_error_log()
sys.exit(done())
