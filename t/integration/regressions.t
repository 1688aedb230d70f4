#!/usr/bin/env python3
# Bugs found while documenting, each failed before its fix:
# - hash-size directives with a number were refused as "on or off";
# - recursive_error_pages on with an error page that fails again crashed
#   the worker (endless recursion) instead of ending in a 500;
# - a redirect made absolute on a TLS connection said http:// and :443;
# - a proxied response framed by the upstream's close, re-chunked for the
#   client, never got its last chunk when the close came on its own after
#   the body had gone out: the client waited forever.

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;
    types_hash_max_size 2048;
    types_hash_bucket_size 64;
    server_names_hash_bucket_size 64;
    server_names_hash_max_size 512;
    variables_hash_max_size 1024;
    variables_hash_bucket_size 64;
    tcp_nopush on;
    tcp_nodelay on;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        recursive_error_pages on;
        error_page 404 /again;
        location / { return 404; }
        location = /ok { return 200 "ok\n"; }
        location /late-close/ { proxy_pass http://127.0.0.1:%%PORT_LATE%%; }
    }
    server {
        listen 127.0.0.1:%%PORT_S%% ssl;
        server_name tls.test;
        ssl_certificate %%TESTDIR%%/c.crt;
        ssl_certificate_key %%TESTDIR%%/c.key;
        location / { return 301 /moved; }
    }
}
""")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", t.path("c.key"), "-out", t.path("c.crt"),
                "-days", "2", "-subj", "/CN=tls.test"],
               capture_output=True, check=True)
os.chmod(t.path("c.key"), 0o644)
rc, out, err = t.run("-t")
is_(rc, 0, "hash-size and tcp_* directives are accepted") or diag(err)
t.start()
workers = t.worker_pids()
r = t.get("/x")
is_(r.status, 500, "an error page that fails again ends in a 500")
is_(t.get("/ok").body, "ok\n", "and the worker still serves")
is_(t.worker_pids(), workers, "no worker died")
p = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w",
                    "%{redirect_url}", "--resolve",
                    "tls.test:%d:127.0.0.1" % t.port("S"),
                    "https://tls.test:%d/x" % t.port("S")],
                   capture_output=True, timeout=10)
is_(p.stdout.decode(), "https://tls.test:%d/moved" % t.port("S"),
    "a redirect on a TLS connection is https://")

# -- a close that comes alone ends a close-framed response
def late_close_backend(lsock):
    """Answers without a length, then closes 0.3 s after the body."""
    while True:
        try:
            s, _ = lsock.accept()
        except OSError:
            return
        try:
            s.settimeout(5)
            s.recv(65536)
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                      b"body bytes\n")
            time.sleep(0.3)
        except OSError:
            pass
        s.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", t.port("LATE")))
ls.listen(8)
threading.Thread(target=late_close_backend, args=(ls,), daemon=True).start()
t0 = time.monotonic()
try:
    r = t.get("/late-close/x", timeout=5)
    got = (r.status, r.body)
except Exception as e:
    got = str(e)
is_(got, (200, "body bytes\n"), "a response ended by a late close is "
    "complete (the last chunk comes)")
ok(time.monotonic() - t0 < 3, "... at once after the close")
ls.close()
t.check_error_log()
sys.exit(done())
