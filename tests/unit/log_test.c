/*
 * log_test.c: unit tests for src/log.c.  Owns the contract the daemon
 * and the shell tests rely on: the exact file line format, the sinks,
 * errno preservation, line-forgery resistance, log_escape(), reopen
 * after rotation, facility names and fatal exit status.
 * Prints each failure as file:line; last line "N passed, M failed".
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define CHECK(c)	check((c), #c, __FILE__, __LINE__)

/* ERE for the timestamp and ident of every file line. */
#define TS_RE	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}" \
		"\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}"
#define LINE_RE	"^" TS_RE " authchatd\\[[0-9]+\\]: " \
		"(error|warning|info|debug): [^\n]*\n"

static int	 passed, failed;
static char	 dir[] = "/tmp/log_test.XXXXXX";
static char	 logpath[PATH_MAX], oldpath[PATH_MAX], errpath[PATH_MAX];
static char	 content[65536];

/* Record one result; a failure names the line of the CHECK. */
static void
check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("%s:%d: FAIL: %s\n", file, line, what);
}

/* Whole file into content[]; "" when missing. */
static const char *
slurp(const char *path)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	content[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return content;
	while (off < sizeof(content) - 1 &&
	    (n = read(fd, content + off, sizeof(content) - 1 - off)) > 0)
		off += (size_t)n;
	content[off] = '\0';
	close(fd);
	return content;
}

static int
count_lines(const char *s)
{
	int	 n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Does s match the extended regex re? */
static int
matches(const char *re, const char *s)
{
	regex_t	 rx;
	int	 rc;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
		printf("bad regex: %s\n", re);
		return 0;
	}
	rc = regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

/* Every line of s has the file format (one write per line). */
static int
all_lines_match(const char *s)
{
	char	 line[4096];
	const char *nl;

	for (; *s != '\0'; s = nl + 1) {
		size_t	 n;

		if ((nl = strchr(s, '\n')) == NULL)
			return 0;
		n = (size_t)(nl - s) + 1;
		if (n >= sizeof(line))
			return 0;
		memcpy(line, s, n);
		line[n] = '\0';
		if (!matches(LINE_RE "$", line))
			return 0;
	}
	return 1;
}

/* Empty the log file; O_APPEND makes the next line land at 0. */
static void
reset(void)
{
	if (truncate(logpath, 0) == -1)
		printf("truncate %s: %s\n", logpath, strerror(errno));
}

/* Point fd 2 at errpath (emptied); returns the saved fd 2. */
static int
stderr_capture(void)
{
	int	 fd, saved;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static void
stderr_restore(int saved)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* vlog() needs a va_list; this is how the daemon would wrap it. */
static void
call_vlog(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
call_vlog(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* Before log_init and with log_init(1, ...): "authchatd: msg" on fd 2. */
static void
test_stderr_sink(void)
{
	int	 saved;

	saved = stderr_capture();
	log_info("early %s", "one");
	log_init(1, LOG_DAEMON);
	log_warnx("debug mode");
	log_debug("hidden");
	log_info("a\nb");
	stderr_restore(saved);
	CHECK(strcmp(slurp(errpath),
	    "authchatd: early one\nauthchatd: debug mode\n"
	    "authchatd: a\\nb\n") == 0);
}

/* log_init(0, ...) sends to syslog(3), so nothing reaches stderr. */
static void
test_syslog_sink(void)
{
	pid_t	 pid;
	int	 status;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		int	 saved = stderr_capture();

		log_init(0, LOG_USER);
		log_info("to syslog");
		stderr_restore(saved);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	CHECK(strcmp(slurp(errpath), "") == 0);
}

/* No file yet: reopen is a no-op; bad paths fail and set errno. */
static void
test_set_file_errors(void)
{
	CHECK(log_reopen() == 0);
	errno = 0;
	CHECK(log_set_file("/nonexistent-log-test-dir/x.log") == -1);
	CHECK(errno == ENOENT);
	errno = 0;
	CHECK(log_set_file(NULL) == -1);
	CHECK(errno == EINVAL);
}

/* The exact file line, the mode, and that the file beats debug mode. */
static void
test_file_format(void)
{
	struct stat	 st;
	char		 re[512];
	int		 saved;

	CHECK(log_set_file(logpath) == 0);
	CHECK(stat(logpath, &st) == 0 && (st.st_mode & 07777) == 0640);
	saved = stderr_capture();
	log_info("hello %d", 42);
	stderr_restore(saved);
	CHECK(strcmp(slurp(errpath), "") == 0);
	snprintf(re, sizeof(re), "^" TS_RE " authchatd\\[%ld\\]: info: "
	    "hello 42\n$", (long)getpid());
	slurp(logpath);
	CHECK(matches(re, content));
	CHECK(count_lines(content) == 1);
}

/* UTC, "+00:00", whatever the zone: the hour is gmtime's, not local. */
static void
test_tz_offset(void)
{
	static const char *zones[] = { "UTC0", "IST-5:30", "NST3:30" };
	char		 want[16];
	struct tm	 tm;
	time_t		 t;
	size_t		 i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		setenv("TZ", zones[i], 1);
		tzset();
		reset();
		t = time(NULL);
		log_info("tz");
		CHECK(strstr(slurp(logpath), "+00:00 authchatd[") ==
		    content + 23);
		/* the hour written is UTC's (unless the hour turned meanwhile) */
		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "T%02d:", tm.tm_hour);
		CHECK(strncmp(content + 10, want, 4) == 0 ||
		    tm.tm_min == 59);
	}
	unsetenv("TZ");
	tzset();
}

/* Level words, and log_debug only with verbose > 0. */
static void
test_levels(void)
{
	reset();
	log_setverbose(0);
	CHECK(log_getverbose() == 0);
	log_debug("dbg %d", 0);
	CHECK(strcmp(slurp(logpath), "") == 0);
	log_setverbose(1);
	CHECK(log_getverbose() == 1);
	log_debug("dbg %d", 1);
	log_setverbose(0);
	log_warnx("w");
	call_vlog(LOG_ERR, "e%s", "rr");
	call_vlog(LOG_NOTICE, "notice");
	slurp(logpath);
	CHECK(count_lines(content) == 4);
	CHECK(all_lines_match(content));
	CHECK(strstr(content, "]: debug: dbg 1\n") != NULL);
	CHECK(strstr(content, "]: warning: w\n") != NULL);
	CHECK(strstr(content, "]: error: err\n") != NULL);
	CHECK(strstr(content, "]: info: notice\n") != NULL);
}

/* log_warn appends ": strerror(errno)" and keeps errno. */
static void
test_warn_strerror(void)
{
	char	 want[256];

	reset();
	snprintf(want, sizeof(want), "]: warning: open /x: %s\n",
	    strerror(ENOENT));
	errno = ENOENT;
	log_warn("open %s", "/x");
	CHECK(errno == ENOENT);
	CHECK(strstr(slurp(logpath), want) != NULL);
	CHECK(count_lines(content) == 1);
}

/* Every entry point leaves errno as the caller had it. */
static void
errno_calls(void)
{
	char	 buf[32];

	errno = EACCES;
	log_info("i");
	CHECK(errno == EACCES);
	log_warnx("wx");
	CHECK(errno == EACCES);
	log_warn("w");
	CHECK(errno == EACCES);
	log_debug("d0");
	CHECK(errno == EACCES);
	log_setverbose(1);
	log_debug("d1");
	log_setverbose(0);
	CHECK(errno == EACCES);
	call_vlog(LOG_INFO, "v");
	CHECK(errno == EACCES);
	log_escape("\n", buf, sizeof(buf));
	CHECK(errno == EACCES);
}

/* Callers may log and then look at errno, even when write(2) fails. */
static void
test_errno_preserved(void)
{
	errno_calls();
	/* Every write to /dev/full fails with ENOSPC. */
	CHECK(log_set_file("/dev/full") == 0);
	errno_calls();
	CHECK(log_set_file(logpath) == 0);
}

/* A format argument with CR/LF cannot start a forged line. */
static void
test_no_forged_line(void)
{
	reset();
	log_info("user %s", "x\nFAKE LINE");
	log_warnx("%s", "a\r\nb");
	slurp(logpath);
	CHECK(count_lines(content) == 2);
	CHECK(all_lines_match(content));
	CHECK(strstr(content, "]: info: user x\\nFAKE LINE\n") != NULL);
	CHECK(strstr(content, "]: warning: a\\r\\nb\n") != NULL);
}

/* Over-long messages are cut to LOG_LINE_MAX, still one whole line. */
static void
test_long_line(void)
{
	char	 big[5000];

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reset();
	log_info("%s", big);
	slurp(logpath);
	CHECK(count_lines(content) == 1);
	CHECK(strlen(content) == 2048);
	CHECK(content[2047] == '\n');
	CHECK(all_lines_match(content));
}

static int
all_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* Control characters, DEL, backslash and non-ASCII become escapes. */
static void
test_escape(void)
{
	char	 buf[128];

	log_escape("a\nb\r\x1b[31m\\", buf, sizeof(buf));
	CHECK(all_printable(buf));
	CHECK(strcmp(buf, "a\\nb\\r\\033[31m\\\\") == 0);
	CHECK(strcmp(log_escape("t\tx\x7f", buf, sizeof(buf)),
	    "t\\tx\\177") == 0);
	CHECK(strcmp(log_escape("caf\xc3\xa9", buf, sizeof(buf)),
	    "caf\\303\\251") == 0);
	/* The same in a UTF-8 locale, bidi override U+202E included. */
	if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
		CHECK(strcmp(log_escape("caf\xc3\xa9\xe2\x80\xae", buf,
		    sizeof(buf)), "caf\\303\\251\\342\\200\\256") == 0);
		setlocale(LC_CTYPE, "C");
	}
	CHECK(strcmp(log_escape("plain text", buf, sizeof(buf)),
	    "plain text") == 0);
	CHECK(strcmp(log_escape(NULL, buf, sizeof(buf)), "(null)") == 0);
	CHECK(log_escape("x", buf, sizeof(buf)) == buf);
}

/* Truncation ends in "...", never splits an escape, never overruns. */
static void
test_escape_truncation(void)
{
	char	 buf[32], in[101];
	int	 i, ok = 1;

	memset(in, 'x', 100);
	in[100] = '\0';
	memset(buf, 'Z', sizeof(buf));
	log_escape(in, buf, 16);
	CHECK(strlen(buf) == 15);
	CHECK(strcmp(buf, "xxxxxxxxxxxx...") == 0);
	for (i = 16; i < (int)sizeof(buf); i++)
		ok &= buf[i] == 'Z';
	CHECK(ok);
	CHECK(strcmp(log_escape("\x1b\x1b\x1b\x1b\x1b", buf, 10),
	    "\\033...") == 0);
	CHECK(strcmp(log_escape("abc", buf, 4), "abc") == 0);
	CHECK(strcmp(log_escape("abcd", buf, 4), "...") == 0);
	CHECK(strcmp(log_escape("abcd", buf, 1), "") == 0);
	buf[0] = 'Z';
	log_escape("abcd", buf, 0);
	CHECK(buf[0] == 'Z');
}

/* How many of our fds point at path; *cloexec: all of them FD_CLOEXEC. */
static int
fds_on(const char *path, int *cloexec)
{
	char		 link[PATH_MAX], target[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	int		 count = 0;

	*cloexec = 1;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		ssize_t	 n;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n == -1)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) != 0)
			continue;
		count++;
		if ((fcntl(atoi(de->d_name), F_GETFD) & FD_CLOEXEC) == 0)
			*cloexec = 0;
	}
	closedir(d);
	return count;
}

/* logrotate: rename, reopen, new lines go to a fresh file. */
static void
test_reopen(void)
{
	struct stat	 st;
	int		 cloexec;

	reset();
	CHECK(fds_on(logpath, &cloexec) == 1 && cloexec);
	log_info("before");
	CHECK(rename(logpath, oldpath) == 0);
	log_info("still old fd");
	CHECK(stat(logpath, &st) == -1);
	CHECK(log_reopen() == 0);
	CHECK(stat(logpath, &st) == 0);
	/* The old file was closed, the new one will not leak into exec. */
	CHECK(fds_on(oldpath, &cloexec) == 0);
	CHECK(fds_on(logpath, &cloexec) == 1 && cloexec);
	log_info("after");
	slurp(oldpath);
	CHECK(count_lines(content) == 2);
	CHECK(strstr(content, "]: info: before\n") != NULL);
	CHECK(strstr(content, "]: info: still old fd\n") != NULL);
	CHECK(strstr(content, "after") == NULL);
	slurp(logpath);
	CHECK(count_lines(content) == 1);
	CHECK(strstr(content, "]: info: after\n") != NULL);
	CHECK(all_lines_match(content));
}

/* A failed reopen keeps the old file: no message is lost. */
static void
test_reopen_failure(void)
{
	char	 sub[PATH_MAX], subpath[PATH_MAX], moved[PATH_MAX];
	char	 movedpath[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(subpath, sizeof(subpath), "%s/sub/log", dir);
	snprintf(moved, sizeof(moved), "%s/moved", dir);
	snprintf(movedpath, sizeof(movedpath), "%s/moved/log", dir);
	CHECK(mkdir(sub, 0700) == 0);
	CHECK(log_set_file(subpath) == 0);
	CHECK(rename(sub, moved) == 0);
	errno = 0;
	CHECK(log_reopen() == -1);
	CHECK(errno == ENOENT);
	log_info("kept");
	CHECK(strstr(slurp(movedpath), "]: info: kept\n") != NULL);
	CHECK(log_set_file(logpath) == 0);
	unlink(movedpath);
	rmdir(moved);
}

static void
test_facility(void)
{
	CHECK(log_facility("daemon") == LOG_DAEMON);
	CHECK(log_facility("auth") == LOG_AUTH);
	CHECK(log_facility("authpriv") == LOG_AUTHPRIV);
	CHECK(log_facility("user") == LOG_USER);
	CHECK(log_facility("local0") == LOG_LOCAL0);
	CHECK(log_facility("local3") == LOG_LOCAL3);
	CHECK(log_facility("local7") == LOG_LOCAL7);
	CHECK(log_facility("bogus") == -1);
	CHECK(log_facility("local8") == -1);
	CHECK(log_facility("") == -1);
	CHECK(log_facility(NULL) == -1);
}

/* Run fn in a child; return its exit status, or -1 if it did not exit. */
static int
run_child(void (*fn)(void), pid_t *pidp)
{
	pid_t	 pid;
	int	 status;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		fn();
		_exit(99);
	}
	*pidp = pid;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
child_fatalx(void)
{
	fatalx("boom %d", 7);
}

static void
child_fatal(void)
{
	errno = EPERM;
	fatal("boom");
}

/* fatal/fatalx exit 1 and log at error level with the child's pid. */
static void
test_fatal(void)
{
	char	 want[256];
	pid_t	 pid = 0;

	reset();
	CHECK(run_child(child_fatalx, &pid) == 1);
	snprintf(want, sizeof(want), " authchatd[%ld]: error: boom 7\n",
	    (long)pid);
	CHECK(strstr(slurp(logpath), want) != NULL);
	CHECK(pid != getpid());
	reset();
	CHECK(run_child(child_fatal, &pid) == 1);
	snprintf(want, sizeof(want), " authchatd[%ld]: error: boom: %s\n",
	    (long)pid, strerror(EPERM));
	CHECK(strstr(slurp(logpath), want) != NULL);
}

static void
child_spam(void)
{
	int	 i;

	for (i = 0; i < 25; i++)
		log_info("child %ld line %d %0200d", (long)getpid(), i, 0);
	_exit(0);
}

/* Concurrent writers: every line stays whole (one write, O_APPEND). */
static void
test_concurrent(void)
{
	pid_t	 pids[4];
	int	 i, status, ok = 1;

	reset();
	fflush(NULL);
	for (i = 0; i < 4; i++)
		if ((pids[i] = fork()) == 0)
			child_spam();
	for (i = 0; i < 4; i++)
		ok &= waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0;
	CHECK(ok);
	slurp(logpath);
	CHECK(count_lines(content) == 100);
	CHECK(all_lines_match(content));
}

/* A forked child's lines carry its own pid, though the parent's is kept. */
static void
test_child_pid(void)
{
	char	 want[64];
	pid_t	 pid;
	int	 status;

	reset();
	log_info("parent first");	/* the parent's pid is now asked */
	fflush(NULL);
	if ((pid = fork()) == 0) {
		log_info("from the child");
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	snprintf(want, sizeof(want), "authchatd[%ld]: info: from the child",
	    (long)pid);
	CHECK(strstr(slurp(logpath), want) != NULL);
	log_info("parent again");
	snprintf(want, sizeof(want), "authchatd[%ld]: info: parent again",
	    (long)getpid());
	CHECK(strstr(slurp(logpath), want) != NULL);
}

int
main(void)
{
	umask(022);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logpath, sizeof(logpath), "%s/test.log", dir);
	snprintf(oldpath, sizeof(oldpath), "%s/test.log.1", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);

	test_stderr_sink();
	test_syslog_sink();
	test_set_file_errors();
	test_file_format();
	test_tz_offset();
	test_child_pid();
	test_levels();
	test_warn_strerror();
	test_errno_preserved();
	test_no_forged_line();
	test_long_line();
	test_escape();
	test_escape_truncation();
	test_reopen();
	test_reopen_failure();
	test_facility();
	test_fatal();
	test_concurrent();

	unlink(logpath);
	unlink(oldpath);
	unlink(errpath);
	rmdir(dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
