#!/usr/bin/env python3
# OCSP stapling: a response fetched from the certificate's responder (AIA)
# in the background and stapled, verified with ssl_stapling_verify and
# ssl_trusted_certificate; ssl_stapling_file stapled as is;
# ssl_stapling_responder; a revoked certificate or a dead responder means
# no staple and a log line; no responder URL at all is a warning.

import calendar
import os
import re
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from tls_util import *  # noqa: E402,F401,F403

require_binary()

t = Usher()
OCSP = t.port("OCSP")
DEAD = t.port("DEAD")
ca = MiniCA(t, "ca", ocsp_url="http://127.0.0.1:%d" % OCSP)
ca.issue("good", "good.test")
ca.issue("ecgood", "good.test", kind="ec")
ca.issue("revoked", "revoked.test")
ca.revoke(t.path("revoked.crt"))
noaia = MiniCA(t, "noaia")
noaia.issue("plain", "plain.test")
os.symlink(ca.crt, t.path("ca.crt"))
os.symlink(noaia.crt, t.path("noaia.crt"))
ca.ocsp_responder(OCSP)
noaia.ocsp_responder(t.port("OCSP2"))
ca.ocsp_responder(t.port("FORGED"), signer=noaia)
ca.ocsp_responder(t.port("SHORTOCSP"), minutes=1)



def keepalive_responder(port, upstream):
    """Relays GET requests to upstream, then answers in HTTP/1.1 and
    keeps the connection open, as some responders do."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    held = []

    def serve():
        while True:
            c, _ = ls.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                data += c.recv(4096)
            head, _, body = data.partition(b"\r\n\r\n")
            # GET only (RFC 6960 A.1), as nginx asks and as small
            # responders (nginx-tests' own) understand
            if not head.startswith(b"GET "):
                c.close()
                continue
            path = head.split(b" ")[1].decode()
            der = urllib.request.urlopen(upstream.rstrip("/") +
                                         path).read()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/"
                      b"ocsp-response\r\nContent-Length: %d\r\n\r\n" %
                      len(der) + der)
            held.append(c)
    threading.Thread(target=serve, daemon=True).start()


keepalive_responder(t.port("KEEPOCSP"), "http://127.0.0.1:%d/" % OCSP)
junk = Backend(t.port("JUNKOCSP"), lambda *a: (200, {}, "junk"))

# a response saved to a file, for ssl_stapling_file
rc, out = openssl("ocsp", "-issuer", ca.crt, "-cert", t.path("good.crt"),
                  "-url", "http://127.0.0.1:%d" % OCSP, "-respout",
                  t.path("good.der"), "-noverify")
ok(rc == 0 and os.path.getsize(t.path("good.der")) > 0,
   "a DER response saved with openssl ocsp")

CONF = r"""
error_log %%TESTDIR%%/error.log info;
worker_processes 2;
events { }
http {
    access_log off;
    ssl_stapling on;
    ssl_trusted_certificate %%TESTDIR%%/ca.crt;
    server {
        listen 127.0.0.1:%%PORT_AIA%% ssl;
        ssl_stapling_verify on;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        ssl_certificate %%TESTDIR%%/ecgood.crt;
        ssl_certificate_key %%TESTDIR%%/ecgood.key;
        location / { return 200 "aia\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_FILE%% ssl;
        ssl_stapling_file %%TESTDIR%%/good.der;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "file\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_DEADSRV%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_DEAD%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "dead\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_FORGEDV%% ssl;
        ssl_stapling_verify on;
        ssl_stapling_responder http://127.0.0.1:%%PORT_FORGED%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "forged\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_FORGEDN%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_FORGED%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "forged\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_SHORT%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_SHORTOCSP%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "short\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_KEEP%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_KEEPOCSP%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "keep\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_JUNK%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_JUNKOCSP%%/;
        ssl_certificate %%TESTDIR%%/good.crt;
        ssl_certificate_key %%TESTDIR%%/good.key;
        location / { return 200 "junk\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_REV%% ssl;
        ssl_certificate %%TESTDIR%%/revoked.crt;
        ssl_certificate_key %%TESTDIR%%/revoked.key;
        location / { return 200 "revoked\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_RESP%% ssl;
        ssl_stapling_responder http://127.0.0.1:%%PORT_OCSP2%%/;
        ssl_trusted_certificate %%TESTDIR%%/noaia.crt;
        ssl_certificate %%TESTDIR%%/plain.crt;
        ssl_certificate_key %%TESTDIR%%/plain.key;
        location / { return 200 "resp\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_NONE%% ssl;
        ssl_trusted_certificate %%TESTDIR%%/noaia.crt;
        ssl_certificate %%TESTDIR%%/plain.crt;
        ssl_certificate_key %%TESTDIR%%/plain.key;
        location / { return 200 "none\n"; }
    }
}
"""
t.write_conf(CONF)
t.start()


def status(port, *args):
    rc, out, reused = s_client(port, "-status", *args)
    if "OCSP response: no response sent" in out:
        return "none"
    m = re.search(r"Cert Status: (\w+)", out)
    return m.group(1) if m else "?"


def stapled(port, *args, want="good", tries=40):
    """Polls: the first handshakes may come before the fetch is done."""
    return wait_for(lambda: status(port, *args) == want, timeout=tries)


ok(stapled(t.port("AIA"), "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"),
   "a response fetched from the certificate's responder is stapled")
ok(all(status(t.port("AIA"), "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256") ==
       "good" for i in range(6)),
   "... by every worker, on every handshake")
ok(stapled(t.port("AIA"), "-sigalgs", "ECDSA+SHA256"),
   "the ECDSA certificate of the same server gets its own response")
rc, out, reused = s_client(t.port("AIA"), "-status", "-sigalgs",
                           "ECDSA+SHA256")
like(out, r"Serial Number: %s" % re.escape(openssl(
    "x509", "-in", t.path("ecgood.crt"), "-noout", "-serial")[1].split(
    "=")[1].strip()), "... the one for its serial number")
is_(status(t.port("FILE")), "good", "ssl_stapling_file: stapled as is")
ok(stapled(t.port("RESP")), "ssl_stapling_responder: asked instead of the "
   "certificate's (which names none)")
is_(status(t.port("NONE")), "none", "no responder URL: no staple")
like(t.error_log(), r"\[warn\].*\"ssl_stapling\" ignored, no OCSP "
     r"responder URL in the certificate", "... and a warning at start")
is_(status(t.port("DEADSRV")), "none", "a dead responder: no staple")
ok(wait_for(lambda: re.search(r"\[error\].*(connect|recv)\(\) failed.* while "
                              r"requesting certificate status, responder: "
                              r"127\.0\.0\.1, peer: 127\.0\.0\.1:%d" % DEAD, t.error_log()),
            timeout=10), "... and an [error] line naming it")
is_(status(t.port("REV")), "none", "a revoked certificate: not stapled")
ok(wait_for(lambda: re.search(r"\[error\].*certificate status \"revoked\" "
                              r"in the OCSP response", t.error_log()),
            timeout=20), "... its status is logged")

ok(stapled(t.port("FORGEDN")), "ssl_stapling_verify off: a response "
   "signed by an unknown key is stapled")
is_(status(t.port("FORGEDV")), "none",
    "ssl_stapling_verify on: it is not")
ok(wait_for(lambda: re.search(r"\[error\].*OCSP_basic_verify\(\) failed",
                              t.error_log()), timeout=10),
   "... and OCSP_basic_verify() failing is logged")

if usher_only("nginx waits for the responder to close"):
    ok(stapled(t.port("KEEP"), tries=15), "a responder that keeps the "
       "connection open: the response is taken at its Content-Length")
is_(status(t.port("JUNK")), "none", "a responder that sends junk: no staple")
ok(wait_for(lambda: re.search(r"\[error\].*while requesting certificate "
                              r"status, responder: 127\.0\.0\.1, peer: "
                              r"127\.0\.0\.1:%d" % t.port("JUNKOCSP"),
                              t.error_log()), timeout=10),
   "... and an [error] line")



def produced(port):
    """When the stapled response was made, in seconds since the epoch."""
    rc, out, reused = s_client(port, "-status")
    m = re.search(r"Produced At: (.*) GMT", out)
    return calendar.timegm(time.strptime(m.group(1).strip(),
                                         "%b %d %H:%M:%S %Y")) if m else 0


# a response valid for a minute is fetched again in the background (after
# half its life), and the new one is stapled
ok(stapled(t.port("SHORT")), "a response valid for one minute is stapled")
first = produced(t.port("SHORT"))
if usher_only("nginx refreshes only when a handshake comes after an hour"):
    # two workers fetch on their own: a newer one is 25 s younger at least
    ok(wait_for(lambda: produced(t.port("SHORT")) >= first + 25,
                timeout=50, interval=1),
       "... and replaced by a newer one before it expires")

# the responder goes away: the cached response is still stapled
ca.stop()
is_(status(t.port("AIA"), "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"), "good",
    "the response stays cached when the responder is gone")
t.stop()
t.check_error_log()

# configuration errors
bad = Usher()
self_signed(bad, "a", "a.test")
bad.write_file("junk.der", b"not a response")
BAD = r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        ssl_stapling on;
        @line@
    }
}
"""
for line, err, name in (
        ("ssl_stapling_file %%TESTDIR%%/junk.der;", r"junk\.der",
         "a stapling file that is not a response"),
        ("ssl_stapling_file %%TESTDIR%%/none.der;", r"none\.der",
         "a missing stapling file")):
    bad.write_conf(BAD.replace("@line@", line))
    rc, out, err_text = bad.run("-t")
    ok(rc == 1 and re.search(r"\[emerg\].*" + err, err_text) is not None,
       "-t: " + name)
if usher_only("nginx checks the responder URL when it fetches"):
    bad.write_conf(BAD.replace("@line@", "ssl_stapling_responder "
                               "https://127.0.0.1/;"))
    rc, out, err_text = bad.run("-t")
    ok(rc == 1 and "invalid OCSP responder URL" in err_text,
       "-t: an https responder URL is refused")

sys.exit(done())
