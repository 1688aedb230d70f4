#!/usr/bin/env python3
# charset: "; charset=NAME" is added to the Content-Type of the types in
# charset_types (text/html, text/xml, text/plain, ... by default), never to
# other types, never twice; charset off turns it off; error pages get it
# too; a response that names its charset keeps it unless override_charset.
# Recoding: a source_charset different from charset recodes the body through
# a charset_map, 8-bit to 8-bit (length and ranges kept), 8-bit to UTF-8 and
# back (length dropped, whole body), for files, bodies in memory and proxied
# bodies (with a length or chunked, characters split across reads), before
# gzip.  Characters without a mapping become "&#N;"; a missing map is an
# error at load.

import gzip
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()


def L(s):
    """Text as its UTF-8 bytes, spelled as latin-1 (how files and the
    configuration are written)."""
    return s.encode("utf-8").decode("latin-1")


# koi8-r: a=C1 b=C2 v=D7; windows-1251: a=E0 b=E1 v=E2
KOI = "\xc1\xc2\xd7"
WIN = "\xe0\xe1\xe2"
CYR = "\u0430\u0431\u0432"
KOI_TEXT = "x" + KOI + "y\xfe"          # \xfe is not in the maps
UTF_TEXT = L("<" + CYR + "\u20ac\U0001F600>") + "." * 20

# -- a backend that answers by path: fixed or chunked, in pieces ----------

BODIES = {
    "/koi": ("text/html", KOI_TEXT * 300),
    "/utf": ("text/html", UTF_TEXT * 300),
    "/named": ("text/html; charset=koi8-r", KOI_TEXT),
}


def serve(conn):
    try:
        conn.settimeout(5)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
        line = buf.split(b"\r\n", 1)[0].decode("latin-1")
        path = line.split(" ")[1]
        chunked = path.startswith("/chunked")
        if chunked:
            path = path[len("/chunked"):]
        ctype, body = BODIES.get(path, ("text/plain", "none"))
        body = body.encode("latin-1")
        head = "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n" \
            % ctype
        if not chunked:
            conn.sendall((head + "Content-Length: %d\r\n\r\n" % len(body))
                         .encode("latin-1") + body)
            return
        conn.sendall((head + "Transfer-Encoding: chunked\r\n\r\n")
                     .encode("latin-1"))
        # odd pieces with pauses: multi-byte characters split across reads
        for i in range(0, len(body), 777):
            piece = body[i:i + 777]
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            if i < 3000:
                time.sleep(0.02)
        conn.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()


be_port = free_port()
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", be_port))
lsock.listen(16)


def accept_loop():
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept_loop, daemon=True).start()

t = Usher(r"""
events { }
http {
    access_log off;
    types { text/html html; text/plain txt; }
    charset_map koi8-r windows-1251 {
        C1 E0; C2 E1; D7 E2;
    }
    charset_map koi8-r utf-8 {
        C1 D0B0;  C2 D0B1;  D7 D0B2;
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        root %%TESTDIR%%/html;
        charset utf-8;
        location /plain { default_type text/plain; return 200 "x"; }
        location /bin   { default_type application/octet-stream;
                          return 200 "x"; }
        location /json  { default_type application/json;
                          charset_types application/json;
                          return 200 "x"; }
        location /off   { charset off; default_type text/plain;
                          return 200 "x"; }
        location /named { default_type "text/html; charset=koi8-r";
                          return 200 "x"; }
        location /star  { default_type image/png; charset_types *;
                          return 200 "x"; }
        location /nf    { return 404; }
        location /redir { return 302 /x; }

        location /k2w/ { source_charset koi8-r; charset windows-1251; }
        location /w2k/ { alias %%TESTDIR%%/html/k2w/;
                         source_charset windows-1251; charset koi8-r; }
        location /k2u/ { source_charset koi8-r; }
        location /u2k/ { source_charset utf-8; charset koi8-r; }
        location /gz/  { alias %%TESTDIR%%/html/k2u/;
                         source_charset koi8-r; gzip on;
                         gzip_min_length 1; }
        location = /mem { source_charset utf-8; charset koi8-r;
                          default_type text/html;
                          return 200 "%%MEM%%"; }
        location = /memk { source_charset koi8-r; default_type text/html;
                           return 200 "%%MEMK%%"; }
        location /var  { source_charset koi8-r; charset $arg_cs; }

        location /p/   { source_charset koi8-r;
                         proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
        location /pu/  { source_charset utf-8; charset koi8-r;
                         proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
        location /pgz/ { source_charset koi8-r; gzip on;
                         gzip_min_length 1;
                         proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
        location /pw/  { source_charset koi8-r; charset windows-1251;
                         proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
        location /keep/ { proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
        location /over/ { override_charset on;
                          proxy_pass http://127.0.0.1:%%PORT_BE%%/; }
    }
}
""".replace("%%PORT_BE%%", str(be_port))
   .replace("%%MEMK%%", KOI)
   .replace("%%MEM%%", L(CYR + "\u00e9")))
t.write_file("html/k2w/a.html", KOI_TEXT * 10)
t.write_file("html/k2u/a.html", KOI_TEXT * 2000)
t.write_file("html/k2u/empty.html", "")
t.write_file("html/u2k/a.html", UTF_TEXT)
t.write_file("html/u2k/cut.html", UTF_TEXT + "\xd0")
t.write_file("html/u2k/bad.html", "a\xff!\xd0b\xe2\x82\xc0")
t.start()


def ctype(path):
    return t.get(path).header("content-type")


def get(path, **kw):
    return t.get(path, **kw)


def same(got, want, name):
    """is_ for long bodies: the first difference only."""
    if got == want:
        return ok(True, name)
    i = next((k for k in range(min(len(got), len(want)))
              if got[k] != want[k]), min(len(got), len(want)))
    ok(False, name)
    diag("lengths %d and %d, first difference at %d: %r vs %r" % (
        len(got), len(want), i, got[i:i + 20], want[i:i + 20]))


# -- labelling ------------------------------------------------------------

is_(ctype("/plain"), "text/plain; charset=utf-8", "text/plain gets it")
is_(ctype("/bin"), "application/octet-stream", "an unlisted type does not")
is_(ctype("/json"), "application/json; charset=utf-8",
    "charset_types application/json")
is_(ctype("/off"), "text/plain", "charset off")
is_(ctype("/named"), "text/html; charset=koi8-r",
    "a type that names its charset keeps it")
is_(ctype("/star"), "image/png; charset=utf-8", "charset_types *")
is_(ctype("/nf"), "text/html; charset=utf-8", "error pages get it too")
is_(ctype("/redir"), "text/html", "a redirect gets none")

# -- 8-bit to 8-bit: the length and ranges stay ---------------------------

KW = KOI_TEXT.replace("\xc1", "\xe0").replace("\xc2", "\xe1") \
    .replace("\xd7", "\xe2").replace("\xfe", "?")
r = get("/k2w/a.html")
is_(r.body, KW * 10, "koi8-r to windows-1251: recoded, unmapped byte '?'")
is_(r.header("content-type"), "text/html; charset=windows-1251",
    "labelled with the charset sent")
is_(r.header("content-length"), str(len(KOI_TEXT) * 10),
    "8-bit to 8-bit keeps Content-Length")
r = get("/k2w/a.html", headers={"Range": "bytes=1-3"})
is_((r.status, r.body), (206, WIN), "a range of a recoded body: 206, recoded")
r = get("/k2w/a.html", headers={"Range": "bytes=1000-"})
is_((r.status, r.header("content-type")),
    (416, "text/html; charset=windows-1251"), "416: the error page labelled")
r = get("/w2k/a.html")
# the file holds koi8-r bytes read as windows-1251: C1 C2 D7 are not in
# the reverse map, so they become '?'
is_(r.body[:6], "x???y?", "windows-1251 to koi8-r: the map read backwards, "
    "unmapped bytes '?'")

# -- 8-bit to UTF-8 -----------------------------------------------------

KU = L("x" + CYR + "y") + "?"
r = get("/k2u/a.html")
same(r.body, KU * 2000, "koi8-r to utf-8: a file, recoded")
is_(r.header("content-type"), "text/html; charset=utf-8", "labelled utf-8")
is_(r.header("content-length"), None, "no Content-Length: the size changes")
is_(r.header("accept-ranges"), None, "nor Accept-Ranges")
r = get("/k2u/a.html", headers={"Range": "bytes=0-3"})
is_((r.status, r.body == KU * 2000), (200, True),
    "a range of a body recoded to utf-8: 200 and all of it")
r = get("/k2u/a.html", version="HTTP/1.0")
is_((r.status, r.body == KU * 2000), (200, True),
    "HTTP/1.0: the whole body, delimited by the close")
r = get("/k2u/a.html", method="HEAD")
is_((r.status, r.header("content-length")), (200, None),
    "HEAD: no Content-Length either")
r = get("/k2u/empty.html")
is_((r.status, r.body), (200, ""), "an empty file")
r = get("/memk")
is_(r.body, L(CYR), "a body in memory, koi8-r to utf-8")

# -- UTF-8 to 8-bit: unmapped characters become &#N; ---------------------

UK = "<" + KOI + "&#8364;&#128512;>" + "." * 20
r = get("/u2k/a.html")
is_(r.body, UK, "utf-8 to koi8-r: unmapped characters as &#N;")
is_(r.header("content-type"), "text/html; charset=koi8-r", "labelled koi8-r")
r = get("/u2k/cut.html")
if usher_only("a sequence cut by the end of the body is dropped"):
    is_(r.body, UK + "?", "a sequence cut by the end of the file: '?'")
r = get("/u2k/bad.html")
if usher_only("a malformed sequence swallows the byte after it"):
    is_(r.body, "a?!?b??", "malformed sequences: '?' each, resyncing at the "
        "next byte")
r = get("/mem")
is_(r.body, KOI + "&#233;", "a body in memory, utf-8 to koi8-r")

# -- charset from a variable --------------------------------------------

r = get("/var/?cs=windows-1251")
is_(r.header("content-type"), "text/html; charset=windows-1251",
    "charset $arg_cs with a map: labelled")
r = get("/var/?cs=iso-8859-5")
is_((r.status, r.header("content-type")), (404, "text/html"),
    "a charset with no map from a variable: neither label nor recoding")

# -- proxied ---------------------------------------------------------------

r = get("/p/koi")
same(r.body, KU * 300, "proxied with a length, koi8-r to utf-8")
is_(r.header("content-length"), None, "proxied: the length is dropped")
r = get("/p/chunked/koi")
same(r.body, KU * 300, "proxied chunked, koi8-r to utf-8")
r = get("/pu/utf")
same(r.body, UK * 300, "proxied with a length, utf-8 to koi8-r")
r = get("/pu/chunked/utf")
same(r.body, UK * 300, "proxied chunked, characters split across reads")
with t.conn() as c:
    c.request("GET", "/pw/koi")
    r = c.read_response()
    same(r.body, KW[:len(KOI_TEXT)] * 300, "proxied, koi8-r to windows-1251")
    is_(r.header("content-length"), str(len(KOI_TEXT) * 300),
        "proxied 8-bit to 8-bit keeps Content-Length")
    c.request("GET", "/pw/chunked/koi")
    r = c.read_response()
    same(r.body, KW[:len(KOI_TEXT)] * 300,
         "the next request on the connection: chunked, recoded")
r = get("/keep/named")
is_((r.header("content-type"), r.body),
    ("text/html; charset=koi8-r", KOI_TEXT),
    "an upstream's charset is kept without override_charset")
r = get("/over/named")
is_((r.header("content-type"), r.body),
    ("text/html; charset=utf-8", KU),
    "override_charset: recoded from the upstream's charset")

# -- before gzip -----------------------------------------------------------

r = get("/gz/a.html", headers={"Accept-Encoding": "gzip"})
is_(r.header("content-encoding"), "gzip", "a recoded file is gzipped")
is_(gzip.decompress(r.raw_body).decode("latin-1"), KU * 2000,
    "recoded, then gzipped")
r = get("/pgz/chunked/koi", headers={"Accept-Encoding": "gzip"})
is_((r.header("content-encoding"),
     gzip.decompress(r.raw_body).decode("latin-1")), ("gzip", KU * 300),
    "a proxied chunked body recoded, then gzipped")
t.stop()

# -- a missing map at load --------------------------------------------------

bad = Usher(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
        charset utf-8;
        source_charset koi8-r;
        location / { return 200 "x"; }
    }
}
""")
rc, out, err = bad.run("-t")
like(err, r'no "charset_map" between the charsets "koi8-r" and "utf-8"',
     "recoding without a charset_map: refused at load, naming the charsets")
if FLAVOR == "nginx":
    skip("nginx names no file and line for it")
else:
    like(err, r"usher\.conf:\d+", "with the file and line")
ok(rc != 0, "-t fails")

bad = Usher(r"""
events { }
http {
    charset_map koi8-r utf-8 { C1 D0; }
    server { listen 127.0.0.1:%%PORT_A%%; }
}
""")
rc, out, err = bad.run("-t")
like(err, r'invalid value "D0"', "a map to an incomplete UTF-8 sequence")
bad = Usher(r"""
events { }
http {
    charset_map utf-8 koi8-r { D0B0 C1; }
    server { listen 127.0.0.1:%%PORT_A%%; }
}
""")
rc, out, err = bad.run("-t")
ok(rc != 0, "utf-8 goes second")
if FLAVOR != "nginx":
    like(err, r'"charset_map" with "utf-8" charset should be given in the '
         r'second column', "with nginx's message")
else:
    skip("nginx 1.22 names the value instead")
bad = Usher(r"""
events { }
http {
    charset_map a b { 41 42; }
    charset_map B A { 41 42; }
    server { listen 127.0.0.1:%%PORT_A%%; }
}
""")
rc, out, err = bad.run("-t")
like(err, r'duplicate "charset_map" between "B" and "A"', "a map given twice")
t.check_error_log()
lsock.close()
sys.exit(done())
