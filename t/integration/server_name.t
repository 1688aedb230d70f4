#!/usr/bin/env python3
# Choosing the server block: among the servers of the listen address, by the
# Host (or the absolute request target): exact name, then the longest
# leading wildcard (*.x, .x), then the longest trailing wildcard (x.*), then
# the first matching regex in file order; else the default server of the
# address (default_server, or the first one).  Host is compared without case,
# trailing dot and port.  A request without Host matches server_name "".

import os
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher(r"""
events { }
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name first.test;
        return 200 "first";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name example.com;
        return 200 "exact";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name *.example.com;
        return 200 "lead-wild";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name *.b.example.com;
        return 200 "lead-wild-longer";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name www.example.*;
        return 200 "trail-wild";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name .dot.test;
        return 200 "dot";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name "~^(?<sub>[a-z]+)\.(rx)\.test$";
        return 200 "$1 $2 $sub";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name ~^www\.example\.org$ ~^a\.example\.com$ ~^z\.rx\.test$;
        return 200 "regex-later";
    }
    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name "";
        return 200 "empty";
    }

    server {
        listen 127.0.0.1:%%PORT_B%%;
        server_name one.test;
        return 200 "b-one";
    }
    server {
        listen 127.0.0.1:%%PORT_B%% default_server;
        server_name two.test;
        return 200 "b-default";
    }

    server {
        listen 127.0.0.1:%%PORT_C%%;
        server_name c1.test;
        return 200 "c-first";
    }
    server {
        listen 127.0.0.1:%%PORT_C%%;
        server_name c2.test alias.test;
        return 200 "c-second $server_name $host";
    }
}
""")
t.start()


def host(h, port="A"):
    r = t.get("/", port=port, host=h)
    return (r.status, r.body)


CASES = [
    ("first.test", "first", "an exact name"),
    ("example.com", "exact", "an exact name"),
    ("EXAMPLE.COM", "exact", "Host is compared without case"),
    ("example.com.", "exact", "a trailing dot in Host is ignored"),
    ("example.com:99", "exact", "the port in Host is ignored"),
    ("Example.Com.:8080", "exact", "case, dot and port together"),
    ("a.example.com", "lead-wild",
     "a leading wildcard beats a regex"),
    ("x.y.example.com", "lead-wild", "a leading wildcard spans labels"),
    ("x.b.example.com", "lead-wild-longer", "the longest leading wildcard"),
    ("www.example.org", "trail-wild", "a trailing wildcard beats a regex"),
    ("www.example.co.uk", "trail-wild", "a trailing wildcard spans labels"),
    ("dot.test", "dot", ".name matches the name itself"),
    ("a.dot.test", "dot", ".name matches a subdomain"),
    ("abc.rx.test", "abc rx abc", "regex with numbered and named captures"),
    ("ABC.rx.test", "abc rx abc",
     "the regex sees the lowercased Host"),
    ("z.rx.test", "z rx z", "the first matching regex in file order"),
    ("unknown.test", "first", "no match: the first server is the default"),
]
for h, want, name in CASES:
    is_(host(h), (200, want), "Host %s -> %s: %s" % (h, want, name))

r = t.get("/", host=None, version="HTTP/1.0")
is_((r.status, r.body), (200, "empty"),
    'HTTP/1.0 without Host -> server_name ""')
r = t.get("http://example.com/", host="first.test")
is_((r.status, r.body), (200, "exact"),
    "an absolute request target overrides Host")

is_(host("zzz", "B"), (200, "b-default"), "default_server of port B")
r = t.get("/", port="B", host=None, version="HTTP/1.0")
is_((r.status, r.body), (200, "b-default"),
    "no Host and no server_name \"\": the default server")
is_(host("one.test", "B"), (200, "b-one"), "a named server on port B")
is_(host("example.com", "B"), (200, "b-default"),
    "names of another port's servers are not used")

is_(host("zzz", "C"), (200, "c-first"),
    "no default_server: the first server of the port is the default")
is_(host("Alias.Test", "C"), (200, "c-second c2.test alias.test"),
    "a second name; $server_name is the first name, $host the "
    "lowercased Host")

for bad in ("", "a/b", "..", "a..b", "exa mple", "a.test.."):
    is_(host(bad)[0], 400, "invalid Host %r is a bad request" % bad)

t.stop()
t.check_error_log()
sys.exit(done())
