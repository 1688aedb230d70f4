#!/usr/bin/env python3
# A request whose URI a rewrite changed counts as internal, as in nginx: it
# may reach an `internal` location, which a client cannot reach directly.

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
        location /pub { rewrite ^ /int last; }
        location /brk { rewrite ^ /int break; return 200 "not here\n"; }
        location /int { internal; return 200 "internal ok\n"; }
    }
}
""")
t.start()
r = t.get("/pub")
is_((r.status, r.body), (200, "internal ok\n"),
    "rewrite ... last into an internal location is served")
is_(t.get("/int").status, 404, "the internal location itself: 404")
t.check_error_log()
sys.exit(done())
