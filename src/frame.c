/*
 * frame.c: the message socket.  Owns the wire format (a 10-digit decimal
 * length, then that many bytes of UTF-8 without NUL), the read buffer that
 * lets several messages share one read, and the per-operation timeout and
 * absolute deadline that bound every wait.
 *
 * After any error except MS_EUTF8 and MS_ENUL (which consume the whole
 * message) the stream is out of step and the caller should close it.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define FRAME_LEN_MAX	9999999999ULL	/* largest length 10 digits hold */
#define SENDF_STACK	512	/* most replies are formatted here */

/*
 * A message socket over a connected fd the caller keeps owning, in
 * storage the caller provides (the daemon's child: a static one, no
 * allocation).  Whether fd is a socket is learnt from the first send or
 * receive (ENOTSOCK) instead of an fstat(2); rbuf is not cleared, so no
 * page of it is written before it is used.
 */
void
msgsock_init(struct msgsock *ms, int fd, size_t max_message)
{
	ms->fd = fd;
	ms->notsock = 0;
	ms->answer_due = 0;
	ms->max_message = max_message;
	ms->timeout = -1;
	ms->interrupt = NULL;
	ms->masked = 0;
	ms->deadline = -1;
	ms->rpos = ms->rlen = 0;
}

/* The same on the heap. */
struct msgsock *
msgsock_new(int fd, size_t max_message)
{
	struct msgsock	*ms;

	if ((ms = malloc(sizeof(*ms))) == NULL)
		return NULL;
	msgsock_init(ms, fd, max_message);
	return ms;
}

/* Frees a msgsock_new() one only; closing the fd is the caller's business. */
void
msgsock_free(struct msgsock *ms)
{
	free(ms);
}

/* The fd, for poll() loops and logging. */
int
msgsock_fd(const struct msgsock *ms)
{
	return ms->fd;
}

/* Bounds each whole operation to msec milliseconds; negative: no bound. */
void
msgsock_set_timeout(struct msgsock *ms, int msec)
{
	ms->timeout = msec < 0 ? -1 : msec;
}

/*
 * A check made before every read and after every interrupted wait for
 * input: when it returns non-zero (a signal asked the process to finish)
 * the read gives up with MS_ESYS and errno EINTR.  Writes still go out,
 * so a goodbye can.
 */
void
msgsock_set_interrupt(struct msgsock *ms, int (*fn)(void))
{
	ms->interrupt = fn;
}

/*
 * The signal mask to wait with (ppoll(2)).  A caller that keeps its
 * signals blocked lets them in only while waiting, so none can slip in
 * between the interrupt check and the wait.  NULL: waits keep the mask.
 */
void
msgsock_set_sigmask(struct msgsock *ms, const sigset_t *mask)
{
	ms->masked = mask != NULL;
	if (mask != NULL)
		ms->sigmask = *mask;
}

/* CLOCK_MONOTONIC now, in milliseconds. */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC deadline for every operation; NULL clears. */
void
msgsock_set_deadline(struct msgsock *ms, const struct timespec *ts)
{
	if (ts == NULL)
		ms->deadline = -1;
	else if (ts->tv_sec < 0)
		ms->deadline = 0;
	else if (ts->tv_sec >= LLONG_MAX / 1000 - 1)
		ms->deadline = LLONG_MAX / 2;
	else {	/* rounded up: never give up early */
		ms->deadline = (long long)ts->tv_sec * 1000;
		if (ts->tv_nsec > 0 && ts->tv_nsec < 1000000000L)
			ms->deadline += (ts->tv_nsec + 999999) / 1000000;
	}
}

/* When one operation must give up: the earlier of timeout and deadline. */
static long long
op_end(const struct msgsock *ms)
{
	long long	 end = -1;

	if (ms->timeout >= 0)
		end = now_ms() + ms->timeout;
	if (ms->deadline >= 0 && (end < 0 || ms->deadline < end))
		end = ms->deadline;
	return end;
}

/* Time left until end, for ppoll(); NULL waits forever. */
static struct timespec *
op_left(long long end, struct timespec *ts)
{
	long long	 left;

	if (end < 0)
		return NULL;
	left = end - now_ms();
	if (left < 0)
		left = 0;
	ts->tv_sec = (time_t)(left / 1000);
	ts->tv_nsec = (long)(left % 1000) * 1000000;
	return ts;
}

/*
 * One wait until the fd is ready for events or the operation's time is
 * up; a signal ends it with MS_ESYS and EINTR, for the caller to judge.
 * Once the time is up, a ready fd is still used (a wait of 0) so a last
 * reply can go out; anything that would have to wait times out.
 */
static int
ms_wait(const struct msgsock *ms, long long end, short events)
{
	struct pollfd	 pfd;
	struct timespec	 ts;
	int		 n;

	if (ms->fd < 0) {	/* poll() would ignore it and sleep */
		errno = EBADF;
		return MS_ESYS;
	}
	pfd.fd = ms->fd;
	pfd.events = events;
	pfd.revents = 0;
	n = ppoll(&pfd, 1, op_left(end, &ts), ms->masked ? &ms->sigmask :
	    NULL);
	if (n == -1)
		return MS_ESYS;
	if (n == 0) {
		errno = ETIMEDOUT;
		return MS_ETIMEOUT;
	}
	if (pfd.revents & POLLNVAL) {
		errno = EBADF;
		return MS_ESYS;
	}
	return MS_OK;
}

/*
 * A read that cannot block: a socket is read at once, a pipe or tty
 * (where read(2) could block) only once a wait said it was ready.
 */
static ssize_t
ms_try_read(struct msgsock *ms, void *buf, size_t n, int ready)
{
	ssize_t	 r;

	if (!ms->notsock) {
		r = recv(ms->fd, buf, n, MSG_DONTWAIT);
		if (r != -1 || errno != ENOTSOCK)
			return r;
		ms->notsock = 1;
	}
	if (!ready) {
		errno = EAGAIN;
		return -1;
	}
	return read(ms->fd, buf, n);
}

/*
 * One read: bytes, 0 on EOF, or an MS_* code.  Data that may already be
 * there is read at once, a poll(2) only when the socket turns out empty;
 * but right after a send the peer has yet to answer, so then the wait
 * comes first and saves the recv(2) that would find nothing.
 */
static ssize_t
ms_read(struct msgsock *ms, long long end, void *buf, size_t n)
{
	ssize_t	 r;
	int	 w, ready = 0;

	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	for (;;) {
		if (ms->interrupt != NULL && ms->interrupt()) {
			errno = EINTR;
			return MS_ESYS;
		}
		if (!ms->answer_due || ready) {
			if ((r = ms_try_read(ms, buf, n, ready)) >= 0) {
				ms->answer_due = 0;
				return r;
			}
			if (errno != EINTR && errno != EAGAIN &&
			    errno != EWOULDBLOCK)
				return MS_ESYS;
		}
		if ((w = ms_wait(ms, end, POLLIN)) != MS_OK &&
		    (w != MS_ESYS || errno != EINTR))
			return w;
		ready = w == MS_OK;
	}
}

/* Hands out up to n already buffered bytes; returns how many. */
static size_t
ms_drain(struct msgsock *ms, void *dst, size_t n)
{
	size_t	 chunk = ms->rlen - ms->rpos;

	if (chunk > n)
		chunk = n;
	memcpy(dst, ms->rbuf + ms->rpos, chunk);
	ms->rpos += chunk;
	return chunk;
}

/*
 * Copies the next n bytes of the stream to dst, buffer first.  EOF is
 * MS_EOF only if no byte of this message has been seen ("started" == 0).
 */
static int
ms_take(struct msgsock *ms, long long end, void *dst, size_t n,
    int started)
{
	unsigned char	*d = dst;
	size_t		 chunk;
	ssize_t		 r;

	while (n > 0) {
		if (ms->rpos == ms->rlen) {
			ms->rpos = ms->rlen = 0;
			r = ms_read(ms, end, ms->rbuf, sizeof(ms->rbuf));
			if (r < 0)
				return (int)r;
			if (r == 0)
				return started ? MS_ETRUNC : MS_EOF;
			ms->rlen = (size_t)r;
		}
		chunk = ms_drain(ms, d, n);
		d += chunk;
		n -= chunk;
		started = 1;
	}
	return MS_OK;
}

/* Reads the header a byte at a time so a bad one is refused at once. */
static int
ms_recv_header(struct msgsock *ms, long long end, size_t *lenp)
{
	unsigned long long	 len = 0;
	char			 c;
	int			 i, r;

	for (i = 0; i < FRAME_HDRLEN; i++) {
		if ((r = ms_take(ms, end, &c, 1, i > 0)) != MS_OK)
			return r;
		if (c < '0' || c > '9')
			return MS_EHEADER;
		len = len * 10 + (unsigned long long)(c - '0');
	}
	if (len > ms->max_message || len >= SIZE_MAX)
		return MS_ETOOBIG;
	*lenp = (size_t)len;
	return MS_OK;
}

/*
 * Receives one message: the header is checked before any allocation.
 * The text goes to buf when it fits (len < size), else to a malloc'd
 * buffer the caller frees; *textp says which.
 */
int
msgsock_recv_into(struct msgsock *ms, char *buf, size_t size, char **textp,
    size_t *lenp)
{
	long long	 end;
	char		*text;
	size_t		 len;
	int		 r, saved;

	*textp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	end = op_end(ms);
	if ((r = ms_recv_header(ms, end, &len)) != MS_OK)
		return r;
	if (buf != NULL && len < size)
		text = buf;
	else if ((text = malloc(len + 1)) == NULL)
		return MS_ESYS;
	if ((r = ms_take(ms, end, text, len, 1)) == MS_OK) {
		text[len] = '\0';
		if (memchr(text, '\0', len) != NULL)
			r = MS_ENUL;
		else if (!utf8_valid(text, len))
			r = MS_EUTF8;
	}
	if (r != MS_OK) {
		saved = errno;
		if (text != buf)
			free(text);
		errno = saved;
		return r;
	}
	*textp = text;
	if (lenp != NULL)
		*lenp = len;
	return MS_OK;
}

/* Receives one message into a malloc'd buffer the caller frees. */
int
msgsock_recv(struct msgsock *ms, char **textp, size_t *lenp)
{
	return msgsock_recv_into(ms, NULL, 0, textp, lenp);
}

/* Unframed mode: buffered bytes first, else one read; >0, 0 on EOF, or MS_*. */
ssize_t
msgsock_read_raw(struct msgsock *ms, void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (ms->rpos < ms->rlen)
		return (ssize_t)ms_drain(ms, buf, n);
	return ms_read(ms, op_end(ms), buf, n);
}

/*
 * One write that cannot block: on a socket at once, without SIGPIPE; on
 * a pipe or tty (no SIGPIPE protection) only once a wait said it was
 * ready, as its writev(2) could block.
 */
static ssize_t
ms_try_writev(struct msgsock *ms, struct iovec *iov, int iovcnt, int ready)
{
	struct msghdr	 msg;
	ssize_t		 n;

	if (!ms->notsock) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(ms->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != -1 || errno != ENOTSOCK)
			return n;
		ms->notsock = 1;
	}
	if (!ready) {
		errno = EAGAIN;
		return -1;
	}
	return writev(ms->fd, iov, iovcnt);
}

/* Writes all of iov, resuming after short writes and signals. */
static int
ms_write_all(struct msgsock *ms, struct iovec *iov, int iovcnt)
{
	long long	 end = op_end(ms);
	ssize_t		 n = 0;
	int		 r, ready = 0;

	for (;;) {
		for (; iovcnt > 0 && (size_t)n >= iov->iov_len; iov++, iovcnt--)
			n -= (ssize_t)iov->iov_len;
		if (iovcnt == 0)
			return MS_OK;
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= (size_t)n;
		n = ms_try_writev(ms, iov, iovcnt, ready);
		ready = 0;
		if (n != -1) {
			ms->answer_due = 1;
			continue;
		}
		n = 0;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return MS_ESYS;
		if ((r = ms_wait(ms, end, POLLOUT)) == MS_OK)
			ready = 1;
		else if (r != MS_ESYS || errno != EINTR)
			return r;
	}
}

/* Header and payload leave in one writev so Nagle cannot split them. */
int
msgsock_sendn(struct msgsock *ms, const char *buf, size_t len)
{
	struct iovec	 iov[2];
	char		 hdr[FRAME_HDRLEN + 1];

	if ((unsigned long long)len > FRAME_LEN_MAX)
		return MS_ETOOBIG;
	(void)snprintf(hdr, sizeof(hdr), "%010llu", (unsigned long long)len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = FRAME_HDRLEN;
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	return ms_write_all(ms, iov, 2);
}

/* A C string as one message. */
int
msgsock_send(struct msgsock *ms, const char *text)
{
	if (text == NULL) {
		errno = EINVAL;
		return MS_ESYS;
	}
	return msgsock_sendn(ms, text, strlen(text));
}

/*
 * Formats on the stack when the text fits, else into a buffer sized by
 * that first pass; then sends it.
 */
int
msgsock_sendf(struct msgsock *ms, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[SENDF_STACK], *buf;
	int	 len, r, saved;

	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len < 0)
		return MS_ESYS;
	if ((size_t)len < sizeof(small))
		return msgsock_sendn(ms, small, (size_t)len);
	if ((buf = malloc((size_t)len + 1)) == NULL)
		return MS_ESYS;
	va_start(ap, fmt);
	r = vsnprintf(buf, (size_t)len + 1, fmt, ap);
	va_end(ap);
	if (r == len)
		r = msgsock_sendn(ms, buf, (size_t)len);
	else
		r = MS_ESYS;
	saved = errno;
	free(buf);
	errno = saved;
	return r;
}

/* Unframed mode: all n bytes, with the same timeout and SIGPIPE rules. */
int
msgsock_write_raw(struct msgsock *ms, const void *buf, size_t n)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = n;
	return ms_write_all(ms, &iov, 1);
}

/* Text for an MS_* code; MS_ESYS reads errno, so call it straight away. */
const char *
msgsock_strerror(int err)
{
	static const char *const text[] = {
		"ok", "connection closed", "bad header", "message too large",
		"invalid UTF-8", "NUL byte in message",
		"connection closed mid-message", "timed out"
	};

	if (err == MS_ESYS)
		return strerror(errno);
	if (err > 0 || (size_t)-err >= sizeof(text) / sizeof(text[0]))
		return "unknown error";
	return text[-err];
}

/*
 * Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF, nothing cut short.
 */
static size_t
utf8_seqlen(const unsigned char *p, size_t left)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 i, n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Strict UTF-8 check; NUL is valid here, msgsock_recv refuses it apart. */
int
utf8_valid(const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	size_t			 n;

	while (len > 0) {
		if ((n = utf8_seqlen(p, len)) == 0)
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

/* The longest prefix of s, at most max bytes, that ends between characters. */
size_t
utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}
