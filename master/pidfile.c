/* Writing, reading and renaming the pid file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/str.h"
#include "pidfile.h"

int
pidfile_write(const char *path)
{
	char	buf[32];
	int	fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		log_error(LOG_EMERG, "open() \"%s\" failed (%d: %s)", path,
		    errno, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_error(LOG_EMERG, "write() to \"%s\" failed", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static pid_t
read_pid(const char *path, bool quiet)
{
	char	buf[32];
	ssize_t	n;
	int	fd;
	int64_t	pid;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (!quiet)
			log_error(LOG_ERR, "open() \"%s\" failed (%d: %s)",
			    path, errno, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	pid = str_atoi(buf, (size_t)n);
	if (pid <= 0 || pid > INT_MAX) {
		if (!quiet)
			log_error(LOG_ERR, "invalid PID number \"%.*s\" in "
			    "\"%s\"", (int)n, buf, path);
		return -1;
	}
	return (pid_t)pid;
}

pid_t
pidfile_read(const char *path)
{
	return read_pid(path, false);
}

void
pidfile_remove(const char *path)
{
	if (read_pid(path, true) == getpid())
		unlink(path);
}

int
pidfile_rename_old(const char *path)
{
	char	old[PATH_MAX];

	snprintf(old, sizeof(old), "%s.oldbin", path);
	if (rename(path, old) == -1) {
		log_error(LOG_ALERT, "rename() \"%s\" to \"%s\" failed "
		    "(%d: %s)", path, old, errno, strerror(errno));
		return -1;
	}
	return 0;
}

void
pidfile_restore(const char *path)
{
	char	old[PATH_MAX];

	snprintf(old, sizeof(old), "%s.oldbin", path);
	if (rename(old, path) == -1)
		log_error(LOG_ALERT, "rename() \"%s\" back to \"%s\" failed "
		    "(%d: %s)", old, path, errno, strerror(errno));
}
