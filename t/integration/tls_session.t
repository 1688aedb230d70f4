#!/usr/bin/env python3
# TLS session resumption: the shared session cache (by session id, tickets
# off) seen by every worker and kept across a reload while its zone is
# unchanged, a zone shared by two servers without resuming one's sessions
# on the other, expiry by ssl_session_timeout, "off"; ticket keys shared
# by all workers and rotated on their own, ssl_session_ticket_key files
# (the first encrypts, all decrypt, a removed key is refused); bad values.

import os
import re
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from tls_util import *  # noqa: E402,F401,F403

require_binary()

REQ = b"GET / HTTP/1.0\r\nHost: a.test\r\n\r\n"

t = Usher()
self_signed(t, "a", "a.test")
self_signed(t, "b", "b.test", "ec")

CACHE = r"""
worker_processes 3;
events { }
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache shared:SSL:@size@;
    ssl_session_timeout @timeout@;
    server {
        listen 127.0.0.1:%%PORT_S%% ssl reuseport;
        server_name a.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "a $ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name pid.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "pid $pid $ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name b.test;
        ssl_certificate %%TESTDIR%%/b.crt;
        ssl_certificate_key %%TESTDIR%%/b.key;
        location / { return 200 "b $ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_O%% ssl;
        ssl_session_cache off;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "o $ssl_session_reused\n"; }
    }
}
"""


def fill(text, values):
    for k, v in values.items():
        text = text.replace("@%s@" % k, v)
    return text


def resumes(port, sess, n, *args):
    """Of n connections with the saved session, how many resumed."""
    count = 0
    for i in range(n):
        rc, out, reused = s_client(port, "-sess_in", sess, *args)
        count += reused
    return count


t.write_conf(fill(CACHE, {"size": "1m", "timeout": "5m"}))
t.start()
S, O = t.port("S"), t.port("O")
sess = t.path("sess.pem")

# -- by session id, TLS 1.2, every worker (reuseport spreads the
# connections over the workers; with one shared socket, one worker tends
# to take them all)
rc, out, reused = s_client(S, "-servername", "a.test", "-tls1_2",
                           "-no_ticket", "-sess_out", sess)
ok(rc == 0 and not reused, "a first TLS 1.2 handshake is full")
like(out, r"Session-ID: [0-9A-F]{64}", "the server gives a session id")
pids = set()
count = 0
for i in range(12):
    rc, out, reused = s_client(S, "-sess_in", sess, "-servername", "a.test",
                               "-tls1_2", "-no_ticket", request=REQ.replace(
                                   b"a.test", b"pid.test"))
    m = re.search(r"\npid (\d+) r\n", out)
    count += reused and m is not None
    if m:
        pids.add(m.group(1))
is_(count, 12, "the session resumes by id on each of 12 connections, whichever "
    "of the 3 workers takes it")
ok(len(pids) >= 2, "... and %d workers served them" % len(pids))
rc, out, reused = s_client(S, "-sess_in", sess, "-servername", "a.test",
                           "-tls1_2", "-no_ticket", request=REQ)
like(out, r"\na r\n", "$ssl_session_reused is \"r\" on a resumed session")

# -- TLS 1.3 without tickets: stateful resumption through the cache
sess13 = t.path("sess13.pem")
rc, out, reused = s_client(S, "-servername", "a.test", "-tls1_3",
                           "-sess_out", sess13, request=REQ)
like(out, r"\na \.\n", "TLS 1.3: the first connection is a full handshake")
is_(resumes(S, sess13, 6, "-servername", "a.test", "-tls1_3"), 6,
    "TLS 1.3 resumes through the shared cache on every worker")

# -- two servers share the zone, not their sessions
rc, out, reused = s_client(S, "-sess_in", sess, "-servername", "b.test",
                           "-tls1_2", "-no_ticket",
                           request=REQ.replace(b"a.test", b"b.test"))
if usher_only("nginx resumes a session on another server"):
    ok(rc == 0 and not reused and re.search(r"\nb \.\n", out) is not None,
       "a.test's session is not resumed on b.test (same zone)")
sessb = t.path("sessb.pem")
s_client(S, "-servername", "b.test", "-tls1_2", "-no_ticket",
         "-sess_out", sessb)
is_(resumes(S, sessb, 4, "-servername", "b.test", "-tls1_2", "-no_ticket"),
    4, "b.test's sessions resume from the shared zone too")

# -- ssl_session_cache off
sesso = t.path("sesso.pem")
s_client(O, "-tls1_2", "-no_ticket", "-sess_out", sesso)
is_(resumes(O, sesso, 3, "-tls1_2", "-no_ticket"), 0,
    "ssl_session_cache off: nothing resumes")

# -- a reload keeps the zone (and the sessions) when it is unchanged
t.reload(fill(CACHE, {"size": "1m", "timeout": "5m"}).replace(
    "access_log off;", "access_log off; # reloaded"))
time.sleep(0.5)
is_(resumes(S, sess, 6, "-servername", "a.test", "-tls1_2", "-no_ticket"),
    6, "after a reload with the same zone, the session still resumes")

# -- a zone of another size is a new, empty one
t.reload(fill(CACHE, {"size": "2m", "timeout": "5m"}))
time.sleep(0.5)
is_(resumes(S, sess, 3, "-servername", "a.test", "-tls1_2", "-no_ticket"),
    0, "after a reload that resizes the zone, old sessions are gone")

# -- ssl_session_timeout
t.reload(fill(CACHE, {"size": "2m", "timeout": "2s"}))
time.sleep(0.5)
s_client(S, "-servername", "a.test", "-tls1_2", "-no_ticket",
         "-sess_out", sess)
is_(resumes(S, sess, 2, "-servername", "a.test", "-tls1_2", "-no_ticket"),
    2, "ssl_session_timeout 2s: resumes at once")
time.sleep(2.5)
is_(resumes(S, sess, 2, "-servername", "a.test", "-tls1_2", "-no_ticket"),
    0, "... and not after 2 seconds")
t.stop()
t.check_error_log()

# -- tickets: keys shared by all workers, rotated by period
u = Usher()
self_signed(u, "a", "a.test")
TICKETS = r"""
worker_processes 3;
events { }
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_timeout @timeout@;
    server {
        listen 127.0.0.1:%%PORT_S%% ssl reuseport;
        server_name a.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        @keys@
        location / { return 200 "a $pid $ssl_session_reused\n"; }
    }
}
"""
u.write_conf(fill(TICKETS, {"timeout": "5m", "keys": ""}))
u.start()
S = u.port("S")
sess = u.path("sess.pem")
rc, out, reused = s_client(S, "-tls1_2", "-sess_out", sess)
like(out, r"TLS session ticket lifetime hint: 300", "a ticket is issued, "
     "its lifetime the session timeout")
pids = set()
count = 0
for i in range(9):
    rc, out, reused = s_client(S, "-sess_in", sess, "-tls1_2", request=REQ)
    m = re.search(r"\na (\d+) r\n", out)
    count += reused and m is not None
    if m:
        pids.add(m.group(1))
is_(count, 9, "TLS 1.2: the ticket resumes on every connection")
ok(len(pids) >= 2, "... served by %d of the 3 workers" % len(pids))
s_client(S, "-tls1_3", "-sess_out", sess, request=REQ)
is_(resumes(S, sess, 6, "-tls1_3"), 6,
    "TLS 1.3: the ticket resumes on every worker")
# a client that always resumes with the newest ticket it got (usher's own
# upstream side does) needs a new ticket after every TLS 1.3 resumption
chain = 0
s_client(S, "-tls1_3", "-sess_out", sess, request=REQ)
for i in range(4):
    rc, out, reused = s_client(S, "-tls1_3", "-msg", "-sess_in", sess,
                               "-sess_out", sess, request=REQ)
    chain += bool(reused) and "NewSessionTicket" in out
is_(chain, 4, "TLS 1.3: each resumption brings a new ticket that resumes")
s_client(S, "-tls1_2", "-sess_out", sess)
u.reload(fill(TICKETS, {"timeout": "5m", "keys": "# reloaded"}))
time.sleep(0.5)
if usher_only("nginx makes new ticket keys on reload"):
    is_(resumes(S, sess, 4, "-tls1_2"), 4,
        "after a reload, tickets made before it still resume")

if usher_only("automatic ticket key rotation"):
    # period 3s: a ticket made late in one period opens in the next
    u.reload(fill(TICKETS, {"timeout": "3s", "keys": ""}))
    time.sleep(0.5)
    until_second(3, 2.2)
    s_client(S, "-tls1_2", "-sess_out", sess)
    time.sleep(1.2)
    rc, out, reused = s_client(S, "-tls1_2", "-sess_in", sess,
                               "-sess_out", u.path("renewed.pem"))
    ok(reused, "a ticket of the previous key period still resumes")
    like(out, r"TLS session ticket:", "... and a new ticket is issued")
    time.sleep(0.5)
    until_second(3, 2.2)
    s_client(S, "-tls1_2", "-sess_out", sess)
    time.sleep(4.3)
    is_(resumes(S, sess, 2, "-tls1_2"), 0,
        "a ticket two key periods old does not resume")
u.stop()
u.check_error_log()

# -- ssl_session_ticket_key files
k = Usher()
self_signed(k, "a", "a.test")
k.write_file("k1.key", os.urandom(80))
k.write_file("k2.key", os.urandom(48))
k.write_file("bad.key", os.urandom(50))
key_line = lambda *names: " ".join(
    "ssl_session_ticket_key %s;" % k.path(n) for n in names)
k.write_conf(fill(TICKETS, {"timeout": "5m", "keys": key_line("k1.key")}))
k.start()
S = k.port("S")
sess1 = k.path("s1.pem")
s_client(S, "-tls1_2", "-sess_out", sess1)
is_(resumes(S, sess1, 6, "-tls1_2"), 6,
    "an 80-byte ticket key file: tickets resume on every worker")
k.reload(fill(TICKETS, {"timeout": "5m", "keys": key_line("k2.key", "k1.key")}))
time.sleep(0.5)
rc, out, reused = s_client(S, "-tls1_2", "-sess_in", sess1)
ok(reused, "a second key still decrypts an older ticket")
sess2 = k.path("s2.pem")
s_client(S, "-tls1_2", "-sess_out", sess2)
is_(resumes(S, sess2, 4, "-tls1_2"), 4,
    "a 48-byte key file (the first) encrypts new tickets")
k.reload(fill(TICKETS, {"timeout": "5m", "keys": key_line("k2.key")}))
time.sleep(0.5)
is_(resumes(S, sess1, 3, "-tls1_2"), 0,
    "a ticket of a removed key does not resume (full handshake)")
is_(resumes(S, sess2, 2, "-tls1_2"), 2, "... the kept key's ticket does")
k.stop()
k.check_error_log()

# -- configuration errors
bad = Usher()
self_signed(bad, "a", "a.test")
bad.write_file("bad.key", os.urandom(50))
BAD = r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        @line@
    }
}
"""
for line, err, name, strict in (
        ("ssl_session_cache shared:x:8k;", r"too small",
         "a cache zone under 32k", False),
        ("ssl_session_cache foo;", r"invalid session cache \"foo\"",
         "an unknown cache", False),
        ("ssl_session_cache shared:x;", r"invalid session cache",
         "a shared cache without a size", False),
        ("ssl_session_cache off builtin;", r"invalid session cache",
         "off with another cache", True),
        ("ssl_session_cache builtin:0;", r"invalid session cache",
         "builtin:0", True),
        ("ssl_session_ticket_key %%TESTDIR%%/bad.key;",
         r"must be 48 or 80 bytes", "a 50-byte ticket key file", False),
        ("ssl_session_ticket_key %%TESTDIR%%/none.key;",
         r"none\.key", "a missing ticket key file", False)):
    if strict and not usher_only(name):
        continue
    bad.write_conf(BAD.replace("@line@", line))
    rc, out, err_text = bad.run("-t")
    ok(rc == 1 and re.search(r"\[emerg\].*" + err, err_text) is not None,
       "-t: " + name)
bad.write_conf(BAD.replace("@line@", "ssl_session_cache builtin:1000 shared:x:1m;"))
rc, out, err_text = bad.run("-t")
is_(rc, 0, "-t: builtin:N with a shared zone is valid")

sys.exit(done())
