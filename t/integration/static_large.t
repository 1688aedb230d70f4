#!/usr/bin/env python3
# A large file: sent whole and in ranges, to a slow client with bounded
# worker memory while other clients are served, over TLS too (no
# sendfile there), send_timeout for a client that stops reading, and no
# file descriptor left open afterwards.

import hashlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
worker_processes 1;
events { }
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        root %%TESTDIR%%/html;
        location /stall/ { send_timeout 1s; }
    }

    server {
        listen 127.0.0.1:%%PORT_TLS%% ssl;
        ssl_certificate %%TESTDIR%%/t.crt;
        ssl_certificate_key %%TESTDIR%%/t.key;
        root %%TESTDIR%%/html;
    }
}
""")
p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", t.path("t.key"), "-out", t.path("t.crt"),
                    "-days", "2", "-subj", "/CN=static.test"],
                   capture_output=True, timeout=30)
assert p.returncode == 0, p.stderr
os.chmod(t.path("t.key"), 0o644)

SIZE = 50 * 1024 * 1024
BLOCK = b"".join(b"%015d\n" % i for i in range(65536))     # 1 MB
t.write_file("html/small.txt", "small\n")
with open(t.path("html/big.bin"), "wb") as f:
    for k in range(SIZE // len(BLOCK)):
        f.write(BLOCK[:16] + b"%015d\n" % k + BLOCK[32:])
os.makedirs(t.path("html/stall"))
os.link(t.path("html/big.bin"), t.path("html/stall/big.bin"))
os.chmod(t.path("html/big.bin"), 0o644)
with open(t.path("html/big.bin"), "rb") as f:
    DATA_MD5 = hashlib.md5(f.read()).hexdigest()
t.start()

worker = t.wait_workers(1)[0]
with open("/proc/%d/maps" % worker) as f:
    # AddressSanitizer keeps freed memory in quarantine: RSS says nothing
    SANITIZED = "libasan" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fetch(path, headers=(), rate=None, chunk=65536, tls=False):
    """GET path on a raw socket; returns (head, body md5, body length)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(20)
    s.connect(("127.0.0.1", t.port("TLS" if tls else "A")))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="static.test")
    req = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % path
    req += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
    s.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    md5, n = hashlib.md5(rest), len(rest)
    while True:
        d = s.recv(chunk)
        if not d:
            break
        md5.update(d)
        n += len(d)
        if rate:
            time.sleep(len(d) / rate)
    s.close()
    return head.decode("latin-1"), md5.hexdigest(), n


fds_before = nfds(worker)
rss_before = rss_kb(worker)

head, md5, n = fetch("/big.bin")
ok(head.startswith("HTTP/1.1 200 ") and
   "Content-Length: %d" % SIZE in head, "the big file: 200 and its length")
is_((n, md5), (SIZE, DATA_MD5), "the big file arrives whole and intact")

start, end = 20 * 1024 * 1024 + 5, 31 * 1024 * 1024 + 17
head, md5, n = fetch("/big.bin", [("Range", "bytes=%d-%d" % (start, end))])
with open(t.path("html/big.bin"), "rb") as f:
    f.seek(start)
    want = hashlib.md5(f.read(end - start + 1)).hexdigest()
ok(head.startswith("HTTP/1.1 206 ") and
   "Content-Range: bytes %d-%d/%d" % (start, end, SIZE) in head,
   "an 11 MB range in the middle: 206")
is_((n, md5), (end - start + 1, want), "the range's bytes are right")

r = t.get("/big.bin", method="HEAD")
is_((r.status, r.header("content-length"), r.body), (200, str(SIZE), ""),
    "HEAD of the big file")

# a slow client (about 20 MB/s in small reads) while others are served
result = {}
samples = []


def slow():
    result["slow"] = fetch("/big.bin", rate=20 * 1024 * 1024, chunk=32768)


th = threading.Thread(target=slow)
th.start()
served = 0
t0 = time.monotonic()
while th.is_alive() and time.monotonic() - t0 < 30:
    samples.append(rss_kb(worker))
    r = t.get("/small.txt")
    served += r.status == 200 and r.body == "small\n"
    time.sleep(0.1)
th.join(30)
head, md5, n = result.get("slow", ("", "", 0))
is_((n, md5), (SIZE, DATA_MD5), "a slow client gets the whole file")
ok(served >= 5, "other clients are served meanwhile (%d)" % served)
growth = max(samples or [0]) - rss_before
if SANITIZED:
    skip("worker memory is not measured under AddressSanitizer")
else:
    ok(growth < 16 * 1024,
       "worker memory stays bounded while 50 MB go out (grew %d kB)" %
       growth)

# over TLS the file is read and written, not sent with sendfile
head, md5, n = fetch("/big.bin", tls=True)
ok(head.startswith("HTTP/1.1 200 "), "TLS: the big file, 200")
is_((n, md5), (SIZE, DATA_MD5), "TLS: the big file arrives intact")
head, md5, n = fetch("/big.bin", [("Range", "bytes=%d-%d" % (start, end))],
                     tls=True)
is_((n, md5), (end - start + 1, want), "TLS: a range of it")
head, _, n = fetch("/small.txt", [("Range", "bytes=0-1,3-4")], tls=True)
ok(head.startswith("HTTP/1.1 206 ") and "multipart/byteranges" in head,
   "TLS: multipart ranges")
samples = []
result = {}


def slow_tls():
    result["slow"] = fetch("/big.bin", rate=40 * 1024 * 1024, chunk=32768,
                           tls=True)


th = threading.Thread(target=slow_tls)
th.start()
while th.is_alive():
    samples.append(rss_kb(worker))
    time.sleep(0.1)
th.join()
is_(result.get("slow", ("", "", 0))[1:], (DATA_MD5, SIZE),
    "TLS: a slow client gets the whole file")
growth = max(samples or [0]) - rss_before
if SANITIZED:
    skip("worker memory is not measured under AddressSanitizer")
else:
    ok(growth < 16 * 1024, "TLS: worker memory stays bounded (grew %d kB)" %
       growth)

# send_timeout: a client that stops reading is closed
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect(("127.0.0.1", t.port("A")))
s.sendall(b"GET /stall/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(3.5)
s.settimeout(10)
got, eof = 0, False
try:
    while True:
        d = s.recv(1 << 20)
        if not d:
            eof = True
            break
        got += len(d)
except (socket.timeout, ConnectionResetError):
    eof = True
s.close()
ok(eof and got < SIZE,
   "send_timeout: a stalled client is closed (%d bytes got)" % got)

# and a client that goes away mid-file
s = socket.socket()
s.connect(("127.0.0.1", t.port("A")))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(65536)
s.close()
time.sleep(0.5)
r = t.get("/small.txt")
is_((r.status, r.body), (200, "small\n"), "served after a client went away")
ok(wait_for(lambda: nfds(worker) <= fds_before, 5),
   "no file descriptor left open (%d before, %d after)" %
   (fds_before, nfds(worker)))

t.stop()
t.check_error_log()
sys.exit(done())
