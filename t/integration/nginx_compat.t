#!/usr/bin/env python3
# Everyday nginx directives and variables that nginx's own test suite uses:
# $request_body and $request_body_file (with client_body_in_file_only),
# chunked bodies pipelined past a small header buffer, limit_except,
# keepalive_time, keepalive_disable, connection_pool_size, proxy_method,
# $pipe, $arg_ alone, limit_rate with variables and $limit_rate, listen
# with a port range, 100 Continue for a proxied empty body, proxy_redirect
# with variables, regexes and "default" among others, max_fails after an
# http_500, proxy_intercept_errors, add_trailer and $sent_trailer_,
# $upstream_http_ and $upstream_cookie_, $remote_user.

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
    client_body_temp_path %%TESTDIR%%/cbt;

    upstream two {
        server 127.0.0.1:%%PORT_B%%;
        server 127.0.0.1:%%PORT_C%%;
    }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        client_header_buffer_size 1k;
        connection_pool_size 512;
        request_pool_size 4k;
        root %%TESTDIR%%;

        location / {
            client_body_buffer_size 2k;
            add_header X-Body "$request_body";
            add_header X-Body-File "$request_body_file";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /fileonly {
            client_body_in_file_only on;
            add_header X-Body-File "$request_body_file";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /clean {
            client_body_in_file_only clean;
            client_body_in_single_buffer on;
            add_header X-Body-File "$request_body_file";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /stream {
            proxy_request_buffering off;
            client_body_buffer_size 2k;
            add_header X-Body "$request_body";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /noread { return 200 "[$request_body]\n"; }

        location /lmt/ {
            limit_except GET { deny all; }
            location /lmt/inner/ { }
        }
        location /katime {
            keepalive_time 1s;
            return 200 "katime\n";
        }
        location /kadis {
            keepalive_disable msie6 safari;
            return 200 "kadis\n";
        }
        location /kanone {
            keepalive_disable none;
            return 200 "kanone\n";
        }
        location /kazero {
            keepalive_timeout 0;
            return 200 "kazero\n";
        }
        location /pm/const { proxy_method PUT;
            proxy_pass http://127.0.0.1:%%PORT_B%%/replaced/; }
        location /pm/var { proxy_method $arg_m;
            proxy_pass http://127.0.0.1:%%PORT_B%%/replaced/; }
        location /pm/parent/ {
            proxy_method DELETE;
            location /pm/parent/child {
                proxy_pass http://127.0.0.1:%%PORT_B%%/replaced/;
            }
        }
        location /rd/ {
            set $v var_here;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            proxy_redirect http://127.0.0.1:%%PORT_B%%/rd/$v/ /replaced/$v/;
            proxy_redirect ~*^(.+)/RD/re_([^/]+) $1/$2/x.html;
            proxy_redirect default;
        }
        location /nu/ {
            proxy_pass http://two;
            proxy_next_upstream http_500 http_404;
        }
        location /ie/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            proxy_intercept_errors on;
            error_page 404 /ie404;
            error_page 401 /ie401;
        }
        location /ie404 { return 200 "intercepted [$upstream_addr]\n"; }
        location /ie401 { return 401 "again\n"; }
        location /tr {
            add_trailer X-T one;
            add_trailer X-T two;
            add_trailer X-E "";
            add_trailer X-S "[$sent_trailer_x_t]";
            return 200 "body\n";
        }
        location /tr404 {
            add_trailer X-T one;
            return 404;
        }
        location /tralways {
            add_trailer X-T one always;
            return 404;
        }
        location /uh/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            add_header X-UH "[$upstream_http_x_b]";
            add_header X-UC "[$upstream_cookie_c]";
            add_header X-UN "[$upstream_cookie_path]";
            add_header X-UD "[$upstream_cookie_d]";
        }
        location /ru { return 200 "[$remote_user]\n"; }
        location /ct { return 200 "[$content_type]\n"; }
        location /pipe { return 200 "pipe=$pipe\n"; }
        location /arg { return 200 "[$arg_a:$arg_]\n"; }
        location /lr/ {
            limit_rate $arg_r;
            limit_rate_after $arg_a;
            add_header X-Rate $limit_rate;
        }
        location /lrset/ {
            set $limit_rate $arg_r;
            add_header X-Rate $limit_rate;
        }
        location /lmtret/ {
            limit_except GET { }
            return 200 "returned\n";
        }
        location /lmtproxy/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%/replaced/;
            limit_except POST { allow 127.0.0.1; deny all; }
        }
        location /lmtother/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%/replaced/;
            limit_except post {
                proxy_pass http://127.0.0.1:%%PORT_B%%;
            }
        }
    }

    server {
        listen 127.0.0.1:%%PORT_B%%;
        location / {
            return 200 "backend\n";
        }
        location /replaced/ { return 200 "backend $request_method $uri\n"; }
        location /lmtother/ { return 200 "backend $request_method $uri\n"; }
        location /rd/ { return 302 http://127.0.0.1:%%PORT_B%%$uri; }
        location /uh/ {
            add_header X-B one;
            add_header X-B two;
            add_header Set-Cookie "c=3; Path=/";
            add_header Set-Cookie "d  =  4 4  ; Path=/";
            return 200 "uh\n";
        }
        location /nu/500 { return 500; }
        location /nu/404 { return 404; }
        location /nu/ok { return 200 "B\n"; }
        location /ie/404 { return 404; }
        location /ie/403 { return 403; }
        location /ie/401 {
            add_header WWW-Authenticate 'Basic realm="b"' always;
            return 401;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_C%%;
        location / { return 200 "C\n"; }
    }
}
""")
t.start()

# $request_body ------------------------------------------------------------

r = t.get("/", method="POST", body="0123456789")
is_((r.header("X-Body"), r.header("X-Body-File"), r.body),
    ("0123456789", None, "backend\n"),
    "$request_body: a body in memory, no file")
r = t.get("/", method="POST", body="x" * 1500)
is_(r.header("X-Body"), "x" * 1500, "$request_body: a body larger than the "
    "header buffer")
r = t.get("/")
is_((r.header("X-Body"), r.header("X-Body-File")), (None, None),
    "$request_body: no body, empty")
r = t.get("/", method="POST", body="y" * 5000)
f = r.header("X-Body-File") or ""
is_((r.header("X-Body"), f.startswith(t.prefix + "/cbt/")), (None, True),
    "$request_body: a body in a file is empty, $request_body_file names it")
ok(f and wait_for(lambda: not os.path.exists(f), timeout=2),
   "$request_body_file: removed after the request")
r = t.get("/noread", method="POST", body="abc")
is_(r.body, "[]\n", "$request_body: a body not read is empty")

r = t.get("/fileonly", method="POST", body="small")
f = r.header("X-Body-File") or ""
ok(f.startswith(t.prefix + "/cbt/") and os.path.exists(f) and
   open(f).read() == "small" and r.body == "backend\n",
   "client_body_in_file_only on: the file is kept, the body proxied")
r = t.get("/clean", method="POST", body="small")
f = r.header("X-Body-File") or ""
ok(f.startswith(t.prefix + "/cbt/") and
   wait_for(lambda: not os.path.exists(f), timeout=2) and
   r.body == "backend\n",
   "client_body_in_file_only clean: the file is removed")

r = t.get("/stream", method="POST", body="0123456789")
is_((r.header("X-Body"), r.body), ("0123456789", "backend\n"),
    "$request_body: a streamed body that fits in client_body_buffer_size")
if usher_only("nginx keeps what its buffers happen to hold"):
    r = t.get("/stream", method="POST", body="z" * 3000)
    is_((r.header("X-Body"), r.body), (None, "backend\n"),
        "$request_body: a streamed body larger than the buffer is empty")


# chunked bodies pipelined -------------------------------------------------

def chunked(path, body, close=False):
    return ("POST %s HTTP/1.1\r\nHost: localhost\r\n%s"
            "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (path, "Connection: close\r\n" if close else "", len(body),
               body))


# the bytes after a chunked body, read with it, are more than the 1k
# header buffer holds: they once were dropped and the client waited
reply = t.raw(chunked("/", "a" * 10) + chunked("/", "b" * 1280) +
              chunked("/", "c" * 5120) + chunked("/", "foobar", True))
is_(reply.count(b"HTTP/1.1 200"), 4, "chunked bodies pipelined: 4 answers")
like(reply.decode("latin-1"), r"X-Body: foobar\r\n",
     "chunked bodies pipelined: the last body")


# limit_except -------------------------------------------------------------

t.write_file("lmt/f.txt", "lmt f\n")
t.write_file("lmt/inner/f.txt", "inner f\n")
is_(t.get("/lmt/f.txt").status, 200, "limit_except GET: GET passes")
is_(t.get("/lmt/f.txt", method="HEAD").status, 200,
    "limit_except GET: HEAD passes with GET")
is_(t.get("/lmt/f.txt", method="POST", body="x").status, 403,
    "limit_except GET: POST is denied")
is_(t.get("/lmt/f.txt", method="DELETE").status, 403,
    "limit_except GET: DELETE is denied")
is_(t.get("/lmt/inner/f.txt", method="DELETE").status, 405,
    "limit_except: a nested location is not limited")
r = t.get("/lmtproxy/a?x=1")
is_((r.status, r.body), (200, "backend GET /replaced/a\n"),
    "limit_except: the block keeps the location's proxy_pass")
r = t.get("/lmtother/a")
is_((r.status, r.body), (200, "backend GET /lmtother/a\n"),
    "limit_except: a proxy_pass of its own in the block")
r = t.get("/lmtother/a", method="POST", body="x")
is_((r.status, r.body), (200, "backend POST /replaced/a\n"),
    "limit_except: a listed method keeps the location's proxy_pass")
t.write_file("lmtret/f.txt", "lmtret f\n")
is_(t.get("/lmtret/f.txt").body, "returned\n",
    "limit_except: a listed method runs the location's return")
# the file handler, not return, answers: 405 for OPTIONS
is_(t.get("/lmtret/f.txt", method="OPTIONS").status, 405,
    "limit_except: a limited request skips it, as nginx does")


# keep-alive ---------------------------------------------------------------

with t.conn() as c:
    r1 = c.get("/katime")
    r2 = c.get("/katime")
    time.sleep(1.2)
    r3 = c.get("/katime")
    is_((r1.header("Connection"), r2.header("Connection"),
         r3.header("Connection"), c.closed()),
        ("keep-alive", "keep-alive", "close", True),
        "keepalive_time: the connection is not reused once it is older")

msie6 = {"User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"}
msie7 = {"User-Agent": "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)"}
safari = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_3) "
          "AppleWebKit/534.53.11 (KHTML, like Gecko) Safari/7534.48.3"}
chrome = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_3) "
          "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 "
          "Safari/537.36"}


def ka(path, headers, method="GET"):
    with t.conn() as c:
        c.request(method, path, headers, "x" if method == "POST" else None)
        return c.read_response().header("Connection")


is_(ka("/kadis", msie6, "POST"), "close",
    "keepalive_disable msie6: a POST from MSIE 6")
is_(ka("/kadis", msie6), "keep-alive",
    "keepalive_disable msie6: a GET from MSIE 6 keeps it")
is_(ka("/kadis", msie7, "POST"), "keep-alive",
    "keepalive_disable msie6: MSIE 7 keeps it")
is_(ka("/kadis", safari), "close", "keepalive_disable safari")
is_(ka("/kadis", chrome), "keep-alive",
    "keepalive_disable safari: Chrome is not Safari")
is_(ka("/katime", msie6, "POST"), "close",
    "keepalive_disable: msie6 by default")
is_(ka("/katime", safari), "keep-alive",
    "keepalive_disable: Safari keeps it by default")
is_(ka("/kanone", msie6, "POST"), "keep-alive", "keepalive_disable none")
is_(ka("/kazero", {}), "close", "keepalive_timeout 0: Connection: close")


# proxy_method, $pipe, $arg_ ----------------------------------------------

is_(t.get("/pm/const").body, "backend PUT /replaced/\n", "proxy_method")
is_(t.get("/pm/var?m=PATCH").body, "backend PATCH /replaced/\n",
    "proxy_method with a variable")
if usher_only("an empty method goes upstream"):
    is_(t.get("/pm/var").body, "backend GET /replaced/\n",
        "proxy_method: empty keeps the client's method")
is_(t.get("/pm/parent/child").body, "backend DELETE /replaced/\n",
    "proxy_method: inherited")
if usher_only("a method with a space goes upstream as it is"):
    is_(t.get("/pm/var?m=GET%20/x").status, 500,
        "proxy_method: a value that is not a token is refused")

reply = t.raw("GET /pipe HTTP/1.1\r\nHost: a\r\n\r\n"
              "GET /pipe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
like(reply.decode("latin-1"), r"(?s)pipe=\..*pipe=p",
     "$pipe: . then p for a pipelined request")
is_(t.get("/arg?a=1&=2").body, "[1:]\n", "$arg_ alone is empty")

# a proxied request reads its body, even an empty one: the expectation is
# met with 100 Continue, as nginx does
reply = t.raw("POST /pm/const HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n")
like(reply.decode("latin-1"), r"^HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200",
     "Expect: 100-continue, proxied, empty body: 100 then the response")
reply = t.raw("POST /pm/const HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\n"
              "Content-Length: 0\r\n\r\n")
like(reply.decode("latin-1"), r"^HTTP/1.1 200",
     "Expect: 100-continue from HTTP/1.0: no 100")

# proxy_redirect -------------------------------------------------------------

b = t.port("B")
a = "http://localhost:%d" % t.port("A")
is_(t.get("/rd/var_here/a").header("Location"), a + "/replaced/var_here/a",
    "proxy_redirect: a variable in the first argument")
is_(t.get("/rd/Re_Thing/y").header("Location"),
    "http://127.0.0.1:%d/Thing/x.html" % b,
    "proxy_redirect: a caseless regex with captures")
is_(t.get("/rd/other").header("Location"), a + "/rd/other",
    "proxy_redirect: default among the others")

# max_fails after http_500, proxy_intercept_errors ------------------------

# a 404 passed over is not the server's failure; a 500 is (max_fails 1)
bodies = [t.get("/nu/404").body for _ in range(2)]
ok(all(b == "C\n" for b in bodies), "next upstream on 404")
bodies = "".join(t.get("/nu/ok").body for _ in range(2))
ok("B" in bodies, "a 404 does not count towards max_fails")
for _ in range(2):
    t.get("/nu/500")
bodies = "".join(t.get("/nu/ok").body for _ in range(4))
is_(bodies, "C\n" * 4, "a 500 passed over counts towards max_fails")

r = t.get("/ie/404")
is_((r.status, r.body),
    (404, "intercepted [127.0.0.1:%d]\n" % t.port("B")),
    "proxy_intercept_errors: error_page serves an upstream 404")
r = t.get("/ie/403")
is_(r.status, 403, "proxy_intercept_errors: no error_page, passed on")
r = t.get("/ie/401")
is_((r.status, r.header("WWW-Authenticate"), r.body),
    (401, 'Basic realm="b"', "again\n"),
    "proxy_intercept_errors: a 401 keeps its challenge")

# add_trailer, $upstream_http_, $upstream_cookie_ --------------------------

reply = t.raw("GET /tr HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
head, _, body = reply.partition(b"\r\n\r\n")
ok(b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head,
   "add_trailer: the response is chunked")
# nginx before 1.23 gives the first of several fields only
joined = "one, two" if FLAVOR != "nginx" else "one"
is_(body, b"5\r\nbody\n\r\n0\r\nX-T: one\r\nX-T: two\r\n"
    b"X-S: [" + joined.encode() + b"]\r\n\r\n",
    "add_trailer: the trailers, empty ones left out, $sent_trailer_")
reply = t.raw("GET /tr HTTP/1.0\r\nHost: a\r\n\r\n")
ok(b"Content-Length: 5\r\n" in reply and b"X-T" not in reply,
   "add_trailer: none for HTTP/1.0")
reply = t.raw("HEAD /tr HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
ok(b"X-T" not in reply, "add_trailer: none for HEAD")
reply = t.raw("GET /tr404 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
ok(b"Content-Length" in reply and b"X-T" not in reply,
   "add_trailer: not for a 404 without always")
reply = t.raw("GET /tralways HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
              "\r\n")
ok(reply.endswith(b"0\r\nX-T: one\r\n\r\n"), "add_trailer ... always")

r = t.get("/uh/x")
is_((r.header("X-UH"), r.header("X-UC"), r.header("X-UN")),
    ("[%s]" % joined, "[3]", "[]"),
    "$upstream_http_ joins fields; $upstream_cookie_ reads Set-Cookie")
# nginx before 1.23 keeps the spaces before ';'
is_(r.header("X-UD"), "[4 4]" if FLAVOR != "nginx" else "[4 4  ]",
    "$upstream_cookie_: spaces around = and after")

# $remote_user: "user:secret", "nocolon", "a:b:c", bad base64
for auth, want in (("Basic dXNlcjpzZWNyZXQ=", "[user]\n"),
                   ("basic  dXNlcjpzZWNyZXQ=", "[user]\n"),
                   ("Basic bm9jb2xvbg==", "[]\n"),
                   ("Basic YTpiOmM=", "[a]\n"),
                   ("Basic !!!!", "[]\n"),
                   ("Bearer dXNlcjpzZWNyZXQ=", "[]\n")):
    is_(t.get("/ru", headers={"Authorization": auth}).body, want,
        "$remote_user from %r" % auth)

with t.conn() as c:
    c.send(b"GET /ct HTTP/1.1\r\nHost: a\r\nContent-Type: foo\r\n"
           b"Content-Type: bar\r\nConnection: close\r\n\r\n")
    r = c.read_response()
is_(r.body, "[%s]\n" % ("foo, bar" if FLAVOR != "nginx" else "foo"),
    "$content_type: several fields joined (nginx 1.23 and later)")

# limit_rate with variables and $limit_rate --------------------------------

t.write_file("lr/f.bin", "r" * 3000)
t.write_file("lrset/f.bin", "s" * 3000)
r = t.get("/lr/f.bin?r=1k")
is_(r.header("X-Rate"), "0",
    "limit_rate $arg_r: $limit_rate is 0 until sending works it out")
start = time.time()
r = t.get("/lr/f.bin?r=1k")
took = time.time() - start
ok(len(r.body) == 3000 and took >= 1.5,
   "limit_rate $arg_r: 3000 bytes at 1k/s take 2s (%.1fs)" % took)
start = time.time()
r = t.get("/lr/f.bin?r=1k&a=3k")
ok(len(r.body) == 3000 and time.time() - start < 1,
   "limit_rate_after $arg_a: sent at once")
start = time.time()
r = t.get("/lr/f.bin?r=bad")
ok(len(r.body) == 3000 and time.time() - start < 1,
   "limit_rate: an invalid value is no limit")
r = t.get("/lrset/f.bin?r=bad")
is_(r.header("X-Rate"), "0", "set $limit_rate: an invalid value is ignored")
r = t.get("/lrset/f.bin?r=40k")
is_(r.header("X-Rate"), "40960", "set $limit_rate")
start = time.time()
r = t.get("/lrset/f.bin?r=1k")
took = time.time() - start
ok(len(r.body) == 3000 and took >= 1.5,
   "set $limit_rate: applies to the file (%.1fs)" % took)

t.check_error_log()
like(t.read("error.log"), r'invalid \$limit_rate "bad"',
     "set $limit_rate: the invalid value is logged")


# listen with a port range -------------------------------------------------

def free_pair():
    import socket
    for _ in range(50):
        p = free_port()
        if p >= 65535:
            continue
        try:
            with socket.socket() as s1, socket.socket() as s2:
                s1.bind(("127.0.0.1", p))
                s2.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    return None


p = free_pair()
if p is None:
    skip("no two consecutive free ports", 3)
else:
    lt = Usher("""
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%d-%d;
        return 200 "port=$server_port addr=$server_addr\\n";
    }
}
""" % (p, p + 1))
    lt.start()
    is_(http_get(p, "/").body, "port=%d addr=127.0.0.1\n" % p,
        "listen range: the first port")
    is_(http_get(p + 1, "/").body, "port=%d addr=127.0.0.1\n" % (p + 1),
        "listen range: the last port")
    lt.stop()
    lt.check_error_log(name="listen range: no alert, crit or sanitizer "
                       "report")

for conf, msg in (
        ("limit_except GET FOO { }", r'invalid method "FOO"'),
        ("limit_except GET { } limit_except POST { }",
         r'"limit_except" directive is duplicate'),
        ("limit_except GET { return 200; }",
         r'"return" directive is not allowed here'),
        ("keepalive_disable msie6 opera;", r'invalid value "opera"'),
        ("keepalive_time 1x;", r'"keepalive_time" directive invalid value'),
        ("} } server { listen 127.0.0.1:90-80; location / {",
         r'invalid port range in "127.0.0.1:90-80"'),
        ("} } server { listen 127.0.0.1:80-70000; location / {",
         r'invalid port in "127.0.0.1:80-70000"')):
    bad = Usher("""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { """ + conf + """ }
    }
}
""")
    rc, out, err = bad.run("-t")
    ok(rc != 0 and re.search(msg, err), "config error: " + msg)

done()
