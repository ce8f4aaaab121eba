/*
 * log.h: the one logging module.  Before log_init() and in debug mode
 * messages go to stderr; otherwise to syslog(3) or, once log_set_file()
 * succeeded, to that file with an ISO-8601 timestamp, pid and level.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_init(int debug, int facility);
int	log_set_file(const char *path);
int	log_reopen(void);
void	log_setverbose(int);
int	log_getverbose(void);
int	log_facility(const char *name);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
const char *log_escape(const char *, char *, size_t);

#endif /* LOG_H */
