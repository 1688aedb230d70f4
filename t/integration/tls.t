#!/usr/bin/env python3
# TLS termination: SNI picks the certificate (and the default server's
# without SNI), RSA and ECDSA on one server, TLS 1.0/1.1 refused by default,
# plain HTTP to the TLS port gets a 400, a key that does not match its
# certificate fails -t, a reload swaps a certificate and a broken one keeps
# the old, sessions resume across workers, and the $ssl_* variables.
# Certificates are made with openssl at test time.

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()


def openssl(*args, inp=b""):
    p = subprocess.run(("openssl",) + args, input=inp, capture_output=True,
                       timeout=20)
    return p.returncode, p.stdout.decode("latin-1") + \
        p.stderr.decode("latin-1")


def make_cert(t, name, cn, kind="rsa"):
    key, crt = t.path(name + ".key"), t.path(name + ".crt")
    if kind == "rsa":
        newkey = ("-newkey", "rsa:2048")
    else:
        newkey = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")
    rc, out = openssl("req", "-x509", *newkey, "-nodes", "-keyout", key,
                      "-out", crt, "-days", "2", "-subj", "/CN=" + cn)
    assert rc == 0, out
    os.chmod(key, 0o644)
    return crt, key


def s_client(port, *args):
    rc, out = openssl("s_client", "-connect", "127.0.0.1:%d" % port,
                      *args, inp=b"")
    m = re.search(r"subject=.*?CN\s*=\s*([\w.-]+)", out)
    return rc, (m.group(1) if m else None), out


def https(t, port, host, path="/"):
    r = subprocess.run(["curl", "-sk", "--resolve",
                        "%s:%d:127.0.0.1" % (host, port),
                        "https://%s:%d%s" % (host, port, path)],
                       capture_output=True, timeout=20)
    return r.returncode, r.stdout.decode("latin-1")


t = Usher()
make_cert(t, "a", "a.test")
make_cert(t, "b", "b.test", "ec")
make_cert(t, "rsa", "both.test")
make_cert(t, "ec", "both.test", "ec")
make_cert(t, "other", "other.test")

CONF = r"""
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name a.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "a $https $ssl_protocol $ssl_server_name $ssl_alpn_protocol $ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name b.test;
        ssl_certificate %%TESTDIR%%/b.crt;
        ssl_certificate_key %%TESTDIR%%/b.key;
        location / { return 200 "b $ssl_cipher\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name both.test;
        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_certificate %%TESTDIR%%/ec.crt;
        ssl_certificate_key %%TESTDIR%%/ec.key;
        location / { return 200 "both\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_P%%;
        location / { return 200 "plain $https.\n"; }
        location /vars { return 200 "[$ssl_protocol|$ssl_cipher|$ssl_client_verify|$ssl_client_s_dn]\n"; }
    }
}
"""
t.write_conf(CONF)
t.start()
S = t.port("S")

# -- SNI
# nginx 1.22 does not enable TLS 1.3 by default; usher does (issue 4)
proto = "TLSv1.3" if t.flavor != "nginx" else "TLSv1.2"
is_(https(t, S, "a.test"), (0, "a on %s a.test http/1.1 .\n" % proto),
    "SNI a.test: server a, with $https $ssl_protocol $ssl_server_name "
    "$ssl_alpn_protocol $ssl_session_reused")
rc, body = https(t, S, "b.test")
like(body, r"^b [\w-]+\n$", "SNI b.test: server b, $ssl_cipher")
is_(s_client(S, "-servername", "b.test")[1], "b.test",
    "SNI b.test: b's ECDSA certificate")
is_(s_client(S, "-servername", "a.test")[1], "a.test",
    "SNI a.test: a's RSA certificate")
is_(s_client(S, "-noservername")[1], "a.test",
    "no SNI: the default server's certificate")
is_(s_client(S, "-servername", "unknown.test")[1], "a.test",
    "an unknown name: the default server's certificate")

# -- RSA and ECDSA side by side, chosen by what the client supports
rc, cn, out = s_client(S, "-servername", "both.test", "-tls1_2",
                       "-sigalgs", "ECDSA+SHA256")
ok(rc == 0 and re.search(r"Peer signature type: ECDSA", out) is not None,
   "both.test, an ECDSA-only client gets the ECDSA certificate")
rc, cn, out = s_client(S, "-servername", "both.test", "-tls1_2",
                       "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256")
ok(rc == 0 and re.search(r"Peer signature type: RSA", out) is not None,
   "both.test, an RSA-only client gets the RSA certificate")

# -- protocols
for proto in ("-tls1", "-tls1_1"):
    rc, cn, out = s_client(S, proto, "-cipher", "DEFAULT@SECLEVEL=0")
    ok(rc != 0 and cn is None, "%s is refused by default" % proto)
rc, cn, out = s_client(S, "-tls1_2")
ok(rc == 0 and "TLSv1.2" in out, "TLS 1.2 is accepted")

# -- plain HTTP to the TLS port
r = raw(S, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
ok(r.startswith(b"HTTP/1.1 400 ") and
   b"plain HTTP request was sent to HTTPS port" in r,
   "plain HTTP to the TLS port: 400 saying so")
ok(b"<title>400 The plain HTTP request was sent to HTTPS port</title>" in r
   and b"<center><h1>400 Bad Request</h1></center>" in r,
   "... in nginx's page: the reason in the title, \"Bad Request\" in h1")
is_(t.get("/", port="P").body, "plain .\n", "a plain port: $https empty")
is_(t.get("/vars", port="P").body, "[|||]\n",
    "a plain port: $ssl_protocol, $ssl_client_* empty")

# -- resumption across workers (tickets; the keys are the same in all)
sess = t.path("sess.pem")
rc, cn, out = s_client(S, "-servername", "a.test", "-tls1_2",
                       "-sess_out", sess)
reused = 0
for i in range(8):
    rc, cn, out = s_client(S, "-servername", "a.test", "-tls1_2",
                           "-sess_in", sess)
    if re.search(r"^Reused, ", out, re.M):
        reused += 1
is_(reused, 8, "a TLS 1.2 session resumes on every connection, whichever "
    "of the 2 workers takes it")

# -- reload swaps a certificate; a broken one keeps the old
old_cn = s_client(S, "-servername", "a.test")[1]
crt, key = make_cert(t, "a", "a2.test")
t.reload()
ok(wait_for(lambda: s_client(S, "-servername", "a.test")[1] == "a2.test",
            timeout=10), "a reload serves the new certificate")
with open(t.path("a.crt"), "w") as f:
    f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
t.reload()
time.sleep(1.0)
is_(s_client(S, "-servername", "a.test")[1], "a2.test",
    "a broken certificate on reload: the old one keeps serving")
like(t.error_log(), r"\[emerg\].*a\.crt", "the broken certificate is "
     "logged at [emerg] with its path")
t.stop()

# -- -t checks that a key matches its certificate
bad = Usher(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        ssl_certificate %%TESTDIR%%/x.crt;
        ssl_certificate_key %%TESTDIR%%/y.key;
        location / { return 200; }
    }
}
""")
make_cert(bad, "x", "x.test")
make_cert(bad, "y", "y.test")
rc, out, err = bad.run("-t")
ok(rc == 1 and re.search(r"\[emerg\].*(key values mismatch|"
                         r"SSL_CTX_use_PrivateKey)", err) is not None,
   "-t: a key that does not match its certificate is an [emerg]")
bad.write_conf(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        location / { return 200; }
    }
}
""")
rc, out, err = bad.run("-t")
ok(rc == 1 and "ssl_certificate" in err,
   "-t: listen ssl without a certificate is an [emerg]")

# -- ssl_reject_handshake; a server without certificates that is not the
# default of its address borrows the default's
rej = Usher(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_R%% ssl default_server;
        ssl_reject_handshake on;
    }
    server {
        listen 127.0.0.1:%%PORT_R%% ssl;
        server_name a.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "a\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_C%% ssl;
        server_name def.test;
        ssl_certificate %%TESTDIR%%/a.crt;
        ssl_certificate_key %%TESTDIR%%/a.key;
        location / { return 200 "def\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_C%% ssl;
        server_name nocert.test;
        location / { return 200 "nocert\n"; }
    }
}
""")
make_cert(rej, "a", "a.test")
rej.start()
R, C = rej.port("R"), rej.port("C")
rc, cn, out = s_client(R)
ok(rc != 0 and cn is None and "unrecognized name" in out,
   "ssl_reject_handshake: no SNI, the handshake is refused "
   "(unrecognized_name)")
rc, cn, out = s_client(R, "-servername", "z.test")
ok(rc != 0 and cn is None, "ssl_reject_handshake: an unknown name too")
is_(https(rej, R, "a.test"), (0, "a\n"),
    "ssl_reject_handshake: a named server with certificates still answers")
is_(https(rej, C, "nocert.test"), (0, "nocert\n"),
    "a non-default server without certificates uses the default's")
rej.stop()

# -- ssl_password_file: each line is tried in turn, as nginx does
pw = Usher(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_W%% ssl;
        ssl_certificate %%TESTDIR%%/p.crt;
        ssl_certificate_key %%TESTDIR%%/enc.key;
        ssl_password_file %%TESTDIR%%/passwords;
        location / { return 200 "pw\n"; }
    }
}
""")
make_cert(pw, "p", "p.test")
rc, out = openssl("pkey", "-in", pw.path("p.key"), "-aes256", "-passout",
                  "pass:secret", "-out", pw.path("enc.key"))
pw.write_file("passwords", "wrong\r\nsecret\n")
pw.start()
is_(https(pw, pw.port("W"), "p.test"), (0, "pw\n"),
    "ssl_password_file: the key opens with the file's second line")
pw.stop()
pw.write_file("passwords", "wrong\n")
rc, out, err = pw.run("-t")
ok(rc == 1 and re.search(r"\[emerg\].*enc\.key", err) is not None,
   "ssl_password_file: no line opens the key: -t fails")

t.check_error_log(allow=[r"\[emerg\]"])
sys.exit(done())
