#!/usr/bin/env python3
# map, as nginx's map module does it: exact keys (case-insensitive), regexes
# with captures, defaults, host name wildcards, include, volatile, values
# with variables, and lazy evaluation cached per request.

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

    map $arg_k $exact {
        default          "dflt";
        apple            "fruit";
        Banana           "yellow";
        ""               "empty";
        \default         "the word default";
        \~tilde          "a literal tilde";
        ~^num(\d+)$      "number $1";
        ~*^CASE          "caseless";
        ~^(?<mapword>[a-z]+)-x$ "word $mapword";
        ~^num            "second regex";
    }
    map $arg_k $nodefault {
        a                "A";
    }
    map $arg_k $withvar {
        default          "uri=$uri";
        v                "$arg_k-$arg_other";
    }
    map "$arg_a:$arg_b" $combo {
        "1:2"            "one-two";
        default          "other";
    }
    map $exact $chain {
        fruit            "is fruit";
        default          "not fruit";
    }
    map $host $hostmap {
        hostnames;
        default            "none";
        example.com        "exact";
        .example.org       "dot";
        *.example.com      "star";
        *.sub.example.com  "sub";
        www.example.*      "tail";
        www.*              "www";
        ~^re\.             "regex";
    }
    map $http_x_host $hm2 {
        hostnames;
        example.com        "exact";
        default            "none";
    }
    map $arg_k $plainstar {
        *.example.com      "literal";
        default            "none";
    }
    map $uri $vol {
        volatile;
        default            $uri;
    }
    map $uri $nonvol {
        default            $uri;
    }
    map $arg_k $inc {
        include            %%TESTDIR%%/map.inc;
        default            "none";
    }
    map $uri $mcap {
        ~^/mcap/(?<mfirst>\w+)/(\w+)$ "$2-$mfirst";
        default            "no";
    }

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name map.test;

        location = /exact     { return 200 "$exact"; }
        location = /nodefault { return 200 "[$nodefault]"; }
        location = /withvar   { return 200 "$withvar"; }
        location = /combo     { return 200 "$combo"; }
        location = /chain     { return 200 "$chain"; }
        location = /host      { return 200 "$hostmap"; }
        location = /hm2       { return 200 "$hm2"; }
        location = /plainstar { return 200 "$plainstar"; }
        location = /inc       { return 200 "$inc"; }
        location /mcap/       { return 200 "$mcap mfirst=$mfirst"; }
        location = /vol {
            set $b1 $vol;
            set $b2 $nonvol;
            rewrite ^ /volafter;
        }
        location = /volafter {
            return 200 "vol=$vol nonvol=$nonvol b1=$b1 b2=$b2";
        }
        location = /late      { return 200 "$late"; }
        location = /lazy {
            if ($arg_k = "apple") {
                return 200 "apple: $exact";
            }
            return 200 "other: $exact";
        }
    }

    map $arg_k $late {
        default            "defined below its use";
    }
}
""")
t.write_file("map.inc", "a from-include;\n~^b(.*)$ b-$1;\n")
t.start()


def body(path, host="map.test", headers=None):
    r = t.get(path, host=host, headers=headers)
    return (r.status, r.body)


for q, want, name in (
        ("?k=apple", "fruit", "an exact key"),
        ("?k=APPLE", "fruit", "exact keys are case-insensitive"),
        ("?k=banana", "yellow", "... keys written with capitals too"),
        ("?k=pear", "dflt", "no match: the default"),
        ("", "empty", "an absent source matches the key \"\""),
        ("?k=", "empty", "an empty source matches the key \"\""),
        ("?k=default", "the word default", "\\default is the key \"default\""),
        ("?k=~tilde", "a literal tilde", "\\~ is not a regex"),
        ("?k=num42", "number 42", "a regex key; $1 in the value"),
        ("?k=case1", "caseless", "~* is caseless"),
        ("?k=abc-x", "word abc", "a named capture in the value"),
        ("?k=numX", "second regex", "regexes are tried in order"),
        ("?k=Num42", "dflt", "~ is case-sensitive")):
    is_(body("/exact" + q), (200, want), "map: " + name)

is_(body("/nodefault?k=b"), (200, "[]"), "no default: empty")
is_(body("/nodefault?k=a"), (200, "[A]"), "no default: a key")
is_(body("/withvar?k=v&other=o"), (200, "v-o"), "variables in a value")
is_(body("/withvar?k=zz"), (200, "uri=/withvar"), "variables in the default")
is_(body("/combo?a=1&b=2"), (200, "one-two"), "a source with variables")
is_(body("/combo?a=1&b=3"), (200, "other"), "... no match")
is_(body("/chain?k=apple"), (200, "is fruit"), "a map over a map")
is_(body("/chain?k=x"), (200, "not fruit"), "... the inner default")

for host, want, name in (
        ("example.com", "exact", "an exact name"),
        ("EXAMPLE.COM", "exact", "names are case-insensitive"),
        ("a.example.com", "star", "*.example.com"),
        ("a.b.example.com", "star", "*.example.com, two labels deep"),
        ("x.sub.example.com", "sub", "the longest wildcard wins"),
        ("example.org", "dot", ".example.org: the name itself"),
        ("x.y.example.org", "dot", ".example.org: subdomains"),
        ("www.example.net", "tail", "www.example.*"),
        ("www.example.co.uk", "tail", "www.example.* over several labels"),
        ("www.other.net", "www", "www.*"),
        ("www.example.com", "star", "a leading wildcard before a trailing"),
        ("re.anything", "regex", "regexes after the wildcards"),
        ("nothing.net", "none", "the default")):
    is_(body("/host", host=host), (200, want), "hostnames: " + name)
is_(body("/hm2", headers={"X-Host": "Example.COM."}), (200, "exact"),
    "hostnames: a final dot of the source is dropped")
is_(body("/plainstar?k=a.example.com"), (200, "none"),
    "without hostnames a wildcard is a plain key")
is_(body("/plainstar?k=*.example.com"), (200, "literal"),
    "... that matches itself")
is_(body("/inc?k=a"), (200, "from-include"), "include: an exact key")
is_(body("/inc?k=bcd"), (200, "b-cd"), "include: a regex key")
is_(body("/inc?k=z"), (200, "none"), "include: the block's default")
is_(body("/mcap/one/two"), (200, "two-one mfirst=one"),
    "captures and named captures of a map regex")
is_(body("/vol"), (200, "vol=/volafter nonvol=/vol b1=/vol b2=/vol"),
    "a volatile map is evaluated each time, others once per request")
is_(body("/late"), (200, "defined below its use"),
    "a map may come after the server that uses it")
is_(body("/lazy?k=apple"), (200, "apple: fruit"), "a map in an if")
is_(body("/lazy?k=num7"), (200, "other: number 7"), "... and after it")

t.stop()
t.check_error_log()

BAD = (
    ("map $uri $m { a; }", r'invalid number of the map parameters'),
    ("map $uri $m { a b c; }", r'invalid number of the map parameters'),
    ("map $uri $m { default a; default b; }",
     r'duplicate default map parameter'),
    ("map $uri $m { A x; a y; }", r'conflicting parameter "a"'),
    ("map $uri $m { hostnames; a.com x; .a.com y; }",
     r'conflicting parameter ".a.com"'),
    ("map $uri $m { hostnames; *.a.com x; *.a.com y; }",
     r'conflicting parameter "\*.a.com"'),
    ("map $uri $m { hostnames; a*b x; }",
     r'invalid hostname or wildcard "a\*b"'),
    ("map $uri $m { hostnames; *.a.* x; }",
     r'invalid hostname or wildcard "\*.a.\*"'),
    ("map $uri $m { ~( x; }", r'pcre2_compile\(\) failed: missing closing '
     r'parenthesis in "\("( at "")?'),
    ("map $uri m { }", r'invalid variable name "m"'),
    ("map $uri $host { }", r'the duplicate "host" variable'),
    ("map $uri $m { ~^(?<uri>.*) x; }", r'the duplicate "uri" variable'),
    ("map $uri $m $n { }", r'invalid number of arguments in "map" directive'),
    ("map $nosuch $m { }", r'unknown "nosuch" variable'),
)
for conf, msg in BAD:
    t.write_file("usher.conf", "events { }\nhttp {\n    %s\n}\n" % conf,
                 render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf)
    like(err, r"\[emerg\] " + msg + r"( in \S+usher.conf:3)?$",
         "message for: %s" % conf)

sys.exit(done())
