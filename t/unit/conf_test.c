/*
 * Tests of common/conf.c and common/conf_set.c, the configuration engine:
 * the tokenizer, the tree with includes expanded, dispatch through a small
 * directive table of the test's own, the generic value parsers, and every
 * [emerg] message with its file and line, read back from a log file.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "t/unit/tap.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/pool.h"

#define PREFIX	"/usr/local/usher/"

/* What the test table's directives write. */
struct tconf {
	int		 flag, num, bounded, en, bits;
	size_t		 size;
	int64_t		 off, msec, sec;
	struct str	 str;
	char		*path;
	int		 blocks;
};

static char			 dir[] = "/tmp/usher_conf_testXXXXXX";
static char			 main_path[256];
static struct log_target	 target;
static struct pool		*pool;
static struct conf		 cf;
static struct conf_node		 root;
static struct tconf		 tc;

/* What "rec" and "blk" saw, one line per directive. */
static char			 rec[16384];
static size_t			 reclen;

static void
rec_add(const char *s, size_t len)
{
	if (reclen + len >= sizeof(rec))
		abort();
	memcpy(rec + reclen, s, len);
	reclen += len;
	rec[reclen] = '\0';
}

/* "name|arg|\"quoted arg@file:line", file as its last component. */
static void
rec_node(const struct conf_node *n, const char *tag)
{
	char	pos[64];
	size_t	i;

	if (tag != NULL)
		rec_add(tag, strlen(tag));
	for (i = 0; i < n->nargs; i++) {
		if (i > 0)
			rec_add("|", 1);
		if (n->quoted[i])
			rec_add("\"", 1);
		rec_add(n->args[i].data, n->args[i].len);
	}
	snprintf(pos, sizeof(pos), "@%s:%u", n->file == NULL ? "-" :
	    strrchr(n->file, '/') + 1, n->line);
	rec_add(pos, strlen(pos));
}

static int
set_rec(struct conf *c, const struct conf_cmd *cmd, void *field)
{
	rec_node(c->node, cmd->extra);
	rec_add("\n", 1);
	return 0;
}

static int
set_blk(struct conf *c, const struct conf_cmd *cmd, void *field)
{
	int	rc;

	tc.blocks++;
	rec_node(c->node, NULL);
	rec_add("{\n", 2);
	rc = conf_run_block(c, c->node, CONF_HTTP);
	rec_add("}\n", 2);
	return rc;
}

static const struct conf_bounds	bounds_1_10 = { 1, 10 };
static const struct conf_enum	enum_vals[] = {
	{ "one", 1 }, { "two", 2 }, { NULL, 0 }
};
static const struct conf_enum	bit_vals[] = {
	{ "a", 1 }, { "b", 2 }, { "c", 4 }, { NULL, 0 }
};

#define BOTH		(CONF_MAIN | CONF_HTTP)
#define ANYARGS		CONF_ARGS(0, 255)
#define FIELD(f)	CONF_SLOT_MAIN, offsetof(struct tconf, f)

static const struct conf_cmd	cmds[] = {
	{ "flag", BOTH, CONF_FLAG, conf_set_flag, FIELD(flag), NULL },
	{ "int", BOTH, CONF_ARGS(1, 1), conf_set_int, FIELD(num), NULL },
	{ "bounded", BOTH, CONF_ARGS(1, 1), conf_set_int, FIELD(bounded),
	    &bounds_1_10 },
	{ "size", BOTH, CONF_ARGS(1, 1), conf_set_size, FIELD(size), NULL },
	{ "off", BOTH, CONF_ARGS(1, 1), conf_set_off, FIELD(off), NULL },
	{ "msec", BOTH, CONF_ARGS(1, 1), conf_set_msec, FIELD(msec), NULL },
	{ "sec", BOTH, CONF_ARGS(1, 1), conf_set_sec, FIELD(sec), NULL },
	{ "str", BOTH, CONF_ARGS(1, 1), conf_set_str, FIELD(str), NULL },
	{ "path", BOTH, CONF_ARGS(1, 1), conf_set_path, FIELD(path), NULL },
	{ "enum", BOTH, CONF_ARGS(1, 1), conf_set_enum, FIELD(en), enum_vals },
	{ "bits", BOTH, CONF_ARGS_MIN(1), conf_set_bitmask, FIELD(bits),
	    bit_vals },
	{ "rec", BOTH, ANYARGS, set_rec, CONF_SLOT_NONE, 0, NULL },
	{ "blk", CONF_MAIN, CONF_BLOCK | CONF_ARGS(0, 1), set_blk,
	    CONF_SLOT_NONE, 0, NULL },
	{ "inner", CONF_HTTP, ANYARGS, set_rec, CONF_SLOT_NONE, 0, NULL },
	{ "main_only", CONF_MAIN, ANYARGS, set_rec, CONF_SLOT_NONE, 0, NULL },
	{ "dual", CONF_HTTP, ANYARGS, set_rec, CONF_SLOT_NONE, 0, NULL },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

/* A second table: "dual" in the main context comes from here. */
static const struct conf_cmd	cmds2[] = {
	{ "dual", CONF_MAIN, ANYARGS, set_rec, CONF_SLOT_NONE, 0, "t2:" },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

static const struct conf_cmd *const	tables[] = { cmds, cmds2, NULL };

/* s with every "%D" replaced by the temporary directory. */
static const char *
D(const char *s)
{
	static char	 bufs[4][2048];
	static int	 next;
	char		*b = bufs[next++ % 4], *o = b;
	size_t		 dlen = strlen(dir);

	while (*s != '\0') {
		if (s[0] == '%' && s[1] == 'D') {
			memcpy(o, dir, dlen);
			o += dlen;
			s += 2;
		} else
			*o++ = *s++;
		if (o > b + sizeof(bufs[0]) - dlen - 2)
			abort();
	}
	*o = '\0';
	return b;
}

/* Writes a file under the temporary directory. */
static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
subdir(const char *name)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir(path, 0755) == -1) {
		perror(path);
		exit(2);
	}
}

static void
tc_reset(void)
{
	memset(&tc, 0, sizeof(tc));
	tc.flag = tc.num = tc.bounded = tc.en = tc.bits = CONF_UNSET;
	tc.size = CONF_UNSET_SIZE;
	tc.off = tc.msec = tc.sec = CONF_UNSET_MSEC;
}

static void
unload(void)
{
	if (pool == NULL)
		return;
	if (cf.temp != NULL)
		pool_destroy(cf.temp);
	pool_destroy(pool);
	pool = NULL;
}

/*
 * Writes text as the main file, then reads it (after the -g style globals
 * when not NULL) and runs it in the main context: 0 or -1.  What was set
 * stays readable until the next load().
 */
static int
load(const char *globals, const char *text)
{
	unload();
	put("a.conf", text);
	if (ftruncate(target.fd, 0) == -1)
		exit(2);
	reclen = 0;
	rec[0] = '\0';
	tc_reset();
	if ((pool = pool_create(4096)) == NULL ||
	    conf_init(&cf, pool, PREFIX, main_path, tables) == -1)
		exit(2);
	cf.slots[CONF_SLOT_MAIN] = &tc;
	if (conf_read(&cf, globals, &root) == -1)
		return -1;
	return conf_run_block(&cf, &root, CONF_MAIN);
}

/*
 * The messages logged since the last load(), one a line without the time
 * and pid; a level other than emerg is shown as "[level] ".
 */
static const char *
logged(void)
{
	static char	 buf[16384], out[16384];
	char		*line, *next, *lvl, *msg;
	size_t		 olen = 0;
	ssize_t		 n;

	if ((n = pread(target.fd, buf, sizeof(buf) - 1, 0)) < 0)
		n = 0;
	buf[n] = '\0';
	out[0] = '\0';
	for (line = buf; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			next = line + strlen(line);
		else
			*next++ = '\0';
		lvl = strstr(line, " [");
		msg = strstr(line, "#0: ");
		if (lvl == NULL || msg == NULL) {
			olen += (size_t)snprintf(out + olen, sizeof(out) - olen,
			    "%s(unparsed: %s)", olen ? "\n" : "", line);
			continue;
		}
		olen += (size_t)snprintf(out + olen, sizeof(out) - olen,
		    "%s%s%s", olen ? "\n" : "",
		    strncmp(lvl, " [emerg] ", 9) == 0 ? "" : lvl + 1, msg + 4);
		if (olen >= sizeof(out))
			abort();
	}
	return out;
}

/* The text is refused with exactly the message want (after D()). */
static void
fails_g(const char *globals, const char *text, const char *want,
    const char *name)
{
	is_int(load(globals, text), -1, "%s: refused", name);
	is_str(logged(), D(want), "%s: message", name);
}

static void
fails(const char *text, const char *want, const char *name)
{
	fails_g(NULL, text, want, name);
}

/* The text is accepted, nothing is logged, and "rec" saw want. */
static void
reads_g(const char *globals, const char *text, const char *want,
    const char *name)
{
	is_int(load(globals, text), 0, "%s: accepted", name);
	is_str(logged(), "", "%s: nothing logged", name);
	is_str(rec, want, "%s: directives", name);
}

static void
reads(const char *text, const char *want, const char *name)
{
	reads_g(NULL, text, want, name);
}

/* The text is accepted and leaves tc.field == want. */
#define VALUE(text, field, want) do {					\
	int	rc_ = load(NULL, (text));				\
									\
	if (rc_ != 0)							\
		printf("#   %s\n", logged());			\
	is_int(rc_ == 0 ? (long long)tc.field : -99999LL, (want),	\
	    "%s", (text));						\
} while (0)


static void
test_tokens(void)
{
	int	rc;

	reads("rec a b c;", "rec|a|b|c@a.conf:1\n", "bare words");
	reads("rec;", "rec@a.conf:1\n", "no arguments");
	reads("  rec\ta\t b ;  ", "rec|a|b@a.conf:1\n", "spaces and tabs");
	reads("rec \"a\\\"b\" 'c\\'d' \"e\\\\f\" \"g\\nh\" \"i\\tj\" "
	    "\"k\\rl\" \"m\\xn\";",
	    "rec|\"a\"b|\"c'd|\"e\\f|\"g\nh|\"i\tj|\"k\rl|\"m\\xn@a.conf:1\n",
	    "escapes in quoted strings; others are kept");
	reads("rec 'a \"b\" c' \"d 'e'\";",
	    "rec|\"a \"b\" c|\"d 'e'@a.conf:1\n",
	    "single quotes hold double quotes and the reverse");
	reads("rec \"\" '';", "rec|\"|\"@a.conf:1\n", "empty quoted strings");
	reads("rec \"a;b{c}d#e\";", "rec|\"a;b{c}d#e@a.conf:1\n",
	    "; { } # inside quotes");
	reads("rec \"a\"\t\"b\";rec 'c';", "rec|\"a|\"b@a.conf:1\n"
	    "rec|\"c@a.conf:1\n", "a quote followed by a space or ;");
	reads("rec a\\\"b c\\\\d e\\;f;", "rec|a\"b|c\\d|e\\;f@a.conf:1\n",
	    "escapes in bare words; \\; does not end the word");
	reads("rec ~ \\.php$ ^/a\\d+\\.(gif|jpg)$;",
	    "rec|~|\\.php$|^/a\\d+\\.(gif|jpg)$@a.conf:1\n",
	    "a regex keeps its backslashes");
	reads("rec a\\ b;", "rec|a\\ b@a.conf:1\n",
	    "an escaped space stays in the word");
	reads("rec a${b}c ${x}/y $z;", "rec|a${b}c|${x}/y|$z@a.conf:1\n",
	    "${var} does not break a bare word at {");
	reads("blk ${x}{ rec; }", "blk|${x}@a.conf:1{\nrec@a.conf:1\n}\n",
	    "{ after ${x} opens the block");
	reads("rec a}b;", "rec|a}b@a.conf:1\n", "} inside a bare word");
	reads("# first\nrec a; # trailing ; { } \"\n  # indented\n"
	    "rec b;#tight\nrec c#d;\n#last",
	    "rec|a@a.conf:2\nrec|b@a.conf:4\nrec|c#d@a.conf:5\n",
	    "comments; # inside a word is not one");
	reads("rec\n  a\n  # mid\n  b\n;\nrec c;\n",
	    "rec|a|b@a.conf:5\nrec|c@a.conf:6\n",
	    "a directive is at the line of its ;");
	reads("rec \"1\n2\n3\";\nrec x;\n",
	    "rec|\"1\n2\n3@a.conf:3\nrec|x@a.conf:4\n",
	    "lines counted inside a quoted string");
	reads("rec \"a\\\nb\";\nrec x;\n",
	    "rec|\"a\\\nb@a.conf:2\nrec|x@a.conf:3\n",
	    "an escaped newline in quotes is kept and counted");
	reads("rec a;\r\nrec b;\r\n", "rec|a@a.conf:1\nrec|b@a.conf:2\n",
	    "CRLF lines");
	reads("", "", "an empty file");
	reads("\n# only a comment\n", "", "a file of comments");

	fails("rec \"a\"b;", "unexpected \"b\" in %D/a.conf:1",
	    "a quote followed by a letter");
	fails("\nrec 'a'\"b\";", "unexpected \"\"\" in %D/a.conf:2",
	    "a quote followed by a quote");
	fails("blk { rec \"a\"}", "unexpected \"}\" in %D/a.conf:1",
	    "a quote followed by }");

	/* Known bugs of the tokenizer. */
	load(NULL, "rec a\\\nb;\nrec c;\n");
	ok(strcmp(rec, "rec|a\\\nb@a.conf:2\nrec|c@a.conf:3\n") == 0,
	    "an escaped newline in a bare word is counted (got lines %u, %u)",
	    root.children[0].line, root.children[1].line);
	ok(load(NULL, "rec a\\\nb;\nfoo;\n") == -1 && strcmp(logged(),
	    D("unknown directive \"foo\" in %D/a.conf:3")) == 0,
	    "so an error after one is at the right line");
	rc = load(NULL, "rec a;\n\"abc;\nrec b;\n");
	ok(rc == -1 && strcmp(logged(), D("unexpected end of file, "
	    "expecting \";\" or \"}\" in %D/a.conf:4")) == 0,
	    "an unterminated quoted string as the first word is an error "
	    "(got %d; what followed it was dropped: %s)", rc,
	    strcmp(rec, "rec|a@a.conf:1\n") == 0 ? "yes" : "no");
}

static void
test_structure(void)
{
	char	text[2048];
	size_t	i;

	fails("rec a; }", "unexpected \"}\" in %D/a.conf:1", "} at the top");
	fails("blk { rec a }", "unexpected \"}\" in %D/a.conf:1",
	    "} ends a directive");
	fails("rec a;\n;", "unexpected \";\" in %D/a.conf:2", "; alone");
	fails("rec a;;", "unexpected \";\" in %D/a.conf:1", ";;");
	fails("{ rec; }", "unexpected \"{\" in %D/a.conf:1", "{ without a name");
	fails("blk {\nrec a;\n", "unexpected end of file, expecting \"}\" in "
	    "%D/a.conf:3", "unterminated block");
	fails("blk {\nblk {\n}", "unexpected end of file, expecting \"}\" in "
	    "%D/a.conf:3", "unterminated outer block");
	fails("rec a;\nrec b", "unexpected end of file, expecting \";\" or "
	    "\"}\" in %D/a.conf:2", "unterminated directive");
	fails("rec \"abc;\n", "unexpected end of file, expecting \";\" or "
	    "\"}\" in %D/a.conf:2", "unterminated quoted string");
	fails("rec 'abc\n\n", "unexpected end of file, expecting \";\" or "
	    "\"}\" in %D/a.conf:3", "unterminated single-quoted string");
	fails("blk;", "directive \"blk\" has no opening \"{\" in %D/a.conf:1",
	    "block directive with ;");
	fails("\nrec a {\n}", "directive \"rec\" is not terminated by \";\" "
	    "in %D/a.conf:2", "plain directive with a block");
	fails("\n\nfoo;", "unknown directive \"foo\" in %D/a.conf:3",
	    "unknown directive");
	fails("REC;", "unknown directive \"REC\" in %D/a.conf:1",
	    "names are case-sensitive");
	fails("blk {\n  rec a;\n  foo;\n}", "unknown directive \"foo\" in "
	    "%D/a.conf:3", "unknown directive in a block");
	fails("inner;", "\"inner\" directive is not allowed here in "
	    "%D/a.conf:1", "block-only directive at the top");
	fails("blk {\n main_only;\n}", "\"main_only\" directive is not "
	    "allowed here in %D/a.conf:2", "top-only directive in a block");
	fails("blk {\n  blk { }\n}", "\"blk\" directive is not allowed here "
	    "in %D/a.conf:2", "nested block");
	fails("blk { inner; }\ninner;", "\"inner\" directive is not allowed "
	    "here in %D/a.conf:2", "the context is restored after a block");
	fails("flag;", "invalid number of arguments in \"flag\" directive in "
	    "%D/a.conf:1", "too few arguments");
	fails("flag on off;", "invalid number of arguments in \"flag\" "
	    "directive in %D/a.conf:1", "too many arguments");
	fails("blk a b { }", "invalid number of arguments in \"blk\" "
	    "directive in %D/a.conf:1", "too many arguments to a block");
	fails("rec a;\nfoo;\nbar;", "unknown directive \"foo\" in "
	    "%D/a.conf:2", "the first error stops the run");

	reads("blk {\n inner x;\n}\nblk y { }\nblk {}",
	    "blk@a.conf:1{\ninner|x@a.conf:2\n}\nblk|y@a.conf:4{\n}\n"
	    "blk@a.conf:5{\n}\n", "blocks");
	is_int(tc.blocks, 3, "three blocks run");
	is_int(cf.where, 0, "conf_run_block restores the context");
	reads("dual a;\nblk { dual b; }",
	    "t2:dual|a@a.conf:1\nblk@a.conf:2{\ndual|b@a.conf:2\n}\n",
	    "a name in two tables: each where it is allowed");

	/* 254 arguments are read; 255 are too many for the reader */
	strcpy(text, "rec");
	for (i = 0; i < 254; i++)
		strcat(text, " a");
	strcat(text, ";");
	is_int(load(NULL, text), 0, "254 arguments");
	is_int(root.nchildren == 1 ? root.children[0].nargs : 0, 255,
	    "name and 254 arguments in the tree");
	strcpy(text + strlen(text) - 1, " a;");
	fails(text, "too many arguments in %D/a.conf:1", "255 arguments");
}

static void
test_tree(void)
{
	const struct conf_node	*n;

	is_int(load(NULL, "rec 'a' b;\nblk x {\n  inner;\n  blk2;\n}\n"), -1,
	    "the tree is read before anything runs");
	is_str(rec, "rec|\"a|b@a.conf:1\nblk|x@a.conf:2{\ninner@a.conf:3\n}\n",
	    "the run stops at blk2");
	is_str(logged(), D("unknown directive \"blk2\" in %D/a.conf:4"),
	    "blk2 is unknown");
	ok(root.block && root.nchildren == 2, "root has two children");
	n = &root.children[0];
	ok(n->nargs == 3 && !n->block && n->nchildren == 0 && n->quoted[1] &&
	    !n->quoted[2] && n->args[1].len == 1 && n->args[1].data[1] == '\0',
	    "rec: args, quoted flags, NUL-terminated");
	is_str(n->file, main_path, "the node names its file");
	n = &root.children[1];
	ok(n->nargs == 2 && n->block && n->nchildren == 2 && n->line == 2 &&
	    n->children[1].line == 4, "blk: a block of two");
	is_int(cf.files.n, 1, "one file read");
	is_str(ARRAY_AT(&cf.files, struct conf_file, 0)->text,
	    "rec 'a' b;\nblk x {\n  inner;\n  blk2;\n}\n",
	    "its text is kept for -T");
}

static void
test_flag_int(void)
{
	VALUE("flag on;", flag, 1);
	VALUE("flag off;", flag, 0);
	VALUE("flag ON;", flag, 1);
	VALUE("flag Off;", flag, 0);
	VALUE("flag \"on\";", flag, 1);
	fails("flag maybe;", "invalid value \"maybe\" in \"flag\" directive, "
	    "it must be \"on\" or \"off\" in %D/a.conf:1", "flag maybe");
	fails("flag '';", "invalid value \"\" in \"flag\" directive, "
	    "it must be \"on\" or \"off\" in %D/a.conf:1", "flag empty");
	fails("flag on;\nflag off;", "\"flag\" directive is duplicate in "
	    "%D/a.conf:2", "flag twice");
	fails("flag on;\nblk {\n flag on;\n}", "\"flag\" directive is "
	    "duplicate in %D/a.conf:3", "flag twice, once in a block");

	VALUE("int 0;", num, 0);
	VALUE("int 42;", num, 42);
	VALUE("int 2147483647;", num, 2147483647);
	fails("int 2147483648;", "\"int\" directive invalid number in "
	    "%D/a.conf:1", "int over INT_MAX");
	fails("int -1;", "\"int\" directive invalid number in %D/a.conf:1",
	    "int -1");
	fails("int 1k;", "\"int\" directive invalid number in %D/a.conf:1",
	    "int 1k");
	fails("int \"\";", "\"int\" directive invalid number in %D/a.conf:1",
	    "int empty");
	fails("int 1;int 1;", "\"int\" directive is duplicate in %D/a.conf:1",
	    "int twice");
	VALUE("bounded 1;", bounded, 1);
	VALUE("bounded 10;", bounded, 10);
	fails("bounded 0;", "\"bounded\" must be between 1 and 10 in "
	    "%D/a.conf:1", "below the bounds");
	fails("bounded 11;", "\"bounded\" must be between 1 and 10 in "
	    "%D/a.conf:1", "above the bounds");
	fails("bounded x;", "\"bounded\" directive invalid number in "
	    "%D/a.conf:1", "bounded, not a number");
}

static void
test_size_time(void)
{
	VALUE("size 10;", size, 10);
	VALUE("size 10k;", size, 10240);
	VALUE("size 10K;", size, 10240);
	VALUE("size 1m;", size, 1048576);
	VALUE("size 1g;", size, 1073741824);
	VALUE("size 0;", size, 0);
	fails("size 1.5m;", "\"size\" directive invalid value in %D/a.conf:1",
	    "size 1.5m");
	fails("size 1kb;", "\"size\" directive invalid value in %D/a.conf:1",
	    "size 1kb");
	fails("size -1;", "\"size\" directive invalid value in %D/a.conf:1",
	    "size -1");
	fails("size k;", "\"size\" directive invalid value in %D/a.conf:1",
	    "size k");
	fails("size 1m;\nsize 1m;", "\"size\" directive is duplicate in "
	    "%D/a.conf:2", "size twice");
	VALUE("off 3g;", off, 3221225472LL);
	fails("off 1.5g;", "\"off\" directive invalid value in %D/a.conf:1",
	    "off 1.5g");

	VALUE("msec 500ms;", msec, 500);
	VALUE("msec 10s;", msec, 10000);
	VALUE("msec 1m30s;", msec, 90000);
	VALUE("msec \"1h 30m\";", msec, 5400000);
	VALUE("msec 1d;", msec, 86400000);
	VALUE("msec 2w;", msec, 1209600000);
	VALUE("msec 24d;", msec, 2073600000);
	VALUE("msec 500;", msec, 500);
	VALUE("msec 2147483647;", msec, 2147483647);
	fails("msec 2147483648;", "\"msec\" directive invalid value in "
	    "%D/a.conf:1", "msec over 2^31 - 1");
	fails("msec 25d;", "\"msec\" directive invalid value in %D/a.conf:1",
	    "msec 25 days");
	fails("msec 1M;", "\"msec\" directive invalid value in %D/a.conf:1",
	    "msec a month");
	fails("msec 30s1m;", "\"msec\" directive invalid value in "
	    "%D/a.conf:1", "msec 30s1m");
	fails("msec 1S;", "\"msec\" directive invalid value in %D/a.conf:1",
	    "msec 1S");
	fails("msec 10x;", "\"msec\" directive invalid value in %D/a.conf:1",
	    "msec 10x");
	fails("msec 1h 30m;", "invalid number of arguments in \"msec\" "
	    "directive in %D/a.conf:1", "unquoted \"1h 30m\" is two words");
	fails("msec 1s; msec 1s;", "\"msec\" directive is duplicate in "
	    "%D/a.conf:1", "msec twice");

	VALUE("sec 30;", sec, 30000);
	VALUE("sec 500ms;", sec, 500);
	VALUE("sec 1m30s;", sec, 90000);
	VALUE("sec 1M;", sec, 2592000000LL);
	VALUE("sec 1y;", sec, 31536000000LL);
	VALUE("sec '1y 2M';", sec, 31536000000LL + 2 * 2592000000LL);
	fails("sec 1h1h;", "\"sec\" directive invalid value in %D/a.conf:1",
	    "sec 1h1h");
	fails("sec 9223372036854775807;", "\"sec\" directive invalid value "
	    "in %D/a.conf:1", "sec overflow");
}

static void
test_str_path_enum(void)
{
	is_int(load(NULL, "str \"hello world\";"), 0, "str");
	ok(tc.str.len == 11 && strcmp(tc.str.data, "hello world") == 0,
	    "str value");
	is_int(load(NULL, "str '';"), 0, "str empty");
	ok(tc.str.data != NULL && tc.str.len == 0, "str empty is set");
	fails("str '';\nstr x;", "\"str\" directive is duplicate in "
	    "%D/a.conf:2", "an empty str still counts as set");

	is_int(load(NULL, "path logs/x.log;"), 0, "relative path");
	is_str(tc.path, PREFIX "logs/x.log", "resolved under the prefix");
	is_int(load(NULL, "path /var/x;"), 0, "absolute path");
	is_str(tc.path, "/var/x", "kept as is");
	fails("path a; path b;", "\"path\" directive is duplicate in "
	    "%D/a.conf:1", "path twice");

	VALUE("enum one;", en, 1);
	VALUE("enum two;", en, 2);
	fails("enum three;", "invalid value \"three\" in %D/a.conf:1",
	    "unknown enum value");
	fails("enum TWO;", "invalid value \"TWO\" in %D/a.conf:1",
	    "enum values are case-sensitive");
	fails("enum one; enum one;", "\"enum\" directive is duplicate in "
	    "%D/a.conf:1", "enum twice");
	VALUE("bits a;", bits, 1);
	VALUE("bits a c;", bits, 5);
	VALUE("bits c b a;", bits, 7);
	VALUE("bits c c;", bits, 4);
	fails("bits a x;", "invalid value \"x\" in %D/a.conf:1",
	    "unknown bit");
	fails("bits;", "invalid number of arguments in \"bits\" directive in "
	    "%D/a.conf:1", "bitmask without values");
	fails("bits a;\nbits b;", "\"bits\" directive is duplicate in "
	    "%D/a.conf:2", "bits twice");
}

static void
test_include(void)
{
	char	name[32], text[64];
	int	i;

	subdir("inc");
	subdir("inc/dir.conf");		/* matched by the glob, skipped */
	put("inc/b.conf", "rec b1;\n\nrec b2;\n");
	put("inc/a.conf", "rec a1;\n");
	put("inc/notconf", "foo;\n");

	reads("rec m1;\ninclude inc/*.conf;\nrec m2;\n",
	    "rec|m1@a.conf:1\nrec|a1@a.conf:1\nrec|b1@b.conf:1\n"
	    "rec|b2@b.conf:3\nrec|m2@a.conf:3\n",
	    "a glob includes its files in sorted order");
	is_int(cf.files.n, 3, "three files read");
	ok(cf.files.n == 3 &&
	    strcmp(ARRAY_AT(&cf.files, struct conf_file, 0)->path,
	    main_path) == 0 &&
	    strcmp(ARRAY_AT(&cf.files, struct conf_file, 1)->path,
	    D("%D/inc/a.conf")) == 0 &&
	    strcmp(ARRAY_AT(&cf.files, struct conf_file, 2)->path,
	    D("%D/inc/b.conf")) == 0 &&
	    strcmp(ARRAY_AT(&cf.files, struct conf_file, 2)->text,
	    "rec b1;\n\nrec b2;\n") == 0, "the files kept for -T, in order");
	reads("include nomatch/*.conf;\ninclude inc/*.none;\nrec x;",
	    "rec|x@a.conf:3\n", "a glob matching nothing is fine");
	reads(D("include %D/inc/a.conf;"), "rec|a1@a.conf:1\n",
	    "an absolute path");
	ok(cf.node == NULL, "after conf_read and conf_run_block, cf->node "
	    "does not point at read_block()'s dead stack copy of the include "
	    "node");
	reads("include inc/[a]?conf;", "rec|a1@a.conf:1\n",
	    "[ and ? are glob characters too");
	fails("\ninclude missing.conf;", "open() \"%D/missing.conf\" failed "
	    "(2: No such file or directory) in %D/a.conf:2", "missing file");
	fails("include inc;", "\"%D/inc\" is not a regular file of a sane "
	    "size in %D/a.conf:1", "a directory without a glob");
	fails("include a b;", "invalid number of arguments in \"include\" "
	    "directive in %D/a.conf:1", "include with two arguments");
	fails("include;", "invalid number of arguments in \"include\" "
	    "directive in %D/a.conf:1", "include without an argument");

	put("inner.conf", "inner i;\n");
	reads("blk {\n include inner.conf;\n}",
	    "blk@a.conf:1{\ninner|i@inner.conf:1\n}\n",
	    "an include inside a block belongs to the block");
	put("bad.conf", "rec ok;\n\nfoo;\n");
	fails("include bad.conf;", "unknown directive \"foo\" in "
	    "%D/bad.conf:3", "errors name the included file and its line");
	put("brace.conf", "rec a;\n}\n");
	fails("blk {\n include brace.conf;\n}", "unexpected \"}\" in "
	    "%D/brace.conf:2", "an included file cannot close the block");
	put("open.conf", "blk {\n");
	fails("include open.conf;\n}", "unexpected end of file, expecting "
	    "\"}\" in %D/open.conf:2", "nor leave a block open");
	put("syntax.conf", "rec a;\nrec b\n");
	fails("include syntax.conf;\nrec c;", "unexpected end of file, "
	    "expecting \";\" or \"}\" in %D/syntax.conf:3",
	    "an unterminated directive in an included file");

	/* d1 includes d2 ... : 32 levels of nesting, not 33 */
	for (i = 1; i <= 33; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		if (i < 32)
			snprintf(text, sizeof(text), "include d%d.conf;\n",
			    i + 1);
		else
			snprintf(text, sizeof(text), "rec deep%d;\n", i);
		put(name, text);
	}
	reads("include d1.conf;", "rec|deep32@d32.conf:1\n",
	    "32 levels of include");
	put("d32.conf", "include d33.conf;\n");
	fails("include d1.conf;", "include nesting is too deep in "
	    "%D/d32.conf:1", "33 levels of include");
	fails("rec x;\ninclude a.conf;", "include nesting is too deep in "
	    "%D/a.conf:2", "a file including itself");
}

static void
test_globals(void)
{
	reads_g("rec g1; rec g2;\nrec g3;", "rec a;",
	    "rec|g1@-:1\nrec|g2@-:1\nrec|g3@-:2\nrec|a@a.conf:1\n",
	    "-g directives come first");
	reads_g("", "rec a;", "rec|a@a.conf:1\n", "empty -g");
	fails_g("foo;", "rec a;", "unknown directive \"foo\" in command line",
	    "-g unknown directive");
	fails_g("flag on", "", "unexpected end of file, expecting \";\" or "
	    "\"}\" in command line", "-g unterminated");
	fails_g("}", "", "unexpected \"}\" in command line", "-g }");
	fails_g("flag maybe;", "", "invalid value \"maybe\" in \"flag\" "
	    "directive, it must be \"on\" or \"off\" in command line",
	    "-g bad value");
	fails_g("inner;", "", "\"inner\" directive is not allowed here in "
	    "command line", "-g context");
	fails_g("flag on;", "flag off;", "\"flag\" directive is duplicate in "
	    "%D/a.conf:1", "-g then the file: the file's is the duplicate");
	fails_g("include missing.conf;", "", "open() \"%D/missing.conf\" "
	    "failed (2: No such file or directory) in command line",
	    "-g include, relative to the main file");
	reads_g("include inc/a.conf;", "", "rec|a1@a.conf:1\n", "-g include");
}

static void
test_helpers(void)
{
	struct conf	c2;
	char		*p;

	is_int(load(NULL, ""), 0, "empty config");
	p = conf_full_path(&cf, "x/y", 3, true);
	is_str(p, D("%D/x/y"), "conf_full_path relative to the main file");
	p = conf_full_path(&cf, "x/y", 3, false);
	is_str(p, PREFIX "x/y", "conf_full_path relative to the prefix");
	p = conf_full_path(&cf, "/abs/z", 4, false);
	is_str(p, "/abs", "conf_full_path absolute, len bounds it");
	p = conf_full_path(&cf, "", 0, true);
	is_str(p, D("%D/"), "conf_full_path of nothing is the directory");

	is_int(conf_init(&c2, pool, PREFIX, "usher.conf", tables), 0,
	    "conf_init with a bare file name");
	is_str(c2.conf_prefix, PREFIX, "its directory is the prefix");
	pool_destroy(c2.temp);

	cf.node = NULL;
	conf_error(&cf, "plain %d", 1);
	is_str(logged(), "plain 1", "conf_error without a directive");
	if (ftruncate(target.fd, 0) == -1)
		exit(2);
	is_int(load(NULL, "rec;"), 0, "one directive");
	cf.node = &root.children[0];
	conf_error(&cf, "at %s", "rec");
	is_str(logged(), D("at rec in %D/a.conf:1"),
	    "conf_error names the directive's place");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(main_path, sizeof(main_path), "%s/a.conf", dir);
	target.path = D("%D/error.log");
	if ((target.fd = open(target.path, O_RDWR | O_CREAT | O_APPEND |
	    O_TRUNC | O_CLOEXEC, 0644)) == -1) {
		perror(target.path);
		return 2;
	}
	target.path = strdup(target.path);
	target.level = LOG_DEBUG;
	log_set_targets(&target, 1);
	log_use_stderr = false;

	test_tokens();
	test_structure();
	test_tree();
	test_flag_int();
	test_size_time();
	test_str_path_enum();
	test_include();
	test_globals();
	test_helpers();

	unload();
	close(target.fd);
	free((char *)target.path);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
