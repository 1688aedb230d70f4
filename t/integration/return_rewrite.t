#!/usr/bin/env python3
# return, rewrite and error_page, as nginx's rewrite and core modules do them.

import os
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

# Rewrite chains: /c0 -> /c1 -> ... -> /c10 is ten URI changes (allowed);
# /d0 -> ... -> /d11 is eleven (a cycle error, 500).
CHAINS = "".join(
    "        location = /c%d { rewrite ^ /c%d last; }\n" % (i, i + 1)
    for i in range(10)) + "".join(
    "        location = /d%d { rewrite ^ /d%d last; }\n" % (i, i + 1)
    for i in range(11))

t = Usher(r"""
events { }
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name rw.test;
        root %%TESTDIR%%/html;

        rewrite ^/srv/(.*)$ /new/$1 last;

        location /text      { default_type text/x-test; return 200 "text $uri"; }
        location /plain     { return 200 "plain"; }
        location /r301      { return 301 /target?x=1; }
        location /r302      { return 302 http://other.test/abs; }
        location /r303      { return 303 /see; }
        location /r307      { return 307 /tmp; }
        location /r308      { return 308 /perm; }
        location /relative  { absolute_redirect off; return 301 /rel; }
        location /urlonly   { return http://other.test/x; }
        location /urlonly2  { return https://other.test/y; }
        location /nocontent { return 204; }
        location /close     { return 444; }
        location /n404      { return 404; }
        location /n404text  { return 404 "custom not found"; }

        location /new/      { return 200 "new uri=$uri args=$args"; }
        location /other/    { return 200 "re-matched"; }
        location /old/      { rewrite ^/old/(.*)$ /new/$1 last; return 200 "not reached"; }
        location /brk/      { rewrite ^/brk/(.*)$ /other/$1 break; return 200 "not reached"; }
        location /redir/    { rewrite ^/redir/(.*)$ /new/$1 redirect; }
        location /perm/     { rewrite ^/perm/(.*)$ /new/$1 permanent; }
        location /ext/      { rewrite ^/ext/(.*)$ http://other.test/$1; }
        location /args1     { rewrite ^ /new/a?x=1 last; }
        location /args2     { rewrite ^ /new/b?x=1? last; }
        location /args3     { rewrite ^ /new/c? last; }
        location /args4     { rewrite ^ /new/d?y=$arg_a redirect; }
        location /args5     { rewrite ^ /new/e? redirect; }
        location /seq       { rewrite ^/seq(.*)$ /seq2$1; rewrite ^/seq2(.*)$ /new/s$1 last; }
        location /nomatch   { rewrite ^/zzz / last; return 200 "nomatch"; }
        location /case      { rewrite (?i)^/CASE/(\w+) /new/$1 last; }
        location /loop1     { rewrite ^ /loop2 last; }
        location /loop2     { rewrite ^ /loop1 last; }
%%CHAINS%%
        location = /c10     { return 200 "end of chain c"; }
        location = /d11     { return 200 "end of chain d"; }

        location /ep1       { error_page 404 /err; return 404; }
        location /ep2       { error_page 404 =200 /err; return 404; }
        location /ep3       { error_page 404 = /err418; return 404; }
        location /ep4       { error_page 404 http://other.test/e; return 404; }
        location /ep5       { error_page 404 =301 http://other.test/e; return 404; }
        location /ep6       { error_page 404 /err?a=1; return 404; }
        location /ep7       { error_page 500 502 503 504 /err; return 503; }
        location /ep8       { error_page 404 /err; return 404 "own text"; }
        location = /err     { return 200 "err uri=$uri args=$args"; }
        location = /err418  { return 418 "teapot"; }
    }
}
""".replace("%%CHAINS%%", CHAINS))
t.write_file("html/other/b", "static b\n")
t.start()


def req(path):
    return t.get(path, host="rw.test")


base = "http://rw.test:%d" % t.port("A")

r = req("/text")
is_((r.status, r.body, r.header("content-type")),
    (200, "text /text", "text/x-test"),
    "return 200 TEXT: Content-Type from default_type")
r = req("/plain")
is_((r.status, r.body, r.header("content-type")), (200, "plain", "text/plain"),
    "return 200 TEXT: default_type is text/plain by default")
is_(r.header("content-length"), "5", "return TEXT has a Content-Length")

for path, code, loc in (("/r301", 301, base + "/target?x=1"),
                        ("/r302", 302, "http://other.test/abs"),
                        ("/r303", 303, base + "/see"),
                        ("/r307", 307, base + "/tmp"),
                        ("/r308", 308, base + "/perm"),
                        ("/relative", 301, "/rel"),
                        ("/urlonly", 302, "http://other.test/x"),
                        ("/urlonly2", 302, "https://other.test/y")):
    r = req(path)
    is_((r.status, r.header("location")), (code, loc),
        "%s: %d with Location %s" % (path, code, loc))
r = req("/r301")
like(r.body, r"<title>301 Moved Permanently</title>",
     "a redirect has a small HTML body")

r = req("/nocontent")
is_((r.status, r.body), (204, ""), "return 204: no body")
ok(r.header("content-length") is None and r.header("content-type") is None,
   "return 204: no Content-Length, no Content-Type")

reply = t.raw("GET /close HTTP/1.1\r\nHost: rw.test\r\n\r\n")
ok(reply == b"" and reply.closed, "return 444 closes with no response")

r = req("/n404")
is_(r.status, 404, "return 404")
like(r.body, r"<title>404 Not Found</title>", "return 404: the error page")
r = req("/n404text")
is_((r.status, r.body), (404, "custom not found"), "return 404 TEXT")

# rewrite
for path, want, name in (
        ("/old/a?q=1", "new uri=/new/a args=q=1",
         "rewrite last: captures, args kept, new location searched"),
        ("/args1?a=1", "new uri=/new/a args=x=1&a=1",
         "rewrite with args: the original args are appended"),
        ("/args2?a=1", "new uri=/new/b args=x=1",
         "rewrite with args ending in ?: original args dropped"),
        ("/args3?a=1", "new uri=/new/c args=", "rewrite to URI?: no args"),
        ("/seq/x", "new uri=/new/s/x args=",
         "rewrites without a flag run in sequence"),
        ("/srv/f?q=2", "new uri=/new/f args=q=2", "a server-level rewrite"),
        ("/nomatch", "nomatch", "a rewrite whose regex fails does nothing"),
        ("/case/abc", "new uri=/new/abc args=", "(?i) in a rewrite regex"),
        ("/c0", "end of chain c", "ten URI changes are allowed")):
    r = req(path)
    is_((r.status, r.body), (200, want), "%s: %s" % (path, name))

r = req("/brk/b?q=1")
is_((r.status, r.body), (200, "static b\n"),
    "rewrite break: URI changed, location kept, rewrite directives stop")

for path, code, loc, name in (
        ("/redir/c?q=1", 302, base + "/new/c?q=1", "rewrite redirect: 302"),
        ("/perm/d?q=1", 301, base + "/new/d?q=1", "rewrite permanent: 301"),
        ("/ext/e?q=1", 302, "http://other.test/e?q=1",
         "rewrite to http://...: 302"),
        ("/args4?a=1", 302, base + "/new/d?y=1&a=1",
         "redirect with args: original args appended"),
        ("/args5?a=1", 302, base + "/new/e", "redirect with ?: args dropped")):
    r = req(path)
    is_((r.status, r.header("location")), (code, loc), "%s: %s" % (path, name))

is_(req("/loop1").status, 500, "a rewrite loop ends in 500")
is_(req("/d0").status, 500, "eleven URI changes are too many: 500")

# error_page
for path, code, body, name in (
        ("/ep1", 404, "err uri=/err args=",
         "error_page 404 /err: internal redirect, status kept"),
        ("/ep2", 200, "err uri=/err args=", "error_page 404 =200 /err"),
        ("/ep3", 418, "teapot", "error_page 404 = /err418: status of /err418"),
        ("/ep6", 404, "err uri=/err args=a=1", "error_page with args"),
        ("/ep7", 503, "err uri=/err args=", "error_page with several codes"),
        ("/ep8", 404, "own text",
         "error_page is not used for return CODE TEXT")):
    r = req(path)
    is_((r.status, r.body), (code, body), "%s: %s" % (path, name))

for path, code, loc, name in (
        ("/ep4", 302, "http://other.test/e", "error_page 404 URL: 302"),
        ("/ep5", 301, "http://other.test/e", "error_page 404 =301 URL")):
    r = req(path)
    is_((r.status, r.header("location")), (code, loc), "%s: %s" % (path, name))

t.stop()
like(t.error_log(), r'\[error\] .*rewrite or internal redirection cycle '
     r'while processing "/loop[12]"', "the cycle is logged")
t.check_error_log()
sys.exit(done())
