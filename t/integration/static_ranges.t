#!/usr/bin/env python3
# Byte ranges on static files: single ranges at the edges, suffixes,
# multipart/byteranges, 416, max_ranges, If-Range, HEAD.

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
    types { text/plain txt; }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        root %%TESTDIR%%/html;

        location /max1/ { max_ranges 1; }
        location /max2/ { max_ranges 2; }
        location /max0/ { max_ranges 0; }
        location /noetag/ { etag off; }
    }
}
""")

MTIME = 1700000000
LM = "Tue, 14 Nov 2023 22:13:20 GMT"
DATA = "".join(chr(ord("a") + i % 26) for i in range(1000))   # 1000 bytes
SIZE = len(DATA)
for d in ("", "max1/", "max2/", "max0/", "noetag/"):
    os.utime(t.write_file("html/%sf.txt" % d, DATA), (MTIME, MTIME))
t.write_file("html/empty.txt", "")
t.start()

ETAG = '"%x-%x"' % (MTIME, SIZE)


def rng(spec, path="/f.txt", method="GET", **extra):
    h = [("Range", spec)] + [(k.replace("_", "-"), v)
                             for k, v in extra.items()]
    return t.get(path, headers=h, method=method)


def parts(r):
    """The parts of a multipart/byteranges body: [(content-range, data)]."""
    m = re.match(r"multipart/byteranges; boundary=(\S+)$",
                 r.header("content-type") or "")
    if not m:
        return None
    b = m.group(1)
    body = r.body
    if not body.startswith("\r\n--" + b + "\r\n") or \
            not body.endswith("\r\n--" + b + "--\r\n"):
        return None
    out = []
    for chunk in body[len("\r\n--" + b + "\r\n"):-len("\r\n--" + b +
                                                       "--\r\n")].split(
            "\r\n--" + b + "\r\n"):
        head, _, data = chunk.partition("\r\n\r\n")
        hdrs = dict(line.split(": ", 1) for line in head.split("\r\n"))
        out.append((hdrs.get("Content-Type"), hdrs.get("Content-Range"),
                    data))
    return out


# single ranges
for spec, start, end, name in (
        ("0-0", 0, 0, "the first byte"),
        ("999-999", 999, 999, "the last byte"),
        ("999-", 999, 999, "open-ended at the last byte"),
        ("0-", 0, 999, "0-: the whole file as a range"),
        ("10-19", 10, 19, "a middle range"),
        ("990-5000", 990, 999, "an end beyond the size is cut"),
        ("-1", 999, 999, "a suffix of one byte"),
        ("-10", 990, 999, "a suffix"),
        ("-5000", 0, 999, "a suffix longer than the file"),
        (" 5 - 7 ", 5, 7, "spaces around the numbers")):
    r = rng("bytes=" + spec)
    is_((r.status, r.header("content-range"), r.body,
         r.header("content-length")),
        (206, "bytes %d-%d/%d" % (start, end, SIZE), DATA[start:end + 1],
         str(end - start + 1)), "bytes=%s: %s" % (spec, name))
r = rng("bytes=0-0")
ok(r.header("accept-ranges") is None and r.header("etag") == ETAG and
   r.header("last-modified") == LM,
   "206: ETag and Last-Modified, no Accept-Ranges")
r = rng("BYTES=1-2")
is_((r.status, r.body), (206, DATA[1:3]), "the unit is case-insensitive")
r = rng("bytes=5-3,7-8")
is_((r.status, r.body), (206, DATA[7:9]),
    "a backwards range is dropped, the other served")

# multipart
r = rng("bytes=0-2,10-12,-3")
is_(r.status, 206, "three ranges: 206")
is_(parts(r), [("text/plain", "bytes 0-2/1000", DATA[0:3]),
               ("text/plain", "bytes 10-12/1000", DATA[10:13]),
               ("text/plain", "bytes 997-999/1000", DATA[997:])],
    "multipart/byteranges: each part with its type and range")
is_(r.header("content-length"), str(len(r.raw_body)),
    "multipart: Content-Length is the body's")
r = rng("bytes=0-499,250-749")
is_(parts(r), [("text/plain", "bytes 0-499/1000", DATA[0:500]),
               ("text/plain", "bytes 250-749/1000", DATA[250:750])],
    "overlapping ranges are served as asked")
r = rng("bytes=0-599,400-999")
is_((r.status, r.body), (200, DATA),
    "ranges summing to more than the file: the whole file")
r = rng("bytes=5-5,5-5,5-5")
is_([p[2] for p in parts(r)], ["f", "f", "f"], "the same byte thrice")
r = rng("bytes=1-2,4-5", method="HEAD")
ok(r.status == 206 and r.body == "" and
   r.header("content-type").startswith("multipart/byteranges") and
   int(r.header("content-length")) > 4, "HEAD with ranges: the head only")

# not satisfiable
for spec, name in (("1000-", "starting at the size"),
                   ("5000-6000", "beyond the end"),
                   ("-0", "an empty suffix"),
                   ("1000-1000,2000-", "all beyond the end"),
                   ("5-3", "only a backwards range"),
                   ("abc", "garbage"),
                   ("1-2,x", "garbage after a good range"),
                   ("99999999999999999999-", "an overflowing start"),
                   ("1-99999999999999999999", "an overflowing end")):
    r = rng("bytes=" + spec)
    is_((r.status, r.header("content-range")), (416, "bytes */1000"),
        "bytes=%s: 416, %s" % (spec, name))
r = rng("bytes=5000-")
like(r.body, r"<title>416 Requested Range Not Satisfiable</title>",
     "416: the error page")
ok(r.header("etag") is None and r.header("last-modified") is None,
   "416: no validators")

# ranges that are not ranges
for spec, name in (("bytes=", "empty"), ("items=0-1", "another unit"),
                   ("bytes=0-0,-1000", "the whole file with more")):
    r = rng(spec)
    is_((r.status, r.body), (200, DATA), "Range %s: the whole file" % name)
r = rng("bytes=0-0", path="/empty.txt")
is_((r.status, r.body), (200, ""), "a range of an empty file: 200")
r = rng("bytes=1-", path="/empty.txt")
is_((r.status, r.header("content-range")), (416, "bytes */0"),
    "bytes=1- of an empty file: 416")

# max_ranges
r = rng("bytes=0-1,3-4", path="/max1/f.txt")
is_((r.status, r.body), (200, DATA), "max_ranges 1: two ranges get 200")
r = rng("bytes=0-1", path="/max1/f.txt")
is_((r.status, r.body), (206, DATA[0:2]), "max_ranges 1: one range is fine")
r = rng("bytes=0-1,3-4", path="/max2/f.txt")
is_(r.status, 206, "max_ranges 2: two ranges")
r = rng("bytes=0-1,3-4,6-7", path="/max2/f.txt")
is_((r.status, r.body), (200, DATA), "max_ranges 2: three get the file")
r = rng("bytes=0-1", path="/max0/f.txt")
ok(r.status == 200 and r.header("accept-ranges") is None,
   "max_ranges 0: no ranges, no Accept-Ranges")

# If-Range
for ir, want, name in ((ETAG, 206, "the ETag"),
                       ('"other"', 200, "another ETag"),
                       ("W/" + ETAG, 200, "a weak ETag"),
                       (LM, 206, "the Last-Modified date"),
                       ("Tue, 14 Nov 2023 22:13:21 GMT", 200,
                        "another date"),
                       ("garbage", 200, "garbage")):
    r = rng("bytes=0-1", If_Range=ir)
    is_(r.status, want, "If-Range %s: %d" % (name, want))
r = rng("bytes=0-1", path="/noetag/f.txt", If_Range=ETAG)
is_(r.status, 200, "If-Range with an ETag and etag off: 200")
r = rng("bytes=0-1", path="/noetag/f.txt", If_Range=LM)
is_(r.status, 206, "If-Range with the date and etag off: 206")

t.stop()
t.check_error_log()
sys.exit(done())
