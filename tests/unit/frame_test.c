/*
 * frame_test.c: unit tests for the message socket (src/frame.c).  Each
 * test talks over a socketpair; partial and slow peers are forked writers.
 * SIGPIPE is left at its default on purpose: a send to a closed peer must
 * not kill us.  The last line of output is "N passed, M failed".
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define CHECK(c)	check((c) != 0, #c, __FILE__, __LINE__)
/* A string literal and its length, embedded NULs included. */
#define MSG(s)		s, sizeof(s) - 1

static int	npassed, nfailed;

/* Records one check; a failure names its file and line. */
static void
check(int ok, const char *what, const char *file, int line)
{
	if (ok)
		npassed++;
	else {
		nfailed++;
		printf("%s:%d: FAIL: %s\n", file, line, what);
	}
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh socketpair; the test fails loudly if the system cannot give one. */
static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		exit(2);
	}
}

/* Writes all of buf or dies: test plumbing, not code under test. */
static void
put(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			perror("write");
			_exit(2);
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Forks a writer that sends buf in pieces of "piece" bytes, pausing before
 * each, then exits (closing wfd); the parent's copy of wfd is closed here.
 */
static pid_t
spawn_writer(int wfd, int rfd, const void *buf, size_t len, size_t piece,
    useconds_t pause)
{
	const char	*p = buf;
	size_t		 n;
	pid_t		 pid;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(rfd);
		for (; len > 0; p += n, len -= n) {
			n = len < piece ? len : piece;
			usleep(pause);
			put(wfd, p, n);
		}
		_exit(0);
	}
	close(wfd);
	return pid;
}

/* True if the child exited with status 0, not on a signal. */
static int
reaped_ok(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Writes raw bytes into one end, closes it, and receives from the other
 * with the given max; returns the result and frees any text.
 */
static int
recv_raw(const char *wire, size_t len, size_t max)
{
	struct msgsock	*ms;
	char		*text = (char *)1;
	int		 sv[2], r;

	pair(sv);
	put(sv[0], wire, len);
	close(sv[0]);
	ms = msgsock_new(sv[1], max);
	msgsock_set_timeout(ms, 2000);
	r = msgsock_recv(ms, &text, NULL);
	if (r == MS_OK)
		free(text);
	else
		CHECK(text == NULL);
	msgsock_free(ms);
	close(sv[1]);
	return r;
}

/*
 * Receives one message and checks the result and, on success, the text
 * and its length; on failure text must be NULL and the length 0.
 */
static int
recv_is(struct msgsock *ms, int want, const char *wanttext)
{
	char	*text = (char *)1;
	size_t	 len = 99;
	int	 ok;

	if (msgsock_recv(ms, &text, &len) != MS_OK)
		return want != MS_OK && text == NULL && len == 0;
	ok = want == MS_OK && len == strlen(wanttext) &&
	    strcmp(text, wanttext) == 0;
	free(text);
	return ok;
}

/* Sends text one way and expects it back byte for byte on the other end. */
static int
round_trip(const char *text, size_t max)
{
	struct msgsock	*a, *b;
	char		*got = NULL;
	size_t		 len = 0;
	int		 sv[2], ok;

	pair(sv);
	a = msgsock_new(sv[0], max);
	b = msgsock_new(sv[1], max);
	ok = msgsock_send(a, text) == MS_OK &&
	    msgsock_recv(b, &got, &len) == MS_OK &&
	    len == strlen(text) && strcmp(got, text) == 0;
	free(got);
	msgsock_free(a);
	msgsock_free(b);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

static void
test_round_trip(void)
{
	CHECK(round_trip("hello", FRAME_DEFAULT_MAX));
	CHECK(round_trip("", FRAME_DEFAULT_MAX));
	CHECK(round_trip("Привет", FRAME_DEFAULT_MAX));
	CHECK(round_trip("\xf0\x9f\x98\x80 emoji", FRAME_DEFAULT_MAX));
	CHECK(round_trip("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c", 16));
}

/* The exact bytes on the wire, for send, sendn, sendf and zero length. */
static void
test_wire_format(void)
{
	struct msgsock	*ms;
	char		 buf[64];
	ssize_t		 n;
	int		 sv[2];

	pair(sv);
	ms = msgsock_new(sv[0], FRAME_DEFAULT_MAX);
	CHECK(msgsock_fd(ms) == sv[0]);
	CHECK(msgsock_send(ms, "hello") == MS_OK);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n == 15 && memcmp(buf, "0000000005hello", 15) == 0);
	CHECK(msgsock_sendn(ms, "", 0) == MS_OK);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n == 10 && memcmp(buf, "0000000000", 10) == 0);
	CHECK(msgsock_sendn(ms, "abcdef", 3) == MS_OK);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n == 13 && memcmp(buf, "0000000003abc", 13) == 0);
	CHECK(msgsock_sendf(ms, "%d %s", 250, "ok") == MS_OK);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n == 16 && memcmp(buf, "0000000006250 ok", 16) == 0);
	CHECK(msgsock_sendf(ms, "%s", "") == MS_OK);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n == 10 && memcmp(buf, "0000000000", 10) == 0);
#if SIZE_MAX > 9999999999ULL
	CHECK(msgsock_sendn(ms, "x", (size_t)9999999999ULL + 1) == MS_ETOOBIG);
#endif
	msgsock_free(ms);
	/* msgsock_free must leave the fd open. */
	CHECK(fcntl(sv[0], F_GETFD) != -1);
	close(sv[0]);
	close(sv[1]);
}

/* A slow writer in pieces of "piece" bytes: every split point is seen. */
static void
test_split_writes(size_t piece)
{
	static const char wire[] =
	    "0000000005hello0000000006\xd0\x9f\xd1\x80\xd0\xb8";
	struct msgsock	*ms;
	pid_t		 pid;
	int		 sv[2];

	pair(sv);
	pid = spawn_writer(sv[0], sv[1], MSG(wire), piece, 2000);
	ms = msgsock_new(sv[1], FRAME_DEFAULT_MAX);
	msgsock_set_timeout(ms, 10000);
	CHECK(recv_is(ms, MS_OK, "hello"));
	CHECK(recv_is(ms, MS_OK, "При"));
	CHECK(recv_is(ms, MS_EOF, NULL));
	CHECK(reaped_ok(pid));
	msgsock_free(ms);
	close(sv[1]);
}

/* The header arrives in two halves, with a pause between them. */
static void
test_split_header(void)
{
	struct msgsock	*ms;
	pid_t		 pid;
	int		 sv[2];

	pair(sv);
	put(sv[0], "00000", 5);
	pid = spawn_writer(sv[0], sv[1], MSG("00005hello"), 100, 20000);
	ms = msgsock_new(sv[1], FRAME_DEFAULT_MAX);
	msgsock_set_timeout(ms, 10000);
	CHECK(recv_is(ms, MS_OK, "hello"));
	CHECK(reaped_ok(pid));
	msgsock_free(ms);
	close(sv[1]);
}

/* Several messages in a single write all come out, in order. */
static void
test_many_in_one(void)
{
	static const char wire[] =
	    "0000000001a0000000002bc00000000000000000003def";
	struct msgsock	*ms;
	int		 sv[2];

	pair(sv);
	put(sv[0], MSG(wire));
	close(sv[0]);
	ms = msgsock_new(sv[1], FRAME_DEFAULT_MAX);
	CHECK(recv_is(ms, MS_OK, "a"));
	CHECK(recv_is(ms, MS_OK, "bc"));
	CHECK(recv_is(ms, MS_OK, ""));
	CHECK(recv_is(ms, MS_OK, "def"));
	CHECK(recv_is(ms, MS_EOF, NULL));
	msgsock_free(ms);
	close(sv[1]);
}

/*
 * In a child allowed only 1 GB more address space, a 9999999999-byte
 * header must still be MS_ETOOBIG: allocating first would fail or abort.
 * The base is the current size, since ASan already maps terabytes.
 */
static int
toobig_without_alloc(void)
{
	struct rlimit	 rl;
	FILE		*fp;
	unsigned long	 pages = 0;
	pid_t		 pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 0;
	if (pid == 0) {
		if ((fp = fopen("/proc/self/statm", "r")) == NULL ||
		    fscanf(fp, "%lu", &pages) != 1)
			_exit(3);
		fclose(fp);
		rl.rlim_cur = pages * (unsigned long)getpagesize();
		rl.rlim_cur = rl.rlim_max = rl.rlim_cur + (1UL << 30);
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			_exit(3);
		_exit(recv_raw(MSG("9999999999"), 16) ==
		    MS_ETOOBIG ? 0 : 1);
	}
	return reaped_ok(pid);
}

static void
test_limits(void)
{
	CHECK(recv_raw(MSG("0000000016abcdefghijklmnop"), 16) == MS_OK);
	CHECK(recv_raw(MSG("0000000017abcdefghijklmnopq"), 16) == MS_ETOOBIG);
	/* No payload follows: a reader that waited for it would time out. */
	CHECK(recv_raw(MSG("9999999999"), 16) == MS_ETOOBIG);
	CHECK(recv_raw(MSG("0000000001x"), 0) == MS_ETOOBIG);
	CHECK(recv_raw(MSG("0000000000"), 0) == MS_OK);
	CHECK(toobig_without_alloc());
}

static void
test_bad_headers(void)
{
	CHECK(recv_raw(MSG("00000000x5hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG(" 000000005hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("-000000005hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("+000000005hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("00000\0""0005hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("0x00000005hello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("000000005\nhello"), 64) == MS_EHEADER);
	CHECK(recv_raw(MSG("\xd9\xa0""00000005hello"), 64) == MS_EHEADER);
}

/* A bad first byte is refused at once, without waiting for nine more. */
static void
test_bad_header_early(void)
{
	struct msgsock	*ms;
	long		 t0;
	int		 sv[2];

	pair(sv);
	put(sv[0], "x", 1);
	ms = msgsock_new(sv[1], 64);
	msgsock_set_timeout(ms, 5000);
	t0 = now_ms();
	CHECK(recv_is(ms, MS_EHEADER, NULL));
	CHECK(now_ms() - t0 < 2000);
	msgsock_free(ms);
	close(sv[0]);
	close(sv[1]);
}

static void
test_payload_checks(void)
{
	CHECK(recv_raw(MSG("0000000001\x80"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000002\xc0\xaf"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000003\xed\xa0\x80"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000004\xf4\x90\x80\x80"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000002\xe2\x82"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000003a\xe2\x82"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000001\xff"), 64) == MS_EUTF8);
	CHECK(recv_raw(MSG("0000000003a\0b"), 64) == MS_ENUL);
	CHECK(recv_raw(MSG("0000000001\0"), 64) == MS_ENUL);
	CHECK(recv_raw(MSG("0000000012Привет"), 64) == MS_OK);
	CHECK(recv_raw(MSG("0000000004\xf0\x9f\x98\x80"), 64) == MS_OK);
}

/* A rejected payload was read whole, so the next message still parses. */
static void
test_stays_in_step(void)
{
	static const char wire[] =
	    "0000000003a\0b0000000001\x80""0000000002ok";
	struct msgsock	*ms;
	int		 sv[2];

	pair(sv);
	put(sv[0], MSG(wire));
	ms = msgsock_new(sv[1], 64);
	CHECK(recv_is(ms, MS_ENUL, NULL));
	CHECK(recv_is(ms, MS_EUTF8, NULL));
	CHECK(recv_is(ms, MS_OK, "ok"));
	msgsock_free(ms);
	close(sv[0]);
	close(sv[1]);
}

static void
test_utf8_valid(void)
{
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid(NULL, 0));
	CHECK(utf8_valid(MSG("a\0b")));
	CHECK(utf8_valid(MSG("\x7f")));
	CHECK(utf8_valid(MSG("\xc2\x80")));
	CHECK(utf8_valid(MSG("\xdf\xbf")));
	CHECK(utf8_valid(MSG("\xe0\xa0\x80")));
	CHECK(utf8_valid(MSG("\xed\x9f\xbf")));
	CHECK(utf8_valid(MSG("\xee\x80\x80")));
	CHECK(utf8_valid(MSG("\xef\xbf\xbf")));
	CHECK(utf8_valid(MSG("\xf0\x90\x80\x80")));
	CHECK(utf8_valid(MSG("\xf4\x8f\xbf\xbf")));
	CHECK(!utf8_valid(MSG("\x80")));
	CHECK(!utf8_valid(MSG("\xbf")));
	CHECK(!utf8_valid(MSG("\xc0\x80")));
	CHECK(!utf8_valid(MSG("\xc1\xbf")));
	CHECK(!utf8_valid(MSG("\xe0\x9f\xbf")));
	CHECK(!utf8_valid(MSG("\xed\xa0\x80")));
	CHECK(!utf8_valid(MSG("\xed\xbf\xbf")));
	CHECK(!utf8_valid(MSG("\xf0\x8f\xbf\xbf")));
	CHECK(!utf8_valid(MSG("\xf4\x90\x80\x80")));
	CHECK(!utf8_valid(MSG("\xf5\x80\x80\x80")));
	CHECK(!utf8_valid(MSG("\xfe")));
	CHECK(!utf8_valid(MSG("\xe2\x28\xa1")));
	CHECK(!utf8_valid(MSG("\xe2\x82\x28")));
	CHECK(!utf8_valid(MSG("\xf0\x9f\x98")));
	CHECK(!utf8_valid(MSG("\xc2")));
	/* The length bounds the scan: a cut sequence is caught. */
	CHECK(!utf8_valid("\xe2\x82\xac", 2));
}

/* "0000000005hello" cut after k bytes: k == 0 is EOF, else truncated. */
static void
test_eof_everywhere(void)
{
	static const char wire[] = "0000000005hello";
	size_t		 k;
	int		 r, bad = 0;

	for (k = 0; k < sizeof(wire) - 1; k++) {
		r = recv_raw(wire, k, 64);
		if (r != (k == 0 ? MS_EOF : MS_ETRUNC)) {
			printf("%s:%d: FAIL: cut after %zu bytes gave %d\n",
			    __FILE__, __LINE__, k, r);
			bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(recv_raw(wire, sizeof(wire) - 1, 64) == MS_OK);
}

/* Receives on an idle socket and reports the result and the time taken. */
static int
idle_recv(int msec, const struct timespec *deadline, long *elapsed)
{
	struct msgsock	*ms;
	char		*text = NULL;
	long		 t0;
	int		 sv[2], r;

	pair(sv);
	ms = msgsock_new(sv[1], 64);
	msgsock_set_timeout(ms, msec);
	msgsock_set_deadline(ms, deadline);
	t0 = now_ms();
	r = msgsock_recv(ms, &text, NULL);
	*elapsed = now_ms() - t0;
	free(text);
	msgsock_free(ms);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void
test_timeouts(void)
{
	struct timespec	 dl;
	long		 el;

	CHECK(idle_recv(50, NULL, &el) == MS_ETIMEOUT);
	CHECK(el >= 45 && el < 3000);
	CHECK(idle_recv(0, NULL, &el) == MS_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec -= 1;
	CHECK(idle_recv(-1, &dl, &el) == MS_ETIMEOUT);
	CHECK(el < 1000);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 60000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	/* The earlier of timeout and deadline wins, either way round. */
	CHECK(idle_recv(5000, &dl, &el) == MS_ETIMEOUT);
	CHECK(el >= 50 && el < 3000);
	dl.tv_sec += 5;
	CHECK(idle_recv(40, &dl, &el) == MS_ETIMEOUT);
	CHECK(el >= 35 && el < 3000);
}

/* The timeout bounds the whole message, not each read of it. */
static void
test_timeout_whole_message(void)
{
	struct msgsock	*ms;
	long		 t0, el;
	pid_t		 pid;
	int		 sv[2];

	pair(sv);
	pid = spawn_writer(sv[0], sv[1], MSG("0000000005hello"), 1, 30000);
	ms = msgsock_new(sv[1], 64);
	msgsock_set_timeout(ms, 150);
	t0 = now_ms();
	CHECK(recv_is(ms, MS_ETIMEOUT, NULL));
	el = now_ms() - t0;
	CHECK(el >= 140 && el < 400);
	CHECK(reaped_ok(pid));
	msgsock_free(ms);
	close(sv[1]);
}

/* Deadline semantics: cleared by NULL; a ready message beats a past one. */
static void
test_deadline_ready(void)
{
	struct msgsock	*ms;
	struct timespec	 dl;
	int		 sv[2];

	pair(sv);
	ms = msgsock_new(sv[1], 64);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec -= 1;
	msgsock_set_deadline(ms, &dl);
	put(sv[0], MSG("0000000002hi0000000002yo"));
	CHECK(recv_is(ms, MS_OK, "hi"));
	msgsock_set_deadline(ms, NULL);
	msgsock_set_timeout(ms, 1000);
	CHECK(recv_is(ms, MS_OK, "yo"));
	msgsock_set_deadline(ms, &dl);
	CHECK(recv_is(ms, MS_ETIMEOUT, NULL));
	msgsock_free(ms);
	close(sv[0]);
	close(sv[1]);
}

/* A send to a peer that never reads times out instead of blocking. */
static void
test_send_timeout(void)
{
	struct msgsock	*ms;
	char		*big;
	long		 t0;
	int		 sv[2], i, r = MS_OK;

	pair(sv);
	if ((big = malloc(65536)) == NULL)
		exit(2);
	memset(big, 'x', 65536);
	ms = msgsock_new(sv[0], FRAME_DEFAULT_MAX);
	msgsock_set_timeout(ms, 50);
	t0 = now_ms();
	for (i = 0; i < 1000 && r == MS_OK; i++)
		r = msgsock_sendn(ms, big, 65536);
	CHECK(r == MS_ETIMEOUT);
	CHECK(now_ms() - t0 < 5000);
	free(big);
	msgsock_free(ms);
	close(sv[0]);
	close(sv[1]);
}

static void
alarm_handler(int sig)
{
	(void)sig;
}

/*
 * With a signal every 5 ms interrupting poll, a message still arrives
 * and an idle timeout still ends on time rather than restarting.
 */
static void
test_eintr(void)
{
	struct sigaction	 sa;
	struct itimerval	 it;
	struct msgsock		*ms;
	long			 el;
	pid_t			 pid;
	int			 sv[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = it.it_value.tv_usec = 5000;
	setitimer(ITIMER_REAL, &it, NULL);

	pair(sv);
	pid = spawn_writer(sv[0], sv[1], MSG("0000000002ok"), 5, 40000);
	ms = msgsock_new(sv[1], 64);
	msgsock_set_timeout(ms, 5000);
	CHECK(recv_is(ms, MS_OK, "ok"));
	CHECK(reaped_ok(pid));
	msgsock_free(ms);
	close(sv[1]);
	CHECK(idle_recv(100, NULL, &el) == MS_ETIMEOUT);
	CHECK(el >= 95 && el < 3000);

	/* Stop the timer; SIG_IGN, not SIG_DFL, as one may still be pending. */
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
}

/* A send to a closed peer is MS_ESYS/EPIPE, and no SIGPIPE kills us. */
static void
test_closed_peer(void)
{
	struct msgsock	*ms;
	pid_t		 pid;
	int		 sv[2], r, e;

	pair(sv);
	close(sv[1]);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		ms = msgsock_new(sv[0], 64);
		r = msgsock_send(ms, "hello");
		e = errno;
		msgsock_free(ms);
		_exit(r == MS_ESYS && e == EPIPE ? 0 : 1);
	}
	CHECK(pid != -1 && reaped_ok(pid));
	/* And in this process too: a SIGPIPE would end the run here. */
	ms = msgsock_new(sv[0], 64);
	errno = 0;
	r = msgsock_write_raw(ms, "x", 1);
	e = errno;
	CHECK(r == MS_ESYS && e == EPIPE);
	errno = EPIPE;
	CHECK(strcmp(msgsock_strerror(r), strerror(EPIPE)) == 0);
	msgsock_free(ms);
	close(sv[0]);
}

/*
 * A peer that closes with our data unread resets us (Linux AF_UNIX): a
 * read error mid-header is MS_ESYS with errno kept, not MS_ETRUNC.
 */
static void
test_reset(void)
{
	struct msgsock	*ms;
	char		*text = NULL;
	int		 sv[2], r, e;

	pair(sv);
	put(sv[1], "unread", 6);
	put(sv[0], "00000", 5);
	close(sv[0]);
	ms = msgsock_new(sv[1], 64);
	msgsock_set_timeout(ms, 1000);
	r = msgsock_recv(ms, &text, NULL);
	e = errno;
	CHECK(r == MS_ESYS && e == ECONNRESET && text == NULL);
	msgsock_free(ms);
	close(sv[1]);
}

/* A bad fd or a NULL string is an error, not a crash. */
static void
test_misuse(void)
{
	struct msgsock	*ms;
	struct timespec	 dl;
	char		*text = NULL;
	long		 el;
	int		 r, e;

	ms = msgsock_new(-1, 64);
	CHECK(ms != NULL && msgsock_fd(ms) == -1);
	r = msgsock_recv(ms, &text, NULL);
	e = errno;
	CHECK(r == MS_ESYS && e == EBADF && text == NULL);
	CHECK(msgsock_send(ms, "x") == MS_ESYS && errno == EBADF);
	CHECK(msgsock_send(ms, NULL) == MS_ESYS && errno == EINVAL);
	msgsock_free(ms);
	msgsock_free(NULL);
	/* Absurd deadlines: no overflow (UBSan watches), no crash. */
	dl.tv_sec = LONG_MAX;
	dl.tv_nsec = LONG_MAX;
	CHECK(idle_recv(10, &dl, &el) == MS_ETIMEOUT);
	dl.tv_sec = LONG_MIN;
	dl.tv_nsec = -1;
	CHECK(idle_recv(-1, &dl, &el) == MS_ETIMEOUT);
}

static void
test_raw(void)
{
	struct msgsock	*a, *b;
	char		 buf[32];
	ssize_t		 n;
	int		 sv[2];

	pair(sv);
	a = msgsock_new(sv[0], 64);
	b = msgsock_new(sv[1], 64);
	msgsock_set_timeout(b, 1000);
	CHECK(msgsock_write_raw(a, "abc", 3) == MS_OK);
	CHECK(msgsock_write_raw(a, "", 0) == MS_OK);
	n = msgsock_read_raw(b, buf, sizeof(buf));
	CHECK(n == 3 && memcmp(buf, "abc", 3) == 0);
	/* Bytes read past a message are handed out by raw reads. */
	put(sv[0], MSG("0000000002hiRAWDATA"));
	CHECK(recv_is(b, MS_OK, "hi"));
	n = msgsock_read_raw(b, buf, 3);
	CHECK(n == 3 && memcmp(buf, "RAW", 3) == 0);
	n = msgsock_read_raw(b, buf, sizeof(buf));
	CHECK(n == 4 && memcmp(buf, "DATA", 4) == 0);
	CHECK(msgsock_read_raw(b, buf, 0) == 0);
	msgsock_set_timeout(b, 30);
	CHECK(msgsock_read_raw(b, buf, sizeof(buf)) == MS_ETIMEOUT);
	close(sv[0]);
	CHECK(msgsock_read_raw(b, buf, sizeof(buf)) == 0);
	msgsock_free(a);
	msgsock_free(b);
	close(sv[1]);
}

/* A pipe is not a socket: sends fall back to writev. */
static void
test_pipe(void)
{
	struct msgsock	*w, *r;
	int		 fds[2];

	if (pipe(fds) == -1) {
		perror("pipe");
		exit(2);
	}
	w = msgsock_new(fds[1], 64);
	r = msgsock_new(fds[0], 64);
	CHECK(msgsock_send(w, "through a pipe") == MS_OK);
	CHECK(msgsock_sendf(w, "%s", "second") == MS_OK);
	close(fds[1]);
	CHECK(recv_is(r, MS_OK, "through a pipe"));
	CHECK(recv_is(r, MS_OK, "second"));
	CHECK(recv_is(r, MS_EOF, NULL));
	msgsock_free(w);
	msgsock_free(r);
	close(fds[0]);
}

/* A message of exactly FRAME_CLIENT_MAX from a child, to a non-blocking fd. */
static void
test_large(void)
{
	struct msgsock	*ms;
	char		*big, *text = NULL;
	size_t		 len = 0, i;
	pid_t		 pid;
	int		 sv[2], ok;

	pair(sv);
	if ((big = malloc(FRAME_CLIENT_MAX + 1)) == NULL)
		exit(2);
	for (i = 0; i < FRAME_CLIENT_MAX; i++)
		big[i] = (char)('a' + i % 26);
	big[FRAME_CLIENT_MAX] = '\0';
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(sv[1]);
		ms = msgsock_new(sv[0], FRAME_CLIENT_MAX);
		ok = msgsock_send(ms, big) == MS_OK;
		msgsock_free(ms);
		free(big);
		_exit(ok ? 0 : 1);
	}
	close(sv[0]);
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	ms = msgsock_new(sv[1], FRAME_CLIENT_MAX);
	msgsock_set_timeout(ms, 20000);
	CHECK(msgsock_recv(ms, &text, &len) == MS_OK &&
	    len == FRAME_CLIENT_MAX && memcmp(text, big, len) == 0);
	CHECK(pid != -1 && reaped_ok(pid));
	free(text);
	free(big);
	msgsock_free(ms);
	close(sv[1]);
}

static void
test_strerror(void)
{
	CHECK(strcmp(msgsock_strerror(MS_OK), "ok") == 0);
	CHECK(strcmp(msgsock_strerror(MS_EOF), "connection closed") == 0);
	CHECK(strcmp(msgsock_strerror(MS_EHEADER), "bad header") == 0);
	CHECK(strcmp(msgsock_strerror(MS_ETOOBIG), "message too large") == 0);
	CHECK(strcmp(msgsock_strerror(MS_EUTF8), "invalid UTF-8") == 0);
	CHECK(strcmp(msgsock_strerror(MS_ENUL), "NUL byte in message") == 0);
	CHECK(strcmp(msgsock_strerror(MS_ETRUNC),
	    "connection closed mid-message") == 0);
	CHECK(strcmp(msgsock_strerror(MS_ETIMEOUT), "timed out") == 0);
	CHECK(msgsock_strerror(-99) != NULL);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_round_trip();
	test_wire_format();
	test_split_writes(1);
	test_split_writes(7);
	test_split_header();
	test_many_in_one();
	test_limits();
	test_bad_headers();
	test_bad_header_early();
	test_payload_checks();
	test_stays_in_step();
	test_utf8_valid();
	test_eof_everywhere();
	test_timeouts();
	test_timeout_whole_message();
	test_deadline_ready();
	test_send_timeout();
	test_eintr();
	test_closed_peer();
	test_reset();
	test_misuse();
	test_raw();
	test_pipe();
	test_large();
	test_strerror();
	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
