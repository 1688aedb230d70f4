/*
 * Error log formatting and writing.  One write(2) per line so lines from
 * several processes sharing a file do not interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "str.h"

const char	*log_progname = "usher";
pid_t		 log_pid;
bool		 log_use_stderr = true;

static const struct log_target	*targets;
static size_t			 ntargets;
static const struct log_target	 stderr_target = { 2, LOG_NOTICE, NULL };

static const char	*level_names[] = {
	"", "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

int
log_level_parse(const char *name, size_t len)
{
	int	i;

	for (i = LOG_EMERG; i <= LOG_DEBUG; i++)
		if (str_eq(name, len, level_names[i], strlen(level_names[i])))
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	return level >= LOG_EMERG && level <= LOG_DEBUG ? level_names[level] :
	    "";
}

void
log_set_targets(const struct log_target *t, size_t n)
{
	targets = t;
	ntargets = n;
}

int
log_max_level(void)
{
	size_t	i;
	int	max = 0;

	if (ntargets == 0)
		return stderr_target.level;
	for (i = 0; i < ntargets; i++)
		if (targets[i].level > max)
			max = targets[i].level;
	return max;
}

static void
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void
log_verror(int level, uint64_t conn, const char *fmt, va_list ap)
{
	char				 line[4096], msg[3800];
	const struct log_target		*t;
	size_t				 len, mlen, i, n;
	int				 r;
	bool				 to_stderr = false;

	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (r < 0)
		return;
	mlen = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	if (level == LOG_STDERR) {
		msg[mlen] = '\n';
		write_all(2, msg, mlen + 1);
		return;
	}
	clock_update();
	if (log_pid == 0)
		log_pid = getpid();
	if (conn != 0)
		r = snprintf(line, sizeof(line), "%s [%s] %d#0: *%llu %.*s\n",
		    clock_now.log_time, level_names[level], (int)log_pid,
		    (unsigned long long)conn, (int)mlen, msg);
	else
		r = snprintf(line, sizeof(line), "%s [%s] %d#0: %.*s\n",
		    clock_now.log_time, level_names[level], (int)log_pid,
		    (int)mlen, msg);
	if (r < 0)
		return;
	len = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	line[len - 1] = '\n';

	n = ntargets ? ntargets : 1;
	for (i = 0; i < n; i++) {
		t = ntargets ? &targets[i] : &stderr_target;
		if (t->fd == 2)
			to_stderr = true;
		if (level > t->level || t->fd == -1)
			continue;
		write_all(t->fd, line, len);
	}
	/* while starting, the operator at the terminal sees problems too */
	if (log_use_stderr && !to_stderr && level <= LOG_WARN) {
		r = snprintf(line, sizeof(line), "%s: [%s] %.*s\n",
		    log_progname, level_names[level], (int)mlen, msg);
		if (r > 0)
			write_all(2, line, (size_t)r < sizeof(line) ?
			    (size_t)r : sizeof(line) - 1);
	}
}

void
log_error(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_verror(level, 0, fmt, ap);
	va_end(ap);
}

void
log_conn(int level, uint64_t conn, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_verror(level, conn, fmt, ap);
	va_end(ap);
}

int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}
