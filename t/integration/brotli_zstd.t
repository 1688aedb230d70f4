#!/usr/bin/env python3
# Brotli and zstd beside gzip (when usher is built with libbrotli and
# libzstd): the client's Accept-Encoding preference picks the coding, ties
# go to br, then zstd, then gzip; each coding has its own types and minimum
# length; proxied (fixed and chunked), file and in-memory bodies decode
# (with the brotli and zstd tools) to the original; brotli_static and
# zstd_static serve precompressed files; $brotli_ratio and $zstd_ratio.

import gzip as gz
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import EchoBackend, pattern  # noqa: E402

require_binary()
usher_only("Brotli and zstd are not in nginx")

for tool in ("brotli", "zstd"):
    if shutil.which(tool) is None:
        skip_all("the %s tool is not installed (apt-get install %s)"
                 % (tool, tool))

probe = Usher(r"""
events { }
http { brotli on; zstd on; server { listen 127.0.0.1:%%PORT_A%%; } }
""")
rc, out, err = probe.run("-t")
if "built without" in out + err:
    skip_all("usher was built without libbrotli or libzstd")

HTML = b"".join(b"<p>row %d of the table</p>\n" % i for i in range(3000))


def decode(coding, data):
    tool = {"br": ["brotli", "-d", "-c"], "zstd": ["zstd", "-d", "-c", "-q"],
            "gzip": None}[coding]
    if tool is None:
        return gz.decompress(data)
    p = subprocess.run(tool, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.stdout if p.returncode == 0 else b"<%s failed: %s>" % (
        coding.encode(), p.stderr)


echo = None
t = Usher(r"""
events { }
http {
    log_format r "$uri br=$brotli_ratio zstd=$zstd_ratio gzip=$gzip_ratio";
    access_log logs/r.log r;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        gzip on; brotli on; zstd on;
        gzip_types text/plain; brotli_types text/plain; zstd_types text/plain;
        brotli_comp_level 4; zstd_comp_level 3;
        location / { root %%TESTDIR%%/html; }
        location /p/ { proxy_http_version 1.1;
                       proxy_pass http://127.0.0.1:%%PORT_B%%; }
        location /onlygzip/ { brotli off; zstd off; root %%TESTDIR%%/html; }
        location /brmin/ { brotli_min_length 1000000; root %%TESTDIR%%/html; }
        location = /mem { default_type text/plain; return 200 "$request_uri and some words to code"; }
        location /st/ { root %%TESTDIR%%/html; brotli_static on; zstd_static on;
                        gzip_static on; }
    }
}
""")
echo = EchoBackend(port=t.port("B"), name="b")
os.makedirs(t.path("html/st"), exist_ok=True)
for d in ("", "onlygzip", "brmin"):
    os.makedirs(t.path("html/" + d), exist_ok=True)
    with open(t.path("html/%s/page.html" % d), "wb") as f:
        f.write(HTML)
with open(t.path("html/st/a.txt"), "wb") as f:
    f.write(b"plain\n")
with open(t.path("html/st/a.txt.br"), "wb") as f:
    f.write(b"BR-BYTES")
with open(t.path("html/st/a.txt.zst"), "wb") as f:
    f.write(b"ZSTD-BYTES")
with open(t.path("html/st/a.txt.gz"), "wb") as f:
    f.write(b"GZ-BYTES")
t.start()


def get(path, ae=None):
    c = Conn(t.port("A"))
    r = c.get(path, headers={"Accept-Encoding": ae} if ae else {})
    c.close()
    return r


def ce(r):
    return r.header("content-encoding")


# -- preference
for ae, want in [
        ("gzip, deflate, br, zstd", "br"), ("gzip, zstd", "zstd"),
        ("br;q=0.5, gzip", "gzip"), ("zstd;q=0.9, br;q=0.8", "zstd"),
        ("br", "br"), ("zstd", "zstd"), ("br;q=0, zstd;q=0, gzip", "gzip"),
        ("*", "br"), ("identity", None)]:
    r = get("/page.html", ae)
    is_(ce(r), want, "Accept-Encoding %r picks %s" % (ae, want))
    if want is not None:
        ok(decode(want, r.raw_body) == HTML, "%r: decodes" % ae)

ok(ce(get("/onlygzip/page.html", "br, zstd, gzip")) == "gzip",
   "brotli off and zstd off: gzip")
ok(ce(get("/brmin/page.html", "br, gzip")) == "gzip",
   "shorter than brotli_min_length: the next the client takes")

# -- proxied, fixed and chunked; memory
N = 200000
for coding in ("br", "zstd"):
    for mode in ("fixed", "chunked"):
        r = get("/p/x?be_len=%d&be_mode=%s&be_write=5000&be_header="
                "Content-Type:text/plain" % (N, mode), coding)
        ok(ce(r) == coding and decode(coding, r.raw_body) == pattern(N),
           "%s, %s upstream: coded, decodes to the original" % (coding, mode))
    r = get("/mem", coding)
    ok(ce(r) == coding and decode(coding, r.raw_body) ==
       b"/mem and some words to code", "%s: a body in memory" % coding)

# -- precompressed files
r = get("/st/a.txt", "gzip, br, zstd")
ok(ce(r) == "br" and r.raw_body == b"BR-BYTES", "brotli_static: a.txt.br")
r = get("/st/a.txt", "gzip, zstd")
ok(ce(r) == "zstd" and r.raw_body == b"ZSTD-BYTES", "zstd_static: a.txt.zst")
r = get("/st/a.txt", "gzip")
ok(ce(r) == "gzip" and r.raw_body == b"GZ-BYTES", "gzip_static: a.txt.gz")
r = get("/st/a.txt")
ok(ce(r) is None and r.raw_body == b"plain\n", "none: the plain file")

# -- ratios
t.wait_log("logs/r.log", n=10)
log = t.read("logs/r.log")
like(log, r"(?m)^/page\.html br=\d+\.\d\d zstd=- gzip=-$",
     "$brotli_ratio is logged")
like(log, r"(?m)^/page\.html br=- zstd=\d+\.\d\d gzip=-$",
     "$zstd_ratio is logged")

t.stop()
echo.close()
done()
