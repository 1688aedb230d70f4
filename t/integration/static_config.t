#!/usr/bin/env python3
# The static module's directives as -t sees them: what is accepted, and
# what is refused with nginx's words and the line.

import os
import re
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher()


def check(body, err_regex=None):
    """-t on a server block holding body (its first line is line 4)."""
    t.write_file("usher.conf", "error_log error.log;\nevents { }\nhttp {\n"
                 "    access_log off;\n    server {\n        %s\n    }\n}\n"
                 % body, render=False)
    rc, out, err = t.run("-t")
    if err_regex is None:
        if not is_(rc, 0, "accepted: %s" % body):
            diag(err)
        return
    ok(rc == 1 and re.search(r"\[emerg\] %s in \S+usher.conf:6$" % err_regex,
                             err, re.M),
       "refused: %s" % body) or diag(err)


for good in (
        "location /a/ { alias /tmp/; }",
        "location ~ ^/r/(.*)$ { alias /tmp/$1; }",
        "location /a { alias html; }",
        "try_files $uri $uri/ /index.html;",
        "try_files $uri =404;",
        "location /t { try_files $uri @x; } location @x { }",
        "etag off;", "if_modified_since before;", "if_modified_since off;",
        "max_ranges 0;", "max_ranges 5;",
        "expires 30d;", "expires -1h;", "expires +1h;", "expires epoch;",
        "expires max;", "expires off;", "expires modified 24h;",
        "expires @15h30m;", "expires 0;",
        "disable_symlinks on;", "disable_symlinks off;",
        "disable_symlinks if_not_owner from=$document_root;",
        "disable_symlinks on from=/srv;",
        "open_file_cache max=1000 inactive=20s;", "open_file_cache off;",
        "open_file_cache_valid 30s;", "open_file_cache_min_uses 2;",
        "open_file_cache_errors on;", "sendfile_max_chunk 512k;"):
    check(good)

for bad, regex in (
        ("location @x { alias /tmp/; }",
         r'the "alias" directive cannot be used inside the named location'),
        ("location /a { root /x; alias /tmp/; }",
         r'"alias" directive is duplicate, "root" directive was specified '
         r'earlier'),
        ("location /a { alias /tmp/; root /x; }",
         r'"root" directive is duplicate, "alias" directive was specified '
         r'earlier'),
        ("location /a { alias /tmp/; alias /x; }",
         r'"alias" directive is duplicate'),
        ("alias /tmp/;", r'"alias" directive is not allowed here'),
        ("try_files a;",
         r'invalid number of arguments in "try_files" directive'),
        ("try_files a =abc;", r'invalid code "=abc"'),
        ("try_files a =1000;", r'invalid code "=1000"'),
        ("try_files a b; try_files c d;", r'"try_files" directive is duplicate'),
        ("expires 10x;", r'"expires" directive invalid value'),
        ("expires 1ms;", r'"expires" directive invalid value'),
        ("expires modified epoch;", r'"expires" directive invalid value'),
        ("expires foo bar;", r'"expires" directive invalid value'),
        ("expires @25h;", r'"expires" directive daily time value must be '
         r'less than 24 hours'),
        ("expires modified @1h;", r'"expires" directive daily time cannot be '
         r'used with "modified" parameter'),
        ("expires 1h; expires 2h;", r'"expires" directive is duplicate'),
        ("etag maybe;", r'invalid value "maybe" in "etag" directive, it must '
         r'be "on" or "off"'),
        ("if_modified_since foo;", r'invalid value "foo"'),
        ("max_ranges -1;", r'"max_ranges" directive invalid number'),
        ("disable_symlinks foo;", r'invalid parameter "foo"'),
        ("disable_symlinks on bar;", r'invalid parameter "bar"'),
        ("disable_symlinks off from=/x;",
         r'"from=" cannot be used with "off" parameter'),
        ("open_file_cache max=0;",
         r'invalid "open_file_cache" parameter "max=0"'),
        ("open_file_cache inactive=10s;",
         r'"open_file_cache" must have the "max" parameter')):
    check(bad, regex)

sys.exit(done())
