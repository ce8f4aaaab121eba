/*
 * loadgen.c: closed-loop load generator for the authchatd benchmark.
 * C workers (threads) each run one conversation at a time and start the
 * next as soon as the last one ended, for -d seconds or -n conversations.
 *
 *   connect   connect, greeting, one message, its reply, close
 *   pingpong  one connection per worker, -k messages, one reply each
 *   login     auth mode: greeting, empty token, name, password, welcome
 *   resume    auth mode: greeting, a kept token, "250 Welcome back"
 *   register  auth mode: a new name, its password twice, welcome
 *
 * login picks users PREFIX0 .. PREFIX<u-1> and resume the lines of the
 * token file at random (uniformly, a fixed seed per worker), so lookups
 * meet users and sessions from the whole of the files.
 *
 * A latency sample is one whole conversation (connect .. close), or one
 * message and its reply in pingpong.  Every message leaves in one
 * send(2), header and text together, so Nagle cannot split it.  Only
 * loopback targets are accepted.  A summary goes to stderr and one line
 * to stdout:
 *
 *   RESULT mode=connect conc=8 ok=N secs=S rate=R p50_us=X p99_us=Y errors=E
 *
 * Exit status: 0 no errors, 1 errors, 2 usage.
 */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define HDRLEN		10
#define FRAME_MAX	65536		/* the daemon's default max_message */
#define CONN_BUF	(HDRLEN + FRAME_MAX + 4096)
#define MAX_STEPS	16		/* server messages in one dialogue */
#define MAX_TOKENS	1000000

enum mode { M_CONNECT, M_PINGPONG, M_LOGIN, M_RESUME, M_REGISTER };
enum err { E_CONNECT, E_TIMEOUT, E_EOF, E_IO, E_PROTO, E_BUSY, E_NKINDS };

static const char *mode_names[] = { "connect", "pingpong", "login",
    "resume", "register" };
static const char *err_names[] = { "connect", "timeout", "eof", "io",
    "proto", "busy" };

/* A connection and the bytes read from it but not yet used. */
struct conn {
	int	 fd;
	size_t	 off, len;
	char	 buf[CONN_BUF];
};

struct worker {
	pthread_t	 th;
	int		 id;
	uint64_t	*lat;		/* nanoseconds */
	size_t		 nlat, caplat;
	long		 ok;
	unsigned int	 seed;		/* picks users and tokens */
	double		 t_end;
	struct conn	 c;
	char		 out[HDRLEN + FRAME_MAX];
};

static struct {
	enum mode		 mode;
	const char		*host, *port;
	int			 conc;
	double			 secs;
	long			 max_ops;	/* -n: conversations in all */
	long			 msgs;		/* -k: pingpong messages */
	size_t			 size;
	int			 timeout_ms;
	long			 nusers;
	const char		*prefix, *password, *token_file;
	char			**tokens;
	long			 ntokens;
	int			 quiet;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	double			 t_start, deadline;
	atomic_long		 claimed;	/* conversations started */
	atomic_long		 seq;		/* names of new users */
	atomic_long		 errs[E_NKINDS];
	atomic_int		 printed;
	pthread_barrier_t	 go;
} g = {
	.mode = M_CONNECT, .host = "127.0.0.1", .conc = 8, .secs = 5,
	.max_ops = -1, .msgs = 1000, .size = 16, .timeout_ms = 10000,
	.nusers = 1000, .prefix = "bench", .password = "benchpass",
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Count an error; the first few are told on stderr. */
static int
fail(enum err kind, const char *what, int errnum)
{
	atomic_fetch_add(&g.errs[kind], 1);
	if (!g.quiet && atomic_fetch_add(&g.printed, 1) < 5)
		fprintf(stderr, "loadgen: %s error: %s%s%s\n", err_names[kind],
		    what, errnum ? ": " : "", errnum ? strerror(errnum) : "");
	return -1;
}

static int
fail_sys(const char *what)
{
	int e = errno;

	return fail(e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT ||
	    e == EINPROGRESS ? E_TIMEOUT : E_IO, what, e);
}

/* Every socket call is bounded by the per-operation timeout. */
static int
conn_open(struct conn *c)
{
	struct timeval tv;
	int on = 1;

	c->off = c->len = 0;
	if ((c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return fail(E_CONNECT, "socket", errno);
	tv.tv_sec = g.timeout_ms / 1000;
	tv.tv_usec = (g.timeout_ms % 1000) * 1000;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	while (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) == -1) {
		if (errno == EINTR)
			continue;
		fail(errno == EINPROGRESS ? E_TIMEOUT : E_CONNECT, "connect",
		    errno);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* Have at least need unread bytes in the buffer. */
static int
conn_fill(struct conn *c, size_t need)
{
	ssize_t r;

	if (c->len - c->off >= need)
		return 0;
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	while (c->len < need) {
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return fail_sys("recv");
		if (r == 0)
			return fail(E_EOF, "server closed the connection", 0);
		c->len += (size_t)r;
	}
	return 0;
}

/* The next message: its text (not NUL-terminated) and length. */
static int
conn_recv(struct conn *c, const char **text, size_t *len)
{
	size_t n = 0;
	int i;

	if (conn_fill(c, HDRLEN) == -1)
		return -1;
	for (i = 0; i < HDRLEN; i++) {
		if (c->buf[c->off + i] < '0' || c->buf[c->off + i] > '9')
			return fail(E_PROTO, "bad header", 0);
		n = n * 10 + (size_t)(c->buf[c->off + i] - '0');
	}
	if (n > FRAME_MAX)
		return fail(E_PROTO, "message too large", 0);
	if (conn_fill(c, HDRLEN + n) == -1)
		return -1;
	*text = c->buf + c->off + HDRLEN;
	*len = n;
	c->off += HDRLEN + n;
	return 0;
}

/* One message, header and text in one send(2). */
static int
conn_send(struct worker *w, const char *text, size_t len)
{
	char hdr[HDRLEN + 1];
	size_t done = 0;
	ssize_t r;

	snprintf(hdr, sizeof(hdr), "%010zu", len);
	memcpy(w->out, hdr, HDRLEN);
	memcpy(w->out + HDRLEN, text, len);
	while (done < HDRLEN + len) {
		r = send(w->c.fd, w->out + done, HDRLEN + len - done,
		    MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return fail_sys("send");
		done += (size_t)r;
	}
	return 0;
}

/* Does the message start with this code and separator? */
static int
is_code(const char *t, size_t n, const char *code_sep)
{
	return n >= 4 && memcmp(t, code_sep, 4) == 0;
}

/* Echo mode: one message and its "250 " reply, checked byte for byte. */
static int
echo_once(struct worker *w, long seq)
{
	char msg[FRAME_MAX];
	const char *t;
	size_t n, i;

	n = (size_t)snprintf(msg, sizeof(msg), "w%d.%ld.", w->id, seq);
	for (i = n; i < g.size; i++)
		msg[i] = (char)('a' + (i + (size_t)seq) % 26);
	if (n < g.size)
		n = g.size;
	if (conn_send(w, msg, n) == -1 || conn_recv(&w->c, &t, &i) == -1)
		return -1;
	if (i != n + 4 || !is_code(t, i, "250 ") || memcmp(t + 4, msg, n))
		return fail(E_PROTO, "reply is not \"250 \" and the message",
		    0);
	return 0;
}

static int
greeting(struct conn *c, const char *code_sep)
{
	char why[128];
	const char *t;
	size_t n;

	if (conn_recv(c, &t, &n) == -1)
		return -1;
	if (is_code(t, n, "421 ")) {
		snprintf(why, sizeof(why), "refused: %.*s", n > 80 ? 80 :
		    (int)n, t);
		return fail(E_BUSY, why, 0);
	}
	if (!is_code(t, n, code_sep))
		return fail(E_PROTO, "unexpected greeting", 0);
	return 0;
}

/*
 * Auth mode: answer every prompt until the "250 " that ends the
 * dialogue.  A refused token or password is an error: a resume that
 * falls back to a login is not a resume.
 */
static int
dialogue(struct worker *w, const char *token, const char *name)
{
	const char *t;
	size_t n;
	int step;

	if (greeting(&w->c, "220-") == -1)
		return -1;
	for (step = 0; step < MAX_STEPS; step++) {
		if (conn_recv(&w->c, &t, &n) == -1)
			return -1;
		if (is_code(t, n, "332 ")) {
			if (conn_send(w, token, strlen(token)) == -1)
				return -1;
		} else if (is_code(t, n, "330 ")) {
			if (conn_send(w, name, strlen(name)) == -1)
				return -1;
		} else if (is_code(t, n, "331 ")) {
			if (conn_send(w, g.password,
			    strlen(g.password)) == -1)
				return -1;
		} else if (is_code(t, n, "250 ")) {
			if (g.mode == M_RESUME ? n < 16 ||
			    memcmp(t, "250 Welcome back", 16) != 0 : n < 11 ||
			    memcmp(t, "250 Welcome", 11) != 0)
				return fail(E_PROTO, "unexpected welcome", 0);
			return 0;
		} else if (n >= 4 && t[3] == '-' && (t[0] == '2' ||
		    t[0] == '1')) {
			continue;	/* e.g. "235-TOKEN", "250-New user" */
		} else
			return fail(E_PROTO, n >= 3 && t[0] == '5' && t[1] ==
			    '3' ? "login or token refused" :
			    "unexpected server message", 0);
	}
	return fail(E_PROTO, "dialogue too long", 0);
}

/* One whole conversation of the connect or auth modes. */
static int
conversation(struct worker *w, long seq)
{
	char name[64];
	long pick;
	int r;

	if (conn_open(&w->c) == -1)
		return -1;
	pick = g.mode == M_REGISTER ? atomic_fetch_add(&g.seq, 1) :
	    (long)rand_r(&w->seed);
	switch (g.mode) {
	case M_CONNECT:
		r = greeting(&w->c, "220 ") == -1 ? -1 : echo_once(w, seq);
		break;
	case M_LOGIN:
		snprintf(name, sizeof(name), "%s%ld", g.prefix,
		    pick % g.nusers);
		r = dialogue(w, "", name);
		break;
	case M_RESUME:
		r = dialogue(w, g.tokens[pick % g.ntokens], "");
		break;
	default:	/* M_REGISTER */
		snprintf(name, sizeof(name), "%s%ld", g.prefix, pick);
		r = dialogue(w, "", name);
		break;
	}
	conn_close(&w->c);
	return r;
}

static int
push_lat(struct worker *w, uint64_t ns)
{
	uint64_t *p;
	size_t cap;

	if (w->nlat == w->caplat) {
		cap = w->caplat ? w->caplat * 2 : 4096;
		if ((p = realloc(w->lat, cap * sizeof(*p))) == NULL)
			return fail(E_IO, "out of memory", ENOMEM);
		w->lat = p;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = ns;
	return 0;
}

/* After an error, a short pause keeps a dead server from a hot loop. */
static void
pause_after_error(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

static void
run_conversations(struct worker *w)
{
	uint64_t t0;
	long seq;

	for (seq = 0; now() < g.deadline; seq++) {
		if (g.max_ops >= 0 &&
		    atomic_fetch_add(&g.claimed, 1) >= g.max_ops)
			break;
		t0 = now_ns();
		if (conversation(w, seq) == -1) {
			pause_after_error();
			continue;
		}
		if (push_lat(w, now_ns() - t0) == -1)
			break;
		w->ok++;
	}
}

/* The connection and greeting are not timed, only the round trips. */
static void
run_pingpong(struct worker *w)
{
	uint64_t t0;
	long i;

	if (conn_open(&w->c) == -1)
		return;
	if (greeting(&w->c, "220 ") == 0) {
		for (i = 0; i < g.msgs && now() < g.deadline; i++) {
			t0 = now_ns();
			if (echo_once(w, i) == -1)
				break;
			if (push_lat(w, now_ns() - t0) == -1)
				break;
			w->ok++;
		}
	}
	conn_close(&w->c);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->c.fd = -1;
	pthread_barrier_wait(&g.go);
	if (g.mode == M_PINGPONG)
		run_pingpong(w);
	else
		run_conversations(w);
	w->t_end = now();
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double
pct_us(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000;
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	if (ss->ss_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)ss;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)ss;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return s6->sin6_addr.s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

static int
resolve(void)
{
	struct addrinfo hints, *ai;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(g.host, g.port, &hints, &ai)) != 0) {
		fprintf(stderr, "loadgen: %s port %s: %s\n", g.host, g.port,
		    gai_strerror(e));
		return -1;
	}
	memcpy(&g.addr, ai->ai_addr, ai->ai_addrlen);
	g.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (!is_loopback(&g.addr)) {
		fprintf(stderr, "loadgen: refusing %s: only loopback "
		    "targets are allowed\n", g.host);
		return -1;
	}
	return 0;
}

/* The kept tokens of the resume mode, one per line. */
static int
load_tokens(void)
{
	char line[256];
	FILE *fp;
	size_t n;

	if (g.token_file == NULL) {
		fprintf(stderr, "loadgen: resume needs -T TOKENFILE\n");
		return -1;
	}
	if ((fp = fopen(g.token_file, "re")) == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", g.token_file,
		    strerror(errno));
		return -1;
	}
	if ((g.tokens = calloc(MAX_TOKENS, sizeof(*g.tokens))) == NULL)
		return -1;
	while (g.ntokens < MAX_TOKENS && fgets(line, sizeof(line), fp)) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n > 0 && (g.tokens[g.ntokens++] = strdup(line)) == NULL)
			return -1;
	}
	fclose(fp);
	if (g.ntokens == 0) {
		fprintf(stderr, "loadgen: %s: no tokens\n", g.token_file);
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen connect|pingpong|login|resume|register -p port\n"
	    "\t[-H address] [-c clients] [-d seconds] [-n conversations]\n"
	    "\t[-k messages] [-s size] [-t timeout_ms] [-u users]\n"
	    "\t[-U name_prefix] [-w password] [-T tokenfile] [-q]\n");
	exit(2);
}

static void
parse_args(int argc, char *argv[])
{
	size_t i;
	int ch;

	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(argv[1], mode_names[i]) == 0)
			break;
	if (i == sizeof(mode_names) / sizeof(mode_names[0]))
		usage();
	g.mode = (enum mode)i;
	optind = 2;
	while ((ch = getopt(argc, argv, "c:d:H:k:n:p:qs:T:t:U:u:w:")) != -1) {
		switch (ch) {
		case 'c': g.conc = (int)number(optarg, 1, 1024); break;
		case 'd': g.secs = (double)number(optarg, 1, 3600); break;
		case 'H': g.host = optarg; break;
		case 'k': g.msgs = number(optarg, 1, 100000000); break;
		case 'n': g.max_ops = number(optarg, 1, 100000000); break;
		case 'p': g.port = optarg; break;
		case 'q': g.quiet = 1; break;
		case 's': g.size = (size_t)number(optarg, 1, FRAME_MAX - 4);
			break;
		case 'T': g.token_file = optarg; break;
		case 't': g.timeout_ms = (int)number(optarg, 1, 600000); break;
		case 'U': g.prefix = optarg; break;
		case 'u': g.nusers = number(optarg, 1, 100000000); break;
		case 'w': g.password = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || g.port == NULL || strlen(g.prefix) > 20)
		usage();
}

static void
report(struct worker *ws)
{
	uint64_t *all;
	double t_end = g.t_start, secs;
	size_t total = 0, k = 0;
	long ok = 0, errors = 0;
	int i;

	for (i = 0; i < g.conc; i++) {
		total += ws[i].nlat;
		ok += ws[i].ok;
		if (ws[i].t_end > t_end)
			t_end = ws[i].t_end;
	}
	if ((all = malloc((total + 1) * sizeof(*all))) == NULL)
		exit(2);
	for (i = 0; i < g.conc; k += ws[i].nlat, i++)
		if (ws[i].nlat > 0)
			memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
	qsort(all, total, sizeof(*all), cmp_u64);
	for (i = 0; i < E_NKINDS; i++)
		errors += atomic_load(&g.errs[i]);
	secs = t_end - g.t_start;
	if (!g.quiet)
		fprintf(stderr, "loadgen %s: %ld ok in %.2f s, %.1f/s, "
		    "p50 %.0f us, p99 %.0f us, %ld errors\n",
		    mode_names[g.mode], ok, secs, secs > 0 ? ok / secs : 0.0,
		    pct_us(all, total, 50), pct_us(all, total, 99), errors);
	printf("RESULT mode=%s conc=%d ok=%ld secs=%.3f rate=%.1f "
	    "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f errors=%ld",
	    mode_names[g.mode], g.conc, ok, secs, secs > 0 ? ok / secs : 0.0,
	    pct_us(all, total, 50), pct_us(all, total, 90),
	    pct_us(all, total, 99), pct_us(all, total, 100), errors);
	for (i = 0; i < E_NKINDS; i++)
		printf(" err_%s=%ld", err_names[i], atomic_load(&g.errs[i]));
	printf("\n");
	fflush(stdout);
	free(all);
	exit(errors > 0);
}

int
main(int argc, char *argv[])
{
	struct worker *ws;
	int i, e;

	parse_args(argc, argv);
	if (resolve() == -1)
		return 2;
	if (g.mode == M_RESUME && load_tokens() == -1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* A hard bound: every call is bounded, so this only ends a hang. */
	alarm((unsigned int)(g.secs + 4.0 * g.timeout_ms / 1000 + 10));
	if ((ws = calloc((size_t)g.conc, sizeof(*ws))) == NULL)
		return 2;
	pthread_barrier_init(&g.go, NULL, (unsigned int)g.conc + 1);
	for (i = 0; i < g.conc; i++) {
		ws[i].id = i;
		ws[i].seed = 12345u + 7919u * (unsigned int)i;
		if ((e = pthread_create(&ws[i].th, NULL, worker_main,
		    &ws[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(e));
			return 2;
		}
	}
	g.t_start = now();
	g.deadline = g.t_start + g.secs;
	pthread_barrier_wait(&g.go);
	for (i = 0; i < g.conc; i++)
		pthread_join(ws[i].th, NULL);
	report(ws);
}
