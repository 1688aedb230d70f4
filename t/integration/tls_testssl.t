#!/usr/bin/env python3
# testssl.sh against usher's TLS defaults: an ssl listener with an RSA and
# an ECDSA certificate and no other ssl_ directive.  Any finding of
# severity MEDIUM, HIGH or CRITICAL, or an old protocol offered, fails.
# The certificates come from a test CA that testssl is told to trust, so
# that what is judged is the server, not a self-signed certificate.
# Checks: protocols, cipher categories, forward secrecy, server
# preferences, server defaults and vulnerabilities (about 2 minutes);
# HTTP headers are the application's and are left out.

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from tls_util import *  # noqa: E402,F401,F403

require_binary()
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
if TESTSSL is None:
    skip_all("testssl.sh is not installed (Debian package testssl.sh)")
if FLAVOR == "nginx":
    skip_all("this judges usher's defaults, not nginx's")

t = Usher()
# a certificate without a revocation URL is a HIGH finding of its own
ca = MiniCA(t, "ca", ocsp_url="http://127.0.0.1:9/", days=200)
ca.issue("rsa", "localhost", days=200)
ca.issue("ec", "localhost", kind="ec", days=200)
t.write_conf(r"""
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name localhost;
        ssl_certificate %%TESTDIR%%/rsa.crt;
        ssl_certificate_key %%TESTDIR%%/rsa.key;
        ssl_certificate %%TESTDIR%%/ec.crt;
        ssl_certificate_key %%TESTDIR%%/ec.key;
        location / { return 200 "ok\n"; }
    }
}
""")
t.start()
out = t.path("testssl.json")
p = subprocess.run([TESTSSL, "--quiet", "--color", "0", "--warnings", "off",
                    "--add-ca", ca.crt, "--jsonfile", out,
                    "-p", "-s", "-f", "-P", "-S", "-U",
                    "127.0.0.1:%d" % t.port("S")],
                   capture_output=True, timeout=400,
                   stdin=subprocess.DEVNULL, cwd=t.prefix)
try:
    with open(out) as f:
        findings = json.load(f)
except (OSError, ValueError) as e:
    findings = []
    diag("no JSON from testssl: %s" % e)
    diag(p.stdout.decode("latin-1")[-2000:])

by_id = {f.get("id"): f for f in findings}
ok("TLS1_3" in by_id and "TLS1_2" in by_id and "cipher_order" in by_id,
   "testssl ran its checks (%d findings)" % len(findings))
like(by_id.get("TLS1_3", {}).get("finding", ""), r"^offered",
     "TLS 1.3 is offered")
like(by_id.get("TLS1_2", {}).get("finding", ""), r"^offered",
     "TLS 1.2 is offered")
for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    like(by_id.get(proto, {}).get("finding", "?"), r"^not offered",
         "%s is not offered" % proto)
bad = [f for f in findings
       if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
for f in bad:
    diag("%s %s: %s" % (f["severity"], f["id"], f["finding"]))
is_(len(bad), 0, "no finding of severity MEDIUM, HIGH or CRITICAL")
t.stop()
t.check_error_log()
sys.exit(done())
