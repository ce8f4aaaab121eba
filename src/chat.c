/*
 * chat.c: owns one client connection inside its child process: the
 * greeting, the conversation (one reply per message, the commands), the
 * raw echo mode, and how the connection ended.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "chat.h"
#include "conf.h"
#include "frame.h"
#include "log.h"
#include "net.h"
#include "proto.h"

#define CHAT_TEXT_STACK	512	/* longer texts are malloc'd */
#define HELP_TEXT \
	"Commands:\n" \
	"  /help    this list\n" \
	"  /time    the server's date and time\n" \
	"  /whoami  your address and port as the server sees them\n" \
	"  /quit    end the conversation\n" \
	"Anything else is echoed back."
#define AUTH_HELP_TEXT \
	"\n  /passwd  change your password\n" \
	"  /logout  end your session here and on this client"

static volatile sig_atomic_t chat_term;
static sigset_t chat_waitmask;		/* children wait with this mask */
static int chat_masked;			/* chat_waitmask is set */

/* From a signal handler (SIGTERM): say goodbye and finish. */
void
chat_stop(void)
{
	chat_term = 1;
}

/*
 * Once, in the parent: children keep its handlers and its blocked signals
 * (server.c) and let them in with waitmask.  Set here, not in each child,
 * so that a child writes no page of it.
 */
void
chat_signals(const sigset_t *waitmask)
{
	chat_waitmask = *waitmask;
	chat_masked = 1;
}

/*
 * Echo and raw wait only inside msgsock, which lets the signals in just
 * while it waits (ppoll), so they stay blocked; the dialogues also sleep
 * (fail_delay) and lock outside it, so there they are let in for good.
 */
static void
chat_mask(const struct conf *conf, struct msgsock *ms)
{
	if (!chat_masked)
		return;
	if (conf->mode == MODE_IDENT || conf->mode == MODE_AUTH)
		(void)sigprocmask(SIG_SETMASK, &chat_waitmask, NULL);
	else
		msgsock_set_sigmask(ms, &chat_waitmask);
}

int
chat_terminating(void)
{
	return chat_term != 0;
}

/* Answer one command of the conversation; returns 1 when it ends it. */
static int
chat_command(struct chat *ch, const char *text)
{
	char buf[64];
	struct tm tm;
	time_t now;
	int r;

	if (strcmp(text, "/quit") == 0 || strcmp(text, "/exit") == 0) {
		msgsock_sendf(ch->ms, "%d Goodbye", CODE_BYE);
		ch->reason = "client quit";
		return 1;
	} else if (strcmp(text, "/help") == 0) {
		msgsock_sendf(ch->ms, "%d %s%s", CODE_OK, HELP_TEXT,
		    ch->conf->mode == MODE_AUTH ? AUTH_HELP_TEXT : "");
	} else if (strcmp(text, "/time") == 0) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
		msgsock_sendf(ch->ms, "%d %s", CODE_OK, buf);
	} else if (strcmp(text, "/whoami") == 0) {
		if (ch->user[0] != '\0')
			msgsock_sendf(ch->ms, "%d You are %s, from %s port %d",
			    CODE_OK, ch->user, ch->addr, ch->port);
		else
			msgsock_sendf(ch->ms, "%d You are %s port %d",
			    CODE_OK, ch->addr, ch->port);
	} else if ((r = auth_command(ch, text)) != -1) {
		return r;
	} else {
		msgsock_sendf(ch->ms, "%d unknown command %.*s; try /help",
		    CODE_ERROR, (int)utf8_prefix(text, 64), text);
	}
	return 0;
}

/* Say why a receive failed, to the client where it can still hear. */
void
chat_recv_failed(struct chat *ch, int err)
{
	char esc[128];

	switch (err) {
	case MS_EOF:
		ch->reason = "client closed the connection";
		break;
	case MS_ETIMEOUT:
		if (ch->in_dialogue) {
			msgsock_sendf(ch->ms, "%d Login grace time exceeded, "
			    "closing", CODE_CLOSING);
			log_warnx("Login grace time exceeded for %s port %d",
			    ch->addr, ch->port);
			ch->reason = "login grace time exceeded";
			ch->status = CHAT_EXIT_GRACE;
			break;
		}
		msgsock_sendf(ch->ms, "%d idle timeout, closing", CODE_CLOSING);
		ch->reason = "idle timeout";
		break;
	case MS_ETRUNC:
		ch->reason = "connection closed mid-message";
		break;
	case MS_EHEADER:
	case MS_ETOOBIG:
	case MS_EUTF8:
	case MS_ENUL:
		msgsock_sendf(ch->ms, "%d protocol error: %s, closing",
		    CODE_CLOSING, msgsock_strerror(err));
		log_warnx("protocol error from %s port %d: %s", ch->addr,
		    ch->port, msgsock_strerror(err));
		ch->reason = "protocol error";
		ch->status = CHAT_EXIT_PROTO;
		break;
	default:
		if (errno == EINTR && chat_terminating()) {
			msgsock_sendf(ch->ms, "%d server shutting down",
			    CODE_CLOSING);
			ch->reason = "server shutting down";
			break;
		}
		if (errno == ENOMEM) {
			msgsock_sendf(ch->ms, "%d out of memory, closing",
			    CODE_CLOSING);
			log_warnx("out of memory for a message from %s port %d",
			    ch->addr, ch->port);
			ch->reason = "out of memory";
			ch->status = CHAT_EXIT_ERROR;
			break;
		}
		strlcpy(esc, msgsock_strerror(err), sizeof(esc));
		ch->reason = errno == ECONNRESET ? "connection reset" :
		    "read error";
		if (errno != ECONNRESET)
			log_warnx("read from %s port %d: %s", ch->addr,
			    ch->port, esc);
		break;
	}
}

/* The conversation: every message gets exactly one reply. */
void
chat_converse(struct chat *ch)
{
	char buf[CHAT_TEXT_STACK], *text, esc[256];
	size_t len;
	int r;

	msgsock_set_timeout(ch->ms, ch->conf->idle_timeout * 1000);
	for (;;) {
		if ((r = msgsock_recv_into(ch->ms, buf, sizeof(buf), &text,
		    &len)) != MS_OK) {
			chat_recv_failed(ch, r);
			return;
		}
		ch->nmessages++;
		if (log_getverbose() > 0)
			log_debug("message from %s port %d: %s", ch->addr,
			    ch->port, log_escape(text, esc, sizeof(esc)));
		if (text[0] == '/')
			r = chat_command(ch, text);
		else
			r = msgsock_sendf(ch->ms, "%d %s", CODE_OK, text) ==
			    MS_OK ? 0 : (ch->reason = "write failed", 1);
		if (text != buf)
			free(text);
		if (r)
			return;
	}
}

/* Raw mode: no framing, bytes echoed back as they arrive. */
static void
chat_raw(struct chat *ch)
{
	char buf[4096];
	ssize_t n;

	msgsock_set_timeout(ch->ms, ch->conf->idle_timeout * 1000);
	for (;;) {
		if ((n = msgsock_read_raw(ch->ms, buf, sizeof(buf))) <= 0) {
			ch->reason = n == 0 ? "client closed the connection" :
			    n == MS_ETIMEOUT ? "idle timeout" : "read error";
			return;
		}
		if (msgsock_write_raw(ch->ms, buf, (size_t)n) != MS_OK) {
			ch->reason = "write failed";
			return;
		}
		ch->nmessages++;
	}
}

/* The dialogue succeeded: greet the user and start the conversation. */
int
chat_welcome(struct chat *ch, const char *word)
{
	return msgsock_sendf(ch->ms, "%d %s, %s", CODE_OK, word, ch->user) ==
	    MS_OK ? 0 : -1;
}

/* The greeting, the mode's dialogue under the grace deadline, then talk. */
static void
chat_framed(struct chat *ch)
{
	struct timespec deadline;
	int dialogue = ch->conf->mode == MODE_IDENT ||
	    ch->conf->mode == MODE_AUTH;
	int r = 0;

	if (msgsock_sendf(ch->ms, "%d%c%s/%d authchatd ready, mode %s; "
	    "/help for commands", CODE_GREETING, dialogue ? '-' : ' ',
	    PROTO_NAME, PROTO_VERSION, conf_mode_name(ch->conf->mode)) !=
	    MS_OK) {
		ch->reason = "write failed";
		return;
	}
	if (dialogue) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += ch->conf->login_grace_time;
		msgsock_set_deadline(ch->ms, &deadline);
		ch->in_dialogue = 1;
		r = ch->conf->mode == MODE_IDENT ? auth_ident(ch) :
		    auth_login(ch);
		ch->in_dialogue = 0;
		msgsock_set_deadline(ch->ms, NULL);
		if (r != 0 && ch->status == CHAT_EXIT_OK &&
		    ch->conf->mode == MODE_AUTH)
			ch->status = ch->ninvalid ? CHAT_EXIT_INVALIDUSER :
			    ch->nfailed ? CHAT_EXIT_AUTHFAIL : CHAT_EXIT_NOAUTH;
	}
	if (r == 0 && dialogue && ch->done_fd != -1) {
		/* the parent counts this connection as logged in now */
		(void)!write(ch->done_fd, "", 1);
		close(ch->done_fd);
		ch->done_fd = -1;
	}
	if (r == 0)
		chat_converse(ch);
}

/*
 * Serve one accepted connection from addr port; returns the child's exit
 * status.  The message socket is static, one per process: nothing is
 * allocated, and its buffer does not deepen the stack (every stack page a
 * child touches is a page copied).  fd stays open: the child's exit
 * closes it, once the process is torn down, so a client that reconnects
 * at once finds this child reaped rather than counted against its limits.
 */
int
chat_serve(const struct conf *conf, int fd, const char *addr, int port,
    int done_fd)
{
	static struct msgsock ms;
	struct chat ch;

	memset(&ch, 0, sizeof(ch));
	ch.conf = conf;
	ch.done_fd = done_fd;
	ch.status = CHAT_EXIT_OK;
	/* snprintf, not strlcpy: libbsd's code would be one more page */
	(void)snprintf(ch.addr, sizeof(ch.addr), "%s", addr);
	ch.port = port;
	log_info("connection from %s port %d", ch.addr, ch.port);
	msgsock_init(&ms, fd, conf->max_message);
	ch.ms = &ms;
	msgsock_set_interrupt(ch.ms, chat_terminating);
	chat_mask(conf, ch.ms);
	msgsock_set_timeout(ch.ms, ch.conf->idle_timeout * 1000);
	if (conf->mode == MODE_RAW)
		chat_raw(&ch);
	else
		chat_framed(&ch);
	log_info("disconnected %s port %d: %s (%lu messages)", ch.addr,
	    ch.port, ch.reason ? ch.reason : "done", ch.nmessages);
	return ch.status;
}

/* The same, the peer given as an address; fd is closed after. */
int
chat_run(const struct conf *conf, int fd, const struct sockaddr_storage *ss,
    int done_fd)
{
	char addr[NET_ADDRSTRLEN];
	int port, status;

	net_addr_str(ss, addr, sizeof(addr), &port);
	status = chat_serve(conf, fd, addr, port, done_fd);
	close(fd);
	return status;
}
