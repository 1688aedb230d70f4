#!/usr/bin/env python3
# split_clients, as nginx's module does it: MurmurHash2 of the key into
# percentage buckets, so a key lands in the bucket nginx would give it.

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
    keepalive_requests 100000;

    split_clients "${arg_k}salt" $bucket {
        10%     a;
        20.5%   b;
        0.5%    c;
        50%     d;
        *       e;
    }
    split_clients "$arg_k" $half {
        50%     x;
        50%     y;
    }
    split_clients "$arg_k" $partial {
        30%     p;
    }
    split_clients "fixed" $fixed {
        99.99%  "ninety-nine";
        *       "rest";
    }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name split.test;

        location = /b { return 200 "$bucket $half [$partial] $fixed"; }
        location = /late { return 200 "$late"; }
        location = /twice {
            set $first $bucket;
            set $args "k=other";
            return 200 "$first $bucket";
        }
    }

    split_clients "x" $late {
        *       "defined below its use";
    }
}
""")
t.start()


def murmur2(data):
    """MurmurHash2, 32 bits, seed 0 (nginx's ngx_murmur_hash2)."""
    m = 0x5bd1e995
    n = len(data)
    h = n & 0xffffffff
    i = 0
    while n - i >= 4:
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = ((h * m) & 0xffffffff) ^ k
        i += 4
    rest = n - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def bucket(key, parts):
    """parts: [(hundredths of a percent or 0 for "*", value)]."""
    h = murmur2(key.encode())
    last = 0
    for pct, value in parts:
        if pct:
            last = (last + pct * 0xffffffff // 10000) & 0xffffffff
        if pct == 0 or h < last:
            return value
    return ""


BUCKET = [(1000, "a"), (2050, "b"), (50, "c"), (5000, "d"), (0, "e")]
HALF = [(5000, "x"), (5000, "y")]
PARTIAL = [(3000, "p")]

# Buckets nginx 1.22 gave these keys (learned by running this file with
# USHER pointing at nginx).
KNOWN = {
    "": "e x [p] ninety-nine",
    "a": "b y [] ninety-nine",
    "user1": "d x [p] ninety-nine",
    "user2": "b x [p] ninety-nine",
    "192.0.2.1": "d y [] ninety-nine",
    "abcd": "b x [p] ninety-nine",
    "abcde": "a x [] ninety-nine",
    "Mozilla/5.0": "d y [] ninety-nine",
}
c = t.conn()
for key, want in sorted(KNOWN.items()):
    c.request("GET", "/b?k=" + key, host="split.test")
    r = c.read_response()
    is_((r.status, r.body), (200, want), "the bucket nginx gives %r" % key)

counts = {}
mismatch = []
N = 2000
for i in range(N):
    key = "client-%d" % i
    c.request("GET", "/b?k=" + key, host="split.test")
    r = c.read_response()
    want = "%s %s [%s] ninety-nine" % (bucket(key + "salt", BUCKET),
                                bucket(key, HALF), bucket(key, PARTIAL))
    if r.body != want and len(mismatch) < 5:
        mismatch.append((key, r.body, want))
    b = r.body.split()[0]
    counts[b] = counts.get(b, 0) + 1
c.close()
ok(not mismatch, "%d keys land where MurmurHash2 puts them" % N)
if mismatch:
    diag(mismatch)
for b, pct in (("a", 10), ("b", 20.5), ("c", 0.5), ("d", 50), ("e", 19)):
    got = 100.0 * counts.get(b, 0) / N
    ok(abs(got - pct) < 3.5, "bucket %s holds about %s%% (%.1f%%)"
       % (b, pct, got))
is_(t.get("/late", host="split.test").body, "defined below its use",
    "split_clients may come after the server that uses it")
is_(t.get("/twice?k=user2", host="split.test").body, "b b",
    "the value is kept for the request once computed")

t.stop()
t.check_error_log()

BAD = (
    ('split_clients "$uri" $b { 60% a; 50% b; }',
     r'percent total is greater than 100%'),
    ('split_clients "$uri" $b { * a; 10% b; }',
     r'percent total is greater than 100%'),
    ('split_clients "$uri" $b { 60 a; }', r'invalid percent value "60"'),
    ('split_clients "$uri" $b { 0% a; }', r'invalid percent value "0%"'),
    ('split_clients "$uri" $b { 33.333% a; }',
     r'invalid percent value "33.333%"'),
    ('split_clients "$uri" $b { -5% a; }', r'invalid percent value "-5%"'),
    ('split_clients "$uri" $b { % a; }', r'invalid percent value "%"'),
    ('split_clients "$uri" $b { 1.5.1% a; }',
     r'invalid percent value "1.5.1%"'),
    ('split_clients "$uri" b { }', r'invalid variable name "b"'),
    ('split_clients "$uri" $host { }', r'the duplicate "host" variable'),
    ('split_clients "$nosuch" $b { }', r'unknown "nosuch" variable'),
)
for conf, msg in BAD:
    t.write_file("usher.conf", "events { }\nhttp {\n    %s\n}\n" % conf,
                 render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf)
    like(err, r"\[emerg\] " + msg + r"( in \S+usher.conf:3)?$",
         "message for: %s" % conf)

sys.exit(done())
