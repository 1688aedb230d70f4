#!/usr/bin/env python3
# set and if, as nginx's rewrite module does them: every kind of condition,
# captures, and the "if is evil" rules (a true if in a location moves the
# request into the block's own configuration, which inherits the rest).

import os
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()


def backend_respond(method, path, headers, body):
    return 200, {"X-Backend": "yes"}, "backend %s x=%s\n" % (
        path, headers.get("X-X"))


t = Usher(r"""
error_log %%TESTDIR%%/error.log notice;
events { }
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_A%%;
        server_name if.test;

        set $srv_var "srv";
        if ($http_x_block) {
            return 403;
        }
        if ($arg_srvset) {
            set $srv_var "changed";
        }
        if ($http_x_go = "var") {
            rewrite ^ /var/from-server;
        }

        location /var {
            return 200 "srv_var=$srv_var uri=$uri";
        }

        # conditions
        location /c/var {
            if ($arg_v) { return 200 "true"; }
            return 200 "false";
        }
        location /c/eq {
            if ($arg_v = "abc") { return 200 "eq"; }
            if ($arg_v != abc) { return 200 "ne"; }
            return 200 "unreachable";
        }
        location /c/empty {
            if ($arg_v = "") { return 200 "empty"; }
            return 200 "not empty";
        }
        location /c/eqvar {
            set $want "x$arg_w";
            if ($arg_v = $want) { return 200 "eq"; }
            return 200 "ne";
        }
        location /c/re {
            if ($arg_v ~ ^(\d+)-(?<word>[a-z]+)$) {
                return 200 "match $1 $2 $word";
            }
            if ($arg_v ~* ^ABC) { return 200 "caseless $arg_v"; }
            if ($arg_v ~ ^ABC) { return 200 "case-sensitive"; }
            if ($arg_v !~ ^z) { return 200 "not z"; }
            return 200 "z";
        }
        location /c/nre {
            if ($arg_v !~* ^Q) { return 200 "no q"; }
            return 200 "q";
        }
        location ~ ^/c/capture/(.+)$ {
            if ($uri ~ ^/c/capture/(\w+)-(\w+)$) {
                set $first $1;
            }
            return 200 "first=$first one=$1";
        }
        location ~ ^/c/rwfail/(.+)$ {
            rewrite ^/nothing/(.*)$ /var/$1;
            return 200 "one=$1";
        }
        location /c/named {
            if ($arg_v ~ ^(?<named_grp>[a-z]+)) { }
            return 200 "named=$named_grp";
        }
        location /c/file {
            if (-f %%TESTDIR%%/html/$arg_p) { return 200 "f"; }
            if (-d %%TESTDIR%%/html/$arg_p) { return 200 "d"; }
            return 200 "none";
        }
        location /c/notfile {
            if (!-e %%TESTDIR%%/html/$arg_p) { return 200 "!e"; }
            if (-x %%TESTDIR%%/html/$arg_p) { return 200 "x"; }
            if (!-f %%TESTDIR%%/html/$arg_p) { return 200 "!f"; }
            return 200 "plain";
        }
        location /c/notdir {
            if (!-d %%TESTDIR%%/html/$arg_p) { return 200 "!d"; }
            if (!-x %%TESTDIR%%/html/$arg_p) { return 200 "!x"; }
            return 200 "d+x";
        }
        location /c/spaced {
            if ( $http_x_v = "a b" ) { return 200 "spaced"; }
            return 200 "not spaced";
        }

        # set
        location /set/late/use { return 200 "[$late_var]"; }
        location /set/late/set {
            set $late_var "set";
            return 200 "[$late_var]";
        }
        location /set/define { set $never_set "x"; return 204; }
        location /set/order {
            set $a "one";
            set $b "$a-two";
            set $a "three";
            return 200 "a=$a b=$b never=[$never_set]";
        }
        location /set/self {
            set $s "a";
            set $s "${s}b";
            set $s "${s}c";
            return 200 "s=$s";
        }
        location /set/args {
            set $args "x=1&y=two";
            return 200 "args=$args y=$arg_y is_args=$is_args";
        }
        location /set/uri {
            set $orig $uri;
            rewrite ^ /var/rewritten;
            set $after $uri;
            return 200 "orig=$orig after=$after";
        }
        location ~ ^/set/cap/(\w+)/(\w+)$ {
            set $x2 $2;
            set $x1 $1;
            return 200 "$x2-$x1";
        }
        location /set/pargs/ {
            set $args "n=1&$args";
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }
        location /set/proxied/ {
            set $xx "from-set-$arg_q";
            proxy_set_header X-X $xx;
            proxy_pass http://127.0.0.1:%%PORT_B%%;
        }

        # if blocks are locations
        location /ev/hdr {
            add_header X-Loc loc;
            if ($arg_h) {
                add_header X-If "if-$arg_h";
            }
            return 200 "body";
        }
        location /ev/twoifs {
            set $t 1;
            if ($t) { add_header X-First 1; }
            if ($t) { add_header X-Second 2; }
            return 204;
        }
        location /ev/px/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            if ($arg_tag) {
                add_header X-Tagged $arg_tag;
            }
        }
        location /ev/pxuri/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%/base/;
            if ($arg_tag) {
                add_header X-Tagged $arg_tag;
            }
        }
        location /ev/pxif/ {
            if ($arg_up) {
                proxy_pass http://127.0.0.1:%%PORT_B%%;
            }
            return 200 "local";
        }
        location /ev/pxonly/ {
            error_page 404 = /var/no-file;
            if ($arg_up) {
                proxy_pass http://127.0.0.1:%%PORT_B%%;
            }
        }
        location /ev/brk/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            if ($arg_b) {
                break;
            }
            return 200 "not broken";
        }
        location /ev/rw {
            if ($arg_to) {
                rewrite ^ /var/$arg_to last;
            }
            return 200 "no rewrite";
        }
        location /ev/rwbrk/ {
            proxy_pass http://127.0.0.1:%%PORT_B%%;
            if ($arg_b) {
                rewrite ^/ev/rwbrk/(.*)$ /other/$1 break;
            }
            return 200 "not rewritten";
        }
        location /ev/after {
            set $v "before";
            if ($arg_a) {
                set $v "in-if";
            }
            set $v "$v+after";
            return 200 "v=$v";
        }
        location /st/ {
            root %%TESTDIR%%/html;
            try_files $uri /var/fallback;
            if ($arg_x) {
                add_header X-If x;
            }
        }
        location /al/ {
            alias %%TESTDIR%%/html/st/;
            if ($arg_x) {
                add_header X-If x;
            }
        }
        location /log/ {
            rewrite_log on;
            if ($arg_v ~ ^y) { }
            rewrite ^/log/(\w+)$ /var/$1?a=1 last;
        }
        location /ev/errpage {
            if ($arg_e) {
                error_page 404 =200 /var/errpage;
                return 404;
            }
            return 404;
        }
    }
}
""")
t.write_file("html/file.txt", "a file\n")
t.write_file("html/st/here.txt", "here\n")
t.write_file("html/script.sh", "#!/bin/sh\n", mode=0o755)
os.makedirs(t.path("html/dir"), 0o755)
b = Backend(t.port("B"), backend_respond)
t.start()


def req(path, headers=None):
    return t.get(path, host="if.test", headers=headers)


def body(path, headers=None):
    r = req(path, headers)
    return (r.status, r.body)


# server-level set and if
is_(body("/var/x"), (200, "srv_var=srv uri=/var/x"),
    "set at server level is seen in the location")
is_(body("/var/x?srvset=1"), (200, "srv_var=changed uri=/var/x"),
    "set inside a server-level if")
is_(req("/var/x", {"X-Block": "1"}).status, 403,
    "if (variable) at server level: return 403")
is_(req("/var/x", {"X-Block": "0"}).status, 200,
    "\"0\" is false")
is_(body("/nowhere", {"X-Go": "var"}),
    (200, "srv_var=srv uri=/var/from-server"),
    "if (=) at server level: rewrite, then the location is searched")

# conditions
for q, want, name in (
        ("", "false", "an absent variable is false"),
        ("?v=", "false", "an empty variable is false"),
        ("?v=0", "false", "\"0\" is false"),
        ("?v=00", "true", "\"00\" is true"),
        ("?v=a", "true", "a non-empty variable is true")):
    is_(body("/c/var" + q), (200, want), "if ($v): " + name)
is_(body("/c/eq?v=abc"), (200, "eq"), "if ($v = abc)")
is_(body("/c/eq?v=ABC"), (200, "ne"), "= is case-sensitive; !=")
is_(body("/c/eq"), (200, "ne"), "!= with the variable absent")
is_(body("/c/empty"), (200, "empty"), "= \"\" holds for an absent variable")
is_(body("/c/empty?v=1"), (200, "not empty"), "= \"\" with a value")
is_(body("/c/eqvar?v=xq&w=q"), (200, "eq"), "= with a variable on the right")
is_(body("/c/eqvar?v=q&w=q"), (200, "ne"), "= with a variable: no match")
is_(body("/c/re?v=12-ab"), (200, "match 12 ab ab"),
    "~ regex: $1, $2 and a named capture")
is_(body("/c/re?v=abcd"), (200, "caseless abcd"), "~* is caseless")
is_(body("/c/re?v=xyz"), (200, "not z"), "!~")
is_(body("/c/re?v=zz"), (200, "z"), "!~ that matches is false")
is_(body("/c/nre?v=qq"), (200, "q"), "!~* is caseless")
is_(body("/c/nre?v=aa"), (200, "no q"), "!~* without a match")
is_(body("/c/capture/one-two"), (200, "first=one one=one"),
    "captures of an if regex replace the location's")
is_(body("/c/capture/nodash"), (200, "first= one="),
    "a failed if regex clears the captures")
is_(body("/c/rwfail/abc"), (200, "one="),
    "a rewrite whose regex fails clears the captures too")
is_(body("/c/named?v=abc1"), (200, "named=abc"),
    "a named capture set in an if is a variable afterwards")
is_(body("/c/file?p=file.txt"), (200, "f"), "-f on a file")
is_(body("/c/file?p=dir"), (200, "d"), "-f on a directory is false, -d true")
is_(body("/c/file?p=nothing"), (200, "none"), "-f and -d on nothing")
is_(body("/c/notfile?p=nothing"), (200, "!e"), "!-e on nothing")
is_(body("/c/notfile?p=script.sh"), (200, "x"), "-x on an executable")
is_(body("/c/notfile?p=dir"), (200, "x"),
    "-x on a directory is true (its search bit)")
is_(body("/c/notfile?p=file.txt"), (200, "plain"),
    "!-e, -x, !-f all false on a plain file")
is_(body("/c/notdir?p=file.txt"), (200, "!d"), "!-d on a file")
is_(body("/c/notdir?p=dir"), (200, "d+x"), "!-d and !-x on a directory")
is_(body("/c/spaced", {"X-V": "a b"}), (200, "spaced"),
    "\"(\" and \")\" may stand apart; a quoted value with a space")
is_(body("/c/spaced", {"X-V": "a  b"}), (200, "not spaced"), "... no match")

# set
is_(body("/set/order"), (200, "a=three b=one-two never=[]"),
    "set runs in order; a variable set elsewhere is empty here")
is_(body("/set/late/use"), (200, "[]"),
    "a variable may be used above the set that defines it")
is_(body("/set/late/set"), (200, "[set]"), "... where it is set")
is_(body("/set/self"), (200, "s=abc"), "set may read the variable it sets")
is_(body("/set/args?old=1"), (200, "args=x=1&y=two y=two is_args=?"),
    "set $args changes the arguments, and $arg_")
is_(body("/set/uri"), (200, "orig=/set/uri after=/var/rewritten"),
    "set keeps a value, not a reference")
is_(body("/set/cap/aa/bb"), (200, "bb-aa"), "set from captures")
is_(body("/set/pargs/a%20b?o=2"), (200, "backend /set/pargs/a%20b?n=1&o=2 "
    "x=None\n"), "set $args: the proxied request has the new arguments")
r = req("/set/proxied/p?q=7")
is_((r.status, r.body), (200, "backend /set/proxied/p?q=7 x=from-set-7\n"),
    "a set variable in proxy_set_header")

# if blocks are locations
r = req("/ev/hdr")
is_((r.header("x-loc"), r.header("x-if")), ("loc", None),
    "if false: the location's add_header")
r = req("/ev/hdr?h=1")
is_((r.header("x-loc"), r.header("x-if"), r.body), (None, "if-1", "body"),
    "if true: the block's add_header replaces the location's")
r = req("/ev/twoifs")
is_((r.status, r.header("x-first"), r.header("x-second")), (204, None, "2"),
    "two true ifs: the last one's configuration wins")
r = req("/ev/px/a?tag=t1")
is_((r.status, r.body, r.header("x-tagged"), r.header("x-backend")),
    (200, "backend /ev/px/a?tag=t1 x=None\n", "t1", "yes"),
    "if without a handler of its own keeps the location's proxy_pass")
r = req("/ev/px/a")
is_((r.status, r.header("x-tagged")), (200, None), "... and if false")
r = req("/ev/pxuri/a?tag=t2")
is_((r.status, r.body, r.header("x-tagged")),
    (200, "backend /base/a?tag=t2 x=None\n", "t2"),
    "the inherited proxy_pass keeps its URI part")
is_(body("/ev/pxif/a?up=1"), (200, "local"),
    "return runs before any content handler, proxy_pass in if or not")
is_(body("/ev/pxonly/a?up=1"), (200, "backend /ev/pxonly/a?up=1 x=None\n"),
    "proxy_pass inside if")
is_(body("/ev/brk/a?b=1"), (200, "backend /ev/brk/a?b=1 x=None\n"),
    "break inside if stops the script: the location proxies")
is_(body("/ev/brk/a"), (200, "not broken"), "... if false, return")
is_(body("/ev/rw?to=there"), (200, "srv_var=srv uri=/var/there"),
    "rewrite ... last inside if")
is_(body("/ev/rw"), (200, "no rewrite"), "... if false")
is_(body("/ev/rwbrk/z?b=1"), (200, "backend /other/z?b=1 x=None\n"),
    "rewrite ... break inside if: the URI changes, the location stays")
is_(body("/ev/after?a=1"), (200, "v=in-if+after"),
    "the script goes on after a true if block")
is_(body("/ev/after"), (200, "v=before+after"), "... and after a false one")
is_(body("/ev/errpage?e=1"), (200, "srv_var=srv uri=/var/errpage"),
    "error_page inside if")
is_(req("/ev/errpage").status, 404, "... not used when the if is false")

r = req("/st/here.txt?x=1")
is_((r.status, r.body, r.header("x-if")), (200, "here\n", "x"),
    "static files from a true if block: root is inherited")
is_(body("/st/missing.txt"), (200, "srv_var=srv uri=/var/fallback"),
    "try_files in the location ...")
is_(req("/st/missing.txt?x=1").status, 404,
    "... is not inherited by a true if block (nginx's classic surprise)")
r = req("/al/here.txt?x=1")
is_((r.status, r.body, r.header("x-if")), (200, "here\n", "x"),
    "alias is inherited by an if block")
is_(body("/log/abc?v=n"), (200, "srv_var=srv uri=/var/abc"),
    "rewrite_log on")

t.stop()
b.close()
log = t.error_log()
like(log, r'\[notice\] .*"\^y" does not match "n", client: 127.0.0.1, '
     r'server: if.test, request: "GET /log/abc\?v=n HTTP/1.1", '
     r'host: "if.test"', "rewrite_log: an if regex that does not match")
like(log, r'\[notice\] .*"\^/log/\(\\w\+\)\$" matches "/log/abc", client: ',
     "rewrite_log: a rewrite regex that matches")
like(log, r'\[notice\] .*rewritten data: "/var/abc", args: "a=1&v=n", '
     r'client: ', "rewrite_log: the rewritten URI")
unlike(log, r'match(es)? "12-ab"', "rewrite_log is off elsewhere")
t.check_error_log()

# Configuration errors, in nginx's words.
BAD = (
    ("set $uri x;", r'the duplicate "uri" variable'),
    ("set $host x;", r'the duplicate "host" variable'),
    ("set foo x;", r'invalid variable name "foo"'),
    ("if ($uri) { if ($uri) { } }", r'"if" directive is not allowed here'),
    ("if ($uri = ) { }", r'invalid condition "\$uri"'),
    ("if ($uri == a) { }", r'unexpected "==" in condition'),
    ("if ($uri a b c) { }", r'invalid condition "\$uri"'),
    ("if (uri) { }", r'invalid condition "uri"'),
    ("if $uri { }", r'invalid condition "\$uri"'),
    ("if (-q /x) { }", r'invalid condition "-q"'),
    ("if (-f) { }", r'invalid condition "-f"'),
    ("if ($uri ~ \"(\") { }", r'pcre2_compile\(\) failed: missing closing '
     r'parenthesis in "\("( at "")?'),
    ("if ($uri ~ (?<host>.)) { }", r'the duplicate "host" variable'),
    ("location / { if ($uri) { proxy_pass http://127.0.0.1:1/x; } }",
     r'"proxy_pass" cannot have URI part in location given by regular '
     r'expression, or inside named location, or inside "if" statement, '
     r'or inside "limit_except" block'),
    ("location / { if ($uri) { keepalive_timeout 5; } }",
     r'"keepalive_timeout" directive is not allowed here'),
    ("if ($uri) { add_header X a; }", r'"add_header" directive is not '
     r'allowed here'),
)
for conf, msg in BAD:
    t.write_file("usher.conf", "events { }\nhttp {\n    server {\n"
                 "        %s\n    }\n}\n" % conf, render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf)
    like(err, r"\[emerg\] " + msg + r"( in \S+usher.conf:4)?$",
         "message for: %s" % conf)

sys.exit(done())
