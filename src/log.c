/*
 * log.c: owns where messages go (stderr, syslog(3) or a log file that
 * SIGHUP can reopen), how a file line looks, and making sure no text,
 * trusted or not, can end a line early and forge the next one.
 *
 * File line: "2026-11-26T06:01:02.123+00:00 authchatd[PID]: LEVEL: msg\n",
 * at most LOG_LINE_MAX bytes, written with one write(2) on an O_APPEND
 * descriptor so lines of concurrent processes never interleave.
 * stderr line: "authchatd: msg\n".  Every entry point keeps errno.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
/* Pick libbsd's OpenBSD strnvis(3) prototype; silences its #warning. */
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include "log.h"

#define LOG_IDENT	"authchatd"
#define LOG_LINE_MAX	2048	/* longest line written, '\n' included */
#define LOG_FILE_MODE	0640
#define LOG_TS_MAX	64	/* 30 used; room for gcc's worst case */
/* Visible, reversible (strunvis) escapes; see log_escape() for UTF-8. */
#define LOG_VIS_FLAGS	(VIS_CSTYLE | VIS_TAB | VIS_NL | VIS_OCTAL | \
			    VIS_NOLOCALE)

static int	 log_tostderr = 1;	/* until log_init(0, ...) */
static int	 log_verbose;
static int	 log_fd = -1;		/* the file sink wins when open */
static char	 log_path[PATH_MAX];	/* what log_reopen() opens again */

static const struct {
	const char	*name;
	int		 facility;
} log_facilities[] = {
	{ "daemon",	LOG_DAEMON },
	{ "auth",	LOG_AUTH },
	{ "authpriv",	LOG_AUTHPRIV },
	{ "user",	LOG_USER },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
};

static void	log_vemit(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* Leave stderr for syslog unless debugging; a log file still wins. */
void
log_init(int debug, int facility)
{
	log_tostderr = debug;
	if (!debug)
		openlog(LOG_IDENT, LOG_PID | LOG_NDELAY, facility);
	/* Load the time zone now, before a chroot can hide it. */
	tzset();
}

/* The one place the log file is opened, so both callers agree. */
static int
log_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    LOG_FILE_MODE);
}

/* Install an already open file; no line is lost while swapping. */
static void
log_swap(int fd)
{
	int	 old = log_fd;

	log_fd = fd;
	if (old != -1)
		(void)close(old);
}

/* Send all further messages to path; keep the old sink on failure. */
int
log_set_file(const char *path)
{
	int	 fd;

	if (path == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = log_open(path)) == -1)
		return -1;
	(void)strlcpy(log_path, path, sizeof(log_path));
	log_swap(fd);
	return 0;
}

/* After logrotate renamed the file: main loop only, not a handler. */
int
log_reopen(void)
{
	int	 fd;

	if (log_fd == -1)
		return 0;
	if ((fd = log_open(log_path)) == -1)
		return -1;
	log_swap(fd);
	return 0;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* Config names to syslog facilities; -1 tells the caller to reject. */
int
log_facility(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]);
	    i++)
		if (strcmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return -1;
}

/* Word for the file line; the file has no syslog priority field. */
static const char *
log_level(int pri)
{
	pri = LOG_PRI(pri);
	if (pri <= LOG_ERR)
		return "error";
	if (pri == LOG_WARNING)
		return "warning";
	if (pri == LOG_DEBUG)
		return "debug";
	return "info";
}

/*
 * ISO-8601 UTC time with milliseconds and a "+00:00" offset; never fails.
 * UTC, not local time: gmtime_r(3) takes no lock and reads no zone, so a
 * forked child's two lines touch no more of libc than they must.
 */
static void
log_timestamp(char *buf, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL) {
		(void)strlcpy(buf, "0000-00-00T00:00:00.000+00:00", len);
		return;
	}
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld+00:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000));
}

/*
 * Last line of defence for callers who forgot log_escape(): CR and LF
 * from any format argument become "\r" and "\n", never a line break.
 */
static void
log_flatten(const char *in, char *out, size_t len)
{
	size_t	 n = 0;

	for (; *in != '\0' && n + 2 < len; in++) {
		if (*in == '\n' || *in == '\r') {
			out[n++] = '\\';
			out[n++] = *in == '\n' ? 'n' : 'r';
		} else
			out[n++] = *in;
	}
	out[n] = '\0';
}

/* Clip a formatted line (n from snprintf), end it, write it once. */
static void
log_send(int fd, char *line, size_t size, int n)
{
	size_t	 len;

	if (n < 0)
		return;
	len = (size_t)n >= size ? size - 1 : (size_t)n;
	line[len++] = '\n';
	while (write(fd, line, len) == -1 && errno == EINTR)
		;
}

/* The pid for file lines: asked once per process (reset at fork). */
static pid_t	 log_pid;

static void
log_forked(void)
{
	log_pid = 0;
}

static long
log_getpid(void)
{
	static int	 hooked;

	if (!hooked && pthread_atfork(NULL, NULL, log_forked) == 0)
		hooked = 1;
	if (log_pid == 0 || !hooked)
		log_pid = getpid();
	return (long)log_pid;
}

/* File sink; forked children log their own pid. */
static void
log_write_file(int pri, const char *msg)
{
	char	 line[LOG_LINE_MAX], ts[LOG_TS_MAX];

	log_timestamp(ts, sizeof(ts));
	log_send(log_fd, line, sizeof(line), snprintf(line, sizeof(line),
	    "%s %s[%ld]: %s: %s", ts, LOG_IDENT, log_getpid(),
	    log_level(pri), msg));
}

/* stderr sink: unbuffered single write, no timestamp (-d, or early). */
static void
log_write_stderr(const char *msg)
{
	char	 line[LOG_LINE_MAX];

	log_send(STDERR_FILENO, line, sizeof(line),
	    snprintf(line, sizeof(line), "%s: %s", LOG_IDENT, msg));
}

/* Format on the stack, add ": suffix" (strerror), pick the sink. */
static void
log_vemit(int pri, const char *suffix, const char *fmt, va_list ap)
{
	char	 raw[LOG_LINE_MAX], msg[LOG_LINE_MAX];

	raw[0] = '\0';
	if (fmt != NULL)
		(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	if (suffix != NULL) {
		if (raw[0] != '\0')
			(void)strlcat(raw, ": ", sizeof(raw));
		(void)strlcat(raw, suffix, sizeof(raw));
	}
	log_flatten(raw, msg, sizeof(msg));
	if (log_fd != -1)
		log_write_file(pri, msg);
	else if (log_tostderr)
		log_write_stderr(msg);
	else
		syslog(pri, "%s", msg);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;

	log_vemit(pri, NULL, fmt, ap);
	errno = saved_errno;
}

/* A warning about a failed call: appends strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, strerror(saved_errno), fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_vemit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* Only with -v: per-connection chatter stays out of normal logs. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	if (log_verbose <= 0)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* Give up after a failed call, saying why (strerror(errno)). */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, strerror(saved_errno), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Truncated escape: "..." after the last whole escape that leaves room. */
static void
log_ellipsis(char *buf, size_t mark, size_t len)
{
	size_t	 n = len - 1 - mark;

	if (n > 3)
		n = 3;
	memset(buf + mark, '.', n);
	buf[mark + n] = '\0';
}

/* Append the vis(3) escape of *p if it fits before the final NUL. */
static int
log_vis_append(char *buf, size_t len, size_t *off, const char *p)
{
	char	 one[16];
	size_t	 n;

	/* p[1] lets VIS_CSTYLE choose between "\0" and "\000". */
	if (nvis(one, sizeof(one), (unsigned char)p[0], LOG_VIS_FLAGS,
	    (unsigned char)p[1]) == NULL)
		(void)strlcpy(one, "?", sizeof(one));
	n = strlen(one);
	if (*off + n > len - 1)
		return -1;
	memcpy(buf + *off, one, n);
	*off += n;
	return 0;
}

/*
 * Make untrusted (client) text safe to log: control characters, DEL
 * and backslash become vis(3) escapes ("\n", "\t", "\033", "\\").
 * Bytes >= 0x80, UTF-8 included, are octal-escaped one by one
 * (VIS_NOLOCALE): the log stays printable ASCII whatever the locale,
 * so no bidi override or terminal trick survives.  An escape is never
 * cut; a result that does not fit ends in "...".  Returns buf.
 */
const char *
log_escape(const char *in, char *buf, size_t len)
{
	const char	*p;
	size_t		 off = 0, mark = 0;
	int		 saved_errno = errno;

	if (len == 0)
		return buf;
	if (in == NULL)
		in = "(null)";
	for (p = in; *p != '\0'; p++) {
		if (log_vis_append(buf, len, &off, p) == -1) {
			log_ellipsis(buf, mark, len);
			errno = saved_errno;
			return buf;
		}
		if (off + 3 < len)
			mark = off;
	}
	buf[off] = '\0';
	errno = saved_errno;
	return buf;
}
