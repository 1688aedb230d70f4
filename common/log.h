/*
 * The error log: nginx-shaped lines written to every configured target
 * whose level admits them.  Access logs live in worker/access_log.c.
 */
#ifndef USHER_COMMON_LOG_H
#define USHER_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* usher never includes <syslog.h>, whose LOG_* names these would shadow */
enum log_level {
	LOG_STDERR = 0,		/* always written, no prefix: for -t/-v output */
	LOG_EMERG = 1,
	LOG_ALERT,
	LOG_CRIT,
	LOG_ERR,
	LOG_WARN,
	LOG_NOTICE,
	LOG_INFO,
	LOG_DEBUG
};

struct log_target {
	int		 fd;
	int		 level;
	const char	*path;		/* NULL: standard error */
};

/* Level from its name ("error", "warn", ...); -1 if unknown. */
int	log_level_parse(const char *name, size_t len);
const char *log_level_name(int level);

/*
 * The targets error lines go to from now on; the array must outlive its
 * use.  With n == 0 lines go to standard error.
 */
void	log_set_targets(const struct log_target *, size_t n);
/* The highest level any target admits (to skip formatting debug lines). */
int	log_max_level(void);

void	log_error(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The same, marked with a connection number ("*17 ") as nginx does. */
void	log_conn(int level, uint64_t conn, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_verror(int level, uint64_t conn, const char *fmt, va_list ap);

/* The program name that prefixes standard-error lines ("usher"). */
extern const char	*log_progname;
/* Set once per process, so the line says which worker wrote it. */
extern pid_t		 log_pid;
/* While true (startup, -t), warnings and worse also go to standard error. */
extern bool		 log_use_stderr;

/*
 * Opens a log file for appending (creating it 0644); -1 with errno set.
 * The descriptor is close-on-exec.
 */
int	log_open_file(const char *path);

#endif
