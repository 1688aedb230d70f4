#!/usr/bin/env python3
# access_log and log_format: the "combined" format, the logging variables,
# escape=default|json|none, access_log off, and buffer=/flush=.

import datetime
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    log_format all '$request|$status|$body_bytes_sent|$http_user_agent|'
                   '$request_time|$remote_addr|$server_port|$uri|$args|'
                   '$arg_x|$is_args|$request_method|$host|$scheme|'
                   '$server_protocol|$request_length|$bytes_sent|$msec|'
                   '$time_iso8601|$connection|$connection_requests|'
                   '$request_id|$pid|$content_length|$cookie_a|$time_local';
    log_format js escape=json '{"ua":"$http_user_agent","uri":"$uri",'
                              '"none":"$http_x_none"}';
    log_format raw escape=none '$http_user_agent|$uri';
    log_format def '$http_user_agent|$uri|$http_x_none';

    server {
        listen 127.0.0.1:%%PORT_A%%;
        access_log %%TESTDIR%%/combined.log;
        access_log %%TESTDIR%%/all.log all;
        access_log %%TESTDIR%%/js.log js;
        access_log %%TESTDIR%%/raw.log raw;
        access_log %%TESTDIR%%/def.log def;

        location /      { return 200 "ok\n"; }
        location /off   { access_log off; return 200 "off\n"; }
        location /big   { return 200 "0123456789012345678901234567890123456789"; }
        location /nf    { return 404; }
    }

    server {
        listen 127.0.0.1:%%PORT_B%%;
        access_log %%TESTDIR%%/flush.log combined buffer=64k flush=1s;
        access_log %%TESTDIR%%/buffered.log combined buffer=64k;
        location / { return 200 "b\n"; }
    }
}
""")
t.start()

port = t.port("A")


def lines(name):
    return t.access_log(name)


def nth(lst, i):
    """lst[i], or "" when the log is shorter (the test then fails)."""
    return lst[i] if -len(lst) <= i < len(lst) else ""


def send(req):
    """Send one request (bytes as given), return the raw response bytes."""
    with t.conn() as c:
        c.send(req)
        return c.read_all()


# -- combined
req1 = ("GET /p/a%20b?x=1&y=2 HTTP/1.1\r\nHost: Log.Test:99\r\n"
        'User-Agent: agent "q" \\back\r\nCookie: b=2; a=1\r\n'
        "Referer: http://ref.test/\r\nConnection: close\r\n\r\n")
resp1 = send(req1)
req2 = ("GET /nl%0Ax%01 HTTP/1.1\r\nHost: log.test\r\n"
        "User-Agent: caf\xc3\xa9\r\nConnection: close\r\n\r\n")
send(req2)
t.get("/off")
r = t.get("/nf")

for name in ("combined.log", "all.log", "js.log", "raw.log", "def.log"):
    t.wait_log(name, regex="/nf")
comb = lines("combined.log")
is_(len(comb), 3, "combined: one line per request, none for access_log off")
like(nth(comb, 0), r'^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d '
     r'[+-]\d{4}\] "GET /p/a%20b\?x=1&y=2 HTTP/1\.1" 200 3 '
     r'"http://ref\.test/" "agent \\x22q\\x22 \\x5Cback"$',
     "combined: the line's shape, quotes and backslash escaped as \\xHH")
like(nth(comb, 1), r'"GET /nl%0Ax%01 HTTP/1\.1" 200 3 "-" "caf\\xC3\\xA9"$',
     "combined: bytes >= 0x80 escaped as \\xHH, empty referer is -")
like(nth(comb, 2), r'"GET /nf HTTP/1\.1" 404 \d+ "-" "-"$',
     "combined: a 404 with its page size, absent User-Agent is -")
ok(not any("/off" in line for line in comb), "access_log off logs nothing")

# -- all variables
names = ("request status body_bytes_sent http_user_agent request_time "
         "remote_addr server_port uri args arg_x is_args request_method host "
         "scheme server_protocol request_length bytes_sent msec time_iso8601 "
         "connection connection_requests request_id pid content_length "
         "cookie_a time_local").split()


def fields(line):
    f = line.split("|")
    return dict(zip(names, f + [""] * len(names))), len(f)


v, nf = fields(nth(lines("all.log"), 0))
# (the checks of each variable only when the line is there at all)
if is_(nf, len(names), "log_format: one field per variable"):
    is_(v["request"], "GET /p/a%20b?x=1&y=2 HTTP/1.1", "$request")
    is_(v["status"], "200", "$status")
    is_(v["body_bytes_sent"], "3", "$body_bytes_sent")
    is_(v["http_user_agent"], "agent \\x22q\\x22 \\x5Cback",
        "$http_user_agent")
    is_(v["request_time"], "0.000", "$request_time (ms precision)")
    is_(v["remote_addr"], "127.0.0.1", "$remote_addr")
    is_(v["server_port"], str(port), "$server_port")
    is_(v["uri"], "/p/a b", "$uri is decoded")
    is_(v["args"], "x=1&y=2", "$args")
    is_(v["arg_x"], "1", "$arg_x")
    is_(v["is_args"], "?", "$is_args")
    is_(v["request_method"], "GET", "$request_method")
    is_(v["host"], "log.test", "$host: lowercased, no port")
    is_(v["scheme"], "http", "$scheme")
    is_(v["server_protocol"], "HTTP/1.1", "$server_protocol")
    is_(v["request_length"], str(len(req1)),
        "$request_length: bytes of the request")
    is_(v["bytes_sent"], str(len(resp1)),
        "$bytes_sent: bytes of the response")
    ok(re.match(r"^\d+\.\d{3}$", v["msec"]) and
       abs(float(v["msec"]) - time.time()) < 10, "$msec: now, with ms") \
        or diag(v["msec"])
    try:
        iso = datetime.datetime.fromisoformat(v["time_iso8601"])
    except ValueError:
        iso = None
    ok(iso is not None and
       re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",
                v["time_iso8601"]) and
       abs(iso.timestamp() - time.time()) < 10, "$time_iso8601: now") \
        or diag(v["time_iso8601"])
    try:
        loc = datetime.datetime.strptime(v["time_local"],
                                         "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        loc = None
    ok(loc is not None and abs(loc.timestamp() - time.time()) < 10,
       "$time_local: now") or diag(v["time_local"])
    like(v["connection"], r"^\d+$", "$connection is a number")
    is_(v["connection_requests"], "1", "$connection_requests")
    like(v["request_id"], r"^[0-9a-f]{32}$", "$request_id: 32 hex digits")
    ok(v["pid"].isdigit() and int(v["pid"]) in t.worker_pids(),
       "$pid is a worker's pid") or diag(v["pid"])
    is_(v["content_length"], "-", "$content_length absent: -")
    is_(v["cookie_a"], "1", "$cookie_a")

    f2, _ = fields(nth(lines("all.log"), 1))
    is_(f2["uri"], "/nl\\x0Ax\\x01", "$uri with control characters, "
        "escaped")
    is_((f2["args"], f2["arg_x"]), ("-", "-"),
        "empty $args and $arg_x log as -")
    isnt(f2["request_id"], v["request_id"], "$request_id differs per request")
    isnt(f2["connection"], v["connection"],
         "$connection differs per connection")

# keep-alive: same $connection, counting $connection_requests; a body
with t.conn() as c:
    c.get("/k1")
    c.get("/k2", method="POST", body="hello")
t.wait_log("all.log", regex="/k2")
ka = [fields(nth(lines("all.log"), i))[0] for i in (-2, -1)]
is_([k["uri"] for k in ka], ["/k1", "/k2"], "keep-alive requests logged")
ok(ka[0]["connection"].isdigit() and
   ka[0]["connection"] == ka[1]["connection"], "keep-alive: same $connection")
is_([k["connection_requests"] for k in ka], ["1", "2"],
    "keep-alive: $connection_requests counts")
is_(ka[1]["content_length"], "5", "$content_length")

# -- escapes
js = lines("js.log")
is_(nth(js, 0), '{"ua":"agent \\"q\\" \\\\back","uri":"/p/a b","none":""}',
    'escape=json: \\" and \\\\, missing variable is ""')
is_(nth(js, 1), '{"ua":"caf\xc3\xa9","uri":"/nl\\nx\\u0001","none":""}',
    "escape=json: \\n and \\u0001, UTF-8 kept")
rawl = t.read("raw.log")
ok(rawl.startswith('agent "q" \\back|/p/a b\ncaf\xc3\xa9|/nl\nx\x01\n'),
   "escape=none: bytes as they are") or diag(repr(rawl[:200]))
d = lines("def.log")
is_(nth(d, 0), 'agent \\x22q\\x22 \\x5Cback|/p/a b|-', "default escape, and - for "
    "a missing variable")

# -- buffer= and flush=
t.get("/one", port="B")
time.sleep(0.3)
is_(lines("flush.log"), [], "buffer=64k flush=1s: not written at once")
ok(wait_for(lambda: lines("flush.log"), 3.0),
   "buffer=64k flush=1s: written within the flush time")
is_(lines("buffered.log"), [], "buffer=64k: not written after a second")
ok(t.stop(sig=signal.SIGQUIT), "graceful stop (QUIT)")
is_(len(lines("buffered.log")), 1, "buffer=64k: written at graceful stop")
like(nth(lines("buffered.log"), 0),
     r'"GET /one HTTP/1\.1" 200 2 ', "the buffered line")

t.check_error_log()
sys.exit(done())
