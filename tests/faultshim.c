/*
 * faultshim.c: LD_PRELOAD fault injection for the tests (after shadow's
 * tests/common rename_failure.so).  Owns nothing but the decision
 * "fail this call?":
 *   FAULT=rename,fsync,...	calls to fail: rename, renameat (also
 *				renameat2), fsync, fdatasync, write,
 *				open, openat (also the *64 variants)
 *   FAULT_MATCH=substring	only paths containing it; an fd's path is
 *				read from /proc/self/fd/N
 *   FAULT_ERRNO=ENOSPC	errno to fail with (name or number; EIO)
 *   FAULT=fork,accept		fork fails (EAGAIN), accept/accept4 fail
 *				(EMFILE), counted by FAULT_SKIP / FAULT_COUNT
 *   FAULT=malloc		allocations of FAULT_MINSIZE bytes or more
 *				fail (ENOMEM)
 *   FAULT_SKIP=N, FAULT_COUNT=M	for fork and accept: let the first N
 *				calls of this process through, fail the next
 *				M (default: all)
 * open/openat fail only with O_CREAT.  Without FAULT_MATCH, write fails
 * only on regular files, never on sockets, pipes or terminals.
 * Build: cc -shared -fPIC -o faultshim.so tests/faultshim.c -ldl
 */

#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char	*name;
	int		 value;
} shim_errnos[] = {
	{ "EACCES", EACCES }, { "EDQUOT", EDQUOT }, { "EEXIST", EEXIST },
	{ "EINTR", EINTR }, { "EIO", EIO }, { "EMFILE", EMFILE },
	{ "ENOENT", ENOENT }, { "ENOSPC", ENOSPC }, { "EPERM", EPERM },
	{ "EROFS", EROFS }, { "EXDEV", EXDEV },
};

/* Is call named in the comma list $FAULT (whole words only)? */
static int
shim_listed(const char *call)
{
	const char	*list = getenv("FAULT"), *p;
	size_t		 n = strlen(call);

	for (p = list; p != NULL && *p != '\0'; p += strcspn(p, ",")) {
		if (*p == ',')
			p++;
		if (strncmp(p, call, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Fail with $FAULT_ERRNO (default EIO); always returns -1. */
static int
shim_fail(void)
{
	const char	*e = getenv("FAULT_ERRNO");
	size_t		 i;

	errno = EIO;
	if (e != NULL && atoi(e) > 0)
		errno = atoi(e);
	for (i = 0; e != NULL && i < sizeof(shim_errnos) /
	    sizeof(shim_errnos[0]); i++)
		if (strcmp(e, shim_errnos[i].name) == 0)
			errno = shim_errnos[i].value;
	return -1;
}

/* Fail a call on path? */
static int
shim_path(const char *call, const char *path)
{
	const char	*m = getenv("FAULT_MATCH");

	if (!shim_listed(call))
		return 0;
	return m == NULL || (path != NULL && strstr(path, m) != NULL);
}

/* Fail a call on fd?  Unmatched writes only hit regular files. */
static int
shim_fd(const char *call, int fd)
{
	char		 link[64], path[4096];
	struct stat	 st;
	ssize_t		 n;

	if (!shim_listed(call))
		return 0;
	if (getenv("FAULT_MATCH") == NULL)
		return strcmp(call, "write") != 0 ||
		    (fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) == -1)
		return 0;
	path[n] = '\0';
	return shim_path(call, path);
}

/* The real function, looked up once. */
#define SHIM_REAL(type, name, args) \
	static type (*real) args; \
	if (real == NULL) \
		*(void **)&real = dlsym(RTLD_NEXT, name)

int
rename(const char *from, const char *to)
{
	SHIM_REAL(int, "rename", (const char *, const char *));
	if (shim_path("rename", from) || shim_path("rename", to))
		return shim_fail();
	return real(from, to);
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	SHIM_REAL(int, "renameat", (int, const char *, int, const char *));
	if (shim_path("renameat", from) || shim_path("renameat", to))
		return shim_fail();
	return real(fromfd, from, tofd, to);
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to,
    unsigned int flags)
{
	SHIM_REAL(int, "renameat2",
	    (int, const char *, int, const char *, unsigned int));
	if (shim_path("renameat", from) || shim_path("renameat", to))
		return shim_fail();
	return real(fromfd, from, tofd, to, flags);
}

int
fsync(int fd)
{
	SHIM_REAL(int, "fsync", (int));
	if (shim_fd("fsync", fd))
		return shim_fail();
	return real(fd);
}

int
fdatasync(int fd)
{
	SHIM_REAL(int, "fdatasync", (int));
	if (shim_fd("fdatasync", fd))
		return shim_fail();
	return real(fd);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	SHIM_REAL(ssize_t, "write", (int, const void *, size_t));
	if (shim_fd("write", fd))
		return shim_fail();
	return real(fd, buf, len);
}

/* Every open variant ends here; only creating opens of matches fail. */
static int
shim_openat(const char *call, int dfd, const char *path, int flags,
    mode_t mode)
{
	SHIM_REAL(int, "openat", (int, const char *, int, ...));
	if ((flags & O_CREAT) && shim_path(call, path))
		return shim_fail();
	return real(dfd, path, flags, mode);
}

/* The mode argument exists only when the flags create a file. */
#define SHIM_MODE(flags, mode) do {					\
	va_list	 ap;							\
									\
	if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
		va_start(ap, flags);					\
		(mode) = (mode_t)va_arg(ap, int);			\
		va_end(ap);						\
	}								\
} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t	 mode = 0;

	SHIM_MODE(flags, mode);
	return shim_openat("open", AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t	 mode = 0;

	SHIM_MODE(flags, mode);
	return shim_openat("open", AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

int
openat(int dfd, const char *path, int flags, ...)
{
	mode_t	 mode = 0;

	SHIM_MODE(flags, mode);
	return shim_openat("openat", dfd, path, flags, mode);
}

int
openat64(int dfd, const char *path, int flags, ...)
{
	mode_t	 mode = 0;

	SHIM_MODE(flags, mode);
	return shim_openat("openat", dfd, path, flags | O_LARGEFILE, mode);
}

/* Counted faults: the first FAULT_SKIP calls pass, then FAULT_COUNT fail. */
static int
shim_counted(const char *call, unsigned long *calls)
{
	const char	*skip = getenv("FAULT_SKIP"), *count = getenv("FAULT_COUNT");
	unsigned long	 n = (*calls)++, s = 0;

	if (!shim_listed(call))
		return 0;
	if (skip != NULL)
		s = strtoul(skip, NULL, 10);
	if (n < s)
		return 0;
	return count == NULL || n - s < strtoul(count, NULL, 10);
}

pid_t
fork(void)
{
	static unsigned long	 calls;
	SHIM_REAL(pid_t, "fork", (void));
	if (shim_counted("fork", &calls)) {
		errno = EAGAIN;
		return -1;
	}
	return real();
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	static unsigned long	 calls;
	SHIM_REAL(int, "accept4", (int, struct sockaddr *, socklen_t *, int));
	if (shim_counted("accept", &calls)) {
		errno = EMFILE;
		return -1;
	}
	return real(fd, sa, len, flags);
}

extern void	*__libc_malloc(size_t);

/* Large allocations fail: enough to hit a message buffer, not libc. */
void *
malloc(size_t size)
{
	const char	*min;

	if (size >= 1024 && shim_listed("malloc") &&
	    (min = getenv("FAULT_MINSIZE")) != NULL &&
	    size >= strtoul(min, NULL, 10)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}
