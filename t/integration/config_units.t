#!/usr/bin/env python3
# Units of sizes and times, and quoted strings, as nginx parses them.
#   sizes: N, Nk, NK, Nm, NM, Ng, NG
#   times: ms s m h d w M y, combined from largest to smallest ("1m30s");
#          a time kept in milliseconds must fit in 2^31 ms (so "1M" is
#          rejected for keepalive_timeout but fine as its header timeout,
#          which is kept in seconds)
#   strings: "..." and '...' with \" \' \\ \t \r \n; $var and ${var}.

import os
import re
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher()
N = t.name


def check(directive, good):
    """-t on an http block holding directive."""
    t.write_file("usher.conf", "events { }\nhttp {\n    %s;\n}\n" % directive,
                 render=False)
    rc, out, err = t.run("-t")
    if good:
        if not is_(rc, 0, "accepted: %s" % directive):
            diag(err)
    else:
        name = directive.split()[0]
        ok(rc == 1 and re.search(r'\[emerg\] "%s" directive invalid value in '
                                 r'\S+usher.conf:3$' % name, err, re.M),
           "rejected as invalid value: %s" % directive) or diag(err)


for d in ("client_max_body_size 100", "client_max_body_size 1k",
          "client_max_body_size 1K", "client_max_body_size 2m",
          "client_max_body_size 2M", "client_max_body_size 1g",
          "client_max_body_size 1G", "client_max_body_size 0",
          "keepalive_timeout 5", "keepalive_timeout 500ms",
          "keepalive_timeout 10s", "keepalive_timeout 2m",
          "keepalive_timeout 1h", "keepalive_timeout 1d",
          "keepalive_timeout 2w", "keepalive_timeout 1m30s",
          "keepalive_timeout 1s500ms", "keepalive_timeout 1h 1y",
          "keepalive_timeout 1h 2M", "send_timeout 1ms"):
    check(d, True)

for d in ("client_max_body_size 10x", "client_max_body_size 1.5m",
          "client_max_body_size 1kb", "client_max_body_size -1",
          "client_max_body_size k", "keepalive_timeout 10x",
          "keepalive_timeout 30s1m", "keepalive_timeout 500mss",
          "keepalive_timeout -1", "keepalive_timeout 1M",
          "keepalive_timeout 1y", "send_timeout 1S"):
    check(d, False)

# -- sizes and times take effect

t.write_conf("""\
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /k  { client_max_body_size 1k; return 200 "k"; }
        location /K  { client_max_body_size 2K; return 200 "K"; }
        location /m  { client_max_body_size 1m; return 200 "m"; }
        location /z  { client_max_body_size 0;  return 200 "z"; }
        location /plain { client_max_body_size 100; return 200 "p"; }
    }
}
""")
t.start()


def post(path, n):
    return t.get(path, method="POST", body="x" * n).status


is_(post("/k", 1024), 200, "1k: a body of 1024 bytes is allowed")
is_(post("/k", 1025), 413, "1k: a body of 1025 bytes is too large")
is_(post("/K", 2048), 200, "2K: a body of 2048 bytes is allowed")
is_(post("/K", 2049), 413, "2K: a body of 2049 bytes is too large")
is_(post("/m", 1048576), 200, "1m: a body of 1048576 bytes is allowed")
is_(t.get("/m", method="POST",
          headers={"Content-Length": "1048577"}).status, 413,
    "1m: a Content-Length of 1048577 is too large")
is_(post("/plain", 100), 200, "100: a body of 100 bytes is allowed")
is_(post("/plain", 101), 413, "100: a body of 101 bytes is too large")
is_(post("/z", 200000), 200, "0: no limit")
t.stop()

# -- quoted strings and variables in return text

t.write_conf(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /dq    { return 200 "q\"d \'s\' b\\s|\t|\r|\n|\x|50% {};"; }
        location /sq    { return 200 'single "dq" \'sq\' $args'; }
        location /bare  { return 200 un\"quoted; }
        location /vars  { return 200 "$uri|${uri}x|$uri.x|$uri-x|$args"; }
        location /join  { return 200 "${uri}${args}$is_args$args"; }
        location /multi {
            return 200 "line one
line two";
        }
    }
}
""")
t.start()

is_(t.get("/dq").body, "q\"d 's' b\\s|\t|\r|\n|\\x|50% {};",
    'escapes in "...": \\" \\\' \\\\ \\t \\r \\n; others kept')
is_(t.get("/sq?a=1").body, "single \"dq\" 'sq' a=1",
    "single quotes: \\' and a variable")
is_(t.get("/bare").body, 'un"quoted', "an escape in an unquoted word")
is_(t.get("/vars?v=2").body, "/vars|/varsx|/vars.x|/vars-x|v=2",
    "$var ends at a non-name character; ${var} ends at the brace")
is_(t.get("/join?j").body, "/joinj?j", "adjacent variables")
is_(t.get("/multi").body, "line one\nline two",
    "a newline inside quotes is kept")
t.stop()

# (nginx resolves variable names after parsing: no file and line for that one)
for conf, msg in (('return 200 "$urix";',
                   r'unknown "urix" variable( in \S+usher.conf:4)?$'),
                  ('return 200 "${uri";', r'the closing bracket in "uri" '
                   r'variable is missing in \S+usher.conf:4$'),
                  ('return 200 "a $ b";',
                   r'invalid variable name in \S+usher.conf:4$')):
    t.write_file("usher.conf", "events { }\nhttp {\n    server {\n"
                 "        %s\n    }\n}\n" % conf, render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf)
    like(err, r"\[emerg\] " + msg,
         "message for: %s" % conf)

# The second argument of keepalive_timeout is sent as "Keep-Alive:
# timeout=N" (seconds).
t.write_conf("""\
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /t1 { keepalive_timeout 75s 1m30s; return 200 "t1"; }
        location /t2 { keepalive_timeout 75s 1d2h;  return 200 "t2"; }
        location /t3 { keepalive_timeout 75s 2w;    return 200 "t3"; }
        location /t4 { keepalive_timeout 75s 1M;    return 200 "t4"; }
        location /t5 { keepalive_timeout 75s 1y;    return 200 "t5"; }
        location /t6 { keepalive_timeout 75s 45;    return 200 "t6"; }
    }
}
""")
if t.try_start("keepalive_timeout with a header timeout"):
    for path, secs in (("/t1", 90), ("/t2", 93600), ("/t3", 1209600),
                       ("/t4", 2592000), ("/t5", 31536000), ("/t6", 45)):
        r = t.get(path, headers={"Connection": "keep-alive"})
        is_(r.header("keep-alive"), "timeout=%d" % secs,
            "keepalive_timeout header time of %s is %d s" % (path, secs))
    t.stop()

t.check_error_log()
sys.exit(done())
