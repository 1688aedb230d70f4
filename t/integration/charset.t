#!/usr/bin/env python3
# charset: "; charset=NAME" is added to the Content-Type of the types in
# charset_types (text/html, text/xml, text/plain, ... by default), never to
# other types, never twice; charset off turns it off; error pages get it
# too; a response that names its charset keeps it.  Recoding (a
# source_charset different from charset) needs a charset_map, which usher
# refuses at load instead of mislabelling.

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
        charset utf-8;
        location /plain { default_type text/plain; return 200 "x"; }
        location /bin   { default_type application/octet-stream;
                          return 200 "x"; }
        location /json  { default_type application/json;
                          charset_types application/json;
                          return 200 "x"; }
        location /off   { charset off; default_type text/plain;
                          return 200 "x"; }
        location /named { default_type "text/html; charset=koi8-r";
                          return 200 "x"; }
        location /star  { default_type image/png; charset_types *;
                          return 200 "x"; }
        location /nf    { return 404; }
    }
}
""")
t.start()


def ctype(path):
    return t.get(path).header("content-type")


is_(ctype("/plain"), "text/plain; charset=utf-8", "text/plain gets it")
is_(ctype("/bin"), "application/octet-stream", "an unlisted type does not")
is_(ctype("/json"), "application/json; charset=utf-8",
    "charset_types application/json")
is_(ctype("/off"), "text/plain", "charset off")
is_(ctype("/named"), "text/html; charset=koi8-r",
    "a type that names its charset keeps it")
is_(ctype("/star"), "image/png; charset=utf-8", "charset_types *")
is_(ctype("/nf"), "text/html; charset=utf-8", "error pages get it too")
t.stop()

bad = Usher(r"""
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
        charset utf-8;
        source_charset koi8-r;
        location / { return 200 "x"; }
    }
}
""")
rc, out, err = bad.run("-t")
if FLAVOR == "nginx":
    # nginx accepts it and fails per request without a charset_map
    skip("nginx checks the missing charset_map only at run time")
else:
    ok(rc == 1 and "koi8-r" in err, "recoding without a charset_map: "
       "refused at load, naming the charsets")
t.check_error_log()
sys.exit(done())
