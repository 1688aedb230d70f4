#!/usr/bin/env python3
# The command line: -v -V -h -t -T -q -g -s -p -c -e, and the messages of
# "-t" for good and bad configurations (nginx's wording, file and line).

import os
import re
import sys

sys.path.insert(0, os.environ.get("TEST_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from usher_test import *  # noqa: E402,F401,F403

require_binary()

t = Usher()
N = t.name
P = t.prefix
CONF = P + "/usher.conf"

GOOD = """\
events { }
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
        return 200 "good\\n";
    }
}
"""

# -- version and help

rc, out, err = t.run("-v", std=False)
is_(rc, 0, "-v exits 0")
like(err, r"^%s version: \S+" % N, "-v prints 'NAME version: ...' to stderr")
unlike(err, r"configure arguments", "-v does not print configure arguments")

rc, out, err = t.run("-V", std=False)
is_(rc, 0, "-V exits 0")
like(err, r"^%s version: \S+" % N, "-V prints the version")
like(err, r"^configure arguments:", "-V prints the configure arguments")
if usher_only("nginx's -V lists its real configure arguments"):
    like(err, r"^nginx modules: .*--without-http_autoindex_module",
         "-V names the nginx modules usher lacks, in configure's words")
    unlike(err, r"--without-http_(rewrite|map|geo|proxy|charset|gzip|access)"
           r"_module",
           "... and not those it has")

rc, out, err = t.run("-h", std=False)
is_(rc, 0, "-h exits 0")
text = out + err
missing = [o for o in ("-h", "-v", "-V", "-t", "-T", "-q", "-s", "-p", "-e",
                       "-c", "-g")
           if not re.search(r"(^|[\s,\[])%s\b" % re.escape(o), text, re.M)]
is_(missing, [], "-h lists the options")
ok(all(w in text for w in ("stop", "quit", "reopen", "reload")),
   "-h names the signals of -s")

rc, out, err = t.run("-x", std=False)
is_(rc, 1, "an unknown option exits 1")
like(err, r'^%s: invalid option: "x"' % N, "an unknown option is named")

# -- -t on a good configuration

t.write_conf(GOOD)
rc, out, err = t.run("-t")
is_(rc, 0, "-t on a good configuration exits 0")
like(err, r"^%s: the configuration file %s syntax is ok$" % (N, CONF),
     "-t: syntax is ok")
like(err, r"^%s: configuration file %s test is successful$" % (N, CONF),
     "-t: test is successful")

rc, out, err = t.run("-t", "-q")
is_(rc, 0, "-t -q exits 0")
is_(err + out, "", "-t -q prints nothing for a good configuration")

# -- -t on bad configurations: (name, config, message, line)

BAD = [
    ("unknown directive",
     "events { }\nfoo bar;\n",
     r'unknown directive "foo"', 2),
    ("directive not allowed here",
     "events { }\nhttp {\n    listen 80;\n}\n",
     r'"listen" directive is not allowed here', 3),
    ("wrong number of arguments",
     "events { }\nhttp {\n    root;\n}\n",
     r'invalid number of arguments in "root" directive', 3),
    ("too many arguments",
     "events { }\nhttp {\n    root /a /b;\n}\n",
     r'invalid number of arguments in "root" directive', 3),
    ("a number that is not one",
     "events { }\nhttp {\n    keepalive_requests abc;\n}\n",
     r'"keepalive_requests" directive invalid number', 3),
    ("worker_processes x",
     "events { }\nworker_processes x;\n",
     r'"worker_processes" directive invalid value', 2),
    ("a flag that is neither on nor off",
     "events { }\nhttp {\n    sendfile maybe;\n}\n",
     r'invalid value "maybe" in "sendfile" directive, it must be "on" or "off"',
     3),
    ("duplicate directive",
     "events { }\nhttp {\n    root /a;\n    root /b;\n}\n",
     r'"root" directive is duplicate', 4),
    ("unexpected closing brace",
     "events { }\nhttp {\n}\n}\n",
     r'unexpected "}"', 4),
    ("unexpected end of file in a block",
     "events { }\nhttp {\n    server {\n    }\n",
     r'unexpected end of file, expecting "}"', 5),  # the line after the last
    ("unterminated quote",
     'events { }\nhttp {\n    default_type "text/plain;\n}\n',
     r'unexpected end of file, expecting ";" or "}"', 5),
    ("directive without a semicolon at the end",
     "events { }\nworker_processes 1",
     r'unexpected end of file, expecting ";" or "}"', 2),
    ("block directive without a block",
     "events { }\nhttp;\n",
     r'directive "http" has no opening "{"', 2),
    ("include of a missing file",
     "events { }\ninclude missing.conf;\n",
     r'open\(\) "%s/missing.conf" failed \(2: No such file or directory\)'
     % P, 2),
    ("duplicate location",
     "events { }\nhttp {\n    server {\n        location / { }\n"
     "        location / { }\n    }\n}\n",
     r'duplicate location "/"', 5),
    ("no events section",
     "http { }\n",
     r'no "events" section in configuration', None),
]

for name, conf, msg, line in BAD:
    t.write_file("usher.conf", conf, render=False)
    rc, out, err = t.run("-t")
    is_(rc, 1, "-t %s: exits 1" % name)
    where = r" in %s:%d$" % (CONF, line) if line else "$"
    like(err, r"^%s: \[emerg\] %s%s" % (N, msg, where),
         "-t %s: [emerg] message with file and line" % name)
    like(err, r"^%s: configuration file %s test failed$" % (N, CONF),
         "-t %s: test failed" % name)

# The same error with -q is still printed.
t.write_file("usher.conf", BAD[0][1], render=False)
rc, out, err = t.run("-t", "-q")
is_(rc, 1, "-t -q on a bad configuration exits 1")
like(err, r'\[emerg\] unknown directive "foo"', "-t -q still prints errors")

# An error in an included file names that file and its line.
t.write_file("inc/bad.conf", "\n\nbogus_directive on;\n", render=False)
t.write_file("usher.conf", "events { }\ninclude inc/bad.conf;\n",
             render=False)
rc, out, err = t.run("-t")
is_(rc, 1, "-t with an error in an included file exits 1")
like(err, r'\[emerg\] unknown directive "bogus_directive" in %s/inc/bad.conf:3$'
     % P, "the error names the included file and its line")

# -- includes with globs

t.write_conf("""\
events { }
include nothing/*.conf;
http {
    include servers/*.conf;
}
""")
t.write_file("servers/one.conf", """\
server {
    listen 127.0.0.1:%%PORT_ONE%%;
    return 200 "one\\n";
}
""")
t.write_file("servers/two.conf", """\
server {
    listen 127.0.0.1:%%PORT_TWO%%;
    return 200 "two\\n";
}
""")
rc, out, err = t.run("-t")
is_(rc, 0, "-t: a glob include matching nothing is fine")

rc, out, err = t.run("-T")
is_(rc, 0, "-T exits 0")
like(out, r"^# configuration file %s:$" % CONF, "-T dumps the main file")
like(out, r"^# configuration file %s/servers/one.conf:$" % P,
     "-T dumps the first included file")
like(out, r"^# configuration file %s/servers/two.conf:$" % P,
     "-T dumps the second included file")
like(out, r'^    return 200 "two\\n";$', "-T dumps the files' text as is")
ok(out.index("one.conf:") < out.index("two.conf:"),
   "-T dumps included files in glob (sorted) order")
like(err, r"test is successful", "-T also tests the configuration")

# Both files of the glob are used: a server on each port.
t.start()
is_(t.get("/", port="ONE").body, "one\n", "glob include: first file used")
is_(t.get("/", port="TWO").body, "two\n", "glob include: second file used")
ok(t.stop(), "stopped with TERM")

# -- -g

t.write_conf(GOOD)
rc, out, err = t.run("-t", "-g", "worker_processes 2;")
is_(rc, 0, "-g 'worker_processes 2;' is accepted")
t.start(args=("-g", "worker_processes 2;"))
is_(len(t.wait_workers(2)), 2, "-g 'worker_processes 2;' gives 2 workers")
is_(t.get("/").body, "good\n", "served with -g")
ok(t.stop(), "stopped with TERM")

t.write_conf("worker_processes 1;\n" + GOOD)
rc, out, err = t.run("-t", "-g", "worker_processes 2;")
is_(rc, 1, "-g with a directive also in the file exits 1")
like(err, r'\[emerg\] "worker_processes" directive is duplicate in %s:1$'
     % CONF, "-g with a directive also in the file: is duplicate")

# -- -s without a running master

t.write_conf(GOOD)
rc, out, err = t.run("-s", "reload")
is_(rc, 1, "-s reload with no pid file exits 1")
like(err, r"^%s: \[error\] .*%s" % (N, t.pid_file),
     "-s reload with no pid file names the pid file")

rc, out, err = t.run("-s", "bogus")
is_(rc, 1, "-s with an unknown signal exits 1")
like(err, r'invalid option: "-s bogus"', "-s with an unknown signal is named")

# -- -p, -c and -e: relative names resolve against the prefix

t.write_file("sub/x.conf", """\
events { }
include inc.conf;
""")
t.write_file("sub/inc.conf", """\
http {
    server {
        listen 127.0.0.1:%%PORT_A%%;
    }
}
""")
rc, out, err = t.run("-p", P + "/", "-c", "sub/x.conf", "-e", "sub/err.log",
                     "-t", std=False, cwd="/")
is_(rc, 0, "-c relative to -p (cwd is elsewhere)")
like(err, r"the configuration file %s/sub/x.conf syntax is ok" % P,
     "-c relative: the full name is reported")
ok(os.path.exists(P + "/sub/err.log"), "-e relative to -p")

t.write_file("sub/inc.conf", "bad_one;\n")
t.write_file("inc.conf", "http { }\n")
rc, out, err = t.run("-p", P + "/", "-c", "sub/x.conf", "-e", "sub/err.log",
                     "-t", std=False, cwd="/")
like(err, r'unknown directive "bad_one" in %s/sub/inc.conf:1' % P,
     "include resolves against the configuration file's directory")

rc, out, err = t.run("-p", P + "/", "-c", "sub/none.conf", "-t", std=False,
                     cwd="/")
is_(rc, 1, "-c with a missing file exits 1")
like(err, r'open\(\) "%s/sub/none.conf" failed' % P,
     "-c with a missing file names it")

t.check_error_log()
sys.exit(done())
