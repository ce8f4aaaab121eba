/*
 * fuzz_frame.c: libFuzzer target for the frame reader, msgsock_recv() and
 * msgsock_read_raw() of src/frame.c, fed through a socketpair.
 *
 * Input: four control bytes, then the stream the peer sends (at most
 * 64 KiB; the rest is cut).
 *   byte 0  max_message, from a table of edges and the real limits
 *   byte 1  the largest chunk the peer writes at once, from a table
 *   byte 2  bits 0-1: how the stream ends: 0 EOF (with a long timeout
 *           or deadline that never fires), 1 the peer stays silent and
 *           the timeout is 0, 2 silent peer and a deadline already past,
 *           3 EOF, but the interrupt hook fires before chunk K;
 *           bits 2-4: every Nth operation is msgsock_read_raw (0: none);
 *           bit 5: every message goes back through msgsock_send* and
 *           msgsock_recv on a second socketpair (round trip)
 *           bit 6: a pipe instead of a socketpair, for the stream and
 *           the round trip (frame.c's read/writev path)
 *   byte 3  seed of the chunk and raw read sizes; K is its low 4 bits
 *
 * Feeding: the peer writes nothing up front.  frame.c calls the
 * msgsock's interrupt hook before every wait for input; the hook writes
 * the next chunk (or closes the peer's end when none is left).  So each
 * read sees exactly the chunk boundaries the input chose, the run is
 * deterministic, and no thread or socket buffer size is involved (the
 * round trip's pipe is made big enough for the largest message).
 *
 * Oracle: a reference parser over the same stream predicts each result
 * (code, message bytes, where the stream stands afterwards); UTF-8 is
 * judged by an independent decoder (fz_utf8_ok).  On MS_OK the message
 * must be at most max_message bytes, NUL-free, valid UTF-8 and
 * NUL-terminated.  Any difference aborts.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#include "fuzz_common.h"

#define CTL_BYTES	4
#define END_EOF		0
#define END_TIMEOUT	1
#define END_DEADLINE	2
#define END_INTERRUPT	3

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t max_table[16] = {
	0, 1, 2, 9, 10, 11, 100, 4095, 4096, 4097, 65535,
	FRAME_DEFAULT_MAX, FRAME_DEFAULT_MAX + 1, 100000, FRAME_CLIENT_MAX,
	16 * 1024 * 1024
};

static const size_t chunk_table[16] = {
	1, 2, 3, 4, 7, 9, 10, 11, 16, 100, 1000, 4095, 4096, 4097, 8192,
	65536
};

/* The peer: the whole stream, how far it was written, how it ends. */
static struct feeder {
	const unsigned char	*s;
	size_t			 len, off;
	size_t			 cmax;
	int			 fd;		/* peer's end, -1 once closed */
	int			 close_at_end;
	int			 chunks;	/* written so far */
	int			 interrupt_at;	/* -1: never */
	int			 interrupted;
	uint32_t		 rng;
} fd_feed;

/* The reference parser's view of the stream. */
struct model {
	const unsigned char	*s;
	size_t			 len, pos;
	int			 open;		/* no EOF: the end times out */
};

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* frame.c's interrupt hook: write the next chunk before each wait. */
static int
feed(void)
{
	struct feeder	*f = &fd_feed;
	size_t		 n;
	ssize_t		 w;

	if (f->interrupt_at >= 0 && f->chunks >= f->interrupt_at) {
		f->interrupted = 1;
		return 1;
	}
	if (f->off == f->len) {
		if (f->close_at_end && f->fd != -1) {
			(void)close(f->fd);
			f->fd = -1;
		}
		return 0;
	}
	n = 1 + rnd(&f->rng) % f->cmax;
	if (n > f->len - f->off)
		n = f->len - f->off;
	while ((w = write(f->fd, f->s + f->off, n)) == -1 && errno == EINTR)
		;
	FZ_ASSERT(w > 0);
	f->off += (size_t)w;
	f->chunks++;
	return 0;
}

/* What msgsock_recv must return next; *off and *n locate the message. */
static int
model_recv(struct model *m, size_t max, size_t *off, size_t *n)
{
	size_t	 len = 0, p = m->pos, i;
	int	 cut = m->open ? MS_ETIMEOUT : MS_ETRUNC;

	if (p == m->len)
		return m->open ? MS_ETIMEOUT : MS_EOF;
	for (i = 0; i < FRAME_HDRLEN; i++, p++) {
		if (p == m->len) {
			m->pos = p;
			return cut;
		}
		if (m->s[p] < '0' || m->s[p] > '9') {
			m->pos = p + 1;
			return MS_EHEADER;
		}
		len = len * 10 + (size_t)(m->s[p] - '0');
	}
	m->pos = p;
	if (len > max)
		return MS_ETOOBIG;
	if (len > m->len - p) {
		m->pos = m->len;
		return cut;
	}
	m->pos = p + len;
	*off = p;
	*n = len;
	if (memchr(m->s + p, '\0', len) != NULL)
		return MS_ENUL;
	return fz_utf8_ok(m->s + p, len) ? MS_OK : MS_EUTF8;
}

/* utf8_prefix() cuts between characters and never grows the text. */
static void
check_prefix(const char *text, size_t len, size_t k)
{
	size_t	 p = utf8_prefix(text, k);

	if (len <= k)
		FZ_ASSERT(p == len);
	else {
		FZ_ASSERT(p <= k && p + 3 >= k);
		FZ_ASSERT(fz_utf8_ok((const unsigned char *)text, p));
	}
}

/* The message survives msgsock_send* and msgsock_recv unchanged. */
static void
round_trip(const char *text, size_t len, int how, int use_pipe)
{
	struct msgsock	*a, *b;
	char		*back = NULL;
	size_t		 blen = 0;
	int		 sv[2], r;

	if (use_pipe) {
		if (pipe2(sv, O_CLOEXEC) == -1 ||
		    fcntl(sv[1], F_SETPIPE_SZ, 2 * FZ_INPUT_MAX) == -1)
			abort();
		r = sv[0];	/* a writes to the write end */
		sv[0] = sv[1];
		sv[1] = r;
	} else
		fz_pair(sv);
	if ((a = msgsock_new(sv[0], len)) == NULL ||
	    (b = msgsock_new(sv[1], len)) == NULL)
		abort();
	if (how == 0)
		r = msgsock_sendn(a, text, len);
	else if (how == 1)
		r = msgsock_send(a, text);
	else
		r = msgsock_sendf(a, "%s", text);
	FZ_ASSERT(r == MS_OK);
	FZ_ASSERT(msgsock_recv(b, &back, &blen) == MS_OK);
	FZ_ASSERT(blen == len && memcmp(back, text, len) == 0);
	free(back);
	msgsock_free(a);
	msgsock_free(b);
	(void)close(sv[0]);
	(void)close(sv[1]);
}

/* One msgsock_recv() against the model; 0 when the stream is done. */
static int
step_recv(struct msgsock *ms, struct model *m, size_t max, int rt,
    int use_pipe, uint32_t *rng)
{
	char		*text = (char *)1;
	size_t		 len = 1, off = 0, n = 0;
	int		 r, want;

	r = msgsock_recv(ms, &text, &len);
	FZ_ASSERT(msgsock_strerror(r) != NULL);
	if (r == MS_ESYS) {
		FZ_ASSERT(fd_feed.interrupted && errno == EINTR);
		FZ_ASSERT(text == NULL);
		return 0;
	}
	want = model_recv(m, max, &off, &n);
	FZ_ASSERT(r == want);
	if (r != MS_OK) {
		FZ_ASSERT(text == NULL && len == 0);
		return r == MS_EHEADER || r == MS_ETOOBIG || r == MS_EUTF8 ||
		    r == MS_ENUL;
	}
	FZ_ASSERT(text != NULL && len == n && len <= max);
	FZ_ASSERT(memcmp(text, m->s + off, n) == 0 && text[len] == '\0');
	FZ_ASSERT(memchr(text, '\0', len) == NULL);
	FZ_ASSERT(utf8_valid(text, len));
	check_prefix(text, len, rnd(rng) % 70);
	if (rt)
		round_trip(text, len, (int)(rnd(rng) % 3), use_pipe);
	free(text);
	return 1;
}

/* One msgsock_read_raw(): the next bytes of the stream, or its end. */
static int
step_raw(struct msgsock *ms, struct model *m, uint32_t *rng)
{
	unsigned char	 buf[8192];
	size_t		 want = rnd(rng) % (sizeof(buf) + 1);
	ssize_t		 r;

	r = msgsock_read_raw(ms, buf, want);
	if (r == MS_ESYS) {
		FZ_ASSERT(fd_feed.interrupted && errno == EINTR);
		return 0;
	}
	if (want == 0) {
		FZ_ASSERT(r == 0);
		return 1;
	}
	if (m->pos == m->len) {
		FZ_ASSERT(r == (m->open ? MS_ETIMEOUT : 0));
		return 0;
	}
	FZ_ASSERT(r > 0 && (size_t)r <= want && (size_t)r <= m->len - m->pos);
	FZ_ASSERT(memcmp(buf, m->s + m->pos, (size_t)r) == 0);
	m->pos += (size_t)r;
	return 1;
}

/* How the run bounds its waits; a silent peer must time out at once. */
static void
set_limits(struct msgsock *ms, int end, uint32_t *rng)
{
	static const struct timespec past[4] = {
		{ -5, 0 }, { 0, 0 }, { 1, 999999999 }, { 2, 1000000000 }
	};
	struct timespec	 far = { LLONG_MAX / 1000, 0 };

	switch (end) {
	case END_TIMEOUT:
		msgsock_set_timeout(ms, 0);
		break;
	case END_DEADLINE:
		msgsock_set_deadline(ms, &past[rnd(rng) % 4]);
		break;
	default:
		if (rnd(rng) % 2)
			msgsock_set_timeout(ms, 60 * 1000);
		else
			msgsock_set_deadline(ms, &far);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgsock	*ms;
	struct model	 m;
	size_t		 max;
	uint32_t	 rng;
	int		 sv[2], end, rawevery, rt, use_pipe, op, more;

	if (size < CTL_BYTES)
		return 0;
	if (size > CTL_BYTES + FZ_INPUT_MAX)
		size = CTL_BYTES + FZ_INPUT_MAX;
	max = max_table[data[0] % 16];
	end = data[2] & 3;
	rawevery = (data[2] >> 2) & 7;
	rt = (data[2] >> 5) & 1;
	use_pipe = (data[2] >> 6) & 1;
	rng = 0x9e3779b9u ^ ((uint32_t)data[3] << 8 | data[1]);

	/* the two UTF-8 checkers agree on any bytes */
	FZ_ASSERT(!utf8_valid((const char *)data, size) ==
	    !fz_utf8_ok(data, size));

	if (!use_pipe)
		fz_pair(sv);
	else if (pipe2(sv, O_CLOEXEC) == -1 ||
	    fcntl(sv[1], F_SETPIPE_SZ, 4 * FZ_INPUT_MAX) == -1)
		abort();	/* room for a chunk and what is left of one */
	else {
		op = sv[0];	/* the peer holds the write end */
		sv[0] = sv[1];
		sv[1] = op;
	}
	memset(&fd_feed, 0, sizeof(fd_feed));
	fd_feed.s = data + CTL_BYTES;
	fd_feed.len = size - CTL_BYTES;
	fd_feed.cmax = chunk_table[data[1] % 16];
	fd_feed.fd = sv[0];
	fd_feed.close_at_end = end == END_EOF || end == END_INTERRUPT;
	fd_feed.interrupt_at = end == END_INTERRUPT ? data[3] & 15 : -1;
	fd_feed.rng = rng | 1;

	memset(&m, 0, sizeof(m));
	m.s = fd_feed.s;
	m.len = fd_feed.len;
	m.open = !fd_feed.close_at_end;

	if ((ms = msgsock_new(sv[1], max)) == NULL)
		abort();
	FZ_ASSERT(msgsock_fd(ms) == sv[1]);
	msgsock_set_interrupt(ms, feed);
	set_limits(ms, end, &rng);
	for (op = 1, more = 1; more; op++) {
		if (rawevery != 0 && op % rawevery == 0)
			more = step_raw(ms, &m, &rng);
		else
			more = step_recv(ms, &m, max, rt, use_pipe, &rng);
	}
	msgsock_free(ms);
	if (fd_feed.fd != -1)
		(void)close(fd_feed.fd);
	(void)close(sv[1]);
	return 0;
}
