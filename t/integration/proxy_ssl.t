#!/usr/bin/env python3
# TLS to upstreams: proxy_pass https:// (host, upstream, variables, an if
# block inheriting it).  A certificate from a trusted CA for the right name
# passes proxy_ssl_verify; a wrong name, an unknown CA or a revoked
# certificate (proxy_ssl_crl) is a 502 with nginx's log line, or the next
# server; verify off takes anything.  SNI is sent only with
# proxy_ssl_server_name on, with proxy_ssl_name's value, never an IP.  A
# client certificate (and an encrypted key with proxy_ssl_password_file)
# reaches a backend that requires one; a reload re-reads it.  Sessions are
# resumed (TLS 1.3 and 1.2) unless proxy_ssl_session_reuse off; a keep-alive
# pool reuses one TLS connection, also for two locations with equal
# settings.  Large bodies pass both ways, buffered (through a temporary
# file) or streamed, gzipped, or through a WebSocket tunnel.  A backend
# that is not TLS, or closes, is a 502; one that stalls the handshake a 504
# within proxy_connect_timeout; a name too long for SNI a 500.  Health
# checks of an https group use TLS.  Bad certificates or keys fail -t with
# file:line.  Backends are Python ssl servers; certificates are made at
# test time.  Against nginx 1.22, usher-only asserts are skipped.

import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import *  # noqa: E402,F401,F403

require_binary()


def openssl(*args):
    p = subprocess.run(("openssl",) + args, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode("latin-1")


def ec_key(path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o644)


def make_ca(t, name):
    key, crt = t.path(name + ".key"), t.path(name + ".crt")
    ec_key(key)
    openssl("req", "-x509", "-new", "-key", key, "-out", crt, "-days", "2",
            "-subj", "/CN=" + name, "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def make_leaf(t, name, cn, ca, san=None, client=False):
    """A certificate for cn signed by ca (a make_ca() name), or
    self-signed when ca is None."""
    key, crt, csr = (t.path(name + ".key"), t.path(name + ".crt"),
                     t.path(name + ".csr"))
    ext = t.path(name + ".ext")
    ec_key(key)
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if san:
            f.write("subjectAltName=%s\n" % san)
        f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client
                                            else "serverAuth"))
    openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn)
    if ca is None:
        openssl("x509", "-req", "-in", csr, "-signkey", key, "-out", crt,
                "-days", "2", "-extfile", ext)
    else:
        openssl("x509", "-req", "-in", csr, "-CA", t.path(ca + ".crt"),
                "-CAkey", t.path(ca + ".key"), "-CAcreateserial", "-out",
                crt, "-days", "2", "-extfile", ext)
    return crt, key


def make_crl(t, ca, revoked):
    """ca.crl: the CRL of ca (a make_ca() name) revoking revoked.crt."""
    cnf = t.path(ca + "-crl.cnf")
    open(t.path(ca + ".index"), "w").close()
    with open(t.path(ca + ".crlnumber"), "w") as f:
        f.write("01\n")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ncrlnumber = %s\n"
                "default_md = sha256\ndefault_crl_days = 2\n"
                % (t.path(ca + ".index"), t.path(ca + ".crlnumber")))
    keys = ("-keyfile", t.path(ca + ".key"), "-cert", t.path(ca + ".crt"))
    openssl("ca", "-config", cnf, "-revoke", t.path(revoked + ".crt"), *keys)
    openssl("ca", "-config", cnf, "-gencrl", "-out", t.path(ca + ".crl"),
            *keys)


class OddBackend:
    """Not TLS: mode "http" answers whatever comes with an HTTP 400 (a
    plain HTTP server on the port), "close" closes at once."""

    def __init__(self, port, mode):
        self.mode = mode
        self.connections = 0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            try:
                if self.mode == "http":
                    s.settimeout(2)
                    s.recv(4096)
                    s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length:"
                              b" 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            s.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.lsock.close()


t = Usher(r"""
worker_processes 1;
events { }
http {
    access_log off;
    client_max_body_size 20m;
    proxy_ssl_trusted_certificate %%TESTDIR%%/ca.crt;

    upstream tlsup    { server 127.0.0.1:%%PORT_GOOD%%; }
    upstream failover { server 127.0.0.1:%%PORT_SELF%%;
                        server 127.0.0.1:%%PORT_GOOD%%; }
    upstream ka       { server 127.0.0.1:%%PORT_KA%%; keepalive 4; }

    server {
        listen 127.0.0.1:%%PORT_A%%;

        location /good/       { proxy_pass https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_ssl_verify on;
                                proxy_ssl_name good.test; }
        location /good-ip/    { proxy_pass https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_ssl_verify on; }
        location /wrong-name/ { proxy_pass https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_ssl_verify on;
                                proxy_ssl_name bad.test; }
        location /untrusted/  { proxy_pass https://127.0.0.1:%%PORT_OTHER%%;
                                proxy_ssl_verify on;
                                proxy_ssl_name good.test; }
        location /self/       { proxy_pass https://127.0.0.1:%%PORT_SELF%%;
                                proxy_ssl_verify on;
                                proxy_ssl_name good.test; }
        location /crl-good/   { proxy_pass https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_ssl_verify on;
                                proxy_ssl_crl ca.crl;
                                proxy_ssl_name good.test; }
        location /crl-revoked/ { proxy_pass https://127.0.0.1:%%PORT_REV%%;
                                proxy_ssl_verify on;
                                proxy_ssl_crl ca.crl;
                                proxy_ssl_name good.test; }
        location /verify-off/ { proxy_pass https://127.0.0.1:%%PORT_SELF%%; }
        location /failover/   { proxy_pass https://failover;
                                proxy_ssl_verify on;
                                proxy_ssl_name good.test; }

        location /sni-off/    { proxy_pass https://tlsup;
                                if ($arg_if) { add_header X-If yes; } }
        location /sni-on/     { proxy_pass https://tlsup;
                                proxy_ssl_session_reuse off;
                                proxy_ssl_server_name on; }
        location /sni-name/   { proxy_pass https://tlsup;
                                proxy_ssl_session_reuse off;
                                proxy_ssl_server_name on;
                                proxy_ssl_name sni.$arg_n.test; }
        location /sni-reuse/  { proxy_pass https://tlsup;
                                proxy_ssl_server_name on;
                                proxy_ssl_name sni.$arg_n.test; }
        location /sni-ip/     { proxy_pass https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_ssl_server_name on; }
        location /sni-long/   { proxy_pass https://tlsup;
                                proxy_ssl_server_name on;
                                proxy_ssl_name $arg_n; }
        location /name-only/  { proxy_pass https://tlsup;
                                proxy_ssl_name named.test; }

        location /var/        { set $u 127.0.0.1:%%PORT_GOOD%%;
                                proxy_pass https://$u;
                                proxy_ssl_verify on;
                                proxy_ssl_name good.test; }
        location /var-url/    { set $u https://127.0.0.1:%%PORT_GOOD%%;
                                proxy_pass $u; }
        location /var-up/     { set $u tlsup;
                                proxy_pass https://$u; }

        location /cc/         { proxy_pass https://127.0.0.1:%%PORT_CC%%;
                                proxy_ssl_certificate client.crt;
                                proxy_ssl_certificate_key client.key; }
        location /cc-enc/     { proxy_pass https://127.0.0.1:%%PORT_CC%%;
                                proxy_ssl_certificate client.crt;
                                proxy_ssl_certificate_key client-enc.key;
                                proxy_ssl_password_file client.pass; }
        location /cc-none/    { proxy_pass https://127.0.0.1:%%PORT_CC%%; }

        location /reuse-on/   { proxy_pass https://127.0.0.1:%%PORT_RE%%; }
        location /reuse-off/  { proxy_pass https://127.0.0.1:%%PORT_RE%%;
                                proxy_ssl_session_reuse off; }
        location /reuse-12/   { proxy_pass https://127.0.0.1:%%PORT_RE%%;
                                proxy_ssl_protocols TLSv1.2; }
        location /conf-cmd/   { proxy_pass https://127.0.0.1:%%PORT_RE%%;
                                proxy_ssl_conf_command MaxProtocol TLSv1.2; }

        location /ka/         { proxy_pass https://ka;
                                proxy_http_version 1.1;
                                proxy_set_header Connection ""; }
        location /ka2/        { proxy_pass https://ka;
                                proxy_http_version 1.1;
                                proxy_set_header Connection ""; }

        location /big/        { proxy_pass https://tlsup; }
        location /gz/         { proxy_pass https://tlsup;
                                gzip on;
                                gzip_types text/plain;
                                gzip_min_length 1; }
        location /big-stream/ { proxy_pass https://tlsup;
                                proxy_request_buffering off;
                                proxy_buffering off; }

        location /ws/         { proxy_pass https://tlsup;
                                proxy_http_version 1.1;
                                proxy_set_header Upgrade $http_upgrade;
                                proxy_set_header Connection upgrade; }

        location /not-tls/    { proxy_pass https://127.0.0.1:%%PORT_PLAIN%%; }
        location /closer/     { proxy_pass https://127.0.0.1:%%PORT_CLOSE%%; }
        location /stall/      { proxy_connect_timeout 1s;
                                proxy_pass https://127.0.0.1:%%PORT_HOLE%%; }
    }
}
""")

make_ca(t, "ca")
make_ca(t, "ca2")
make_ca(t, "cca")
make_leaf(t, "good", "good.test", "ca", "DNS:good.test,IP:127.0.0.1")
make_leaf(t, "other", "good.test", "ca2", "DNS:good.test")
make_leaf(t, "revoked", "good.test", "ca", "DNS:good.test")
make_crl(t, "ca", "revoked")
make_leaf(t, "self", "self.test", None, "DNS:self.test")
make_leaf(t, "client", "usher-client", "cca", client=True)
make_leaf(t, "clientb", "usher-client-b", "cca", client=True)
openssl("pkey", "-in", t.path("client.key"), "-aes256", "-passout",
        "pass:s3cret", "-out", t.path("client-enc.key"))
os.chmod(t.path("client-enc.key"), 0o644)
t.write_file("client.pass", "wrong\ns3cret\n")

good = TlsEchoBackend(t.port("GOOD"), "GOOD", t.path("good.crt"),
                      t.path("good.key"))
other = TlsEchoBackend(t.port("OTHER"), "OTHER", t.path("other.crt"),
                       t.path("other.key"))
rev = TlsEchoBackend(t.port("REV"), "REV", t.path("revoked.crt"),
                     t.path("revoked.key"))
selfb = TlsEchoBackend(t.port("SELF"), "SELF", t.path("self.crt"),
                       t.path("self.key"))
cc = TlsEchoBackend(t.port("CC"), "CC", t.path("good.crt"),
                    t.path("good.key"), client_ca=t.path("cca.crt"))
re_b = TlsEchoBackend(t.port("RE"), "RE", t.path("good.crt"),
                      t.path("good.key"))
ka = TlsEchoBackend(t.port("KA"), "KA", t.path("good.crt"),
                    t.path("good.key"))
plain = OddBackend(t.port("PLAIN"), "http")
closer = OddBackend(t.port("CLOSE"), "close")
hole = Blackhole(t.port("HOLE"), accept=True)
started = t.try_start("proxying to TLS upstreams")

UP = r', upstream: "https://127\.0\.0\.1:%d/[^"]*"'


def logged(regex, mark):
    wait_for(lambda: re.search(regex, t.error_log()[mark:]), 3.0)
    return t.error_log()[mark:]


def get(path, **kw):
    t0 = time.monotonic()
    try:
        r = t.get(path, timeout=15, **kw)
    except Exception as e:
        diag("GET %s: %s" % (path, e))
        return None, time.monotonic() - t0
    return r, time.monotonic() - t0


def status(path, **kw):
    r, _ = get(path, **kw)
    return r.status if r is not None else None


def be_name_of(u, path):
    try:
        r = u.get(path, timeout=15)
    except Exception as e:
        diag("GET %s: %s" % (path, e))
        return None
    return r.status, r.header("x-be-name")


def be_name(path):
    r, _ = get(path)
    return (r.status, r.header("x-be-name")) if r is not None else None


if started:
    # -- verification
    r, _ = get("/good/x")
    is_(r and (r.status, r.header("x-be-name")), (200, "GOOD"),
        "a certificate from the trusted CA for proxy_ssl_name passes")
    if usher_only("nginx 1.22 checks an IP address as a host name"):
        is_(be_name("/good-ip/x"), (200, "GOOD"), "without proxy_ssl_name "
            "the IP of proxy_pass is checked (IP SAN)")

    mark = len(t.error_log())
    is_(status("/wrong-name/x"), 502, "a certificate for another name: 502")
    like(logged("does not match", mark),
         r'\[error\] .*upstream SSL certificate does not match "bad\.test" '
         r'while SSL handshaking to upstream, client: 127\.0\.0\.1, .*'
         r'request: "GET /wrong-name/x HTTP/1\.1"' + UP % t.port("GOOD"),
         "the name mismatch is logged as nginx does")

    mark = len(t.error_log())
    is_(status("/untrusted/x"), 502, "a certificate from an unknown CA: 502")
    like(logged("verify error", mark),
         r"\[error\] .*upstream SSL certificate verify error: \(2[01]:unable "
         r"to (get local issuer|verify the first) certificate\) while SSL "
         r"handshaking to "
         r"upstream" + r".*" + UP % t.port("OTHER"),
         "the unknown CA is logged with its verify error")

    mark = len(t.error_log())
    is_(status("/self/x"), 502, "a self-signed certificate: 502")
    like(logged("verify error", mark),
         r"upstream SSL certificate verify error: \(18:self[- ]signed "
         r"certificate\) while SSL handshaking to upstream",
         "the self-signed certificate is logged with its verify error")

    is_(be_name("/crl-good/x"), (200, "GOOD"),
        "proxy_ssl_crl: a certificate that is not revoked passes")
    mark = len(t.error_log())
    is_(status("/crl-revoked/x"), 502, "proxy_ssl_crl: a revoked one: 502")
    like(logged("verify error", mark),
         r"upstream SSL certificate verify error: \(23:certificate revoked\) "
         r"while SSL handshaking to upstream", "... logged as revoked")
    is_(be_name("/verify-off/x"), (200, "SELF"),
        "proxy_ssl_verify off (the default) takes any certificate")
    res = [be_name("/failover/%d" % i) for i in range(4)]
    is_(res, [(200, "GOOD")] * 4,
        "a verify failure moves on to the next server (proxy_next_upstream "
        "error)")

    # -- SNI
    good.reset()
    is_(status("/sni-off/x"), 200, "SNI off: 200")
    is_(good.sni, [None], "proxy_ssl_server_name off (default): no SNI")
    r, _ = get("/sni-off/x?if=1")
    is_(r and (r.status, r.header("x-if"), r.header("x-be-name")),
        (200, "yes", "GOOD"), "an if block without proxy_pass proxies to "
        "its location's https upstream")
    good.reset()
    is_(status("/sni-on/x"), 200, "SNI on: 200")
    is_(good.sni, ["tlsup"], "SNI on: the name of proxy_pass ($proxy_host)")
    good.reset()
    is_(status("/sni-name/x?n=abc"), 200, "SNI with proxy_ssl_name: 200")
    is_(good.sni, ["sni.abc.test"],
        "SNI on: proxy_ssl_name's value, variables evaluated")
    good.reset()
    is_(status("/sni-ip/x"), 200, "SNI on, proxy_pass to an IP: 200")
    is_(good.sni, [None], "an IP address is never sent as SNI")
    if usher_only("sessions are kept per server only"):
        good.reset()
        sts = [status("/sni-reuse/x?n=" + n) for n in ("a", "b", "a")]
        is_((sts, good.sni, good.reused), ([200] * 3, ["sni.a.test",
            "sni.b.test", "sni.a.test"], 1), "a session is resumed only "
            "for the name it was made for")
    mark = len(t.error_log())
    is_(status("/sni-long/x?n=" + "a" * 300), 500,
        "a 300-byte server name from a variable: 500, as in nginx")
    if usher_only("nginx's words"):
        like(logged("upstream name", mark), r"\[error\] .*cannot start SSL "
             r"with the upstream name while SSL handshaking to upstream",
             "... logged at [error]")
    good.reset()
    is_(status("/name-only/x"), 200, "proxy_ssl_name alone: 200")
    is_(good.sni, [None], "proxy_ssl_name without proxy_ssl_server_name "
        "sends no SNI")

    # -- variables
    is_(be_name("/var/x"), (200, "GOOD"),
        "proxy_pass https://$var (verified)")
    is_(be_name("/var-url/x"), (200, "GOOD"), "proxy_pass $var with https://")
    is_(be_name("/var-up/x"), (200, "GOOD"),
        "proxy_pass https://$var naming an upstream")

    # -- client certificates
    is_(status("/cc-none/x"), 502, "no client certificate where one is "
        "required: 502")
    cc.reset()
    is_(be_name("/cc/x"), (200, "CC"),
        "a client certificate satisfies a backend that requires one")
    is_(cc.client_cns, ["usher-client"], "the backend saw our certificate")
    cc.reset()
    is_(be_name("/cc-enc/x"), (200, "CC"),
        "an encrypted key with proxy_ssl_password_file (second line)")
    is_(cc.client_cns, ["usher-client"], "... and the backend saw it")
    if usher_only("sessions are kept per server only"):
        is_(status("/cc-none/x"), 502, "still 502 after a location with a "
            "certificate made a session with that server")

    # -- session reuse
    for loc, proto, want_reuse in (("reuse-on", "TLSv1.3", True),
                                   ("reuse-12", "TLSv1.2", True),
                                   ("reuse-off", "TLSv1.3", False)):
        re_b.reset()
        sts = [status("/%s/%d" % (loc, i)) for i in range(4)]
        is_(sts, [200] * 4, "%s: 4 requests" % loc)
        is_(re_b.handshakes, 4, "%s: a connection (handshake) each" % loc)
        if proto == "TLSv1.2" or usher_only("TLSv1.3 is not a default "
                                            "of nginx 1.22"):
            is_(set(re_b.versions), {proto}, "%s: %s" % (loc, proto))
        if want_reuse:
            ok(re_b.reused >= 3, "%s: the session is resumed on every later "
               "connection (%d)" % (loc, re_b.reused))
        else:
            is_(re_b.reused, 0, "%s: proxy_ssl_session_reuse off: no "
                "session resumed" % loc)

    re_b.reset()
    is_(status("/conf-cmd/x"), 200, "proxy_ssl_conf_command: 200")
    is_(re_b.versions, ["TLSv1.2"],
        "proxy_ssl_conf_command MaxProtocol TLSv1.2 is applied")

    # -- keep-alive: one handshake for many requests
    ka.reset()
    sts = [status("/ka%s/%d" % ("2" if i % 2 else "", i))
           for i in range(10)]
    is_(sts, [200] * 10, "keep-alive: 10 requests, by two locations")
    is_((ka.connections, ka.handshakes), (1, 1),
        "the pooled TLS connection is reused: one connection, one handshake"
        " (two locations with equal settings share a context)")

    # -- large bodies both ways
    for loc in ("big", "big-stream"):
        res = stream_request(t.port("A"), "POST", "/%s/up" % loc,
                             body_len=3000000, timeout=30)
        echo = (echo_of(res.head.decode("latin-1")) if res.head else None) or {}
        is_((res.status, echo.get("body_len"), echo.get("body_sha256")),
            (200, 3000000, pattern_sha256(3000000)),
            "%s: a 3 MB request body reaches the backend intact" % loc)
        res = stream_request(t.port("A"), "GET", "/%s/down?be_len=5000000"
                             % loc, timeout=30)
        is_((res.status, res.body_len, res.sha256),
            (200, 5000000, pattern_sha256(5000000)),
            "%s: a 5 MB response body arrives intact" % loc)
    r = subprocess.run(["curl", "-s", "--compressed", "-D", "-",
                        "http://127.0.0.1:%d/gz/x?be_len=2000000&"
                        "be_header=Content-Type:text/plain" % t.port("A")],
                       capture_output=True, timeout=30)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    is_((re.search(rb"(?i)^content-encoding: gzip", head, re.M) is not None,
         len(body), hashlib.sha256(body).hexdigest()),
        (True, 2000000, pattern_sha256(2000000)),
        "gzip on a response from an https upstream: 2 MB, intact")
    res = stream_request(t.port("A"), "GET", "/big/close?be_mode=close&"
                         "be_len=300000", timeout=30)
    is_((res.status, res.body_len, res.sha256),
        (200, 300000, pattern_sha256(300000)),
        "a response that ends with the upstream's close (no close_notify)")
    res = stream_request(t.port("A"), "POST", "/big-stream/chunked",
                         body_len=1000000, chunked=True, timeout=30)
    echo = (echo_of(res.head.decode("latin-1")) if res.head else None) or {}
    is_((res.status, echo.get("body_sha256")),
        (200, pattern_sha256(1000000)),
        "a chunked request body streamed over TLS")

    # -- a WebSocket tunnel over TLS
    c, r = ws_handshake(t.port("A"), "/ws/chat")
    is_(r and r.status, 101, "WebSocket to an https upstream: 101")
    if r and r.status == 101:
        big = pattern(300000)
        c.send(0x2, big)
        f = c.recv(timeout=10)
        ok(f is not None and f == (0x2, big),
           "a 300 kB frame through the TLS tunnel, intact")
        for i in range(20):
            c.send(0x1, "msg %d" % i)
        got = [c.recv(timeout=5) for i in range(20)]
        is_(got, [(0x1, ("msg %d" % i).encode()) for i in range(20)],
            "twenty frames in a row, in order")
    else:
        skip("no tunnel", 2)
    c.close()

    # -- upstreams that do not speak TLS, or stall
    mark = len(t.error_log())
    r, secs = get("/not-tls/x")
    is_(r and r.status, 502, "an upstream that speaks plain HTTP: 502")
    ok(secs < 3, "... at once (%.2f s)" % secs)
    like(logged("SSL_do_handshake", mark),
         r"\[error\] .*SSL_do_handshake\(\) failed \(SSL: .*\) while SSL "
         r"handshaking to upstream", "... logged as a handshake failure")
    mark = len(t.error_log())
    r, secs = get("/closer/x")
    is_(r and r.status, 502, "an upstream that closes at once: 502")
    if usher_only("nginx 1.22 logs the close now as a handshake failure, "
                  "now as a premature close of the response"):
        like(logged("peer closed", mark),
             r"\[error\] .*peer closed connection in SSL handshake.* while "
             r"SSL handshaking to upstream", "... logged as nginx does")
    mark = len(t.error_log())
    r, secs = get("/stall/x")
    is_(r and r.status, 504, "an upstream that stalls the handshake: 504")
    ok(0.8 <= secs <= 3, "... after proxy_connect_timeout 1s (%.2f s)" % secs)
    like(logged("timed out", mark),
         r"\[error\] .*upstream timed out \(110: Connection timed out\) "
         r"while SSL handshaking to upstream",
         "... logged while SSL handshaking to upstream")

    # -- a reload re-reads the client certificate
    for f in ("crt", "key"):
        with open(t.path("clientb." + f), "rb") as src:
            data = src.read()
        with open(t.path("client." + f), "wb") as dst:
            dst.write(data)
    # a key that no longer matches: the reload fails, the old one serves
    t.reload(wait=False)
    ok(wait_for(lambda: re.search(r"\[emerg\] .*client-enc\.key",
                                  t.error_log()), 5),
       "a reload with a key that does not match fails")
    if usher_only("nginx names no file:line"):
        like(t.error_log(), r"\[emerg\] .*client-enc\.key.* in "
             r".*usher\.conf:\d+", "... naming the file and line")
    cc.reset()
    is_(be_name("/cc/x"), (200, "CC"), "after the failed reload: 200")
    is_(cc.client_cns, ["usher-client"], "... with the old certificate")
    openssl("pkey", "-in", t.path("clientb.key"), "-aes256", "-passout",
            "pass:s3cret", "-out", t.path("client-enc.key"))
    os.chmod(t.path("client-enc.key"), 0o644)
    t.reload()
    cc.reset()
    is_(be_name("/cc/x"), (200, "CC"), "after a reload: 200")
    is_(cc.client_cns, ["usher-client-b"],
        "a reload re-reads the client certificate")
    t.stop()
else:
    skip("not started", 76)

# -- active health checks (usher's own) of an https upstream speak TLS
if usher_only("health_check is usher's own"):
    h = Usher(r"""
worker_processes 1;
error_log error.log warn;
events { }
http {
    access_log off;
    upstream hu {
        server 127.0.0.1:%%PORT_HGOOD%%;
        server 127.0.0.1:%%PORT_HSELF%%;
        health_check interval=300ms uri=/health;
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { proxy_pass https://hu;
                     proxy_ssl_verify on;
                     proxy_ssl_trusted_certificate %%TESTDIR%%/ca.crt;
                     proxy_ssl_name good.test; }
    }
}
""")
    make_ca(h, "ca")
    make_leaf(h, "good", "good.test", "ca", "DNS:good.test")
    make_leaf(h, "self", "good.test", None, "DNS:good.test")
    hgood = TlsEchoBackend(h.port("HGOOD"), "HGOOD", h.path("good.crt"),
                           h.path("good.key"))
    hself = TlsEchoBackend(h.port("HSELF"), "HSELF", h.path("self.crt"),
                           h.path("self.key"))
    if h.try_start("health checks over TLS"):
        ok(wait_for(lambda: hgood.health_checks >= 3, 5),
           "the checks reach the https server through TLS (%d)"
           % hgood.health_checks)
        is_(hgood.failed_handshakes, 0, "... with no failed handshake")
        like(h.error_log(), r"\[warn\] .*upstream server 127\.0\.0\.1:%d "
             r'of "hu" failed health check: upstream SSL certificate verify '
             r"error: \(18:self[- ]signed certificate\), marked down"
             % h.port("HSELF"), "a server whose certificate fails "
             "verification fails its check")
        hself.reset()
        res = [be_name_of(h, "/x%d" % i) for i in range(6)]
        is_((res, hself.requests), ([(200, "HGOOD")] * 6, 0),
            "clients go only to the healthy server")
        h.check_error_log()
        h.stop()
    else:
        skip("not started", 5)
    hgood.close()
    hself.close()

# -- configuration errors, found by -t with file and line
bad = Usher()
make_ca(bad, "ca")
make_leaf(bad, "c1", "c1", "ca", client=True)
make_leaf(bad, "c2", "c2", "ca", client=True)
CONF = r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / {
            proxy_pass https://127.0.0.1:1;
LINES
        }
    }
}
"""
for name, lines, regex in (
        ("a missing certificate",
         "proxy_ssl_certificate nosuch.crt;\n"
         "proxy_ssl_certificate_key c1.key;",
         r'\[emerg\] cannot load certificate ".*nosuch\.crt".* in '
         r'.*usher\.conf:8'),
        ("a key of another certificate",
         "proxy_ssl_certificate c1.crt;\nproxy_ssl_certificate_key c2.key;",
         r"\[emerg\] .*(key values mismatch|SSL_CTX_use_PrivateKey).* in "
         r".*usher\.conf:9"),
        ("a certificate without a key",
         "proxy_ssl_certificate c1.crt;",
         r'\[emerg\] no "proxy_ssl_certificate_key" is defined for '
         r'certificate ".*c1\.crt" in .*usher\.conf:8'),
        ("verify without a trusted certificate",
         "proxy_ssl_verify on;",
         r"\[emerg\] no proxy_ssl_trusted_certificate for proxy_ssl_verify "
         r"in .*usher\.conf:7"),
        ("an unreadable trusted certificate",
         "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate nosuch.crt;",
         r"\[emerg\] .*nosuch\.crt.* in .*usher\.conf:9"),
        ("bad ciphers", "proxy_ssl_ciphers NO-SUCH-CIPHER;",
         r"\[emerg\] SSL_CTX_set_cipher_list\(\"NO-SUCH-CIPHER\"\) failed"),
        ("a bad protocol", "proxy_ssl_protocols TLSv9;",
         r'\[emerg\] invalid value "TLSv9" in .*usher\.conf:8'),
        ("a bad conf command", "proxy_ssl_conf_command NoSuchCommand x;",
         r'\[emerg\] SSL_CONF_cmd\("NoSuchCommand", "x"\) failed')):
    bad.write_conf(CONF.replace("LINES", lines))
    rc, out, err = bad.run("-t")
    ok(rc != 0, "-t fails on %s" % name)
    if usher_only("its own words for " + name):
        like(err, regex, "... with the reason, file and line")

bad.write_conf(CONF.replace("LINES", "proxy_ssl_certificate c1.crt;\n"
               "proxy_ssl_certificate_key c1.key;\n"
               "proxy_ssl_verify on;\n"
               "proxy_ssl_trusted_certificate ca.crt;\n"
               "proxy_ssl_verify_depth 2;\n"
               "proxy_ssl_server_name on;\n"
               "proxy_ssl_name $host;\n"
               "proxy_ssl_protocols TLSv1.2 TLSv1.3;\n"
               "proxy_ssl_ciphers HIGH:!aNULL;\n"
               "proxy_ssl_session_reuse off;\n"
               "proxy_ssl_conf_command MinProtocol TLSv1.2;"))
rc, out, err = bad.run("-t")
is_(rc, 0, "-t passes with every directive set")

t.check_error_log()
sys.exit(done())
