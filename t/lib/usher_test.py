"""
Harness for usher's black-box integration tests (t/integration/*.t).

A test writes its configuration as text, starts the binary from a temporary
prefix on free loopback ports, talks to it over raw sockets (or curl) and
prints TAP.  Only Python's standard library is used.

Environment:
  USHER         the binary (default: <repo>/usher)
  USHER_FLAVOR  "nginx" when USHER is nginx (messages then start "nginx:")
  TEST_KEEP=1   keep the temporary prefix directories
  TMPDIR        where the prefix directories are made (default /tmp)
  TEST_TIMEOUT  seconds a whole test file may take (default 120)

Configuration templates: "%%PORT_<label>%%" becomes a free loopback port
(the same label gives the same port; t.port(label) returns it) and
"%%TESTDIR%%" the prefix directory (no trailing slash).  Unless the text
already has them, "daemon on|off;" and "pid %%TESTDIR%%/usher.pid;" are
appended at its end, so the line numbers of the test's text are kept.
"""

import atexit
import os
import re
import shutil
import signal as _signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

FLAVOR = os.environ.get("USHER_FLAVOR", "usher")
NAME = "nginx" if FLAVOR == "nginx" else "usher"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.environ.get("USHER", os.path.join(REPO, "usher"))
KEEP = os.environ.get("TEST_KEEP") == "1"

# Lines of an error log that fail every test (as in nginx-tests).
BAD_LOG = re.compile(r"\[alert\]|\[crit\]|AddressSanitizer|runtime error:"
                     r"|LeakSanitizer")

# ---------------------------------------------------------------- TAP

_count = 0
_failed = 0
_done = False


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        _out("# " + line)


# While set (by todo()), results are TAP "TODO": known not done yet, so a
# failure is reported but does not fail the suite.  Keep the reason honest.
TODO = None


def todo(reason):
    """Marks the following assertions as TODO (None ends the block)."""
    global TODO
    TODO = reason


def ok(cond, name):
    global _count, _failed
    _count += 1
    if not cond and TODO is None:
        _failed += 1
    _out("%sok %d - %s%s" % ("" if cond else "not ", _count, name,
                             " # TODO " + TODO if TODO else ""))
    return bool(cond)


def is_(got, want, name):
    if not ok(got == want, name):
        diag("     got: %r" % (got,))
        diag("expected: %r" % (want,))
        return False
    return True


def isnt(got, unwanted, name):
    if not ok(got != unwanted, name):
        diag("     got: %r (unwanted)" % (got,))
        return False
    return True


def like(text, regex, name):
    if text is None:
        text = ""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if not ok(re.search(regex, text, re.M) is not None, name):
        diag("     got: %r" % (text[:2000],))
        diag("    want: /%s/" % regex)
        return False
    return True


def unlike(text, regex, name):
    if text is None:
        text = ""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if not ok(re.search(regex, text, re.M) is None, name):
        diag("     got: %r" % (text[:2000],))
        diag("dont want: /%s/" % regex)
        return False
    return True


def skip(reason, count=1):
    global _count
    for _ in range(count):
        _count += 1
        _out("ok %d # skip %s" % (_count, reason))


def usher_only(reason):
    """True when strict assertions must run; with nginx, records a skip
    naming the leniency (reason) and returns False."""
    if FLAVOR == "nginx":
        skip("nginx is lenient here: " + reason)
        return False
    return True


def done():
    """Print the plan; the exit code: 0 iff every test passed."""
    global _done
    _done = True
    _out("1..%d" % _count)
    if _failed:
        diag("failed %d of %d" % (_failed, _count))
    return 1 if _failed else 0


def skip_all(reason):
    global _done
    _done = True
    _out("1..0 # skip " + reason)
    sys.exit(0)


def require_binary():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        skip_all("no binary at %s" % BIN)


def _excepthook(tp, val, tb):
    traceback.print_exception(tp, val, tb, file=sys.stdout)
    if not _done:
        ok(False, "test script died: %s: %s" % (tp.__name__, val))
        done()
    _cleanup()
    os._exit(1)


sys.excepthook = _excepthook


def _alarm(signum, frame):
    raise TimeoutError("test file exceeded TEST_TIMEOUT")


def _term(signum, frame):
    sys.exit(1)     # runs the atexit cleanup: no daemon is left behind


_signal.signal(_signal.SIGALRM, _alarm)
_signal.signal(_signal.SIGTERM, _term)
_signal.alarm(int(os.environ.get("TEST_TIMEOUT", "120")))

# ---------------------------------------------------------------- utilities

_used_ports = set()


def free_port():
    """A free TCP port on 127.0.0.1 (bind to port 0 and read it back)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port")


def wait_for(fn, timeout=5.0, interval=0.05):
    """Call fn until it returns a true value or timeout seconds pass;
    returns the last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def pid_alive(pid):
    """True if the process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1])


def children(pid):
    """Live child pids of pid: from /proc/<pid>/task/*/children when the
    kernel has it, else by a scan of /proc for the parent pid."""
    kids = set()
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids.update(int(x) for x in f.read().split())
    except FileNotFoundError:
        kids = set(int(d) for d in os.listdir("/proc")
                   if d.isdigit() and ppid(int(d)) == pid)
    return sorted(k for k in kids if pid_alive(k))


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("latin-1").strip()
    except OSError:
        return ""


def curl(*args, timeout=10):
    """Run the system curl; returns subprocess.CompletedProcess (text)."""
    return subprocess.run(["curl", "-sS"] + list(args), capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- HTTP client

class Response:
    """A parsed HTTP response.  Unpacks as (status, headers, body): headers
    maps lowercased names to a string, or a list of strings for a repeated
    header; body is a str (latin-1, so bytes map 1:1)."""

    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = {}
        self.header_list = []
        self.raw_head = b""
        self.raw_body = b""
        self.complete = False

    @property
    def body(self):
        return self.raw_body.decode("latin-1")

    def header(self, name):
        """The first value of header name, or None."""
        v = self.headers.get(name.lower())
        if isinstance(v, list):
            return v[0]
        return v

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<Response %s %r %r>" % (self.status, self.headers,
                                        self.body[:200])


def _parse_head(head):
    r = Response()
    r.raw_head = head
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ValueError("bad status line %r" % lines[0])
    r.version, r.status, r.reason = m.group(1), int(m.group(2)), m.group(3)
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        r.header_list.append((name, value))
        if name in r.headers:
            if not isinstance(r.headers[name], list):
                r.headers[name] = [r.headers[name]]
            r.headers[name].append(value)
        else:
            r.headers[name] = value
    return r


class Conn:
    """One client connection: send requests (several, keep-alive or
    pipelined) and read responses in order."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, method="GET", path="/", headers=None, body=None,
                host="localhost", version="HTTP/1.1", send=True):
        """Build (and by default send) a request; returns the bytes."""
        data = build_request(method, path, headers, body, host, version)
        if send:
            self.send(data)
        return data

    def _fill(self, timeout=None):
        """Read more bytes into buf; False on EOF (or reset), raises
        socket.timeout."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _need(self, n, timeout):
        while len(self.buf) < n:
            if not self._fill(timeout):
                raise EOFError("connection closed inside a response")

    def _line(self, timeout):
        while b"\r\n" not in self.buf:
            if not self._fill(timeout):
                raise EOFError("connection closed inside a response")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_response(self, head_request=False, timeout=None):
        """The next response (an interim 1xx is returned on its own), or
        None if the connection closed before any byte of it."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(timeout):
                if not self.buf:
                    return None
                raise EOFError("connection closed inside a response head: %r"
                               % self.buf[:200])
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        r = _parse_head(head)
        te = r.header("transfer-encoding")
        cl = r.header("content-length")
        if head_request or 100 <= r.status < 200 or r.status in (204, 304):
            pass
        elif te and "chunked" in te.lower():
            body = b""
            while True:
                size_line = self._line(timeout)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line(timeout) != b"":
                        pass
                    break
                self._need(size + 2, timeout)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
            r.raw_body = body
        elif cl is not None:
            n = int(cl)
            self._need(n, timeout)
            r.raw_body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while self._fill(timeout):
                pass
            r.raw_body, self.buf = self.buf, b""
        r.complete = True
        return r

    def get(self, path="/", headers=None, method="GET", body=None,
            host="localhost"):
        """Send one request and read its final response."""
        self.request(method, path, headers, body, host)
        while True:
            r = self.read_response(head_request=(method == "HEAD"))
            if r is None or r.status >= 200 or r.status == 101:
                return r

    def read_all(self, timeout=None):
        """Everything until the peer closes (or timeout); returns the
        bytes, self.eof tells if it closed."""
        try:
            while self._fill(timeout):
                pass
        except socket.timeout:
            pass
        data, self.buf = self.buf, b""
        return data

    def closed(self, timeout=3.0):
        """True if the peer closes within timeout (bytes that arrive
        before the close are kept in self.buf)."""
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if not self._fill(max(0.01, end - time.monotonic())):
                    return True
        except socket.timeout:
            pass
        return self.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def build_request(method="GET", path="/", headers=None, body=None,
                  host="localhost", version="HTTP/1.1"):
    """Request bytes.  headers: dict or list of (name, value); a Host header
    is added from host unless host is None or headers have one; with a body
    (str/bytes) a Content-Length is added unless headers frame it."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = [h[0].lower() for h in headers]
    if host is not None and "host" not in names:
        headers.insert(0, ("Host", host))
    if isinstance(body, str):
        body = body.encode("latin-1")
    if body is not None and "content-length" not in names \
            and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    out = "%s %s %s\r\n" % (method, path, version)
    out += "".join("%s: %s\r\n" % h for h in headers)
    return out.encode("latin-1") + b"\r\n" + (body or b"")


def http_get(port, path="/", headers=None, method="GET", body=None,
             host="localhost", version="HTTP/1.1", timeout=5.0):
    """One request with "Connection: close"; returns a Response, which
    unpacks as (status, headers, body)."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    if "connection" not in [h[0].lower() for h in headers]:
        headers.append(("Connection", "close"))
    with Conn(port, timeout=timeout) as c:
        c.request(method, path, headers, body, host, version)
        while True:
            r = c.read_response(head_request=(method == "HEAD"))
            if r is None:
                raise EOFError("connection closed without a response")
            if r.status >= 200 or r.status == 101:
                return r


class RawReply(bytes):
    """Bytes of a raw exchange; .closed tells whether the server closed the
    connection within the timeout."""
    closed = False

    @property
    def status(self):
        m = re.match(rb"HTTP/\d\.\d (\d{3})", self)
        return int(m.group(1)) if m else None


def raw(port, data, read_until_close=True, timeout=5.0, shut_wr=False):
    """Send data as is; return what the server answers (RawReply).  With
    read_until_close, reads until the server closes or timeout; otherwise
    reads one response."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    with Conn(port, timeout=timeout) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shut_wr:
            c.sock.shutdown(socket.SHUT_WR)
        if read_until_close:
            reply = RawReply(c.read_all(timeout))
            reply.closed = c.eof
            return reply
        try:
            r = c.read_response(timeout=timeout)
        except socket.timeout:
            r = None
        if r is None:
            reply = RawReply(c.buf)
        else:
            reply = RawReply(r.raw_head + b"\r\n\r\n" + r.raw_body)
        reply.closed = c.eof
        return reply


# ---------------------------------------------------------------- load

class Load:
    """Bounded concurrent load: `threads` threads each doing requests
    ("Connection: close", one connection each) in a loop until stop(), the
    duration passes or `count` requests were made in all.  Any status not in
    expect, or a connection error, counts as a failure."""

    def __init__(self, port, path="/", threads=4, duration=3.0, count=None,
                 expect=(200,), host="localhost", timeout=5.0):
        self.port, self.path, self.host = port, path, host
        self.nthreads, self.duration, self.count = threads, duration, count
        self.expect, self.timeout = tuple(expect), timeout
        self.requests = 0
        self.failures = 0
        self.errors = []
        self.bodies = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def _one(self):
        try:
            r = http_get(self.port, self.path, host=self.host,
                         timeout=self.timeout)
            good = r.status in self.expect
            what = "status %s" % r.status
            body = r.body
        except Exception as e:
            good, what, body = False, "%s: %s" % (type(e).__name__, e), None
        with self._lock:
            self.requests += 1
            if good:
                self.bodies[body] = self.bodies.get(body, 0) + 1
            else:
                self.failures += 1
                if len(self.errors) < 20:
                    self.errors.append(what)

    def _run(self, end):
        while not self._stop.is_set() and time.monotonic() < end:
            with self._lock:
                if self.count is not None and self.requests >= self.count:
                    return
            self._one()

    def start(self):
        end = time.monotonic() + self.duration
        for _ in range(self.nthreads):
            th = threading.Thread(target=self._run, args=(end,), daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def wait(self):
        for th in self._threads:
            th.join(self.duration + self.timeout + 5)
        return self

    def stop(self):
        self._stop.set()
        return self.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def summary(self):
        return "%d requests, %d failed %s" % (self.requests, self.failures,
                                              self.errors[:5])


# ---------------------------------------------------------------- backend

class Backend:
    """A small HTTP origin server on 127.0.0.1:port, in threads.  Every
    request gets 200 with the body "backend METHOD PATH BODYLEN\\n", or what
    respond(method, path, headers, body) returns: (status, headers dict,
    body bytes/str).  .requests counts the requests seen."""

    def __init__(self, port, respond=None):
        import http.server
        outer = self
        self.requests = 0
        self.respond = respond

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests += 1
                if outer.respond:
                    st, hdrs, out = outer.respond(self.command, self.path,
                                                  self.headers, body)
                else:
                    st, hdrs, out = 200, {}, "backend %s %s %d\n" % (
                        self.command, self.path, len(body))
                if isinstance(out, str):
                    out = out.encode("latin-1")
                self.send_response(st)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                      Handler)
        self.server.daemon_threads = True
        th = threading.Thread(target=self.server.serve_forever, daemon=True)
        th.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the daemon

_instances = []


class StartError(Exception):
    pass


class Usher:
    """One instance of the binary in its own temporary prefix.

        t = Usher(CONF)            # CONF uses %%PORT_x%% / %%TESTDIR%%
        t.start()                  # daemon off, a child of the test
        st, h, body = t.get("/")   # first listen port
        t.stop()
        t.check_error_log()
    """

    def __init__(self, conf=None, daemon=False, conf_file="usher.conf"):
        self.name = NAME
        self.flavor = FLAVOR
        self.bin = BIN
        base = os.environ.get("TMPDIR") or "/tmp"
        self.prefix = tempfile.mkdtemp(prefix="usher-test-", dir=base)
        os.chmod(self.prefix, 0o755)
        os.mkdir(os.path.join(self.prefix, "logs"), 0o755)
        self.ports = {}
        self.daemon = daemon
        self.conf_file = conf_file
        self.conf_text = None
        self.proc = None
        self.known_pids = set()
        _instances.append(self)
        if conf is not None:
            self.write_conf(conf)

    # -- files and templates

    @property
    def pid_file(self):
        return os.path.join(self.prefix, "usher.pid")

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def port(self, label):
        label = str(label)
        if label not in self.ports:
            self.ports[label] = free_port()
        return self.ports[label]

    def render(self, text):
        text = re.sub(r"%%PORT_(\w+)%%",
                      lambda m: str(self.port(m.group(1))), text)
        return text.replace("%%TESTDIR%%", self.prefix)

    def write_file(self, rel, content, mode=0o644, render=True):
        """Write PREFIX/rel (directories made 0755); str content is
        rendered as a template."""
        p = self.path(rel)
        d = os.path.dirname(p)
        if not os.path.isdir(d):
            os.makedirs(d, 0o755)
        if isinstance(content, str):
            if render:
                content = self.render(content)
            content = content.encode("latin-1")
        with open(p, "wb") as f:
            f.write(content)
        os.chmod(p, mode)
        return p

    def write_conf(self, text, daemon=None, preamble=True):
        """Render text into the configuration file; unless it has its own,
        "daemon ...;" and "pid ...;" lines are appended."""
        if daemon is not None:
            self.daemon = daemon
        text = self.render(text)
        if preamble:
            extra = []
            if not re.search(r"^\s*daemon\s", text, re.M):
                extra.append("daemon %s;" % ("on" if self.daemon else "off"))
            if not re.search(r"^\s*pid\s", text, re.M):
                extra.append("pid %s;" % self.pid_file)
            if extra:
                if not text.endswith("\n"):
                    text += "\n"
                text += "# added by the test harness\n" + "\n".join(extra) + "\n"
        self.conf_text = text
        self.write_file(self.conf_file, text, render=False)
        return text

    def read(self, rel):
        """Contents of PREFIX/rel, or "" if it does not exist."""
        try:
            with open(self.path(rel), "rb") as f:
                return f.read().decode("latin-1")
        except FileNotFoundError:
            return ""

    def error_log(self):
        return self.read("error.log")

    def access_log(self, rel="access.log"):
        """The lines of an access log (relative to the prefix)."""
        return self.read(rel).splitlines()

    def wait_log(self, rel, n=1, timeout=3.0, regex=None):
        """Wait until the log PREFIX/rel has at least n lines (matching
        regex, if given) -- a worker may write its log line after the client
        has read the response; returns all the lines."""
        def enough():
            lines = self.access_log(rel)
            m = [x for x in lines if regex is None or re.search(regex, x)]
            return len(m) >= n
        wait_for(enough, timeout)
        return self.access_log(rel)

    def listen_ports(self):
        ports = []
        for m in re.finditer(r"^\s*listen\s+([^\s;]+)", self.conf_text or "",
                             re.M):
            a = m.group(1)
            pm = re.search(r"(?:^|:)(\d+)$", a)
            if pm:
                host = "::1" if a.startswith("[") else "127.0.0.1"
                ports.append((host, int(pm.group(1))))
        return ports

    # -- running

    def argv(self, *args, std=True):
        """The command line; with std, "-p PREFIX/ -c usher.conf -e
        error.log" come first."""
        cmd = [self.bin]
        if std:
            cmd += ["-p", self.prefix + "/", "-c", self.conf_file,
                    "-e", "error.log"]
        return cmd + list(args)

    def run(self, *args, std=True, timeout=15, cwd=None):
        """Run the binary to completion (for -t, -s, -v ...); returns
        (exit code, stdout, stderr) as text."""
        p = subprocess.run(self.argv(*args, std=std), capture_output=True,
                           timeout=timeout, cwd=cwd)
        return (p.returncode, p.stdout.decode("latin-1"),
                p.stderr.decode("latin-1"))

    def start(self, daemon=None, args=(), wait=True, timeout=10.0):
        """Start the binary; with wait, until the pid file exists and every
        listen port accepts.  Returns self; raises StartError."""
        if daemon is not None and daemon != self.daemon:
            self.daemon = daemon
            if self.conf_text is not None:
                self.conf_text = re.sub(
                    r"^daemon (on|off);$",
                    "daemon %s;" % ("on" if daemon else "off"),
                    self.conf_text, flags=re.M)
                self.write_file(self.conf_file, self.conf_text, render=False)
        if self.master_pid():
            self.known_pids.add(self.master_pid())
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass
        self._marks = (len(self.read("stderr.log")), len(self.error_log()))
        cmd = self.argv(*args)
        out = open(self.path("stderr.log"), "ab")
        if self.daemon:
            p = subprocess.run(cmd, stdout=out, stderr=out, timeout=timeout,
                               stdin=subprocess.DEVNULL)
            out.close()
            if p.returncode != 0:
                raise StartError("exited %d: %s" % (p.returncode,
                                                    self._why()))
        else:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL)
            out.close()
            self.known_pids.add(self.proc.pid)
        if wait:
            self.wait_started(timeout)
        return self

    def _why(self):
        """What the binary said since the last start (a few lines)."""
        so, eo = getattr(self, "_marks", (0, 0))
        text = self.read("stderr.log")[so:] + self.error_log()[eo:]
        lines = [x for x in text.splitlines() if x.strip()]
        return "\n".join(lines[:6])

    def try_start(self, what="", **kw):
        """start(), but a failure to start is a failed test (named what),
        not an exception; returns True if it started."""
        try:
            self.start(**kw)
            return True
        except StartError as e:
            ok(False, "starts%s" % (": " + what if what else ""))
            diag(str(e))
            return False

    def wait_started(self, timeout=10.0):
        end = time.monotonic() + timeout
        while self.master_pid() is None:
            if self.proc is not None and self.proc.poll() is not None:
                raise StartError("exited %s: %s" % (self.proc.returncode,
                                                    self._why()))
            if time.monotonic() > end:
                raise StartError("no pid file after %ss: %s" % (
                    timeout, self._why()))
            time.sleep(0.02)
        self.known_pids.add(self.master_pid())
        for host, port in self.listen_ports():
            while True:
                try:
                    socket.create_connection((host, port), 1).close()
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise StartError("port %d does not accept: %s" % (
                            port, self._why()))
                    time.sleep(0.02)
        return self

    def master_pid(self, oldbin=False):
        """The pid in the pid file (or in PID.oldbin), or None."""
        f = self.pid_file + (".oldbin" if oldbin else "")
        try:
            with open(f) as fh:
                s = fh.read().strip()
            return int(s) if s else None
        except (FileNotFoundError, ValueError):
            return None

    def worker_pids(self, master=None):
        """Worker pids of master (default: the pid file's): its children,
        less any child that is itself a master (binary upgrade)."""
        master = master or self.master_pid()
        if master is None:
            return []
        masters = {self.master_pid(), self.master_pid(oldbin=True)}
        ws = []
        for c in children(master):
            if c in masters or "master process" in cmdline(c):
                continue
            if children(c):
                continue
            ws.append(c)
        self.known_pids.update(ws)
        return ws

    def signal(self, sig, pid=None):
        """Send sig to the master (pid file) or to pid."""
        pid = pid or self.master_pid()
        if pid is None:
            raise RuntimeError("no pid file")
        self.known_pids.add(pid)
        os.kill(pid, sig)

    def wait_workers(self, n, timeout=10.0, master=None):
        """Wait until the master has exactly n workers; returns the pids
        (or the last list seen)."""
        return wait_for(lambda: (lambda w: w if len(w) == n else None)(
            self.worker_pids(master)), timeout) or self.worker_pids(master)

    def reload(self, conf=None, wait=True, timeout=10.0):
        """Optionally rewrite the config, send HUP, and wait until the set
        of workers has been replaced.  Returns the new worker pids."""
        old = set(self.worker_pids())
        n = len(old)
        if conf is not None:
            self.write_conf(conf)
        self.signal(_signal.SIGHUP)
        if not wait:
            return []
        w = wait_for(lambda: (lambda ws: ws if len(ws) == n
                              and not (set(ws) & old) else None)(
            self.worker_pids()), timeout)
        return w or []

    def wait_exit(self, pid, timeout=10.0):
        """Wait for pid to exit; True if it did."""
        if self.proc is not None and pid == self.proc.pid:
            try:
                self.proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        return bool(wait_for(lambda: not pid_alive(pid), timeout))

    def stop(self, sig=_signal.SIGTERM, timeout=10.0):
        """Signal the master (TERM by default) and wait for it and its
        workers to exit; KILL after timeout.  True if it exited in time."""
        pids = [p for p in (self.master_pid(), self.master_pid(oldbin=True))
                if p]
        if self.proc is not None and self.proc.poll() is None:
            pids.append(self.proc.pid)
        pids = list(dict.fromkeys(pids))
        workers = []
        for p in pids:
            workers += self.worker_pids(p)
        graceful = True
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        for p in pids:
            if not self.wait_exit(p, timeout):
                graceful = False
        for w in workers:
            if not wait_for(lambda: not pid_alive(w), 3.0):
                graceful = False
        self._kill_leftovers()
        return graceful

    def _ours(self, pid):
        """pid runs our binary (guards against a reused pid; a binary
        rebuilt meanwhile shows as "PATH (deleted)")."""
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return False
        if exe.endswith(" (deleted)"):
            exe = exe[:-len(" (deleted)")]
        return os.path.realpath(exe) == os.path.realpath(self.bin)

    def _kill_leftovers(self):
        """KILL every process of ours still alive that this instance has
        seen (masters, workers) and their descendants, by pid."""
        todo, seen = list(self.known_pids), set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            todo.extend(children(p))
        for p in sorted(seen):
            if pid_alive(p) and self._ours(p):
                try:
                    os.kill(p, _signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def running(self):
        p = self.master_pid()
        return p is not None and pid_alive(p)

    def cleanup(self):
        if self.running() or (self.proc is not None
                              and self.proc.poll() is None):
            self.stop(timeout=5)
        self._kill_leftovers()
        if KEEP:
            diag("kept %s" % self.prefix)
        else:
            shutil.rmtree(self.prefix, ignore_errors=True)

    # -- requests

    def default_port(self):
        lp = self.listen_ports()
        return lp[0][1] if lp else None

    def get(self, path="/", port=None, **kw):
        """http_get on port (a label or number; default: first listen)."""
        return http_get(self._port(port), path, **kw)

    def raw(self, data, port=None, **kw):
        return raw(self._port(port), data, **kw)

    def conn(self, port=None, **kw):
        return Conn(self._port(port), **kw)

    def _port(self, port):
        """A port label (as in %%PORT_label%%) or number -> number."""
        if port is None:
            return self.default_port()
        if str(port) in self.ports:
            return self.ports[str(port)]
        return int(port)

    # -- logs

    def check_error_log(self, allow=None, name=None):
        """A TAP test: no [alert], [crit] or sanitizer report in the error
        log (and stderr); lines matching the regex allow are tolerated."""
        text = self.error_log() + self.read("stderr.log")
        bad = [line for line in text.splitlines()
               if BAD_LOG.search(line)
               and not (allow and re.search(allow, line))]
        if not ok(not bad, name or "no alert, crit or sanitizer report in "
                  "the error log"):
            diag("\n".join(bad[:20]))
        return not bad


def _cleanup():
    while _instances:
        try:
            _instances.pop().cleanup()
        except Exception as e:
            diag("cleanup: %s" % e)


atexit.register(_cleanup)
