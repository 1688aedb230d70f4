#!/usr/bin/env python3
# Everyday nginx config that once differed from nginx: root and index with
# variables, try_files before proxy_pass and under a prefix alias, expires
# on any response (proxied too, from a variable), $document_root with alias,
# set on a map variable, access_log in "if" and with if=, error_log below
# the main context, and statuses raised while serving an error page.

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
    error_log %%TESTDIR%%/http_error.log;

    map $uri $m { default mapped; }
    map $uri $exp { default off; ~^/expv/img max; ~^/expv/bad nonsense; }
    map $arg_log $loggable { default 1; no 0; }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name everyday.test;
        root %%TESTDIR%%/sites/$host;
        index $arg_idx index.html;
        error_log %%TESTDIR%%/server_error.log warn;

        location /al/ {
            alias %%TESTDIR%%/data/;
            try_files $uri =404;
        }
        location /dr/ {
            alias %%TESTDIR%%/data/;
            return 200 "root=$document_root\n";
        }
        location /rootvar/ { return 200 "root=$document_root\n"; }
        location /tp/ {
            try_files $uri =404;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /exp/ {
            expires 1h;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /expr/ {
            expires epoch;
            location /expr/ok { return 200 "ok\n"; }
            location /expr/missing { return 404; }
        }
        location /expv/ {
            expires $exp;
            return 200 "ok\n";
        }
        location /setmap {
            set $m changed;
            return 200 "m=$m\n";
        }
        location /getmap { return 200 "m=$m\n"; }
        location /iflog {
            error_log %%TESTDIR%%/loc_error.log;
            if ($arg_x) {
                access_log %%TESTDIR%%/if.log;
            }
            return 200 "iflog\n";
        }
        location /condlog {
            access_log %%TESTDIR%%/cond.log combined if=$loggable;
            return 200 "condlog\n";
        }
        location /e404 {
            error_page 404 /r405;
            return 404;
        }
        location /e405r302 {
            error_page 405 /r302;
            return 405;
        }
        location /e405dir {
            error_page 405 /adir;
            return 405;
        }
        location /e405r200 {
            error_page 405 /r200;
            return 405;
        }
        location /r405 { return 405; }
        location /r302 { return 302 "/elsewhere"; }
        location /r200 { return 200 "text\n"; }
        location /adir { }
        location ~ /\.ht { deny all; }
        location /acl/ {
            allow 10.0.0.0/8;
            allow 127.0.0.1;
            deny all;
            location /acl/no/ { deny 127.0.0.0/24; allow all; }
        }
        location /capdup {
            rewrite ^(.*) $1?c=$1;
            return 200 "uri=$uri args=$args\n";
        }
        location /redir { rewrite ^ $arg_r? redirect; }
        location /slow/ { limit_rate 1000; }
        location /after/ { limit_rate 1000; limit_rate_after 10k; }
        location /dyn/ {
            proxy_pass http://$arg_b/x;
            add_header X-Addr "[$upstream_addr]" always;
        }
        location /tounix/ { proxy_pass http://unix:%%TESTDIR%%/u.sock:/; }
        location = /ctime { return 200 "$connection_time\n"; }
        location = /uri { return 200 "uri=$uri args=$args\n"; }
        location /lm/ {
            add_header Last-Modified "Mon, 28 Sep 1970 06:00:00 GMT";
            add_header ETag "";
        }
        location /auto/ { proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location "/auto sp/" { proxy_pass http://127.0.0.1:%%PORT_B%%; }
    }

    server {
        listen 127.0.0.1:%%PORT_C%%;
        server_name *.Wild.test;
        return 200 "$server_name";
    }
    server {
        listen 127.0.0.1:%%PORT_C%%;
        server_name www.tail.*;
        return 200 "$server_name";
    }
    server {
        listen 127.0.0.1:%%PORT_C%%;
        server_name .dot.test;
        return 200 "$server_name";
    }

    server {
        listen 127.0.0.1:%%PORT_D%%;
        server_name named.test;
        error_page 400 /r301;
        location /r301 { return 301 /there; }
    }

    server {
        listen unix:%%TESTDIR%%/u.sock;
        location / { return 200 "unix host=$host\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_B%%;
        location / {
            add_header Cache-Control "no-store";
            return 200 "backend $uri\n";
        }
    }
}
""")
for name, text in {
        "sites/everyday.test/index.html": "everyday index\n",
        "sites/everyday.test/other.html": "other index\n",
        "sites/everyday.test/f.txt": "everyday f\n",
        "sites/everyday.test/tp/here.txt": "local here\n",
        "sites/everyday.test/adir/index.html": "adir\n",
        "sites/everyday.test/lm/f.txt": "lm\n",
        "sites/everyday.test/slow/f.bin": "s" * 2600,
        "sites/everyday.test/after/f.bin": "a" * 2600,
        "sites/everyday.test/.htpasswd": "secret\n",
        "sites/everyday.test/acl/f.txt": "acl f\n",
        "sites/everyday.test/acl/no/f.txt": "acl no f\n",
        "sites/everyday.test/sp dir/index.html": "sp dir\n",
        "sites/other.test/f.txt": "other f\n",
        "data/d.txt": "data d\n"}.items():
    t.write_file(name, text)
t.start()


def get(path, **kw):
    kw.setdefault("host", "everyday.test")
    return t.get(path, **kw)


# root and index with variables
r = get("/f.txt")
is_((r.status, r.body), (200, "everyday f\n"), "root with $host")
r = get("/f.txt", host="other.test")
is_((r.status, r.body), (200, "other f\n"), "root with $host: another host")
r = get("/?idx=nothere.html")
is_((r.status, r.body), (200, "everyday index\n"),
    "index with a variable: no such file, the next name")
is_(get("/").status, 500, "index with a variable: empty, 500 as nginx")
r = get("/?idx=other.html")
is_((r.status, r.body), (200, "other index\n"),
    "index with a variable: its value")
r = get("/rootvar/")
is_(r.body, "root=%s/sites/everyday.test\n" % t.prefix,
    "$document_root of a root with variables")

# $document_root with alias, try_files under a prefix alias
r = get("/dr/")
is_(r.body, "root=%s/data/\n" % t.prefix, "$document_root is the alias")
r = get("/al/d.txt")
is_((r.status, r.body), (200, "data d\n"),
    "try_files $uri under a prefix alias finds the aliased file")
r = get("/al/nothere")
is_(r.status, 404, "try_files $uri under a prefix alias: =404")

# try_files runs before proxy_pass
r = get("/tp/missing")
is_(r.status, 404, "try_files before proxy_pass: no file, =404")
r = get("/tp/here.txt")
is_((r.status, r.body), (200, "backend /tp/here.txt\n"),
    "try_files before proxy_pass: a file found is still proxied")

# expires on any response of the right status, proxied ones too
r = get("/exp/x")
is_((r.status, r.header("cache-control")), (200, "max-age=3600"),
    "expires on a proxied response replaces its Cache-Control")
ok(r.header("expires") is not None, "expires: Expires on a proxied response")
r = get("/expr/ok")
is_((r.header("cache-control"), r.header("expires")),
    ("no-cache", "Thu, 01 Jan 1970 00:00:01 GMT"), "expires on return 200")
r = get("/expr/missing")
is_((r.status, r.header("expires")), (404, None), "no expires on a 404")
r = get("/expv/img.png")
is_(r.header("cache-control"), "max-age=315360000",
    "expires $variable: max")
r = get("/expv/page")
is_(r.header("expires"), None, "expires $variable: off")
r = get("/expv/bad")
is_((r.status, r.header("expires")), (200, None),
    "expires $variable: an invalid value adds nothing")

# set on a map variable
is_(get("/setmap").body, "m=changed\n", "set overwrites a map variable")
is_(get("/getmap").body, "m=mapped\n", "the map itself is untouched")

# access_log in "if" in a location, and if=
get("/iflog")
get("/iflog?x=1")
get("/condlog?log=no")
get("/condlog?log=yes")
t.wait_log("if.log", 1)
t.wait_log("cond.log", 1)
log = t.read("if.log")
ok(log.count("\n") == 1 and "/iflog?x=1" in log,
   "access_log inside if: only requests that took the if") or diag(log)
log = t.read("cond.log")
ok(log.count("\n") == 1 and "log=yes" in log,
   "access_log if=: a \"0\" condition skips the line") or diag(log)

# error_log in http, server and location is accepted and the file created
ok(all(os.path.exists(t.path(f)) for f in
       ("http_error.log", "server_error.log", "loc_error.log")),
   "error_log in http, server and location")

# a status raised while serving an error page is its own
is_(get("/e404").status, 405, "error_page target returning 405: 405")
r = get("/e405r302")
is_((r.status, r.header("location")),
    (302, "http://everyday.test:%d/elsewhere" % t.port("A")),
    "error_page target returning 302: 302")
r = get("/e405dir")
is_((r.status, r.header("location")),
    (301, "http://everyday.test:%d/adir/" % t.port("A")),
    "error_page target that is a directory: its 301")
r = get("/e405r200")
is_((r.status, r.body), (405, "text\n"),
    "error_page target returning 200 text: the error's status")

# rewrite: captures in arguments are escaped when the URI was; a
# redirect's target is decoded as nginx does
r = get("/capdup/%25?a=b")
is_(r.body, "uri=/capdup/% args=c=/capdup/%25&a=b\n",
    "a capture placed in the arguments is escaped")
r = get("/redir?r=http%3A%2F%2Fexample.com%2F%3Ffrom")
is_(r.header("location"), "http://example.com/?from",
    "a redirect target from an encoded argument is decoded")
r = get("/redir?r=http%3A%2F%2Fexample.com%0D%0Asplit")
is_(r.header("location"), "http://example.com%0D%0Asplit",
    "... but not CR LF")

# limit_rate: 1000 bytes a second, the first second's at once
t0 = time.time()
r = get("/slow/f.bin")
el = time.time() - t0
ok(r.status == 200 and len(r.body) == 2600 and 1.5 < el < 4.5,
   "limit_rate 1000: 2.6 kB take about 2 s") or diag("%.2f s" % el)
t0 = time.time()
r = get("/after/f.bin")
el = time.time() - t0
ok(r.status == 200 and len(r.body) == 2600 and el < 1,
   "limit_rate_after 10k: not limited") or diag("%.2f s" % el)

# an error_page for a request refused while reading its head runs (it was
# taken for a redirection cycle); a Location without a Host names the
# local address, not the server_name
rep = raw(t.port("D"), "GET /r301 HTTP/1.1\r\nHost: a/b\r\n\r\n")
ok(rep.status == 301 and b"\r\nLocation: http://127.0.0.1:%d/there\r\n"
   % t.port("D") in rep, "error_page 400 on a bad Host: its redirect, with "
   "the local address") or diag(rep[:300])
rep = raw(t.port("D"), "GET /r301 HTTP/1.0\r\n\r\n")
ok(rep.status == 301 and b"\r\nLocation: http://127.0.0.1:%d/there\r\n"
   % t.port("D") in rep, "no Host: Location names the local address") or \
    diag(rep[:300])

# $upstream_addr before any upstream was tried reads as empty (it was
# garbage, and the worker died)
r = get("/dyn/?b=nosuch.invalid")
is_((r.status, r.header("x-addr")), (502, "[]"),
    "a host proxy_pass cannot resolve: 502, $upstream_addr empty")

# proxy_pass to a UNIX-domain socket sends "Host: localhost"
is_(get("/tounix/x").body, "unix host=localhost\n",
    "proxy_pass http://unix:...: Host is localhost")

# $connection_time: seconds with milliseconds since the connection began
with Conn(t.port("A")) as c:
    c.get("/ctime", host="everyday.test")
    time.sleep(0.3)
    r = c.get("/ctime", host="everyday.test")
m = re.match(r"^(\d+\.\d{3})\n$", r.body)
ok(m and 0.25 <= float(m.group(1)) < 5, "$connection_time") or diag(r.body)

# allow and deny
mark = len(t.error_log())
is_(get("/.htpasswd").status, 403, "location ~ /\\.ht { deny all; }")
# nginx writes it to the server's error_log, usher to the main one
like(t.error_log()[mark:] + t.read("server_error.log"),
     r"\[error\] .*access forbidden by rule", "the refusal is logged")
is_(get("/acl/f.txt").body, "acl f\n", "allow 127.0.0.1 before deny all")
is_(get("/acl/no/f.txt").status, 403,
    "a nested location's rules replace its parent's")

# a fragment in the target is dropped; an absolute-form target without a
# path is "/"
for target, want, name in (
        ("/uri#frag", b"uri=/uri args=\n", "a fragment is dropped"),
        ("/uri?a=b#frag", b"uri=/uri args=a=b\n", "... after arguments too"),
        ("http://everyday.test?idx=other.html", b"other index\n",
         "an absolute-form target without a path"),
        ("http://everyday.test:%d?idx=other.html" % t.port("A"),
         b"other index\n", "... with a port")):
    rep = raw(t.port("A"), "GET %s HTTP/1.1\r\nHost: everyday.test\r\n"
              "Connection: close\r\n\r\n" % target)
    ok(rep.status == 200 and rep.endswith(want), name) or diag(rep[:300])

# add_header Last-Modified and ETag replace the file's own; "" drops it
r = get("/lm/f.txt")
is_((r.header("last-modified"), r.header("etag")),
    ("Mon, 28 Sep 1970 06:00:00 GMT", None),
    "add_header Last-Modified replaces, ETag \"\" removes")
is_(r.raw_head.lower().count(b"last-modified"), 1, "only one Last-Modified")

# redirects adding a slash: escaped, and nginx's auto redirect for proxied
# locations
base = "http://everyday.test:%d" % t.port("A")
r = get("/sp%20dir?a=b")
is_((r.status, r.header("location")), (301, base + "/sp%20dir/?a=b"),
    "a directory redirect escapes the URI")
r = get("/auto?a=b")
is_((r.status, r.header("location")), (301, base + "/auto/?a=b"),
    "/auto asked of a proxied location /auto/: 301 to /auto/")
r = get("/auto%20sp")
is_((r.status, r.header("location")), (301, base + "/auto%20sp/"),
    "the auto redirect escapes the URI")
is_(get("/auto/x").body, "backend /auto/x\n", "/auto/x is proxied")

# $server_name is the first name as written (lowercase; ".x" as "x")
for host, want in (("a.wild.test", "*.wild.test"),
                   ("www.tail.org", "www.tail.*"), ("a.dot.test", "dot.test")):
    is_(t.get("/", port="C", host=host).body, want,
        "$server_name of %s" % want)

t.stop()
t.check_error_log()


# geo: entries before "ranges" are an error, not silently dropped
t2 = Usher()
t2.write_file("usher.conf", "error_log error.log;\nevents { }\nhttp {\n"
              "    geo $g {\n        10.0.0.0/8 a;\n        ranges;\n"
              "    }\n}\n", render=False)
rc, out, err = t2.run("-t")
ok(rc == 1 and re.search(r'\[emerg\] the "ranges" directive must be the '
                         r'first directive inside "geo" block in '
                         r'\S+usher.conf:6$', err, re.M),
   "geo: ranges after an entry is refused") or diag(err)

for body in ("location / { proxy_pass http://127.0.0.1:1; "
             "proxy_cache_bypass $http_upgrade; proxy_no_cache $arg_x 1; }",
             "location / { error_log logs/loc.log warn; }",
             "server_tokens build;"):
    t2.write_file("usher.conf", "error_log error.log;\nevents { }\nhttp {\n"
                  "    error_log logs/http.log;\n"
                  "    server {\n        %s\n    }\n}\n" % body,
                  render=False)
    rc, out, err = t2.run("-t")
    is_(rc, 0, "accepted: %s" % body) or diag(err)

t2.write_file("usher.conf", "error_log error.log;\nevents { }\nhttp {\n"
              "    server {\n        location / { proxy_cache_bypass "
              "$nosuch; }\n    }\n}\n", render=False)
rc, out, err = t2.run("-t")
ok(rc == 1 and re.search(r'\[emerg\] unknown "nosuch" variable', err),
   "proxy_cache_bypass: an unknown variable is refused") or diag(err)

for body, regex in (
        ("location / { if ($arg_a) { deny all; } }",
         r'"deny" directive is not allowed here'),
        ("allow 10.0.0.0/33;", r'invalid parameter "10.0.0.0/33"'),
        ("deny 10.0.0.1/8 all;",
         r'invalid number of arguments in "deny" directive')):
    t2.write_file("usher.conf", "error_log error.log;\nevents { }\nhttp {\n"
                  "    server {\n        %s\n    }\n}\n" % body,
                  render=False)
    rc, out, err = t2.run("-t")
    ok(rc == 1 and re.search(r"\[emerg\] %s in \S+usher.conf:5$" % regex,
                             err, re.M), "refused: %s" % body) or diag(err)

sys.exit(done())
