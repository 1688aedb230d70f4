#!/usr/bin/env python3
# gzip streams with bounded memory: a 50 MB text response (barely
# compressible, so the coded bytes are big too) from a backend and from a
# file, to a client that reads nothing for a while; the worker's RSS stays
# small, and then every byte arrives, decoded and compared by hash.

import hashlib
import os
import random
import socket
import sys
import threading
import time
import zlib

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403
from backends import worker_rss_kb  # noqa: E402

require_binary()

MB = 1 << 20
SIZE = 50 * MB


def text_block(seed):
    # hex of pseudo-random bytes: deflate gets it to about half
    return random.Random(seed).randbytes(MB // 2).hex().encode()


BLOCKS = [text_block(i) for i in range(SIZE // MB)]
SHA = hashlib.sha256(b"".join(BLOCKS)).hexdigest()


def backend(lsock):
    while True:
        try:
            s, _ = lsock.accept()
        except OSError:
            return
        try:
            s.recv(65536)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: %d\r\n\r\n" % SIZE)
            for b in BLOCKS:
                s.sendall(b)
        except OSError:
            pass
        s.close()


ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
threading.Thread(target=backend, args=(ls,), daemon=True).start()

t = Usher(r"""
events { }
worker_processes 1;
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        gzip on;
        gzip_types text/plain;
        location / { proxy_pass http://127.0.0.1:""" +
          str(ls.getsockname()[1]) + r"""; }
        location /files/ { root %%TESTDIR%%/html; }
    }
}
""")
os.makedirs(t.path("html/files"), exist_ok=True)
with open(t.path("html/files/big.txt"), "wb") as f:
    for b in BLOCKS:
        f.write(b)
t.start()
w = t.wait_workers(1)[0]


def dechunk_inflate(sock, first):
    """Reads a chunked gzip body to its end; (bytes, sha256 hex)."""
    buf = bytearray(first)
    d = zlib.decompressobj(16 + 15)
    h = hashlib.sha256()
    total = 0

    def need(n):
        while len(buf) < n:
            x = sock.recv(1 << 20)
            if not x:
                raise EOFError("closed early")
            buf.extend(x)

    while True:
        while b"\r\n" not in buf:
            need(len(buf) + 1)
        line, _, rest = bytes(buf).partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        del buf[:len(line) + 2]
        if size == 0:
            need(2)
            break
        need(size + 2)
        out = d.decompress(bytes(buf[:size]))
        h.update(out)
        total += len(out)
        del buf[:size + 2]
    out = d.flush()
    h.update(out)
    total += len(out)
    return total, h.hexdigest(), d.eof


for path, what in (("/big", "proxied"), ("/files/big.txt", "file")):
    base = worker_rss_kb(w)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(("127.0.0.1", t.port("A")))
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n"
               "Accept-Encoding: gzip\r\n\r\n" % path).encode())
    peak = base
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        time.sleep(0.1)
        peak = max(peak, worker_rss_kb(w) or 0)
    s.settimeout(30)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    head, _, first = head.partition(b"\r\n\r\n")
    like(head.decode("latin-1"), r"(?i)content-encoding: gzip",
         "%s: coded" % what)
    diag("%s: worker RSS %d kB before, %d kB at most while the client "
         "waits" % (what, base, peak))
    ok(peak - base < 24 * 1024, "%s: the worker's RSS grows by less than "
       "24 MB while the client reads nothing (%d kB)" % (what, peak - base))
    try:
        total, sha, eof = dechunk_inflate(s, first)
    except (OSError, EOFError, zlib.error) as e:
        total, sha, eof = -1, str(e), False
    s.close()
    is_((total, sha, eof), (SIZE, SHA, True),
        "%s: all 50 MB arrive, decoded intact, the gzip stream complete"
        % what)

t.stop()
ls.close()
done()
