/*
 * fuzz_server.c: libFuzzer target for the daemon's side of a connection,
 * chat_run() of src/chat.c, with the dialogues of src/auth.c over the
 * state database of src/db.c, in every mode, in-process.
 *
 * Input: a control byte, then a script (fuzz_common.c): segments split
 * on 0xff, at most 64; one starting with 0xfe is sent unframed (garbage,
 * bad headers, half frames), any other is one framed message.
 *   byte 0  bits 0-1: mode (echo, raw, ident, auth)
 *           bits 2-4: the client's address (peers[] below)
 *           bit 5: registration off
 *           bit 6: max_message 64 instead of the default
 *           bit 7: min_password 1 instead of 8
 *
 * Every run starts from the same database, written afresh: users alice
 * (password "correct horse", yescrypt cost 1), bob (the same, locked),
 * carol (a $6$ hash of it: a login rehashes), dave ("*": never); idents
 * for 127.0.0.1 and ::1; sessions: token 11..1 live for alice, 22..2
 * expired, 33..3 for locked bob, 44..4 for a user that does not exist
 * (one file per record, authchatd-users(5)).
 * The corpus uses these names, passwords and tokens.
 *
 * The client is the peer thread: it writes the script, then shuts down
 * its side, while reading every reply, so neither end can block the
 * other and the server never waits for a timeout.
 *
 * Oracle: in the framed modes the server's output is whole frames the
 * client accepts (at most FRAME_CLIENT_MAX bytes, UTF-8, no NUL), each
 * "CCC" then ' ' or '-', the first the 220 greeting, none after a 221
 * or 421, the last one never ending in '-'; in raw mode it is
 * the input, byte for byte; the exit status is a CHAT_EXIT_* value;
 * done_fd (a pipe) gets its byte and is closed only after a successful
 * dialogue, and is left open otherwise; the database still parses
 * without a bad record.
 *
 * Speed: a yescrypt hash at cost 1 takes about 5 ms, so runs in auth
 * mode manage tens to hundreds a second; the other modes thousands.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "conf.h"
#include "db.h"
#include "frame.h"
#include "proto.h"
#include "pw.h"

#include "fuzz_common.h"

#define MAX_SEGS	64
#define PASSWORD	"correct horse"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct {
	int		 family;
	const char	*addr;
	int		 port;
} peers[8] = {
	{ AF_INET, "127.0.0.1", 40000 },	/* a known ident */
	{ AF_INET, "192.0.2.7", 1 },
	{ AF_INET6, "::1", 65535 },		/* a known ident */
	{ AF_INET6, "::ffff:127.0.0.1", 2 },	/* logged as 127.0.0.1 */
	{ AF_INET6, "2001:db8::1", 3 },
	{ AF_UNIX, NULL, 0 },			/* "unknown" */
	{ AF_INET, "0.0.0.0", 0 },
	{ AF_INET6, "fe80::1", 4 },
};

static const char	*state_dir;
static char		 yhash[PW_HASH_MAX], shahash[PW_HASH_MAX];
static char		 digest[4][65];		/* of tokens 11..1 to 44..4 */

/* The client's address as accept(2) would have filled it in. */
static void
peer_addr(int i, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)peers[i].family;
	if (peers[i].family == AF_INET) {
		(void)inet_pton(AF_INET, peers[i].addr, &sin->sin_addr);
		sin->sin_port = htons((uint16_t)peers[i].port);
	} else if (peers[i].family == AF_INET6) {
		(void)inet_pton(AF_INET6, peers[i].addr, &sin6->sin6_addr);
		sin6->sin6_port = htons((uint16_t)peers[i].port);
	}
}

/* The users' hashes, made once; sessions carry "now". */
static void
baseline_init(void)
{
	struct crypt_data	*cd;
	char			 tok[TOKEN_HEX_LEN + 1];
	const char		*sha;
	int			 i;

	if (pw_hash(PASSWORD, 1, yhash, sizeof(yhash)) == -1 ||
	    (cd = calloc(1, sizeof(*cd))) == NULL ||
	    (sha = crypt_rn(PASSWORD, "$6$rounds=1000$fuzzsalt$", cd,
	    sizeof(*cd))) == NULL || sha[0] == '*' ||
	    strlcpy(shahash, sha, sizeof(shahash)) >= sizeof(shahash))
		abort();
	free(cd);
	for (i = 0; i < 4; i++) {
		memset(tok, '1' + i, TOKEN_HEX_LEN);
		tok[TOKEN_HEX_LEN] = '\0';
		if (token_digest(tok, digest[i]) == -1)
			abort();
	}
}

/* Empty one directory of the database: a run may have added records. */
static void
baseline_clear(const char *sub)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*d;

	(void)snprintf(path, sizeof(path), "%s/%s", state_dir, sub);
	if ((d = opendir(path)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == -1)
			abort();
	(void)closedir(d);
}

/* One record file, sub/key, as authchatd-users(5) has it. */
static void
baseline_put(const char *sub, const char *key, const char *fmt, ...)
{
	char	 name[PATH_MAX], line[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		abort();
	(void)snprintf(name, sizeof(name), "%s/%s", sub, key);
	fz_put(state_dir, name, line, (size_t)n, 0600);
}

/* A session's last use is its file's mtime. */
static void
baseline_stamp(const char *key, time_t when)
{
	char		 path[PATH_MAX];
	struct timespec	 ts[2] = { { when, 0 }, { when, 0 } };

	(void)snprintf(path, sizeof(path), "%s/sessions/%s", state_dir, key);
	if (utimensat(AT_FDCWD, path, ts, 0) == -1)
		abort();
}

/* Put the database back as every run expects it. */
static void
baseline_write(void)
{
	long long	 now = time(NULL);

	baseline_clear("users");
	baseline_clear("lastlog");
	baseline_clear("idents");
	baseline_clear("sessions");
	baseline_put("users", "alice", "alice %s 1700000000 0\n", yhash);
	baseline_put("users", "bob", "bob %s 1700000000 1\n", yhash);
	baseline_put("users", "carol", "carol %s 1700000000 0\n", shahash);
	baseline_put("users", "dave", "dave * 1700000000 0\n");
	baseline_put("lastlog", "bob", "");
	baseline_put("idents", "127.0.0.1", "127.0.0.1 localname 1700000000\n");
	baseline_put("idents", "::1", "::1 sixname 1700000000\n");
	baseline_put("sessions", digest[0], "%s alice %lld\n", digest[0], now);
	/* alice's second session is long expired: created and used at 0 */
	baseline_put("sessions", digest[1], "%s alice 0\n", digest[1]);
	baseline_stamp(digest[1], 0);
	baseline_put("sessions", digest[2], "%s bob %lld\n", digest[2], now);
	baseline_put("sessions", digest[3], "%s ghost %lld\n", digest[3], now);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	fz_quiet_logs();
	state_dir = fz_tmpdir("server");
	if (db_init(state_dir) == -1)
		abort();
	baseline_init();
	return 0;
}

/* What the server said so far, as authchat-protocol(7) constrains it. */
struct said {
	int	 count;
	int	 closed;	/* a 221 or 421 came: nothing may follow */
	int	 more;		/* the last one ended in '-' */
};

/*
 * Each server message: "CCC" and ' ' or '-', a code of a known class;
 * the 220 greeting first; nothing after a closing code, which never
 * announces more.
 */
static void
check_message(const char *text, size_t len, void *arg)
{
	struct said	*s = arg;
	int		 code;

	FZ_ASSERT(len >= 4);
	FZ_ASSERT(text[0] >= '1' && text[0] <= '5');
	FZ_ASSERT(text[1] >= '0' && text[1] <= '9');
	FZ_ASSERT(text[2] >= '0' && text[2] <= '9');
	FZ_ASSERT(text[3] == ' ' || text[3] == '-');
	code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + text[2] - '0';
	FZ_ASSERT(s->count++ > 0 || code == CODE_GREETING);
	FZ_ASSERT(!s->closed);
	s->closed = CODE_IS_CLOSING(code);
	s->more = text[3] == '-';
	FZ_ASSERT(!(s->closed && s->more));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	 ss;
	struct fz_peer		 peer;
	struct conf		 conf;
	ssize_t			 r;
	char			 c;
	struct said		 said;
	int			 sv[2], done[2], status, told;

	if (size < 1)
		return 0;
	if (size > 1 + FZ_INPUT_MAX)
		size = 1 + FZ_INPUT_MAX;
	conf_defaults(&conf);
	conf.mode = (enum conf_mode)(data[0] & 3);
	conf.registration = (data[0] & 0x20) == 0;
	if (data[0] & 0x40)
		conf.max_message = 64;
	conf.min_password = data[0] & 0x80 ? 1 : 8;
	conf.fail_delay = 0;
	conf.hash_cost = 1;
	conf.login_grace_time = 10;
	conf.idle_timeout = 10;
	(void)strlcpy(conf.state_dir, state_dir, sizeof(conf.state_dir));
	peer_addr((data[0] >> 2) & 7, &ss);
	baseline_write();

	memset(&peer, 0, sizeof(peer));
	(void)fz_script(data + 1, size - 1, MAX_SEGS, &peer.out, NULL);
	fz_pair(sv);
	if (pipe2(done, O_CLOEXEC | O_NONBLOCK) == -1)
		abort();
	fz_peer_start(&peer, sv[0]);
	status = chat_run(&conf, sv[1], &ss, done[1]);	/* closes sv[1] */
	fz_peer_finish(&peer);

	/* done_fd: told and closed after a dialogue succeeded, else kept */
	r = read(done[0], &c, 1);
	FZ_ASSERT(r == 1 || (r == -1 && errno == EAGAIN));
	if ((told = r == 1))
		FZ_ASSERT(read(done[0], &c, 1) == 0);
	else
		(void)close(done[1]);
	(void)close(done[0]);
	if (told)
		FZ_ASSERT(conf.mode == MODE_IDENT || conf.mode == MODE_AUTH);
	FZ_ASSERT(status >= CHAT_EXIT_OK && status <= CHAT_EXIT_NOAUTH);
	if (!peer.truncated && conf.mode == MODE_RAW)
		FZ_ASSERT(peer.in.len == peer.out.len && (peer.in.len == 0 ||
		    memcmp(peer.in.p, peer.out.p, peer.in.len) == 0));
	else if (!peer.truncated) {
		memset(&said, 0, sizeof(said));
		FZ_ASSERT(fz_frames(peer.in.p, peer.in.len, FRAME_CLIENT_MAX,
		    1, check_message, &said) >= 1);
		FZ_ASSERT(!said.more);	/* the last one never promises more */
	}
	if (conf.mode == MODE_IDENT || conf.mode == MODE_AUTH)
		FZ_ASSERT(db_check() == 0);
	fz_buf_free(&peer.out);
	fz_buf_free(&peer.in);
	return 0;
}
