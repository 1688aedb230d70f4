#!/usr/bin/env python3
# geo, as nginx's geo module does it: CIDR (IPv4 and IPv6, longest match),
# ranges, default, delete, include, a variable as the source, and trusted
# proxies with X-Forwarded-For.

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

    geo $client {
        default          "dflt";
        127.0.0.0/8      "loopback";
        127.0.0.1        "exact";
        ::1              "v6-loopback";
    }
    geo $arg_ip $cidr {
        default          "dflt";
        10.0.0.0/8       "ten";
        10.1.0.0/16      "ten-one";
        10.1.2.3/32      "host";
        10.2.0.1/16      "low bits";
        172.16.0.0/12    "gone";
        delete           172.16.0.0/12;
        delete           172.17.0.0/16;
        192.168.0.0/16   "first";
        192.168.0.0/16   "second";
        2001:db8::/32    "doc";
        2001:db8:1::/48  "doc-1";
        ::1              "v6-loopback";
    }
    geo $arg_ip $none {
        default          "dflt";
        255.255.255.255  "no address";
    }
    geo $arg_ip $nodefault {
        10.0.0.0/8       "ten";
    }
    geo $arg_ip $rng {
        ranges;
        default                        "dflt";
        10.0.0.0-10.0.0.255            "a";
        10.0.0.10-10.0.0.20            "b";
        10.0.0.0-10.0.0.5              "c";
        10.0.0.250-10.0.0.255          "d";
        10.0.1.0-10.2.255.255          "wide";
        delete                         10.1.0.0-10.1.255.255;
        192.168.0.1-192.168.0.1        "single";
        255.255.255.0-255.255.255.254  "top";
    }
    geo $arg_ip $inc {
        include          %%TESTDIR%%/geo.inc;
        default          "dflt";
    }
    geo $pclient {
        proxy            127.0.0.1;
        default          "dflt";
        10.0.0.0/8       "ten";
        192.168.0.0/16   "private";
        127.0.0.0/8      "loopback";
        2001:db8::/32    "doc";
    }
    geo $prec {
        proxy            127.0.0.0/8;
        proxy            10.0.0.0/8;
        proxy_recursive;
        default          "dflt";
        10.0.0.0/8       "ten";
        192.168.0.0/16   "private";
        127.0.0.0/8      "loopback";
    }
    geo $prange {
        ranges;
        proxy            127.0.0.1;
        default          "dflt";
        192.168.0.0-192.168.255.255  "private";
    }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        listen [::1]:%%PORT_C%%;
        server_name geo.test;

        location = /client    { return 200 "$client"; }
        location = /cidr      { return 200 "$cidr"; }
        location = /none      { return 200 "$none"; }
        location = /nodefault { return 200 "[$nodefault]"; }
        location = /rng       { return 200 "$rng"; }
        location = /inc       { return 200 "$inc"; }
        location = /late      { return 200 "$late"; }
        location = /proxy     { return 200 "$pclient $prec $prange"; }
    }

    geo $late {
        default          "defined below its use";
    }
}
""")
t.write_file("geo.inc", "10.0.0.0/8 inc-ten;\n")
t.start()


def body(path, headers=None):
    r = t.get(path, host="geo.test", headers=headers)
    return (r.status, r.body)


is_(body("/client"), (200, "exact"),
    "the client address: the longest match wins")
with Conn(t.port("C"), host="::1") as c:
    r = c.get("/client", host="geo.test")
is_((r.status, r.body), (200, "v6-loopback"), "an IPv6 client")

for ip, want, name in (
        ("10.9.9.9", "ten", "a /8"),
        ("10.1.9.9", "ten-one", "a /16 inside the /8"),
        ("10.1.2.3", "host", "a single address"),
        ("10.2.3.4", "low bits", "low bits below the mask are ignored"),
        ("172.16.1.1", "dflt", "a deleted network"),
        ("192.168.3.3", "second", "a network given twice: the last value"),
        ("8.8.8.8", "dflt", "the default"),
        ("2001:db8:2::1", "doc", "an IPv6 network"),
        ("2001:db8:1::1", "doc-1", "the longest IPv6 network"),
        ("::1", "v6-loopback", "an IPv6 address"),
        ("2001:db9::1", "dflt", "the default for IPv6"),
        ("::ffff:10.1.2.3", "host", "an IPv4-mapped address is IPv4"),
        ("bogus", "dflt", "not an address")):
    is_(body("/cidr?ip=" + ip), (200, want), "cidr: " + name)
is_(body("/none?ip=bogus"), (200, "no address"),
    "not an address is looked up as 255.255.255.255")
is_(body("/none"), (200, "no address"), "... so is a missing variable")
is_(body("/nodefault?ip=1.2.3.4"), (200, "[]"), "no default: empty")
is_(body("/nodefault?ip=10.2.3.4"), (200, "[ten]"), "no default: a match")

for ip, want, name in (
        ("10.0.0.3", "c", "a range at the start of another"),
        ("10.0.0.7", "a", "what is left of the outer range"),
        ("10.0.0.15", "b", "a range inside another"),
        ("10.0.0.21", "a", "the outer range after the inner one"),
        ("10.0.0.252", "d", "a range at the end of another"),
        ("10.0.1.1", "wide", "a range over several /16 blocks"),
        ("10.1.5.5", "dflt", "a deleted /16 of it"),
        ("10.2.255.255", "wide", "its last address"),
        ("10.3.0.0", "dflt", "just after it"),
        ("192.168.0.1", "single", "a one-address range"),
        ("192.168.0.2", "dflt", "the default"),
        ("255.255.255.254", "top", "the last address a range can hold"),
        ("::1", "dflt", "IPv6 is looked up as 255.255.255.255, which no "
         "range holds"),
        ("bogus", "dflt", "so is not an address")):
    is_(body("/rng?ip=" + ip), (200, want), "ranges: " + name)

is_(body("/late"), (200, "defined below its use"),
    "a geo block may come after the server that uses it")
is_(body("/inc?ip=10.0.0.1"), (200, "inc-ten"), "include")
is_(body("/inc?ip=11.0.0.1"), (200, "dflt"), "include: the block's default")

for xff, want, name in (
        (None, "loopback loopback dflt", "no X-Forwarded-For"),
        ("192.168.1.1", "private private private",
         "a trusted client: X-Forwarded-For's address"),
        ("192.168.1.1, 10.1.1.1", "ten private dflt",
         "the last address; proxy_recursive skips trusted ones"),
        ("10.1.1.1, 10.2.2.2", "ten ten dflt",
         "recursive, all trusted: the first"),
        ("bogus", "loopback loopback dflt",
         "not an address: the client's own"),
        ("192.168.1.1:8080", "private private private", "with a port"),
        ("[2001:db8::5]:80", "doc dflt dflt", "IPv6 with a port"),
        ("2001:db8::5", "doc dflt dflt", "IPv6"),
        ("255.255.255.255", "loopback loopback dflt",
         "255.255.255.255 is not an address to nginx")):
    hdrs = {"X-Forwarded-For": xff} if xff else None
    is_(body("/proxy", hdrs), (200, want), "proxy: " + name)
is_(body("/proxy", [("X-Forwarded-For", "192.168.1.1"),
                    ("X-Forwarded-For", "10.1.1.1")]),
    (200, "ten private dflt"),
    "proxy: several X-Forwarded-For headers read as one list")
is_(body("/proxy", [("X-Forwarded-For", "192.168.1.1"),
                    ("X-Forwarded-For", "10.1.1.1, 10.2.2.2")]),
    (200, "ten private dflt"), "... recursive across headers")
with Conn(t.port("C"), host="::1") as c:
    r = c.get("/proxy", host="geo.test",
              headers={"X-Forwarded-For": "192.168.1.1"})
is_((r.status, r.body), (200, "dflt dflt dflt"),
    "proxy: an untrusted client's X-Forwarded-For is ignored")

t.stop()
log = t.error_log() + t.read("stderr.log")
like(log, r"\[warn\] low address bits of 10.2.0.1/16 are meaningless",
     "warning: low address bits")
like(log, r'\[warn\] duplicate network "192.168.0.0/16", value: "second", '
     r'old value: "first"', "warning: a duplicate network")
like(log, r'\[warn\] no network "172.17.0.0/16" to delete',
     "warning: delete without the network")
t.check_error_log()

BAD = (
    ("geo $g { a; }", r'invalid number of the geo parameters'),
    ("geo $g { a b c; }", r'invalid number of the geo parameters'),
    ("geo $g { bogus a; }", r'invalid network "bogus"'),
    ("geo $g { 300.1.1.1 a; }", r'invalid network "300.1.1.1"'),
    ("geo $g { 10.0.0.0/33 a; }", r'invalid network "10.0.0.0/33"'),
    ("geo $g { ::1/129 a; }", r'invalid network "::1/129"'),
    ("geo $g { proxy bogus; }", r'invalid network "bogus"'),
    ("geo $g { ranges; 10.0.0.0/8 a; }", r'invalid range "10.0.0.0/8"'),
    ("geo $g { ranges; ::1-::2 a; }", r'invalid range "::1-::2"'),
    ("geo $g { ranges; 10.0.0.5-10.0.0.1 a; }",
     r'invalid range "10.0.0.5-10.0.0.1"'),
    ("geo $g { ranges; 10.0.0.10-10.0.0.20 b; 10.0.0.0-10.0.0.255 a; }",
     r'range "10.0.0.0-10.0.0.255" overlaps "10.0.0.10-10.0.0.20"'),
    ("geo $g { ranges; 10.0.0.0-10.0.0.15 a; 10.0.0.10-10.0.0.20 b; }",
     r'range "10.0.0.10-10.0.0.20" overlaps "10.0.0.0-10.0.0.15"'),
    ("geo $g { 255.255.255.255/32 a; }",
     r'invalid network "255.255.255.255/32"'),
    ("geo $g { ranges; 10.0.0.0-255.255.255.255 a; }",
     r'invalid range "10.0.0.0-255.255.255.255"'),
    ("geo $a $b $c { }", r'invalid number of arguments in "geo" directive'),
    ("geo g { }", r'invalid variable name "g"'),
    ("geo $remote_addr { }", r'the duplicate "remote_addr" variable'),
)
for conf, msg in BAD:
    t.write_file("usher.conf", "events { }\nhttp {\n    %s\n}\n" % conf,
                 render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf)
    like(err, r"\[emerg\] " + msg + r"( in \S+usher.conf:3)?$",
         "message for: %s" % conf)

sys.exit(done())
