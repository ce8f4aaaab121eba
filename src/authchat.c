/*
 * authchat.c: owns the client: it asks for host and port, connects, checks
 * the greeting, then shows every server message and answers each prompt
 * or turn with a line from the user until the server says goodbye.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <readpassphrase.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask.h"
#include "conf.h"
#include "cookie.h"
#include "frame.h"
#include "net.h"
#include "proto.h"

#define REPLY_TIMEOUT	(120 * 1000)	/* ms to wait for the server */
#define DEFAULT_HOST	"localhost"

struct reply {
	int		 code;
	int		 more;		/* '-': more messages follow */
	const char	*text;
};

static char line[FRAME_DEFAULT_MAX + 2];
static char host[256];
static int port;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: authchat [-h] [-H host] [-p port]\n");
	exit(2);
}

static void __attribute__((noreturn))
lost(int err)
{
	fprintf(stderr, "authchat: connection lost: %s\n", err == MS_EOF ?
	    "the server closed the connection" : msgsock_strerror(err));
	exit(1);
}

/* Split "CCC text" or "CCC-text"; -1 if the message is not of that shape. */
static int
parse_reply(const char *msg, struct reply *r)
{
	if (strlen(msg) < 3 || msg[0] < '1' || msg[0] > '5' ||
	    msg[1] < '0' || msg[1] > '9' || msg[2] < '0' || msg[2] > '9' ||
	    (msg[3] != ' ' && msg[3] != '-' && msg[3] != '\0'))
		return -1;
	r->code = (msg[0] - '0') * 100 + (msg[1] - '0') * 10 + (msg[2] - '0');
	r->more = msg[3] == '-';
	r->text = msg[3] == '\0' ? msg + 3 : msg + 4;
	return 0;
}

/* The first message must name our protocol and a version we speak. */
static void
check_greeting(const struct reply *r)
{
	size_t n = strlen(PROTO_NAME);
	char *end;
	long v;

	if (r->code != CODE_GREETING || strncmp(r->text, PROTO_NAME, n) != 0 ||
	    r->text[n] != '/') {
		fprintf(stderr, "authchat: not an authchat server\n");
		exit(1);
	}
	errno = 0;
	v = strtol(r->text + n + 1, &end, 10);
	if (errno != 0 || end == r->text + n + 1 || v != PROTO_VERSION) {
		fprintf(stderr, "authchat: unsupported protocol version "
		    "(this client speaks %s/%d)\n", PROTO_NAME, PROTO_VERSION);
		exit(1);
	}
}

/*
 * Read a line from the user: without echo for secrets on a terminal.  A
 * server prompt ends in a blank on a terminal, in a newline otherwise,
 * so that scripted output stays one message a line.
 */
static int
read_input(const char *text, int secret)
{
	char prompt[256];
	int tty = isatty(STDIN_FILENO);

	if (text[0] == '\0')
		prompt[0] = '\0';
	else
		snprintf(prompt, sizeof(prompt), "%s%s", text, tty ? " " :
		    "\n");
	if (secret && tty) {
		/* on /dev/tty: echo goes off before the prompt is shown */
		if (readpassphrase(prompt, line, sizeof(line),
		    RPP_REQUIRE_TTY) == NULL)
			return -1;
		return 0;
	}
	return ask_line(prompt, line, sizeof(line)) == -1 ? -1 : 0;
}

/* Send what the user typed; refuse what the server could not accept. */
static int
send_input(struct msgsock *ms, const char *text)
{
	size_t len = strlen(text);
	int r;

	if (len > FRAME_DEFAULT_MAX) {
		fprintf(stderr, "authchat: message too long (at most %d "
		    "bytes), not sent\n", FRAME_DEFAULT_MAX);
		return 1;
	}
	if (!utf8_valid(text, len)) {
		fprintf(stderr, "authchat: input is not valid UTF-8, not sent\n");
		return 1;
	}
	if ((r = msgsock_sendn(ms, text, len)) != MS_OK)
		lost(r);
	return 0;
}

/*
 * Messages about the session token: keep it, forget it, or offer it.
 * Returns 1 when the message was handled here and is not shown.
 */
static int
session(struct msgsock *ms, const struct reply *r)
{
	char tok[128] = "";
	int err;

	switch (r->code) {
	case CODE_TOKEN:
		cookie_save(host, port, r->text);
		return 1;
	case CODE_REVOKED:
	case CODE_TOKEN_BAD:
		cookie_forget(host, port);
		return 0;
	case CODE_TOKEN_ASK:
		(void)cookie_load(host, port, tok, sizeof(tok));
		err = msgsock_send(ms, tok);
		explicit_bzero(tok, sizeof(tok));
		if (err != MS_OK)
			lost(err);
		return 1;
	default:
		return 0;
	}
}

/* Show one server message where it belongs. */
static void
show(const struct reply *r)
{
	if (CODE_IS_PROMPT(r->code))
		return;
	if (CODE_CLASS(r->code) >= 4)
		fprintf(stderr, "authchat: %s\n", r->text);
	else
		printf("%s\n", r->text);
	fflush(stdout);
}

/* The user's turn: answer a prompt, or the next conversation message. */
static void
turn(struct msgsock *ms, const struct reply *r)
{
	const char *prompt = isatty(STDIN_FILENO) ? ">" : "";

	do {
		if (CODE_IS_PROMPT(r->code)) {
			if (read_input(r->text, r->code == CODE_SECRET) == -1)
				exit(0);
		} else if (read_input(prompt, 0) == -1 ||
		    strcmp(line, "exit") == 0)
			strlcpy(line, "/quit", sizeof(line));
	} while (send_input(ms, line) != 0);
	explicit_bzero(line, sizeof(line));
}

static void
converse(struct msgsock *ms)
{
	struct reply r;
	char *msg;
	int err, first = 1;

	for (;;) {
		if ((err = msgsock_recv(ms, &msg, NULL)) != MS_OK)
			lost(err);
		if (parse_reply(msg, &r) == -1) {
			fprintf(stderr, "authchat: malformed server message\n");
			exit(1);
		}
		if (first && !CODE_IS_CLOSING(r.code))
			check_greeting(&r);
		first = 0;
		if (session(ms, &r)) {
			free(msg);
			continue;
		}
		show(&r);
		if (CODE_IS_CLOSING(r.code))
			exit(r.code == CODE_BYE ? 0 : 1);
		if (!r.more)
			turn(ms, &r);
		free(msg);
	}
}

int
main(int argc, char *argv[])
{
	char ebuf[512];
	const char *why;
	struct msgsock *ms;
	int ch, fd;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "hH:p:")) != -1) {
		switch (ch) {
		case 'H':
			if (strlcpy(host, optarg, sizeof(host)) >= sizeof(host))
				errx(2, "host name too long");
			break;
		case 'p':
			if (conf_parse_port(optarg, &port, &why) == -1)
				errx(2, "bad port \"%s\": %s", optarg, why);
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (host[0] == '\0' && !ask_host("authchat", DEFAULT_HOST, host,
	    sizeof(host)))
		return 0;
	if (port == 0 && !ask_port("authchat", CONF_DEFAULT_PORT, &port))
		return 0;
	if ((fd = net_connect(host, port, ebuf, sizeof(ebuf))) == -1)
		errx(1, "%s", ebuf);
	if ((ms = msgsock_new(fd, FRAME_CLIENT_MAX)) == NULL)
		err(1, "msgsock_new");
	msgsock_set_timeout(ms, REPLY_TIMEOUT);
	converse(ms);
	return 0;
}
