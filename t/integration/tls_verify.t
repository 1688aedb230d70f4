#!/usr/bin/env python3
# Client certificates: ssl_verify_client on / optional / optional_no_ca,
# ssl_client_certificate (and the CA names sent), ssl_trusted_certificate,
# ssl_verify_depth, ssl_crl; nginx's 400 pages and [info] lines; the SNI
# switch carries the named server's settings; the $ssl_client_* variables;
# renegotiation is refused; configuration errors.

import os
import re
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from tls_util import *  # noqa: E402,F401,F403

require_binary()

t = Usher()
ca = MiniCA(t, "ca1")
other = MiniCA(t, "ca2")
ca.issue("srv", "a.test")
good, good_key = ca.issue("client", "client", ext="client")
revoked, revoked_key = ca.issue("revoked", "revoked", ext="client")
ca.revoke(revoked)
crl = ca.crl("crl.pem")
stranger, stranger_key = other.issue("stranger", "stranger", ext="client")
selfc, selfc_key = self_signed(t, "selfc", "selfc")
os.symlink(ca.crt, t.path("ca1.crt"))
os.symlink(other.crt, t.path("ca2.crt"))

VARS = ("$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|"
        "$ssl_client_serial|$ssl_client_fingerprint")
CONF = r"""
error_log %%TESTDIR%%/error.log info;
worker_processes 1;
events { }
http {
    access_log off;
    ssl_certificate %%TESTDIR%%/srv.crt;
    ssl_certificate_key %%TESTDIR%%/srv.key;
    ssl_session_cache shared:S:1m;
    server {
        listen 127.0.0.1:%%PORT_ON%% ssl;
        ssl_verify_client on;
        ssl_client_certificate %%TESTDIR%%/ca1.crt;
        ssl_crl %%TESTDIR%%/crl.pem;
        location / { return 200 "VARS\n"; }
        location /raw { return 200 "$ssl_client_raw_cert"; }
        location /esc { return 200 "$ssl_client_escaped_cert"; }
        location /cert { return 200 "$ssl_client_cert"; }
        location /more { return 200 "$ssl_client_s_dn_legacy|$ssl_client_i_dn_legacy|$ssl_client_v_start|$ssl_client_v_end|$ssl_client_v_remain|$ssl_session_id|$ssl_curve|$ssl_ciphers|$ssl_curves"; }
    }
    server {
        listen 127.0.0.1:%%PORT_OPT%% ssl;
        ssl_verify_client optional;
        ssl_client_certificate %%TESTDIR%%/ca1.crt;
        location / { return 200 "VARS\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_NOCA%% ssl;
        ssl_verify_client optional_no_ca;
        ssl_trusted_certificate %%TESTDIR%%/ca1.crt;
        location / { return 200 "VARS\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_DEPTH%% ssl;
        ssl_verify_client on;
        ssl_verify_depth 0;
        ssl_client_certificate %%TESTDIR%%/ca1.crt;
        location / { return 200 "VARS\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_SNI%% ssl;
        server_name plain.test;
        location / { return 200 "plain $ssl_client_verify\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_SNI%% ssl;
        server_name v.test;
        ssl_verify_client on;
        ssl_client_certificate %%TESTDIR%%/ca2.crt;
        location / { return 200 "v VARS\n"; }
        error_page 496 = /nocert;
        location /nocert { return 200 "caught 496\n"; }
    }
}
""".replace("VARS", VARS)
t.write_conf(CONF)
t.start()


def get(port, path="/", cert=None, key=None, host="a.test"):
    args = ["curl", "-sk", "-w", "\n%{http_code}", "--resolve",
            "%s:%d:127.0.0.1" % (host, port),
            "https://%s:%d%s" % (host, port, path)]
    if cert:
        args += ["--cert", cert, "--key", key]
    r = subprocess.run(args, capture_output=True, timeout=20)
    out = r.stdout.decode("latin-1")
    body, _, code = out.rpartition("\n")
    return int(code or 0), body


def fingerprint(crt):
    rc, out = openssl("x509", "-in", crt, "-noout", "-fingerprint", "-sha1")
    return out.split("=", 1)[1].strip().replace(":", "").lower()


def serial(crt):
    rc, out = openssl("x509", "-in", crt, "-noout", "-serial")
    return out.split("=", 1)[1].strip()


ON, OPT, NOCA = t.port("ON"), t.port("OPT"), t.port("NOCA")
DEPTH, SNI = t.port("DEPTH"), t.port("SNI")

# -- on
is_(get(ON, cert=good, key=good_key),
    (200, "SUCCESS|CN=client|CN=ca1|%s|%s\n" % (serial(good),
                                                fingerprint(good))),
    "verify on, a good certificate: 200 and the $ssl_client_* variables")
st, body = get(ON, "/more", cert=good, key=good_key)
like(body, r"^/CN=client\|/CN=ca1\|\w{3} +\d+ [\d:]+ \d{4} GMT\|"
     r"\w{3} +\d+ [\d:]+ \d{4} GMT\|\d+\|[0-9a-f]{64}\|\w+\|"
     r"[\w-]+(:[\w-]+)+\|\w+(:\w+)*$",
     "$ssl_client_*_legacy, _v_start, _v_end, _v_remain, $ssl_session_id, "
     "$ssl_curve, $ssl_ciphers and $ssl_curves, as nginx formats them")
st, body = get(ON)
ok(st == 400 and "<title>400 No required SSL certificate was sent</title>"
   in body and "<h1>400 Bad Request</h1>" in body,
   "verify on, no certificate: 400 \"No required SSL certificate was sent\"")
like(t.error_log(), r"\[info\].*client sent no required SSL certificate "
     r"while reading client request headers, client: 127\.0\.0\.1, "
     r"server: , request: \"GET / HTTP/1\.1\", host: \"a\.test:%d\"" % ON,
     "... logged at [info] with the request")
st, body = get(ON, cert=stranger, key=stranger_key)
ok(st == 400 and "<title>400 The SSL certificate error</title>" in body,
   "verify on, a certificate of another CA: 400 \"The SSL certificate "
   "error\"")
like(t.error_log(), r"\[info\].*client SSL certificate verify error: "
     r"\(21:unable to verify the first certificate\)",
     "... logged at [info] with the reason")
st, body = get(ON, cert=revoked, key=revoked_key)
ok(st == 400 and "The SSL certificate error" in body,
   "verify on, a revoked certificate (ssl_crl): 400")
like(t.error_log(), r"verify error: \(23:certificate revoked\)",
     "... \"certificate revoked\" in the log")
st, body = get(ON, cert=selfc, key=selfc_key)
is_(st, 400, "verify on, a self-signed certificate: 400")

with open(good) as f:
    pem = f.read()
is_(get(ON, "/raw", good, good_key)[1], pem, "$ssl_client_raw_cert")
is_(urllib.parse.unquote(get(ON, "/esc", good, good_key)[1]), pem,
    "$ssl_client_escaped_cert decodes to the certificate")
unlike(get(ON, "/esc", good, good_key)[1], r"[\n +/=]",
       "$ssl_client_escaped_cert escapes newlines, spaces, +, / and =")
is_(get(ON, "/cert", good, good_key)[1], pem.rstrip("\n").replace(
    "\n", "\n\t"), "$ssl_client_cert: a tab before each continued line")

rc, out, reused = s_client(ON, "-cert", good, "-key", good_key)
like(out, r"Acceptable client certificate CA names\n.*CN\s*=\s*ca1",
     "the CA names of ssl_client_certificate are sent")

# -- optional
is_(get(OPT, cert=good, key=good_key)[1].split("|")[0], "SUCCESS",
    "optional, a good certificate: SUCCESS")
is_(get(OPT), (200, "NONE||||\n"), "optional, no certificate: 200, NONE")
st, body = get(OPT, cert=stranger, key=stranger_key)
ok(st == 400 and "The SSL certificate error" in body,
   "optional, an unknown CA: 400")

# -- optional_no_ca
st, body = get(NOCA, cert=stranger, key=stranger_key)
ok(st == 200 and body.startswith(
    "FAILED:unable to verify the first certificate|CN=stranger|CN=ca2|"),
   "optional_no_ca, an unknown CA: 200 and $ssl_client_verify FAILED:reason")
st, body = get(NOCA, cert=selfc, key=selfc_key)
ok(st == 200 and body.startswith("FAILED:self-signed certificate|"),
   "optional_no_ca, a self-signed certificate: 200, FAILED")
is_(get(NOCA, cert=good, key=good_key)[1].split("|")[0], "SUCCESS",
    "optional_no_ca with ssl_trusted_certificate: a good one is SUCCESS")
rc, out, reused = s_client(NOCA, "-cert", good, "-key", good_key)
like(out, r"No client certificate CA names sent",
     "ssl_trusted_certificate's CAs are not sent as names")

# -- ssl_verify_depth
# (OpenSSL counts neither the client's certificate nor the trust anchor)
is_(get(DEPTH, cert=good, key=good_key)[1].split("|")[0], "SUCCESS",
    "ssl_verify_depth 0: a certificate the CA signed itself passes")
st, body = get(DEPTH, cert=selfc, key=selfc_key)
is_(st, 400, "ssl_verify_depth 0: a self-signed one does not")

# -- the SNI switch carries the named server's verification
is_(get(SNI, host="plain.test"), (200, "plain NONE\n"),
    "SNI to the default server: no certificate asked")
is_(get(SNI, host="v.test", cert=stranger, key=stranger_key)[1].split(
    "|")[0], "v SUCCESS", "SNI v.test: verified against v.test's CA")
is_(get(SNI, host="v.test", cert=good, key=good_key)[0], 400,
    "SNI v.test: a certificate of the default server's CA is refused")
is_(get(SNI, host="v.test"), (200, "caught 496\n"),
    "SNI v.test: no certificate is 496, which error_page catches")

def sni_host(sni, host, cert=None, key=None):
    args = ["curl", "-sk", "-w", "\n%{http_code}", "--resolve",
            "%s:%d:127.0.0.1" % (sni, SNI), "-H", "Host: " + host,
            "https://%s:%d/" % (sni, SNI)]
    if cert:
        args += ["--cert", cert, "--key", key]
    r = subprocess.run(args, capture_output=True, timeout=20)
    return r.stdout.decode("latin-1").rpartition("\n")[2]


is_(sni_host("plain.test", "v.test"), "421",
    "SNI plain.test, Host v.test (which verifies): 421")
like(t.error_log(), r"\[info\].*client attempted to request the server "
     r"name different from the one that was negotiated", "... logged")
is_(sni_host("plain.test", "v.test", stranger, stranger_key), "421",
    "... even with a certificate v.test would accept")
is_(sni_host("v.test", "plain.test", stranger, stranger_key), "200",
    "SNI v.test, Host plain.test (which does not verify): served")
if usher_only("nginx checks the name only when the client sent one"):
    st = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % SNI,
         "-noservername", "-cert", stranger, "-key", stranger_key,
         "-ign_eof"], input=b"GET / HTTP/1.0\r\nHost: v.test\r\n\r\n",
        capture_output=True, timeout=20).stdout.decode("latin-1")
    like(st, r"HTTP/1.1 421 ", "no SNI, Host v.test: 421")
rc, out, reused = s_client(SNI, "-servername", "v.test", "-cert", stranger,
                           "-key", stranger_key)
like(out, r"Acceptable client certificate CA names\n.*CN\s*=\s*ca2",
     "SNI v.test: v.test's CA names are sent")

# -- renegotiation is refused
rc, out = openssl("s_client", "-connect", "127.0.0.1:%d" % ON, "-tls1_2",
                  "-cert", good, "-key", good_key, inp=b"R\n")
ok("RENEGOTIATING" in out and "no renegotiation" in out,
   "a client's renegotiation is refused (no_renegotiation)")
like(t.error_log(), r"\[info\].*alert handshake failure.*client: 127\.0\.0\.1, "
     r"server: 127\.0\.0\.1:%d" % ON, "... logged at [info] with the client")

t.stop()
t.check_error_log()

# -- configuration errors
bad = Usher()
self_signed(bad, "a", "a.test")
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
for line, err, name in (
        ("ssl_verify_client on;", r"no ssl_client_certificate for "
         r"ssl_verify_client", "verify on without ssl_client_certificate"),
        ("ssl_verify_client maybe;", r"invalid value \"maybe\"",
         "an unknown ssl_verify_client value"),
        ("ssl_verify_client on; ssl_client_certificate %%TESTDIR%%/no.crt;",
         r"no\.crt", "a missing ssl_client_certificate file"),
        ("ssl_crl %%TESTDIR%%/no.crl;", r"no\.crl", "a missing ssl_crl"),
        ("ssl_verify_depth -1;", r"ssl_verify_depth", "a negative depth")):
    bad.write_conf(BAD.replace("@line@", line))
    rc, out, err_text = bad.run("-t")
    ok(rc == 1 and re.search(r"\[emerg\].*" + err, err_text) is not None,
       "-t: " + name)
bad.write_conf(BAD.replace("@line@", "ssl_verify_client optional_no_ca;"))
is_(bad.run("-t")[0], 0, "-t: optional_no_ca needs no CA file")

# a server without certificates of its own (the default's do the
# handshake) that verifies clients: 400 for no certificate, as nginx, not
# 421 for a context it never had
nc = Usher(r"""
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_NC%% ssl;
        server_name a.test;
        ssl_certificate @srv@.crt;
        ssl_certificate_key @srv@.key;
        location / { return 200 "default\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_NC%% ssl;
        server_name nocontext.test;
        ssl_verify_client on;
        location / { return 200 "in\n"; }
    }
}
""".replace("@srv@", t.path("srv")))
nc.start()
st, body = get(nc.port("NC"), host="nocontext.test")
ok(st == 400 and "No required SSL certificate was sent" in body,
   "verify on in a server without certificates: 400, no certificate sent")
nc.stop()

sys.exit(done())
