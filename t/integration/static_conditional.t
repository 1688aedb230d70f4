#!/usr/bin/env python3
# Conditional requests on static files: If-None-Match and If-Modified-Since
# (304), If-Match and If-Unmodified-Since (412), if_modified_since, and
# what a 304 carries.

import os
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
        root %%TESTDIR%%/html;

        location /before/ { if_modified_since before; }
        location /imsoff/ { if_modified_since off; }
        location /noetag/ { etag off; }
        location /exp/ { expires 1h; }
    }
}
""")

MTIME = 1700000000
LM = "Tue, 14 Nov 2023 22:13:20 GMT"
EARLIER = "Tue, 14 Nov 2023 22:13:19 GMT"
LATER = "Wed, 15 Nov 2023 22:13:20 GMT"
BODY = "0123456789abcdef\n"
for d in ("", "before/", "imsoff/", "noetag/", "exp/"):
    p = t.write_file("html/%sf.txt" % d, BODY)
    os.utime(p, (MTIME, MTIME))
t.start()

ETAG = '"%x-%x"' % (MTIME, len(BODY))


def get(path, **headers):
    return t.get(path, headers=[(k.replace("_", "-"), v)
                                for k, v in headers.items()])


r = get("/f.txt")
is_((r.status, r.header("etag"), r.header("last-modified")),
    (200, ETAG, LM), "the validators")

# If-None-Match
for inm, want, name in (
        (ETAG, 304, "the ETag"),
        ("W/" + ETAG, 304, "a weak comparison: W/ is ignored"),
        ('"x", ' + ETAG, 304, "the ETag in a list"),
        ('"x",%s ,"y"' % ETAG, 304, "a list with odd spacing"),
        ("*", 304, "*"),
        ('"x"', 200, "another ETag"),
        ('"x", "y"', 200, "a list without the ETag"),
        (ETAG[:-2] + '"', 200, "a prefix of the ETag")):
    r = get("/f.txt", If_None_Match=inm)
    is_(r.status, want, "If-None-Match %s: %d" % (name, want))

r = get("/f.txt", If_None_Match=ETAG)
is_((r.body, r.header("etag"), r.header("last-modified")), ("", ETAG, LM),
    "304: no body, ETag and Last-Modified")
ok(r.header("content-length") is None and r.header("content-type") is None
   and r.header("accept-ranges") is None,
   "304: no Content-Length, Content-Type or Accept-Ranges")
r = t.get("/f.txt", method="HEAD", headers={"If-None-Match": ETAG})
ok(r.status == 304 and r.header("content-length") is None,
   "HEAD with a matching If-None-Match: 304 without Content-Length")

# If-Modified-Since
for ims, want, name in ((LM, 304, "the mtime"),
                        (EARLIER, 200, "a second before"),
                        (LATER, 200, "later (exact is the default)"),
                        ("not a date", 200, "garbage")):
    r = get("/f.txt", If_Modified_Since=ims)
    is_(r.status, want, "If-Modified-Since %s: %d" % (name, want))
r = get("/before/f.txt", If_Modified_Since=LATER)
is_(r.status, 304, "if_modified_since before: a later date is a 304")
r = get("/before/f.txt", If_Modified_Since=EARLIER)
is_(r.status, 200, "if_modified_since before: an earlier date is a 200")
r = get("/imsoff/f.txt", If_Modified_Since=LM)
is_(r.status, 200, "if_modified_since off: always 200")

# both validators: both must say "not modified"
r = get("/f.txt", If_Modified_Since=LM, If_None_Match=ETAG)
is_(r.status, 304, "both match: 304")
r = get("/f.txt", If_Modified_Since=LM, If_None_Match='"other"')
is_(r.status, 200, "date matches, ETag does not: 200")
r = get("/f.txt", If_Modified_Since=EARLIER, If_None_Match=ETAG)
is_(r.status, 200, "ETag matches, date does not: 200")

r = get("/noetag/f.txt", If_None_Match=ETAG)
is_(r.status, 200, "etag off: If-None-Match cannot match")
r = get("/noetag/f.txt", If_Modified_Since=LM)
is_(r.status, 304, "etag off: If-Modified-Since still works")

# If-Match and If-Unmodified-Since
for hdrs, want, name in (
        ({"If-Match": ETAG}, 200, "If-Match the ETag"),
        ({"If-Match": "*"}, 200, "If-Match *"),
        ({"If-Match": '"a", ' + ETAG}, 200, "If-Match in a list"),
        ({"If-Match": '"other"'}, 412, "If-Match another ETag"),
        ({"If-Match": "W/" + ETAG}, 412, "If-Match compares strongly"),
        ({"If-Unmodified-Since": LM}, 200, "If-Unmodified-Since the mtime"),
        ({"If-Unmodified-Since": LATER}, 200, "If-Unmodified-Since later"),
        ({"If-Unmodified-Since": EARLIER}, 412,
         "If-Unmodified-Since earlier"),
        ({"If-Unmodified-Since": "garbage"}, 412,
         "If-Unmodified-Since garbage"),
        ({"If-Match": '"other"', "If-None-Match": ETAG}, 412,
         "If-Match is checked before If-None-Match"),
        ({"If-Unmodified-Since": EARLIER, "If-Modified-Since": LM}, 412,
         "If-Unmodified-Since before If-Modified-Since")):
    r = t.get("/f.txt", headers=hdrs)
    is_(r.status, want, "%s: %d" % (name, want))
r = get("/f.txt", If_Match='"other"')
like(r.body, r"<title>412 Precondition Failed</title>", "412: the error page")
ok(r.header("etag") is None and r.header("last-modified") is None,
   "412: without the validators")
r = get("/noetag/f.txt", If_Match=ETAG)
is_(r.status, 412, "etag off: If-Match with an ETag fails")

# a 304 carries expires
r = get("/exp/f.txt", If_None_Match=ETAG)
ok(r.status == 304 and r.header("cache-control") == "max-age=3600" and
   r.header("expires") is not None, "304 carries Expires and Cache-Control")

# a conditional wins over a range
r = get("/f.txt", If_None_Match=ETAG, Range="bytes=0-1")
is_(r.status, 304, "If-None-Match and Range: 304")

t.stop()
t.check_error_log()
sys.exit(done())
