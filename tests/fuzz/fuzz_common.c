/*
 * fuzz_common.c: the helpers every fuzz target links: buffers, temporary
 * directories (removed at exit, on tmpfs when there is one), the script
 * format that turns one fuzz input into frames, the peer thread, and a
 * frame and UTF-8 checker written apart from src/frame.c on purpose.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"

#include "fuzz_common.h"

#define FZ_PEER_CAP	(8 * 1024 * 1024)
#define FZ_TMPDIRS	4

static char	 fz_dirs[FZ_TMPDIRS][PATH_MAX];
static int	 fz_ndirs;

/*
 * A broken invariant: say which, then abort so libFuzzer saves the
 * input.  Straight to fd 2: a target may have pointed stderr elsewhere.
 */
void
fz_fail(const char *what, const char *file, int line)
{
	dprintf(STDERR_FILENO, "fuzz invariant failed: %s (%s:%d)\n", what,
	    file, line);
	abort();
}

/* The harness cannot go on without its own resources. */
static void __attribute__((noreturn))
fz_setup_failed(const char *what)
{
	dprintf(STDERR_FILENO, "fuzz setup: %s: %s\n", what, strerror(errno));
	abort();
}

void
fz_buf_add(struct fz_buf *b, const void *p, size_t n)
{
	unsigned char	*np;
	size_t		 size;

	if (n == 0)
		return;
	if (b->len + n > b->size) {
		for (size = b->size ? b->size : 256; size < b->len + n;
		    size *= 2)
			;
		if ((np = realloc(b->p, size)) == NULL)
			fz_setup_failed("realloc");
		b->p = np;
		b->size = size;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* One message as the wire carries it: 10-digit length, then the bytes. */
void
fz_buf_frame(struct fz_buf *b, const void *p, size_t n)
{
	char	 hdr[FRAME_HDRLEN + 1];

	(void)snprintf(hdr, sizeof(hdr), "%010zu", n);
	fz_buf_add(b, hdr, FRAME_HDRLEN);
	fz_buf_add(b, p, n);
}

void
fz_buf_free(struct fz_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

static int
fz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void
fz_rmdirs(void)
{
	int	 i;

	for (i = 0; i < fz_ndirs; i++)
		(void)nftw(fz_dirs[i], fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh private directory for one target, on tmpfs if possible. */
const char *
fz_tmpdir(const char *tag)
{
	const char	*base = getenv("TMPDIR");
	struct stat	 st;
	char		*d;

	if (fz_ndirs == FZ_TMPDIRS) {
		errno = EMFILE;
		fz_setup_failed("too many temporary directories");
	}
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || base[0] == '\0')
		base = "/tmp";
	d = fz_dirs[fz_ndirs];
	if (snprintf(d, PATH_MAX, "%s/authchat-%s.XXXXXX", base, tag) >=
	    PATH_MAX || mkdtemp(d) == NULL)
		fz_setup_failed("mkdtemp");
	if (fz_ndirs++ == 0)
		atexit(fz_rmdirs);
	return d;
}

/* dir/name holds exactly these bytes, with this mode. */
void
fz_put(const char *dir, const char *name, const void *p, size_t n,
    mode_t mode)
{
	char	 path[PATH_MAX];
	ssize_t	 w;
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1 || fchmod(fd, mode) == -1)
		fz_setup_failed(path);
	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			fz_setup_failed(path);
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	(void)close(fd);
}

/* dir/name into b (replacing its content); -1 if it cannot be read. */
int
fz_slurp(const char *dir, const char *name, struct fz_buf *b)
{
	char	 path[PATH_MAX], chunk[4096];
	ssize_t	 n;
	int	 fd;

	b->len = 0;
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fz_buf_add(b, chunk, (size_t)n);
	(void)close(fd);
	return n == 0 ? 0 : -1;
}

/*
 * Logs go to /dev/null through log.c's file sink, so every message is
 * still formatted (and escaped) but the fuzzer's output stays readable.
 * Verbose on: the daemon's per-message debug line runs too.
 */
void
fz_quiet_logs(void)
{
	log_init(1, 0);
	if (log_set_file("/dev/null") == -1)
		fz_setup_failed("log_set_file /dev/null");
	log_setverbose(1);
}

/*
 * The script: the input split on FZ_SEP into at most maxsegs segments.
 * A segment starting with FZ_RAW goes to the wire as is (garbage, bad
 * headers, half frames); one starting with FZ_LINE is a line of input
 * for the client (lines may be NULL); any other is framed.  Returns the
 * number of segments used.
 */
size_t
fz_script(const uint8_t *data, size_t len, size_t maxsegs,
    struct fz_buf *wire, struct fz_buf *lines)
{
	const uint8_t	*p = data, *end = data + len, *sep;
	size_t		 n, nsegs = 0;

	while (p < end && nsegs < maxsegs) {
		if ((sep = memchr(p, FZ_SEP, (size_t)(end - p))) == NULL)
			sep = end;
		n = (size_t)(sep - p);
		if (n > 0 && p[0] == FZ_RAW)
			fz_buf_add(wire, p + 1, n - 1);
		else if (n > 0 && p[0] == FZ_LINE) {
			if (lines != NULL) {
				fz_buf_add(lines, p + 1, n - 1);
				fz_buf_add(lines, "\n", 1);
			}
		} else
			fz_buf_frame(wire, p, n);
		nsegs++;
		p = sep + 1;
	}
	return nsegs;
}

void
fz_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fz_setup_failed("socketpair");
}

/*
 * The peer writes its script and reads whatever comes back, both at
 * once, so neither side can block the other whatever the buffer sizes.
 * It ends when the code under test closes its end.
 */
static void *
fz_peer_run(void *arg)
{
	struct fz_peer	*pr = arg;
	struct pollfd	 pfd;
	unsigned char	 chunk[16384];
	size_t		 woff = 0;
	ssize_t		 n;
	int		 wdone = 0;

	if (pr->out.len == 0) {
		(void)shutdown(pr->fd, SHUT_WR);
		wdone = 1;
	}
	pfd.fd = pr->fd;
	for (;;) {
		pfd.events = POLLIN | (wdone ? 0 : POLLOUT);
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!wdone && (pfd.revents & POLLOUT)) {
			n = send(pr->fd, pr->out.p + woff, pr->out.len - woff,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				woff += (size_t)n;
			else if (n == 0 || (errno != EAGAIN &&
			    errno != EINTR))
				woff = pr->out.len;	/* peer gone */
			if (woff == pr->out.len) {
				(void)shutdown(pr->fd, SHUT_WR);
				wdone = 1;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(pr->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
			if (n == 0 || (n == -1 && errno != EAGAIN &&
			    errno != EINTR))
				break;
			if (n > 0 && pr->in.len + (size_t)n <= FZ_PEER_CAP)
				fz_buf_add(&pr->in, chunk, (size_t)n);
			else if (n > 0)
				pr->truncated = 1;
		}
	}
	return NULL;
}

/* Start the peer on fd; pr->out holds what it sends. */
void
fz_peer_start(struct fz_peer *pr, int fd)
{
	pr->fd = fd;
	pr->in.len = 0;
	pr->truncated = 0;
	errno = pthread_create(&pr->thread, NULL, fz_peer_run, pr);
	if (errno != 0)
		fz_setup_failed("pthread_create");
}

/*
 * Wait for the peer (the other end must be closed by now), close fd.
 * With FUZZ_TRANSCRIPT set in the environment, both directions are
 * copied to fd 2: how to see what a corpus file does.
 */
void
fz_peer_finish(struct fz_peer *pr)
{
	(void)pthread_join(pr->thread, NULL);
	(void)close(pr->fd);
	pr->fd = -1;
	if (getenv("FUZZ_TRANSCRIPT") == NULL)
		return;
	dprintf(STDERR_FILENO, "--- sent %zu bytes:\n", pr->out.len);
	if (pr->out.len > 0)
		(void)!write(STDERR_FILENO, pr->out.p, pr->out.len);
	dprintf(STDERR_FILENO, "\n--- received %zu bytes:\n", pr->in.len);
	if (pr->in.len > 0)
		(void)!write(STDERR_FILENO, pr->in.p, pr->in.len);
	dprintf(STDERR_FILENO, "\n--- end\n");
}

/*
 * Strict UTF-8 by decoding: no overlong forms, no surrogates, nothing
 * above U+10FFFF, nothing cut short.  NUL is valid here, as in frame.c.
 */
int
fz_utf8_ok(const unsigned char *s, size_t n)
{
	unsigned long	 cp, min;
	size_t		 i = 0, k, need;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] < 0xc0)
			return 0;
		else if (s[i] < 0xe0) {
			need = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] < 0xf0) {
			need = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] < 0xf8) {
			need = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Does buf hold whole, well-formed frames only (lengths up to max and,
 * when strict, UTF-8 without NUL)?  Calls fn with each message,
 * NUL-terminated.  Returns the number of messages, or -1 at the first
 * bad or cut frame.
 */
int
fz_frames(const unsigned char *buf, size_t len, size_t max, int strict,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t	 off = 0, n, i;
	char	*text;
	int	 count = 0;

	while (off < len) {
		if (len - off < FRAME_HDRLEN)
			return -1;
		for (n = 0, i = 0; i < FRAME_HDRLEN; i++) {
			if (buf[off + i] < '0' || buf[off + i] > '9')
				return -1;
			n = n * 10 + (size_t)(buf[off + i] - '0');
		}
		off += FRAME_HDRLEN;
		if (n > max || n > len - off)
			return -1;
		if (strict && (memchr(buf + off, '\0', n) != NULL ||
		    !fz_utf8_ok(buf + off, n)))
			return -1;
		if (fn != NULL) {
			if ((text = malloc(n + 1)) == NULL)
				fz_setup_failed("malloc");
			memcpy(text, buf + off, n);
			text[n] = '\0';
			fn(text, n, arg);
			free(text);
		}
		off += n;
		count++;
	}
	return count;
}

/*
 * Is tag listed in FUZZ_KNOWN (blank-separated)?  A known bug in src/
 * that is not fixed yet can be passed over while fuzzing for others;
 * replay (make check) never sets it, so the crash-* regression fails
 * until the fix lands.
 */
int
fz_known(const char *tag)
{
	const char	*list = getenv("FUZZ_KNOWN"), *p;
	size_t		 n = strlen(tag);

	for (p = list; p != NULL && (p = strstr(p, tag)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}
