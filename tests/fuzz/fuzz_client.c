/*
 * fuzz_client.c: libFuzzer target for the client, src/authchat.c: what it
 * does with whatever a server sends (parse_reply, check_greeting, the
 * token messages, show, turn).
 *
 * How, and why so: authchat.c is compiled with -Dmain=authchat_main and
 * run in-process once per input as "authchat -H HOST -p 9".
 *   - The network: linked with -Wl,--wrap=net_connect, the client gets
 *     one end of a socketpair; the peer thread on the other end writes
 *     the script and records what the client sends.
 *   - exit(): the client ends every conversation with exit().  Linked
 *     with -Wl,--wrap=exit, exit during a run longjmps back here (as
 *     Dropbear's fuzzers do with dropbear_exit); outside a run it is
 *     the real exit.  What the client still held is released here:
 *     -Wl,--wrap=msgsock_new and --wrap=msgsock_recv tell us its
 *     msgsock and the message it was handling (converse() frees every
 *     other one before its next receive).
 *   - Not a fork per run: a child's coverage never reaches libFuzzer.
 *   - stdin: the script's 0xfd lines, through fmemopen(3); fd 0 is
 *     /dev/null, never a tty, so readpassphrase(3) is never reached.
 *     stdout and stderr (the FILEs) go to /dev/null; ASan, libFuzzer and
 *     FZ_ASSERT write to fd 2 directly.
 *   - XDG_STATE_HOME is a private directory; byte 0 sets up the token
 *     file for the server before the run.
 * The client never exits through errx() here: its options are valid
 * and the connection cannot fail.
 *
 * Input: a control byte, then a script (fuzz_common.c): segments split
 * on 0xff, at most 256; 0xfe starts unframed bytes, 0xfd a line for
 * stdin, anything else one framed server message.
 *   byte 0  bits 0-2: the token file: none, a valid token (0600), the
 *           same 0644 (refused), 200 bytes without newline, a directory,
 *           a symlink, an empty file, bytes that are not UTF-8
 *           bits 3-4: the host: 127.0.0.1, ::1, a name with slashes,
 *           255 bytes
 *
 * Oracle: the client exits 0 or 1, and everything it sent is whole
 * frames the server accepts: at most FRAME_DEFAULT_MAX bytes, UTF-8,
 * no NUL.  FUZZ_KNOWN=client-token passes over the content of frames
 * (the token it sends back may be cut mid-character, see
 * corpus/client/crash-token-*).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

#include "fuzz_common.h"

#define MAX_SEGS	256
#define PORT		9

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int	authchat_main(int, char **);
void	__real_exit(int) __attribute__((noreturn));
void	__wrap_exit(int) __attribute__((noreturn));
int	__wrap_net_connect(const char *, int, char *, size_t);
struct msgsock *__real_msgsock_new(int, size_t);
struct msgsock *__wrap_msgsock_new(int, size_t);
int	__real_msgsock_recv(struct msgsock *, char **, size_t *);
int	__wrap_msgsock_recv(struct msgsock *, char **, size_t *);

/* One run of the client, and what it leaves behind. */
static struct {
	int		 active;	/* exit() jumps back */
	sigjmp_buf	 jb;
	int		 status;
	int		 fd;		/* the client's end */
	struct msgsock	*ms;
	char		*msg;		/* the last message received */
} run;

static const char	*state_home;
static char		 cookie_dir[PATH_MAX];
static char		 long_host[256];
static FILE		*real_stdin;

void
__wrap_exit(int status)
{
	if (!run.active)
		__real_exit(status);
	run.active = 0;
	run.status = status;
	siglongjmp(run.jb, 1);
}

int
__wrap_net_connect(const char *host, int port, char *err, size_t errlen)
{
	(void)host;
	(void)port;
	(void)err;
	(void)errlen;
	return run.fd;
}

struct msgsock *
__wrap_msgsock_new(int fd, size_t max)
{
	return run.ms = __real_msgsock_new(fd, max);
}

int
__wrap_msgsock_recv(struct msgsock *ms, char **textp, size_t *lenp)
{
	int	 r;

	r = __real_msgsock_recv(ms, textp, lenp);
	run.msg = *textp;
	return r;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE	*null;
	int	 fd;

	(void)argc;
	(void)argv;
	if ((fd = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(fd, STDIN_FILENO) == -1 ||
	    (null = fopen("/dev/null", "w")) == NULL)
		abort();
	(void)close(fd);
	stdout = null;
	stderr = null;
	real_stdin = stdin;
	state_home = fz_tmpdir("client");
	if (setenv("XDG_STATE_HOME", state_home, 1) == -1)
		abort();
	(void)snprintf(cookie_dir, sizeof(cookie_dir), "%s/authchat",
	    state_home);
	if (mkdir(cookie_dir, 0700) == -1)
		abort();
	memset(long_host, 'h', sizeof(long_host) - 1);
	return 0;
}

/* The token file as cookie.c names it: HOST,PORT, odd bytes as '_'. */
static void
cookie_name(const char *host, char *buf, size_t len)
{
	size_t	 i;

	(void)snprintf(buf, len, "%s,%d", host, PORT);
	for (i = 0; buf[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-,", buf[i]) == NULL)
			buf[i] = '_';
}

/* Replace whatever the last run left with the token file kind asks. */
static void
cookie_setup(const char *name, int kind)
{
	static const char tok[] = "11111111111111111111111111111111"
	    "11111111111111111111111111111111\n";
	char	 path[PATH_MAX], junk[200];

	(void)snprintf(path, sizeof(path), "%s/%s", cookie_dir, name);
	if (strlen(name) > NAME_MAX)
		return;		/* the long host: no file can have its name */
	if (unlink(path) == -1)
		(void)rmdir(path);
	switch (kind) {
	case 1:
		fz_put(cookie_dir, name, tok, sizeof(tok) - 1, 0600);
		break;
	case 2:
		fz_put(cookie_dir, name, tok, sizeof(tok) - 1, 0644);
		break;
	case 3:
		memset(junk, 'a', sizeof(junk));
		fz_put(cookie_dir, name, junk, sizeof(junk), 0600);
		break;
	case 4:
		(void)mkdir(path, 0700);
		break;
	case 5:
		(void)symlink("elsewhere", path);
		break;
	case 6:
		fz_put(cookie_dir, name, "", 0, 0600);
		break;
	case 7:
		fz_put(cookie_dir, name, "\xc3\x28\xff\n", 4, 0600);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *hosts[4] = { "127.0.0.1", "::1", "a/../b", NULL };
	struct fz_peer	 peer;
	struct fz_buf	 lines = { NULL, 0, 0 };
	const char	*host;
	char		 name[300], port[8], *argv[6];
	int		 sv[2];

	if (size < 1)
		return 0;
	if (size > 1 + FZ_INPUT_MAX)
		size = 1 + FZ_INPUT_MAX;
	host = hosts[(data[0] >> 3) & 3];
	if (host == NULL)
		host = long_host;
	cookie_name(host, name, sizeof(name));
	cookie_setup(name, data[0] & 7);

	memset(&peer, 0, sizeof(peer));
	(void)fz_script(data + 1, size - 1, MAX_SEGS, &peer.out, &lines);
	stdin = lines.len > 0 ? fmemopen(lines.p, lines.len, "r") :
	    fopen("/dev/null", "r");
	if (stdin == NULL)
		abort();
	fz_pair(sv);
	fz_peer_start(&peer, sv[0]);

	(void)snprintf(port, sizeof(port), "%d", PORT);
	argv[0] = (char *)"authchat";
	argv[1] = (char *)"-H";
	argv[2] = (char *)host;
	argv[3] = (char *)"-p";
	argv[4] = port;
	argv[5] = NULL;
	memset(&run, 0, sizeof(run));
	run.fd = sv[1];
	run.status = -1;
	optind = 0;
	if (sigsetjmp(run.jb, 1) == 0) {
		run.active = 1;
		run.status = authchat_main(5, argv);
		run.active = 0;
	}
	free(run.msg);
	if (run.ms != NULL)
		msgsock_free(run.ms);
	(void)close(sv[1]);
	fz_peer_finish(&peer);
	fclose(stdin);
	stdin = real_stdin;

	FZ_ASSERT(run.status == 0 || run.status == 1);
	if (!peer.truncated)
		FZ_ASSERT(fz_frames(peer.in.p, peer.in.len, FRAME_DEFAULT_MAX,
		    !fz_known("client-token"), NULL, NULL) >= 0);
	fz_buf_free(&peer.out);
	fz_buf_free(&peer.in);
	fz_buf_free(&lines);
	return 0;
}
