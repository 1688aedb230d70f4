"""
Backends for the reverse-proxy tests (t/integration/proxy_*.t): standard
library only, one thread per connection, loopback (or a unix socket).

  EchoBackend(port, name)  an HTTP/1.1 origin that answers with a JSON
                           description of the request it received, or as
                           the request tells it to (see below)
  TlsEchoBackend(port, name, cert, key, client_ca=None)
                           the same over TLS (the ssl module), counting
                           handshakes, resumed sessions, the SNI names and
                           the client certificates it saw (see the class)
  Blackhole(port, accept)  a port that never answers: accept=False listens
                           with a full accept queue, so connects time out;
                           accept=True accepts and reads but never writes
  refusing_port()          a free port that nothing listens on
  pattern(n) ...           the deterministic body bytes: byte i is i % 251
  stream_request(...)      a client for big bodies: sends a pattern body
                           (fixed or chunked), reads the response body as a
                           stream (length and sha256, not kept), with times
  ws_* / WsClient          the client side of RFC 6455 framing

EchoBackend is told what to do per request by headers "X-Be-<Key>: value"
or query arguments "be_<key>=value" (the query wins over a header), and per
backend by backend.defaults (under both) and backend.override (over both):

  status=N         answer with status N (default 200)
  len=N            the body is N bytes of pattern() instead of the JSON echo
  reply=name       the body is the backend's name and "\\n"
  mode=fixed       Content-Length (default) | chunked | close (no length,
                   the end of the body is the close); an HTTP/1.0 request
                   never gets chunked (close instead)
  write=N          bytes per write (and per chunk), default 65536
  delay=S          seconds to wait before the response head
  part=N pause=S   send N bytes of the body, wait S seconds, send the rest
  chunk_delay=S    seconds to wait between writes of the body
  action=close     read the whole request, then close without answering
  action=reset     read the whole request, then reset the connection (RST)
  action=hang      read the whole request, never answer (until the peer
                   closes or the backend is closed)
  location=URL     add a Location header
  header=N:V       add the response header "N: V" (X-Be-Header may repeat)
  conn=close       "Connection: close", and close after the answer

Every answer has X-Be-Name (the backend's name), X-Be-Conn (the serial
number of the connection at this backend, from 1; reset() keeps counting),
X-Be-Req (the request's number on its connection, from 1), X-Be-Mode (the
framing used), and "Server: echo-backend" and "Date: Thu, 01 Jan 1970
00:00:00 GMT", which a proxy hides by default.

The JSON echo: {"name", "method", "target", "version", "headers": [[name,
value], ...] as received (order and case kept), "body_len", "body_sha256",
"chunked" (the request body came chunked), "trailers", "peer" ("ip:port",
or "unix"), "conn", "req"}.

A request with "Upgrade: websocket" and a Sec-WebSocket-Key is answered 101
and then every frame is echoed (text and binary with their opcode, ping with
pong, close with close); client frames must be masked (else close 1002).

Requests for backend.health_path (default "/health", query ignored) get
backend.health_status (default 200) and are counted in health_checks, not in
requests or log.

Per backend: idle_timeout (seconds an idle keep-alive connection is kept,
then closed silently; default 30), drop_after (when set to N, the request
after the Nth on a connection is read and the connection closed without an
answer -- the race where a server closes an idle connection just as a
client reuses it).

BACKEND_DEBUG=1 in the environment prints a backend's exceptions (a
connection ended by a malformed request, an early close) to stderr.

Counters (read them; reset() zeroes them): connections (accepted), open
(open now), requests (answered or not, health checks apart), heads (request
heads read, counted before the body is read), active (requests being
handled now), per_conn {conn number: requests}, log [record per request:
the JSON echo's fields, plus "body" when at most 64 KB], ws_frames.
"""

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import threading
import time
import urllib.parse

__all__ = ["EchoBackend", "TlsEchoBackend", "Blackhole", "refusing_port", "pattern",
           "pattern_slice", "pattern_sha256", "stream_request",
           "StreamResult", "ws_frame", "ws_handshake", "WsClient",
           "worker_rss_kb", "WS_GUID", "echo_of", "echo_header",
           "echo_headers", "pattern_blocks"]

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

# ---------------------------------------------------------------- pattern

_PAT = bytes(i % 251 for i in range(251 * 261))     # 65511 bytes
_PAT2 = _PAT * 2


def pattern_slice(offset, n):
    """Bytes [offset, offset + n) of the infinite pattern (byte i is
    i % 251)."""
    out = []
    while n > 0:
        k = min(n, len(_PAT))
        s = offset % 251
        out.append(_PAT2[s:s + k])
        offset += k
        n -= k
    return b"".join(out)


def pattern(n):
    """The first n bytes of the pattern."""
    return pattern_slice(0, n)


def pattern_blocks(n, size=65536):
    """The first n bytes of the pattern, as blocks of at most size."""
    off = 0
    while off < n:
        k = min(size, n - off)
        yield pattern_slice(off, k)
        off += k


_sha_cache = {}


def pattern_sha256(n):
    """Hex sha256 of pattern(n)."""
    if n not in _sha_cache:
        h = hashlib.sha256()
        for b in pattern_blocks(n, len(_PAT) - len(_PAT) % 251):
            h.update(b)
        _sha_cache[n] = h.hexdigest()
    return _sha_cache[n]


# ---------------------------------------------------------------- sockets

class _Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def fill(self, timeout=None):
        """Read more; False on EOF or reset; raises socket.timeout."""
        if self.eof:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def until(self, sep, limit=1 << 20, timeout=None):
        """Bytes up to and without sep (consumed), or None on EOF."""
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            start = max(0, len(self.buf) - len(sep) + 1)
            if not self.fill(timeout):
                return None

    def exact(self, n, timeout=None, sink=None):
        """n bytes (returned, or fed to sink(bytes) and b"" returned);
        raises EOFError when the peer closes first."""
        out = []
        while n > 0:
            if not self.buf and not self.fill(timeout):
                raise EOFError("closed %d bytes early" % n)
            k = min(n, len(self.buf))
            piece = bytes(self.buf[:k])
            del self.buf[:k]
            n -= k
            if sink:
                sink(piece)
            else:
                out.append(piece)
        return b"".join(out)

    def to_eof(self, timeout=None, sink=None):
        out = []
        while True:
            if self.buf:
                piece = bytes(self.buf)
                self.buf.clear()
                if sink:
                    sink(piece)
                else:
                    out.append(piece)
            if not self.fill(timeout):
                return b"".join(out)


def _parse_headers(lines):
    out = []
    for line in lines:
        name, _, value = line.partition(":")
        out.append((name.strip(), value.strip()))
    return out


def _hget(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


def _read_chunked(rd, sink, timeout):
    """Read a chunked body into sink; returns the trailer lines."""
    while True:
        line = rd.until(b"\r\n", timeout=timeout)
        if line is None:
            raise EOFError("closed in a chunk size")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            trailers = []
            while True:
                t = rd.until(b"\r\n", timeout=timeout)
                if t is None:
                    raise EOFError("closed in the trailer")
                if t == b"":
                    return trailers
                trailers.append(t.decode("latin-1"))
        rd.exact(size, timeout, sink)
        if rd.exact(2, timeout) != b"\r\n":
            raise ValueError("no CRLF after a chunk")


# ---------------------------------------------------------------- WebSocket

def ws_frame(opcode, payload=b"", mask=True, fin=True):
    """One RFC 6455 frame (masked with a random key unless mask=False)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _ws_mask(payload, key)


def _ws_mask(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        len(data), "big")


def _ws_read(rd, timeout):
    """(fin, opcode, masked, payload) of the next frame, or None on EOF."""
    try:
        h = rd.exact(2, timeout)
    except EOFError:
        return None
    fin, op = bool(h[0] & 0x80), h[0] & 0x0F
    masked, n = bool(h[1] & 0x80), h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rd.exact(2, timeout))[0]
    elif n == 127:
        n = struct.unpack("!Q", rd.exact(8, timeout))[0]
    key = rd.exact(4, timeout) if masked else None
    payload = rd.exact(n, timeout)
    if masked:
        payload = _ws_mask(payload, key)
    return fin, op, masked, payload


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(
        (key + WS_GUID).encode()).digest()).decode()


def ws_handshake(port, path="/", host="localhost", headers=None,
                 timeout=5.0):
    """Connect and send a WebSocket handshake; returns (WsClient, the
    Response head as a usher_test-like object with .status/.header())."""
    c = WsClient(port, timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    hdrs = [("Host", host), ("Upgrade", "websocket"),
            ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
            ("Sec-WebSocket-Version", "13")] + list(headers or [])
    req = "GET %s HTTP/1.1\r\n" % path + "".join(
        "%s: %s\r\n" % h for h in hdrs) + "\r\n"
    c.sock.sendall(req.encode("latin-1"))
    head = c.rd.until(b"\r\n\r\n", timeout=timeout)
    if head is None:
        return c, None
    r = _Head(head)
    c.key = key
    c.expected_accept = ws_accept(key)
    if r.status != 101:
        # the rest of the response (a body) is left in c.rd.buf
        pass
    return c, r


class _Head:
    def __init__(self, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        self.version, self.status = parts[0], int(parts[1])
        self.header_list = _parse_headers(x for x in lines[1:] if x)
        self.headers = {}
        for k, v in self.header_list:
            k = k.lower()
            if k in self.headers:
                if not isinstance(self.headers[k], list):
                    self.headers[k] = [self.headers[k]]
                self.headers[k].append(v)
            else:
                self.headers[k] = v

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if isinstance(v, list) else v


class WsClient:
    """The client end of a WebSocket: send(opcode, payload) masked,
    recv() -> (opcode, payload) or None on close of the connection."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.rd = _Reader(self.sock)
        self.timeout = timeout
        self.error = None

    def send(self, opcode, payload=b"", mask=True):
        """Send one frame; False if the connection is gone."""
        try:
            self.sock.sendall(ws_frame(opcode, payload, mask))
            return True
        except OSError as e:
            self.error = "%s: %s" % (type(e).__name__, e)
            return False

    def recv(self, timeout=None):
        """(opcode, payload) of the next frame; None when the connection
        closes (even inside a frame) or nothing comes within timeout --
        self.error then says which."""
        self.error = None
        try:
            f = _ws_read(self.rd, self.timeout if timeout is None
                         else timeout)
        except (socket.timeout, EOFError, OSError, ValueError) as e:
            self.error = "%s: %s" % (type(e).__name__, e)
            return None
        if f is None:
            self.error = "closed"
            return None
        return f[1], f[3]

    def closed(self, timeout=3.0):
        """True if the peer closes within timeout (frames are discarded)."""
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if not self.rd.fill(max(0.01, end - time.monotonic())):
                    return True
        except socket.timeout:
            pass
        return self.rd.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---------------------------------------------------------------- echo

class EchoBackend:
    """See the module's comment."""

    def __init__(self, port=None, name=None, unix=None, host="127.0.0.1"):
        self.name = name or ("unix" if unix else "be%s" % port)
        self.port, self.unix = port, unix
        self.defaults, self.override = {}, {}
        self.health_path, self.health_status = "/health", 200
        self.idle_timeout = 30.0
        self.drop_after = None
        self._lock = threading.Lock()
        self._socks = set()
        self._stop = threading.Event()
        self._serial = 0
        self.reset()
        if unix:
            try:
                os.unlink(unix)
            except FileNotFoundError:
                pass
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(unix)
            os.chmod(unix, 0o777)
        else:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.lsock = socket.socket(fam, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind((host, port))
        self.lsock.listen(256)
        self.lsock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def reset(self):
        with self._lock:
            self.connections = 0
            self.open = 0
            self.requests = 0
            self.heads = 0
            self.active = 0
            self.health_checks = 0
            self.per_conn = {}
            self.log = []
            self.ws_frames = 0

    def wait_requests(self, n, timeout=5.0):
        """Wait until requests >= n; True if so."""
        end = time.monotonic() + timeout
        while self.requests < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.requests >= n

    def close(self):
        self._stop.set()
        self._thread.join(2)
        try:
            self.lsock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.unix:
            try:
                os.unlink(self.unix)
            except OSError:
                pass

    # -- connections

    def _accept(self):
        while not self._stop.is_set():
            try:
                s, addr = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open += 1
                self._serial += 1
                n = self._serial
                self.per_conn[n] = 0
                self._socks.add(s)
            peer = "unix" if self.unix else "%s:%d" % addr[:2]
            threading.Thread(target=self._serve, args=(s, n, peer),
                             daemon=True).start()

    def _serve(self, s, cn, peer):
        try:
            self._serve_conn(s, cn, peer)
        except (OSError, EOFError, ValueError) as e:
            if os.environ.get("BACKEND_DEBUG"):
                import sys
                import traceback
                sys.stderr.write("backend %s conn %d: %s\n%s" % (
                    self.name, cn, e, traceback.format_exc()))
        finally:
            with self._lock:
                self.open -= 1
                self._socks.discard(s)
            try:
                s.close()
            except OSError:
                pass

    def _serve_conn(self, s, cn, peer):
        rd = _Reader(s)
        nreq = 0
        while not self._stop.is_set():
            # the next request head (the first one may be slow to come)
            try:
                head = rd.until(b"\r\n\r\n", timeout=self.idle_timeout
                                if nreq else 30.0)
            except socket.timeout:
                return
            if head is None:
                return
            nreq += 1
            lines = head.decode("latin-1").split("\r\n")
            while lines and lines[0] == "":     # stray CRLF between requests
                lines.pop(0)
            method, target, version = lines[0].split(" ", 2)
            headers = _parse_headers(lines[1:])
            path, _, query = target.partition("?")
            health = path == self.health_path
            with self._lock:
                if not health:
                    self.heads += 1
                    self.active += 1
            try:
                keep = self._request(s, rd, cn, nreq, peer, method, target,
                                     version, headers, path, query, health)
            finally:
                if not health:
                    with self._lock:
                        self.active -= 1
            if not keep:
                return

    def _controls(self, headers, query):
        c = dict(self.defaults)
        extra = []
        for k, v in headers:
            kl = k.lower()
            if kl.startswith("x-be-"):
                key = kl[5:].replace("-", "_")
                if key == "header":
                    extra.append(v)
                else:
                    c[key] = v
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if k.startswith("be_"):
                if k == "be_header":
                    extra.append(v)
                else:
                    c[k[3:]] = v
        c.update(self.override)
        if "header" in self.override:
            extra.append(self.override["header"])
        c["header"] = extra
        return c

    def _request(self, s, rd, cn, nreq, peer, method, target, version,
                 headers, path, query, health):
        """Handle one request; True to keep the connection."""
        # the body
        h = hashlib.sha256()
        small = []
        size = [0]

        def sink(b):
            h.update(b)
            size[0] += len(b)
            if size[0] <= 65536:
                small.append(b)

        te = (_hget(headers, "Transfer-Encoding") or "").lower()
        chunked = "chunked" in te
        trailers = []
        if chunked:
            trailers = _read_chunked(rd, sink, 30.0)
        else:
            cl = _hget(headers, "Content-Length")
            if cl:
                rd.exact(int(cl), 30.0, sink)

        if health:
            with self._lock:
                self.health_checks += 1
            st = int(self.health_status)
            body = b"healthy\n" if st < 400 else b"unhealthy\n"
            s.sendall(("HTTP/1.1 %d %s\r\nContent-Length: %d\r\n"
                       "X-Be-Name: %s\r\n\r\n" % (
                           st, REASONS.get(st, "Status"), len(body),
                           self.name)).encode() + body)
            return version != "HTTP/1.0" and (_hget(headers, "Connection")
                                              or "").lower() != "close"

        ctl = self._controls(headers, query)
        rec = {"name": self.name, "method": method, "target": target,
               "version": version, "headers": [list(x) for x in headers],
               "body_len": size[0], "body_sha256": h.hexdigest(),
               "chunked": chunked, "trailers": trailers, "peer": peer,
               "conn": cn, "req": nreq}
        with self._lock:
            self.requests += 1
            self.per_conn[cn] = nreq
            if len(self.log) < 10000:
                r2 = dict(rec)
                if size[0] <= 65536:
                    r2["body"] = b"".join(small)
                self.log.append(r2)

        if self.drop_after is not None and nreq > int(self.drop_after):
            return False
        action = ctl.get("action")
        if action == "close":
            return False
        if action == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            return False
        if action == "hang":
            end = time.monotonic() + 60
            try:
                while not self._stop.is_set() and time.monotonic() < end:
                    try:
                        if not rd.fill(0.2):
                            break
                    except socket.timeout:
                        pass
            except OSError:
                pass
            return False

        upgrade = (_hget(headers, "Upgrade") or "").lower()
        wskey = _hget(headers, "Sec-WebSocket-Key")
        if upgrade == "websocket" and wskey:
            return self._websocket(s, rd, cn, nreq, wskey)

        delay = float(ctl.get("delay") or 0)
        if delay:
            time.sleep(delay)

        st = int(ctl.get("status") or 200)
        if "len" in ctl:
            n = int(ctl["len"])
            blocks = None
        elif ctl.get("reply") == "name":
            payload = (self.name + "\n").encode()
            n = len(payload)
            blocks = [payload]
        else:
            payload = (json.dumps(rec, sort_keys=True) + "\n").encode()
            n = len(payload)
            blocks = [payload]
        mode = ctl.get("mode") or "fixed"
        if mode == "chunked" and version == "HTTP/1.0":
            mode = "close"
        close = (mode == "close" or ctl.get("conn") == "close"
                 or version == "HTTP/1.0"
                 or (_hget(headers, "Connection") or "").lower() == "close")
        nobody = method == "HEAD" or st in (204, 304) or st < 200

        out = ["HTTP/1.1 %d %s" % (st, REASONS.get(st, "Status")),
               "Server: echo-backend",
               "Date: Thu, 01 Jan 1970 00:00:00 GMT",
               "X-Be-Name: %s" % self.name,
               "X-Be-Conn: %d" % cn,
               "X-Be-Req: %d" % nreq,
               "X-Be-Mode: %s" % mode]
        if ctl.get("location"):
            out.append("Location: %s" % ctl["location"])
        for x in ctl["header"]:
            hn, _, hv = x.partition(":")
            out.append("%s: %s" % (hn.strip(), hv.strip()))
        if not (st < 200 or st == 204):
            if mode == "fixed":
                out.append("Content-Length: %d" % n)
            elif mode == "chunked" and not nobody:
                out.append("Transfer-Encoding: chunked")
        if close:
            out.append("Connection: close")
        s.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        if nobody:
            return not close

        wsize = int(ctl.get("write") or 65536)
        part = int(ctl.get("part") or 0)
        pause = float(ctl.get("pause") or 0)
        cdelay = float(ctl.get("chunk_delay") or 0)
        if blocks is None:
            pieces = []
            if part:
                pieces.append((0, min(part, n)))
            off = pieces[-1][1] if pieces else 0
            while off < n:
                k = min(wsize, n - off)
                pieces.append((off, off + k))
                off += k
            src = ((a, pattern_slice(a, b - a)) for a, b in pieces)
        else:
            data = blocks[0]
            src = []
            if part:
                src.append((0, data[:part]))
            off = part if part else 0
            while off < len(data):
                src.append((off, data[off:off + wsize]))
                off += wsize
        first = True
        for off, b in src:
            if not first:
                if part and off == min(part, n) and pause:
                    time.sleep(pause)
                elif cdelay:
                    time.sleep(cdelay)
            first = False
            if not b:
                continue
            if mode == "chunked":
                s.sendall(b"%x\r\n" % len(b) + b + b"\r\n")
            else:
                s.sendall(b)
        if mode == "chunked":
            s.sendall(b"0\r\n\r\n")
        return not close

    def _websocket(self, s, rd, cn, nreq, key):
        s.sendall(("HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n"
                   "X-Be-Name: %s\r\nX-Be-Conn: %d\r\n\r\n" % (
                       ws_accept(key), self.name, cn)).encode())
        while not self._stop.is_set():
            try:
                f = _ws_read(rd, 60.0)
            except socket.timeout:
                return False
            if f is None:
                return False
            fin, op, masked, payload = f
            with self._lock:
                self.ws_frames += 1
            if not masked:
                s.sendall(ws_frame(0x8, struct.pack("!H", 1002), False))
                return False
            if op == 0x8:
                s.sendall(ws_frame(0x8, payload[:2], False))
                return False
            if op == 0x9:
                s.sendall(ws_frame(0xA, payload, False))
            elif op in (0x0, 0x1, 0x2):
                s.sendall(ws_frame(op, payload, False, fin))
        return False


# ---------------------------------------------------------------- others

class TlsEchoBackend(EchoBackend):
    """EchoBackend over TLS.  cert and key: its certificate (PEM files);
    client_ca: require a client certificate signed by that CA; protocols:
    (min, max) ssl.TLSVersion, default TLS 1.2 to 1.3.  Handshakes happen
    in each connection's thread, within handshake_timeout seconds.

    Counters (reset() zeroes them with the rest): handshakes (completed),
    failed_handshakes, reused (handshakes that resumed a session), sni
    [the server name each completed handshake received, or None],
    client_cns [the client certificate's CN per handshake, or None],
    versions [the protocol of each handshake, "TLSv1.3"...]."""

    def __init__(self, port, name=None, cert=None, key=None, client_ca=None,
                 protocols=None, host="127.0.0.1"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        lo, hi = protocols or (ssl.TLSVersion.TLSv1_2,
                               ssl.TLSVersion.TLSv1_3)
        ctx.minimum_version, ctx.maximum_version = lo, hi
        if client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        ctx.sni_callback = self._on_sni
        self.ctx = ctx
        self.handshake_timeout = 5.0
        self._tls_local = threading.local()
        super().__init__(port, name, host=host)

    def reset(self):
        super().reset()
        with self._lock:
            self.handshakes = 0
            self.failed_handshakes = 0
            self.reused = 0
            self.sni = []
            self.client_cns = []
            self.versions = []

    def _on_sni(self, sslobj, name, ctx):
        self._tls_local.sni = name

    def _serve(self, s, cn, peer):
        self._tls_local.sni = None
        try:
            s.settimeout(self.handshake_timeout)
            ts = self.ctx.wrap_socket(s, server_side=True)
        except (OSError, ValueError) as e:
            if os.environ.get("BACKEND_DEBUG"):
                import sys
                sys.stderr.write("backend %s conn %d: handshake: %s\n" % (
                    self.name, cn, e))
            with self._lock:
                self.failed_handshakes += 1
                self.open -= 1
                self._socks.discard(s)
            try:
                s.close()
            except OSError:
                pass
            return
        cert = ts.getpeercert()
        client_cn = None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    client_cn = v
        with self._lock:
            self.handshakes += 1
            self.reused += bool(ts.session_reused)
            self.sni.append(self._tls_local.sni)
            self.client_cns.append(client_cn)
            self.versions.append(ts.version())
            self._socks.discard(s)
            self._socks.add(ts)
        ts.settimeout(None)
        super()._serve(ts, cn, peer)


class Blackhole:
    """A port that never answers.  accept=False: a listener whose accept
    queue is kept full, so that a new connect gets no SYN-ACK and times out
    (.full tells whether the queue could be filled).  accept=True:
    connections are accepted and read, never answered, and kept open until
    close(); .connections counts them."""

    def __init__(self, port, accept=False):
        self.port = port
        self.connections = 0
        self._socks = []
        self._stop = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.full = False
        if accept:
            self.lsock.listen(64)
            self.lsock.settimeout(0.2)
            self._thread = threading.Thread(target=self._accept, daemon=True)
            self._thread.start()
        else:
            self._thread = None
            self.lsock.listen(0)
            for _ in range(8):
                c = socket.socket()
                c.settimeout(0.3)
                try:
                    c.connect(("127.0.0.1", port))
                    self._socks.append(c)
                except OSError:
                    c.close()
                    self.full = True
                    break

    def _accept(self):
        while not self._stop.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self._socks.append(s)
            threading.Thread(target=self._drain, args=(s,),
                             daemon=True).start()

    def _drain(self, s):
        try:
            s.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    if not s.recv(65536):
                        return
                except socket.timeout:
                    pass
        except OSError:
            pass

    def close(self):
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        self.lsock.close()


def refusing_port():
    """A free loopback port nothing listens on: a connect is refused."""
    from usher_test import free_port
    return free_port()


def worker_rss_kb(pid):
    """VmRSS of pid in kB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- client

class StreamResult:
    """What stream_request saw: status, headers (lowercased name -> value,
    or a list when repeated), header_list, framing ("length", "chunked",
    "close" or "none"), body_len, sha256, head (the first 64 KB of the
    body), complete (the body ended as framed), closed (the server closed
    the connection after it), times from the start: t_head, t_first (first
    body byte), t_done; error (an exception's text, or None)."""

    def __init__(self):
        self.status = None
        self.headers = {}
        self.header_list = []
        self.framing = None
        self.body_len = 0
        self.sha256 = None
        self.head = b""
        self.complete = False
        self.closed = False
        self.t_head = self.t_first = self.t_done = None
        self.error = None

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if isinstance(v, list) else v

    def __repr__(self):
        return "<StreamResult %s %s len=%d complete=%s err=%s>" % (
            self.status, self.framing, self.body_len, self.complete,
            self.error)


def stream_request(port, method="GET", path="/", headers=None,
                   body_len=None, chunked=False, host="localhost",
                   version="HTTP/1.1", timeout=10.0, write_size=65536,
                   head_request=False, sock_port_host="127.0.0.1"):
    """One request (with "Connection: close" unless headers say otherwise);
    the body, if body_len is given, is pattern(body_len), sent fixed-length
    or chunked.  The response body is hashed as it streams in; returns a
    StreamResult."""
    res = StreamResult()
    hdrs = list(headers.items() if isinstance(headers, dict)
                else headers or [])
    names = [k.lower() for k, _ in hdrs]
    if host is not None and "host" not in names:
        hdrs.insert(0, ("Host", host))
    if "connection" not in names and version == "HTTP/1.1":
        hdrs.append(("Connection", "close"))
    if body_len is not None:
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
        else:
            hdrs.append(("Content-Length", str(body_len)))
    t0 = time.monotonic()
    s = socket.create_connection((sock_port_host, port), timeout)
    rd = _Reader(s)
    try:
        s.sendall(("%s %s %s\r\n" % (method, path, version) + "".join(
            "%s: %s\r\n" % h for h in hdrs) + "\r\n").encode("latin-1"))
        if body_len is not None:
            try:
                for b in pattern_blocks(body_len, write_size):
                    if chunked:
                        s.sendall(b"%x\r\n" % len(b) + b + b"\r\n")
                    else:
                        s.sendall(b)
                if chunked:
                    s.sendall(b"0\r\n\r\n")
            except OSError as e:
                res.error = "sending: %s" % e
        while True:
            head = rd.until(b"\r\n\r\n", timeout=timeout)
            if head is None:
                res.error = res.error or "closed before a response"
                return res
            hd = _Head(head)
            if hd.status >= 200 or hd.status == 101:
                break
        res.t_head = time.monotonic() - t0
        res.status, res.headers = hd.status, hd.headers
        res.header_list = hd.header_list
        h = hashlib.sha256()
        first = []

        def sink(b):
            if res.t_first is None and b:
                res.t_first = time.monotonic() - t0
            h.update(b)
            if res.body_len < 65536:
                first.append(b[:65536 - res.body_len])
            res.body_len += len(b)

        te = (hd.header("transfer-encoding") or "").lower()
        cl = hd.header("content-length")
        if head_request or hd.status in (101, 204, 304):
            res.framing = "none"
            res.complete = True
        elif "chunked" in te:
            res.framing = "chunked"
            _read_chunked(rd, sink, timeout)
            res.complete = True
        elif cl is not None:
            res.framing = "length"
            rd.exact(int(cl), timeout, sink)
            res.complete = True
        else:
            res.framing = "close"
            rd.to_eof(timeout, sink)
            res.complete = True
        res.sha256 = h.hexdigest()
        res.head = b"".join(first)
        res.t_done = time.monotonic() - t0
        try:
            res.closed = not rd.buf and not rd.fill(1.0)
        except socket.timeout:
            res.closed = False
    except (OSError, EOFError, ValueError) as e:
        res.error = "%s: %s" % (type(e).__name__, e)
        if res.sha256 is None and res.status is not None:
            res.sha256 = ""
    finally:
        s.close()
    return res


def echo_of(resp):
    """The JSON echo in a response (usher_test Response or body text), or
    None when the body is not one."""
    body = getattr(resp, "body", resp)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def echo_header(echo, name):
    """The first value of a header the backend received (None if not)."""
    if not echo:
        return None
    for k, v in echo["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def echo_headers(echo, name):
    """Every value of a header the backend received, in order."""
    if not echo:
        return []
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]
