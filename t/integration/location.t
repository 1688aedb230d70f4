#!/usr/bin/env python3
# Location matching, in nginx's order:
#   1. "= uri" exact match wins at once;
#   2. the longest prefix is remembered; if it is "^~", regexes are skipped;
#   3. regexes ("~" case-sensitive, "~*" insensitive) are tried in file
#      order, those nested in the chosen prefix location first; the first
#      match wins;
#   4. else the longest prefix.
# Named locations (@x) are never matched by a request URI.  Matching is on
# the normalised URI (percent-decoded, dot segments and double slashes
# resolved).

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

        location /              { return 200 "root"; }
        location = /            { return 200 "exact-root"; }
        location = /exact       { return 200 "exact"; }
        location /exact         { return 200 "prefix-exact"; }
        location /pre           { return 200 "pre"; }
        location /prefix        { return 200 "prefix"; }
        location /prefix/long   { return 200 "prefix-long"; }
        location ^~ /static/    { return 200 "static-noregex"; }

        location ~ \.php$       { return 200 "regex-php"; }
        location ~* \.JPG$      { return 200 "regex-jpg-ci"; }
        location ~ ^/prefix/.*\.txt$ { return 200 "regex-txt-first"; }
        location ~ \.txt$       { return 200 "regex-txt-second"; }

        location /nest/ {
            location /nest/inner/ { return 200 "nest-inner"; }
            location ~ \.php$     { return 200 "nest-regex-php"; }
            return 200 "nest";
        }

        location ~ ^/rx/ {
            location ~ \.html$    { return 200 "rx-html"; }
            return 200 "rx";
        }

        location @named         { return 200 "named"; }
        location /teapot        { error_page 418 = @named; return 418; }
    }
}
""")
t.start()

CASES = [
    ("/", "exact-root", "= / wins for /"),
    ("/x", "root", "/ is the prefix of last resort"),
    ("/exact", "exact", "= /exact beats the equal prefix /exact"),
    ("/exact/", "prefix-exact", "= matches only the exact URI"),
    ("/exactly", "prefix-exact", "prefix matches a longer URI"),
    ("/pre", "pre", "prefix /pre"),
    ("/prex", "pre", "prefixes are not path segments"),
    ("/prefix", "prefix", "the longest prefix wins (/prefix over /pre)"),
    ("/prefix/longer", "prefix-long", "the longest prefix wins (3 levels)"),
    ("/PREFIX", "root", "prefixes are case-sensitive"),
    ("/a.php", "regex-php", "a regex beats the prefix /"),
    ("/prefix/a.txt", "regex-txt-first", "the first matching regex wins"),
    ("/a.txt", "regex-txt-second", "a later regex when the first fails"),
    ("/static/a.php", "static-noregex", "^~ stops the regex search"),
    ("/a.jpg", "regex-jpg-ci", "~* is case-insensitive (lower)"),
    ("/A.JPG", "regex-jpg-ci", "~* is case-insensitive (upper)"),
    ("/a.Jpg", "regex-jpg-ci", "~* is case-insensitive (mixed)"),
    ("/a.PHP", "root", "~ is case-sensitive"),
    ("/nest/", "nest", "the outer location of nested ones"),
    ("/nest/inner/", "nest-inner", "a nested prefix location"),
    ("/nest/a.php", "nest-regex-php",
     "a regex nested in the prefix location is tried before outer regexes"),
    ("/nest/inner/a.php", "nest-regex-php",
     "the enclosing location's regexes beat a nested prefix"),
    ("/rx/", "rx", "a regex location"),
    ("/rx/a.html", "rx-html", "a regex location nested in a regex location"),
    ("/rx/a.php", "regex-php",
     "outer regexes are tried in file order (\\.php$ is before ^/rx/)"),
    ("/@named", "root", "a named location is not matched by the URI"),
    ("/teapot", "named", "a named location is reached by error_page"),
    ("/%70re", "pre", "the URI is percent-decoded before matching"),
    ("/prefix%2Fa.txt", "regex-txt-first", "a decoded %2F is a slash"),
    ("/pre/../exact", "exact", "dot-dot segments are resolved"),
    ("/./exact", "exact", "dot segments are resolved"),
    ("//exact", "exact", "double slashes are merged"),
]

for path, want, name in CASES:
    r = t.get(path)
    is_((r.status, r.body), (200, want), "%s -> %s: %s" % (path, want, name))

is_(t.get("/../x").status, 400, "a dot-dot above the root is a bad request")

t.stop()

# Nesting rules, checked by -t.
for conf, msg in (
        ('location /a { location /b { } }',
         r'location "/b" is outside location "/a"'),
        ('location ~ ^/r { location /r/x { } }',
         r'location "/r/x" is outside location "\^/r"'),
        ('location = /a { location /a/b { } }',
         r'location "/a/b" cannot be inside the exact location "/a"'),
        ('location @n { location /x { } }',
         r'location "/x" cannot be inside the named location "@n"'),
        ('location /a { }\n        location /a { }',
         r'duplicate location "/a"'),
        ('location ~ "(" { }',
         r'pcre2?_compile\(\) failed: missing (closing )?parenthes')):
    t.write_file("usher.conf", "events { }\nhttp {\n    server {\n"
                 "        %s\n    }\n}\n" % conf, render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "rejected: %s" % conf.replace("\n", " "))
    like(err, r"\[emerg\] %s" % msg, "message: %s" % msg)

# Captures of a location regex (kept apart so that the matching order above
# is checked even without them).
t.write_conf(r"""
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_A%%;
        location / { return 200 "root"; }
        location ~ ^/(?<word>[a-z]+)/(\d+)\.cap$ { return 200 "cap $1 $2 $word"; }
        location ~* ^/CI/(.+)$ { return 200 "ci $1"; }
    }
}
""")
if t.try_start("named captures in a location regex"):
    for path, want, name in (
            ("/abc/42.cap", "cap abc 42 abc", "numbered and named captures"),
            ("/ci/Mixed", "ci Mixed", "a ~* regex capture keeps its case")):
        r = t.get(path)
        is_((r.status, r.body), (200, want),
            "%s -> %s: %s" % (path, want, name))
    t.stop()

t.check_error_log()
sys.exit(done())
