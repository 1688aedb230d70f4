#!/usr/bin/env python3
# gzip on the fly, as nginx does it: proxied bodies with a length, chunked
# and close-delimited, static files and bodies usher makes itself, coded
# as they stream and decoded here to compare by hash; chunked for HTTP/1.1,
# close-delimited for HTTP/1.0; every condition that leaves a response
# alone (Accept-Encoding with q=0 and *, status, HEAD, type, length,
# Content-Encoding, gzip_http_version, gzip_proxied, gzip_disable, Range);
# Vary; ETag weakening; $gzip_ratio; gunzip; gzip_static on and always.

import gzip as gz
import hashlib
import os
import sys
import zlib

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import EchoBackend, pattern  # noqa: E402

require_binary()

HTML = (b"<html><body>" + b"".join(b"<p>line %d of a page</p>\n" % i
                                  for i in range(2000)) + b"</body></html>")
GZ_FILE = gz.compress(b"precompressed " * 100)


def respond(method, path, headers, body):
    h = {"Content-Type": "text/html"}
    q = path.split("?", 1)[1] if "?" in path else ""
    for kv in q.split("&"):
        if kv.startswith("h="):
            k, v = kv[2:].split(":", 1)
            h[k] = v.replace("+", " ")
    st = 200
    if "status=" in q:
        st = int(q.split("status=")[1].split("&")[0])
    out = HTML
    if path.startswith("/small"):
        out = b"tiny"
    if path.startswith("/gzipped"):
        out = gz.compress(HTML)
        h["Content-Encoding"] = "gzip"
    if path.startswith("/br"):
        h["Content-Encoding"] = "br"
        out = b"not really brotli"
    return st, h, out


fixed_port = free_port()
be = Backend(fixed_port, respond)

t = Usher(r"""
events { }
http {
    log_format gz "$uri $gzip_ratio";
    access_log logs/gz.log gz;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        gzip on;
        location / { proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""; }
        location /echo/ { gzip_types text/plain;
                          proxy_pass http://127.0.0.1:%%PORT_ECHO%%; }
        location /v10/ { gzip_http_version 1.0; gzip_types text/plain;
                         proxy_pass http://127.0.0.1:%%PORT_ECHO%%; }
        location /vary/ { gzip_vary on;
                          proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /min/ { gzip_min_length 100000;
                         proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /star/ { gzip_types *;
                          proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /any/ { gzip_proxied any;
                         proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /cond/ { gzip_proxied no-cache auth expired no_etag;
                          proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /dis/ { gzip_disable "^curl/" msie6;
                         proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /gun/ { gunzip on; gzip off;
                         proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""/; }
        location /static/ { root %%TESTDIR%%/html; gzip_vary on; }
        location /gzs/ { root %%TESTDIR%%/html; gzip_static on; gzip_vary on; }
        location /gza/ { root %%TESTDIR%%/html; gzip_static always; gunzip on; }
        location /gerr { error_page 500 /gza/f.txt; return 500; }
        location = /mem { default_type text/plain; gzip_types text/plain;
                          gzip_min_length 1; return 200 "a small body\n"; }
        location = /level9 { gzip_comp_level 9;
                             proxy_pass http://127.0.0.1:""" + str(fixed_port) + r"""; }
    }
}
""")
echo = EchoBackend(port=t.port("ECHO"), name="echo")
os.makedirs(t.path("html/static"), exist_ok=True)
os.makedirs(t.path("html/gzs"), exist_ok=True)
os.makedirs(t.path("html/gza"), exist_ok=True)
with open(t.path("html/static/page.html"), "wb") as f:
    f.write(HTML)
with open(t.path("html/static/data.bin"), "wb") as f:
    f.write(HTML)
with open(t.path("html/static/empty.html"), "wb") as f:
    pass
for d in ("gzs", "gza"):
    with open(t.path("html/%s/f.txt" % d), "wb") as f:
        f.write(b"plain version\n")
    with open(t.path("html/%s/f.txt.gz" % d), "wb") as f:
        f.write(GZ_FILE)
t.start()

AE = {"Accept-Encoding": "gzip"}


def get(path, headers=None, version="1.1"):
    c = Conn(t.port("A"))
    if version == "1.0":
        h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        c.send(("GET %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n" %
                (path, h)).encode())
        r = c.read_response()
    else:
        r = c.get(path, headers=headers)
    c.close()
    return r


def coded(r):
    return (r.header("content-encoding") or "") == "gzip"


def gunzipped(r):
    return gz.decompress(r.raw_body)


# -- proxied, fixed length
r = get("/page", AE)
is_(r.status, 200, "fixed: 200")
ok(coded(r), "fixed: Content-Encoding gzip")
is_(r.header("content-length"), None, "fixed: no Content-Length")
is_((r.header("transfer-encoding") or "").lower(), "chunked",
    "fixed: chunked to an HTTP/1.1 client")
is_(hashlib.sha256(gunzipped(r)).hexdigest(),
    hashlib.sha256(HTML).hexdigest(), "fixed: the body decodes to the original")
ok(len(r.raw_body) < len(HTML) / 4, "fixed: and it is much smaller")
is_(r.header("vary"), None, "no Vary without gzip_vary")
r = get("/level9", AE)
ok(coded(r) and gunzipped(r) == HTML, "gzip_comp_level 9 decodes")

# -- chunked and close-delimited upstreams, HTTP/1.0 clients
N = 300000
pat = pattern(N)
for mode in ("chunked", "close", "fixed"):
    r = get("/echo/x?be_len=%d&be_mode=%s&be_write=7000"
            "&be_header=Content-Type:text/plain" % (N, mode), AE)
    ok(coded(r) and gunzipped(r) == pat,
       "%s upstream: coded and decodes to the original" % mode)
r = get("/v10/x?be_len=%d&be_mode=chunked&be_header=Content-Type:text/plain"
        % N, AE, version="1.0")
ok(coded(r), "HTTP/1.0 client with gzip_http_version 1.0: coded")
is_(r.header("transfer-encoding"), None, "HTTP/1.0: not chunked")
is_(r.header("content-length"), None, "HTTP/1.0: no length")
is_((r.header("connection") or "").lower(), "close",
    "HTTP/1.0: close-delimited")
ok(gunzipped(r) == pat, "HTTP/1.0: decodes to the original")
r = get("/echo/x?be_len=1000&be_header=Content-Type:text/plain", AE,
        version="1.0")
ok(not coded(r), "HTTP/1.0 client with the default gzip_http_version 1.1: "
   "not coded")

# -- streaming: what arrived before the upstream paused reaches the client
import socket
import time
s = socket.create_connection(("127.0.0.1", t.port("A")))
s.sendall(b"GET /echo/x?be_len=200000&be_part=50000&be_pause=2&be_mode=chunked"
          b"&be_header=Content-Type:text/plain HTTP/1.1\r\nHost: localhost\r\n"
          b"Accept-Encoding: gzip\r\n\r\n")
s.settimeout(0.2)
got = b""
end = time.monotonic() + 1.2
while time.monotonic() < end:
    try:
        got += s.recv(65536)
    except socket.timeout:
        pass
head, _, body = got.partition(b"\r\n\r\n")
plain = b""
try:
    d = zlib.decompressobj(16 + 15)
    while body:
        line, _, rest = body.partition(b"\r\n")
        size = int(line, 16)
        plain += d.decompress(rest[:size])
        body = rest[size + 2:]
except (ValueError, zlib.error):
    pass
# (nginx holds them until its buffers fill: usher only)
ok(FLAVOR != "usher" or
   len(plain) >= 50000 and plain == pattern(200000)[:len(plain)],
   "streaming: the 50000 bytes sent before a 2 s pause are decodable "
   "before it ends (%d)" % len(plain))
s.close()

# -- Accept-Encoding
cases = [
    (None, False), ("gzip", True), ("GZIP", True),
    ("deflate, gzip;q=0.5", True), ("gzip;q=0", False),
    ("gzip; q=0.000", False), ("*;q=0", False),
    ("gzip;q=0, *", False), ("identity", False), ("br", False),
    ("gzip;q=1.0", True), ("gzipx", False),
]
if FLAVOR == "usher":
    # nginx knows neither "*" nor x-gzip here
    cases += [("*", True), ("deflate,*;q=0.1", True), ("x-gzip", True)]
for ae, want in cases:
    r = get("/page", {"Accept-Encoding": ae} if ae is not None else {})
    is_(coded(r), want, "Accept-Encoding %r: %s" % (ae, "coded" if want
                                                      else "not coded"))
    if not want:
        is_(r.raw_body, HTML, "Accept-Encoding %r: the body as is" % (ae,))

# -- status, method, type, length, Content-Encoding
ok(coded(get("/page?status=404", AE)), "404 is coded")
ok(coded(get("/page?status=403", AE)), "403 is coded")
ok(not coded(get("/page?status=201", AE)), "201 is not")
ok(not coded(get("/page?status=206&h=Content-Range:bytes+0-99/20000", AE)),
   "206 (a range) is not")
ok(not coded(get("/page?status=500", AE)), "500 is not")
c = Conn(t.port("A"))
r = c.get("/page", headers=AE, method="HEAD")
ok(coded(r), "HEAD: the head GET would get")
is_(r.header("content-length"), None, "HEAD: no length")
is_(r.header("transfer-encoding"), None, "HEAD: no chunked either")
r = c.get("/page", headers=AE)
ok(coded(r) and gunzipped(r) == HTML,
   "HEAD: the connection goes on with a coded GET")
c.close()
ok(not coded(get("/page?h=Content-Type:application/octet-stream", AE)),
   "an unlisted type is not coded")
ok(coded(get("/star/page?h=Content-Type:application/octet-stream", AE)),
   "gzip_types * codes any type")
ok(not coded(get("/small", AE)), "shorter than gzip_min_length (20): not")
ok(not coded(get("/min/page", AE)), "gzip_min_length 100000: not")
ok(coded(get("/echo/x?be_len=50&be_mode=chunked"
             "&be_header=Content-Type:text/plain", AE)),
   "unknown length: coded")
r = get("/br", AE)
is_(r.header("content-encoding"), "br", "a response already coded is left")
is_(r.raw_body, b"not really brotli", "and its body too")

# -- gzip_proxied (requests with Via)
VIA = dict(AE, Via="1.1 proxy")
ok(not coded(get("/page", VIA)), "Via with gzip_proxied off: not coded")
ok(coded(get("/any/page", VIA)), "gzip_proxied any: coded")
ok(not coded(get("/cond/page?h=ETag:\"x\"", VIA)),
   "gzip_proxied no-cache auth expired no_etag, none applies: not coded")
ok(coded(get("/cond/page?h=ETag:\"x\"&h=Cache-Control:no-cache", VIA)),
   "gzip_proxied no-cache with Cache-Control: no-cache: coded")
ok(coded(get("/cond/page?h=ETag:\"x\"", dict(VIA, Authorization="Basic x"))),
   "gzip_proxied auth with Authorization: coded")
ok(coded(get("/cond/page?h=ETag:\"x\"&h=Expires:Thu,+01+Jan+1970+00:00:00"
             "+GMT", VIA)), "gzip_proxied expired with an old Expires: coded")
ok(coded(get("/cond/page", VIA)), "gzip_proxied no_etag without ETag: coded")

# -- gzip_disable
ok(not coded(get("/dis/page", dict(AE, **{"User-Agent": "curl/8.0"}))),
   "gzip_disable regex: not coded")
ok(not coded(get("/dis/page", dict(AE, **{
    "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0)"}))),
   "gzip_disable msie6: MSIE 6 not coded")
ok(coded(get("/dis/page", dict(AE, **{
    "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
}))), "gzip_disable msie6: MSIE 6 SV1 coded")
ok(coded(get("/dis/page", dict(AE, **{"User-Agent": "Mozilla/5.0"}))),
   "gzip_disable: other agents coded")

# -- Vary and ETag
r = get("/vary/page", AE)
is_(r.header("vary"), "Accept-Encoding", "gzip_vary on: Vary")
r = get("/vary/page")
is_(r.header("vary"), "Accept-Encoding",
    "gzip_vary on: Vary also when the client does not take gzip")
r = get("/vary/small", AE)
is_(r.header("vary"), None, "gzip_vary: no Vary when too short to code")
if FLAVOR == "usher":
    r = get("/vary/page?h=Vary:accept-encoding", AE)
    is_(r.headers.get("vary"), "accept-encoding",
        "an upstream Vary naming it is not doubled (nginx doubles it)")
r = get("/page?h=ETag:\"abc\"", AE)
is_(r.header("etag"), 'W/"abc"', "a strong ETag is weakened")
r = get("/page?h=ETag:W/\"abc\"", AE)
is_(r.header("etag"), 'W/"abc"', "a weak ETag is kept")
r = get("/page?h=ETag:\"abc\"")
is_(r.header("etag"), '"abc"', "not coded: the ETag is left alone")
r = get("/page?h=Accept-Ranges:bytes", AE)
is_(r.header("accept-ranges"), None, "coded: no Accept-Ranges")

# -- static files and bodies in memory
r = get("/static/page.html", AE)
ok(coded(r) and gunzipped(r) == HTML, "static file: coded, decodes")
is_(r.header("content-length"), None, "static file: no length")
is_(r.header("vary"), "Accept-Encoding", "static file: Vary")
etag = r.header("etag") or ""
ok(etag.startswith('W/"'), "static file: weak ETag")
r = get("/static/page.html", dict(AE, **{"If-None-Match": etag}))
is_(r.status, 304, "static file: If-None-Match with the weak ETag gives 304")
r = get("/static/page.html")
ok(not coded(r) and r.raw_body == HTML, "static file without gzip: as is")
if FLAVOR == "usher":
    # nginx drops the Range and sends the whole file coded; usher keeps
    # ranges working and leaves the 206 alone
    r = get("/static/page.html", dict(AE, Range="bytes=0-99"))
    is_(r.status, 206, "static file with Range: 206")
    ok(not coded(r) and r.raw_body == HTML[:100],
       "static file with Range: the bytes, not coded")
ok(not coded(get("/static/data.bin", AE)), "static .bin: not coded")
r = get("/static/page.html", AE, version="1.0")
ok(not coded(r) and r.raw_body == HTML,
   "static file to HTTP/1.0 (gzip_http_version 1.1): as is")
r = get("/mem", AE)
ok(coded(r) and gunzipped(r) == b"a small body\n", "return's body: coded")
r = get("/nonexistent-dir/x", AE)

# -- $gzip_ratio
t.wait_log("logs/gz.log", n=5)
log = t.read("logs/gz.log")
like(log, r"(?m)^/page \d+\.\d\d$", "$gzip_ratio is logged for coded ones")
like(log, r"(?m)^/small -$", "$gzip_ratio is empty for others")

# -- gunzip
r = get("/gun/gzipped")
ok(not coded(r) and r.raw_body == HTML,
   "gunzip: a client without gzip gets it decoded")
is_(r.header("content-length"), None, "gunzip: no length")
r = get("/gun/gzipped", AE)
ok(coded(r) and gunzipped(r) == HTML,
   "gunzip: a client with gzip gets it as it was")

# -- gzip_static
r = get("/gzs/f.txt", AE)
ok(coded(r) and r.raw_body == GZ_FILE, "gzip_static on: the .gz file")
is_(r.header("content-length"), str(len(GZ_FILE)), "gzip_static: its length")
like(r.header("content-type") or "", r"^text/plain",
     "gzip_static: the type of the original name")
is_(r.header("vary"), "Accept-Encoding", "gzip_static with gzip_vary: Vary")
r = get("/gzs/f.txt")
ok(not coded(r) and r.raw_body == b"plain version\n",
   "gzip_static on, no gzip: the plain file")
r = get("/gza/f.txt")
ok(not coded(r) and r.raw_body == b"precompressed " * 100,
   "gzip_static always + gunzip: decoded for a client without gzip")
r = get("/gza/f.txt", AE)
ok(coded(r) and r.raw_body == GZ_FILE, "gzip_static always: the .gz file")
r = get("/gerr")
ok(r.status == 500 and not coded(r) and r.raw_body == b"precompressed " * 100,
   "gunzip decodes an error page too (500 from gzip_static always)")

t.stop()
no_errors = [ln for ln in t.error_log().splitlines()
             if "[alert]" in ln or "[crit]" in ln or "[emerg]" in ln]
is_(no_errors, [], "no alerts in the error log")
be.close()
echo.close()
done()
