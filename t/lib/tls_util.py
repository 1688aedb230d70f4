# Helpers for the TLS tests: openssl(1) runs, self-signed certificates, a
# small CA (certificates for servers and clients, revocation, a CRL, an
# OCSP responder) and s_client connections.  Everything is made at test
# time under the test's prefix.

import atexit
import os
import re
import subprocess
import time

from usher_test import free_port, wait_for


def openssl(*args, inp=b"", timeout=20):
    p = subprocess.run(("openssl",) + args, input=inp, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("latin-1") + \
        p.stderr.decode("latin-1")


def self_signed(t, name, cn, kind="rsa"):
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


def s_client(port, *args, request=None, timeout=20):
    """Connects to 127.0.0.1:port; with request (bytes), sends it and reads
    until the server closes.  Returns (rc, output, reused)."""
    argv = ["s_client", "-connect", "127.0.0.1:%d" % port]
    if request is not None:
        argv.append("-ign_eof")
    rc, out = openssl(*argv, *args, inp=request or b"", timeout=timeout)
    return rc, out, re.search(r"^Reused, ", out, re.M) is not None


CNF = """
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = %(dir)s
database = $dir/index.txt
new_certs_dir = $dir/new
certificate = $dir/ca.crt
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 2
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = CA:false
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
%(aia)s
[ client ]
basicConstraints = CA:false
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
"""


class MiniCA:
    """A CA under PREFIX/name: issue(), revoke(), crl(), ocsp_responder()."""

    def __init__(self, t, name, ocsp_url=None, days=2):
        self.t = t
        self.dir = t.path(name)
        os.makedirs(os.path.join(self.dir, "new"), 0o755)
        with open(os.path.join(self.dir, "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write(CNF % {"dir": self.dir, "aia": (
                "authorityInfoAccess = OCSP;URI:" + ocsp_url)
                if ocsp_url else ""})
        self.crt = os.path.join(self.dir, "ca.crt")
        self.key = os.path.join(self.dir, "ca.key")
        rc, out = openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", self.key, "-out", self.crt, "-days",
                          str(days), "-subj", "/CN=" + name, "-config",
                          self.cnf,
                          "-extensions", "v3_ca")
        assert rc == 0, out
        self.procs = []
        atexit.register(self.stop)

    def issue(self, name, cn, ext="server", kind="rsa", days=2):
        key = self.t.path(name + ".key")
        crt = self.t.path(name + ".crt")
        csr = self.t.path(name + ".csr")
        if kind == "rsa":
            newkey = ("-newkey", "rsa:2048")
        else:
            newkey = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")
        rc, out = openssl("req", "-new", *newkey, "-nodes", "-keyout", key,
                          "-out", csr, "-subj", "/CN=" + cn)
        assert rc == 0, out
        rc, out = openssl("ca", "-batch", "-config", self.cnf, "-in", csr,
                          "-out", crt, "-extensions", ext, "-notext",
                          "-days", str(days))
        assert rc == 0, out
        os.chmod(key, 0o644)
        return crt, key

    def revoke(self, crt):
        rc, out = openssl("ca", "-config", self.cnf, "-revoke", crt)
        assert rc == 0, out

    def crl(self, name):
        path = self.t.path(name)
        rc, out = openssl("ca", "-config", self.cnf, "-gencrl", "-out", path)
        assert rc == 0, out
        return path

    def ocsp_responder(self, port=None, signer=None, minutes=None):
        """Starts `openssl ocsp` on port (signing with signer, another
        MiniCA, if given); returns the port."""
        port = port or free_port()
        signer = signer or self
        log = open(os.path.join(self.dir, "ocsp.log"), "ab")
        p = subprocess.Popen(
            ["openssl", "ocsp", "-index", os.path.join(self.dir, "index.txt"),
             "-port", str(port), "-rsigner", signer.crt,
             "-rkey", signer.key, "-CA", self.crt] +
            (["-nmin", str(minutes)] if minutes else ["-ndays", "1"]),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        # not a probe connection: the responder serves one at a time and
        # would wait on it
        wait_for(lambda: b"waiting for OCSP client" in open(
            os.path.join(self.dir, "ocsp.log"), "rb").read(), timeout=10)
        return port

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []


def until_second(mod, at, slack=0.3):
    """Sleeps until time() % mod is at `at` seconds (for epoch tests)."""
    while True:
        r = time.time() % mod
        if at <= r < at + slack:
            return
        time.sleep(0.05)
