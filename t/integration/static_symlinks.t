#!/usr/bin/env python3
# disable_symlinks: off follows links; on refuses a link anywhere in the
# path (403); if_not_owner allows a link owned by its target's owner;
# from= leaves the start of the path unchecked.

import os
import re
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
        root %%TESTDIR%%/html;

        location /on/ { disable_symlinks on; }
        location /owner/ { disable_symlinks if_not_owner; }
        location /tf/ { disable_symlinks on; try_files $uri =404; }
    }

    server {
        listen 127.0.0.1:%%PORT_VIA%%;
        root %%TESTDIR%%/via;
        disable_symlinks on;
        location /from/ { disable_symlinks on from=$document_root; }
        location /fromlit/ { disable_symlinks on from=%%TESTDIR%%/via; }
    }
}
""")
for d in ("off", "on", "owner", "tf"):
    t.write_file("html/%s/real.txt" % d, "real %s\n" % d)
    t.write_file("html/%s/realdir/f.txt" % d, "in realdir %s\n" % d)
    t.write_file("html/%s/realdir/index.html" % d, "realdir index %s\n" % d)
    os.symlink("real.txt", t.path("html/%s/link.txt" % d))
    os.symlink("realdir", t.path("html/%s/linkdir" % d))
t.write_file("html/from/f.txt", "from f\n")
t.write_file("html/fromlit/f.txt", "fromlit f\n")
t.write_file("html/plain.txt", "plain\n")
os.symlink("html", t.path("via"))
root = os.geteuid() == 0
if root:
    t.write_file("html/owner/nobody.txt", "owned by nobody\n")
    os.chown(t.path("html/owner/nobody.txt"), 65534, 65534)
    os.symlink("nobody.txt", t.path("html/owner/link-nobody.txt"))
t.start()

# off: links are followed
for path, want in (("/off/link.txt", "real off\n"),
                   ("/off/linkdir/f.txt", "in realdir off\n"),
                   ("/off/linkdir/", "realdir index off\n")):
    r = t.get(path)
    is_((r.status, r.body), (200, want), "disable_symlinks off: %s" % path)

# on
r = t.get("/on/real.txt")
is_((r.status, r.body), (200, "real on\n"), "on: a plain file is served")
r = t.get("/on/realdir/f.txt")
is_((r.status, r.body), (200, "in realdir on\n"),
    "on: a plain directory on the way")
mark = len(t.error_log())
r = t.get("/on/link.txt")
is_(r.status, 403, "on: a link to a file is refused with 403")
like(t.error_log()[mark:], r'\[error\] .*"%s/html/on/link.txt" failed '
     r'\(40: Too many levels of symbolic links\)' % re.escape(t.prefix),
     "on: the refusal is logged")
r = t.get("/on/linkdir")
is_(r.status, 403, "on: a link to a directory is refused")
for path in ("/on/linkdir/f.txt", "/on/linkdir/"):
    r = t.get(path)
    # nginx says 404 (ENOTDIR from O_DIRECTORY|O_NOFOLLOW) for a link
    # in the middle of the path; usher says what it is
    ok(r.status in (403, 404) and "realdir" not in r.body,
       "on: a link on the way is refused: %s" % path)
    if usher_only("nginx answers 404 for a link in the middle"):
        is_(r.status, 403, "on: %s is 403" % path)
r = t.get("/tf/link.txt")
is_(r.status, 404, "on: try_files does not take a link")
r = t.get("/tf/real.txt")
is_((r.status, r.body), (200, "real tf\n"), "on: try_files takes a file")

# if_not_owner
r = t.get("/owner/link.txt")
is_((r.status, r.body), (200, "real owner\n"),
    "if_not_owner: a link with its target's owner is followed")
r = t.get("/owner/linkdir/f.txt")
is_((r.status, r.body), (200, "in realdir owner\n"),
    "if_not_owner: the same for a directory")
if root:
    r = t.get("/owner/link-nobody.txt")
    is_(r.status, 403, "if_not_owner: a link to another owner's file: 403")
else:
    skip("not root: cannot give a file to another owner")

# from=: the root reached through a link
r = t.get("/plain.txt", port="VIA")
ok(r.status in (403, 404) and r.body != "plain\n",
   "on: a link above the root is refused too (checked from /)")
if usher_only("nginx answers 404 for a link in the middle"):
    is_(r.status, 403, "on: a link above the root: 403")
r = t.get("/from/f.txt", port="VIA")
is_((r.status, r.body), (200, "from f\n"),
    "from=$document_root: the root's own path is not checked")
r = t.get("/fromlit/f.txt", port="VIA")
is_((r.status, r.body), (200, "fromlit f\n"),
    "from=PATH: that part is not checked")

t.stop()
# nginx logs try_files' refusal of a link at crit
t.check_error_log(allow=r"\[crit\] .*openat\(\) \".*/tf/link.txt\" failed "
                  r"\(40: " if t.flavor == "nginx" else None)
sys.exit(done())
