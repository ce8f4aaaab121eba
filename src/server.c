/*
 * server.c: owns the parent process: it only accepts, forks, counts and
 * reaps.  Signals are blocked except inside ppoll(), so SIGTERM and
 * SIGHUP are handled in the main loop, never in the middle of work;
 * SIGCHLD is never let in, a signalfd in the poll set says a child ended.
 * A child starts with all it needs already set (handlers, signal mask,
 * TCP_NODELAY), so it spends no system call on them.
 *
 * Every page the parent writes after a fork is copied once more while
 * the child lives, so it writes few per connection: no signal frame, no
 * errno from a waitpid() with no child left.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "conf.h"
#include "guard.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "proto.h"
#include "prune.h"
#include "server.h"

#define ACCEPT_BURST	64	/* accepts per listener per wake-up */
#define STOP_GRACE	5	/* seconds children get to say goodbye */

static volatile sig_atomic_t got_term, got_hup;
static int spare_fd = -1;	/* given up to accept and refuse at EMFILE */

/* A running child: where it came from, whether it is still logging in. */
struct kid {
	pid_t			 pid;		/* 0: free slot */
	struct sockaddr_storage	 ss;
	struct srckey		 key;
	int			 fd;		/* dialogue pipe, -1 when done */
};

/*
 * What the loop, a fork and a reap write, in one block, so that after a
 * fork the parent copies one page of it rather than one per variable: the
 * count, the signalfd's read buffer, the poll set, then the kids' slots.
 */
struct table {
	int			 nkids;		/* children running */
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[];
};

static struct server {
	struct conf	*conf;
	int		(*reload)(struct conf *);
	int		*fds;
	int		 nfds;
	int		 sigfd;		/* SIGCHLD */
	unsigned char	*nodelay;	/* see server_nodelay() */
	struct table	*tab;
	struct kid	*kids;		/* in tab, after the poll set */
	int		 maxkids;	/* slots allocated */
	pid_t		 parent;
} srv;

/*
 * One handler for both sides of the fork, so a child inherits the one it
 * needs: there SIGTERM and SIGINT ask for a goodbye, while the flag of
 * SIGHUP (a reload) is the parent's business and a child never reads it.
 * Which side this is, getpid() says, so that no child has to write a flag.
 */
static void
server_on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (getpid() == srv.parent)
		got_term = 1;
	else
		chat_stop();
}

/*
 * Install handlers; the signals stay blocked outside ppoll(), SIGCHLD
 * even there: the signalfd reports it.  Children inherit handlers and
 * mask; chat_signals() learns the mask they wait with.
 */
static void
server_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block, chld;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigaddset(waitmask, SIGCHLD);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if ((srv.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1)
		fatal("signalfd");

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = server_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;	/* SIG_IGN would reap for us */
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	chat_signals(waitmask);
}

/* Make room for as many children as max_children allows. */
static int
server_grow(int want)
{
	struct table *tab;
	struct kid *kids;
	size_t npfd;
	int i;

	if (want <= srv.maxkids)
		return 0;
	npfd = (size_t)srv.nfds + 1 + (size_t)want;
	if ((tab = calloc(1, sizeof(*tab) + npfd * sizeof(tab->pfd[0]) +
	    (size_t)want * sizeof(*kids))) == NULL)
		return -1;
	kids = (struct kid *)(void *)(tab->pfd + npfd);
	if (srv.tab != NULL) {
		tab->nkids = srv.tab->nkids;
		memcpy(kids, srv.kids, (size_t)srv.maxkids * sizeof(*kids));
	}
	for (i = srv.maxkids; i < want; i++)
		kids[i].fd = -1;
	free(srv.tab);
	srv.tab = tab;
	srv.kids = kids;
	srv.maxkids = want;
	return 0;
}

/* The dialogue of a child is over: it no longer counts as a startup. */
static void
server_kid_done(struct kid *k)
{
	if (k->fd != -1)
		close(k->fd);
	k->fd = -1;
}

/* A child ended: its slot is freed and its source maybe penalised. */
static void
server_forget(pid_t pid, int status)
{
	int i;

	for (i = 0; i < srv.maxkids; i++) {
		if (srv.kids[i].pid != pid)
			continue;
		if (WIFEXITED(status))
			limits_penalize(srv.conf, &srv.kids[i].ss,
			    WEXITSTATUS(status));
		server_kid_done(&srv.kids[i]);
		srv.kids[i].pid = 0;
		srv.tab->nkids--;
		return;
	}
}

/*
 * Reap every child that has ended and log the ones that ended badly.
 * No waitpid() once none is left, so it never fails with ECHILD.
 */
static void
server_reap(void)
{
	pid_t pid;
	int status;

	while ((srv.tab->nkids > 0 || prune_running()) &&
	    (pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (prune_reaped(pid, status))
			continue;
		server_forget(pid, status);
		if (WIFSIGNALED(status))
			log_warnx("child %ld killed by signal %d", (long)pid,
			    WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_info("child %ld exited with status %d", (long)pid,
			    WEXITSTATUS(status));
		else
			log_debug("child %ld exited", (long)pid);
	}
}

/* A refused connection hears why in one message, then is closed. */
static void
server_refuse(int fd, const struct sockaddr_storage *ss, const char *text,
    const char *why)
{
	char msg[256], addr[NET_ADDRSTRLEN];
	int n, port;

	n = snprintf(msg, sizeof(msg), "%010zu%s", strlen(text), text);
	(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
	net_addr_str(ss, addr, sizeof(addr), &port);
	limits_log("refused %s port %d: %s", addr, port, why);
}

/*
 * In the child: close the listeners (a stopped or restarted daemon must
 * not leave its port held) and the other children's pipes, then serve.
 * The spare fd (/dev/null), the signalfd (it would read the child's own
 * signals, and nothing reads it) and the tables (memory) are left alone:
 * keeping them costs nothing, closing costs calls and freeing copies
 * pages.  The death signal is what ends a child whose parent was killed,
 * so none outlives the counts and limits it was admitted under; getppid()
 * catches a parent that died before prctl().
 */
static void __attribute__((noreturn))
server_child(int fd, const char *addr, int port, int done_fd)
{
	int i;

	for (i = 0; i < srv.nfds; i++)
		close(srv.fds[i]);
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].fd != -1)
			close(srv.kids[i].fd);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != srv.parent)
		_exit(CHAT_EXIT_ERROR);
	_exit(chat_serve(srv.conf, fd, addr, port, done_fd));
}

/* Why this connection may not in, or NULL. */
static const char *
server_admit(const struct sockaddr_storage *ss, struct srckey *key,
    const char **why)
{
	const char *text;
	int i, startups = 0, same = 0;

	limits_key(srv.conf, ss, key);
	if (srv.tab->nkids >= srv.conf->max_children) {
		*why = "server busy";
		return "421 server busy, try again later";
	}
	for (i = 0; i < srv.maxkids; i++) {
		if (srv.kids[i].pid == 0)
			continue;
		startups += srv.kids[i].fd != -1;
		same += memcmp(&srv.kids[i].key, key, sizeof(*key)) == 0;
	}
	if ((text = limits_admit(srv.conf, ss, startups, same)) != NULL)
		*why = text + 4;
	return text;
}

/*
 * Fork the child of one admitted connection and remember it.  The peer's
 * address is written out here, where inet_ntop(3) is paged in already; a
 * child would fault its code in for it.
 */
static void
server_spawn(int fd, const struct sockaddr_storage *ss,
    const struct srckey *key, int nodelay)
{
	char addr[NET_ADDRSTRLEN];
	int p[2] = { -1, -1 }, i, port, one = 1;
	pid_t pid;

	if ((srv.conf->mode == MODE_IDENT || srv.conf->mode == MODE_AUTH) &&
	    pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		close(fd);
		return;
	}
	net_addr_str(ss, addr, sizeof(addr), &port);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		server_refuse(fd, ss, "421 cannot serve now, try again later",
		    "fork failed");
		if (p[0] != -1) {
			close(p[0]);
			close(p[1]);
		}
		return;
	}
	if (pid == 0) {
		if (p[0] != -1)
			close(p[0]);
		if (!nodelay)	/* queued before the listener had it */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		server_child(fd, addr, port, p[1]);
	}
	close(fd);
	if (p[1] != -1)
		close(p[1]);
	for (i = 0; i < srv.maxkids && srv.kids[i].pid != 0; i++)
		;
	srv.kids[i].pid = pid;
	srv.kids[i].ss = *ss;
	srv.kids[i].key = *key;
	srv.kids[i].fd = p[0];
	srv.tab->nkids++;
}

/*
 * Out of file descriptors: use the spare one to accept the connection
 * and tell it so, rather than leave it waiting and spin on poll().
 */
static void
server_no_fds(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	limits_log("accept: %s", strerror(errno));
	if (spare_fd == -1)
		return;
	close(spare_fd);
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_CLOEXEC)) != -1)
		server_refuse(fd, &ss, "421 cannot serve now, try again later",
		    "out of file descriptors");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * Replies of several messages must not wait for delayed ACKs: every
 * listener gets TCP_NODELAY once, and Linux copies it into each
 * connection it accepts from then on.  Connections already queued miss
 * it; they are gone once accept4() has found the queue empty (nodelay
 * 2), until then each child sets it itself.
 */
static void
server_nodelay(void)
{
	int i, one = 1;

	if ((srv.nodelay = calloc((size_t)srv.nfds, 1)) == NULL)
		fatal("calloc");
	for (i = 0; i < srv.nfds; i++)
		if (setsockopt(srv.fds[i], IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == 0)
			srv.nodelay[i] = 1;
}

/* Accept what is pending on listener i. */
static void
server_accept(int i)
{
	struct sockaddr_storage ss;
	struct srckey key;
	const char *text, *why;
	socklen_t len;
	int fd, n, lfd = srv.fds[i];

	for (n = 0; n < ACCEPT_BURST; n++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN && srv.nodelay[i] == 1)
				srv.nodelay[i] = 2;	/* queue drained */
			if (errno == EMFILE || errno == ENFILE)
				server_no_fds(lfd);
			else if (errno == ENOBUFS || errno == ENOMEM)
				limits_log("accept: %s", strerror(errno));
			else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		/* children that ended must not count against the limits */
		server_reap();
		if ((text = server_admit(&ss, &key, &why)) != NULL)
			server_refuse(fd, &ss, text, why);
		else
			server_spawn(fd, &ss, &key, srv.nodelay[i] == 2);
	}
}

/* SIGHUP: reopen the log file and read the configuration again. */
static void
server_reload(void)
{
	got_hup = 0;
	notify("RELOADING=1");
	if (log_reopen() == -1)
		log_warn("reopen log file");
	if (srv.reload(srv.conf) == -1) {
		log_warnx("configuration not reloaded, keeping the old one");
		notify("READY=1");
		return;
	}
	if (server_grow(srv.conf->max_children) == -1)
		log_warn("max_children");
	if (srv.conf->max_children > srv.maxkids)
		srv.conf->max_children = srv.maxkids;
	log_info("configuration reloaded");
	notify("READY=1");
}

/* SIGTERM: children say goodbye, stragglers are killed after a grace. */
static void
server_stop(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	pid_t pid;
	int i, waited;

	for (i = 0; i < srv.nfds; i++)
		close(srv.fds[i]);
	prune_stop();
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].pid != 0)
			kill(srv.kids[i].pid, SIGTERM);
	for (waited = 0; srv.tab->nkids > 0 && waited < STOP_GRACE * 20;
	    waited++) {
		server_reap();
		if (srv.tab->nkids > 0)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].pid != 0)
			kill(srv.kids[i].pid, SIGKILL);
	while (srv.tab->nkids > 0 && (pid = waitpid(-1, NULL, 0)) > 0)
		if (!prune_reaped(pid, 0))
			srv.tab->nkids--;
	free(srv.tab);
	free(srv.nodelay);
}

/*
 * The poll set: listeners, the signalfd, then the pipes of children
 * still logging in (map: pipe to slot).
 */
static int
server_pollset(struct pollfd *pfd, int max, int **which)
{
	static int *map;
	static int nmap;
	int i, n;

	if (map == NULL || nmap < srv.maxkids) {
		free(map);
		if ((map = calloc((size_t)srv.maxkids + 1, sizeof(*map))) == NULL)
			fatal("calloc");
		nmap = srv.maxkids;
	}
	for (n = 0; n < srv.nfds; n++) {
		pfd[n].fd = srv.fds[n];
		pfd[n].events = POLLIN;
	}
	pfd[n].fd = srv.sigfd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < srv.maxkids && n < max; i++) {
		if (srv.kids[i].pid == 0 || srv.kids[i].fd == -1)
			continue;
		map[n - srv.nfds - 1] = i;
		pfd[n].fd = srv.kids[i].fd;
		pfd[n++].events = POLLIN;
	}
	*which = map;
	return n;
}

/* A child ended: take the signal off the signalfd, then reap. */
static void
server_sigchld(void)
{
	(void)!read(srv.sigfd, &srv.tab->si, sizeof(srv.tab->si));
	server_reap();
}

/* How long ppoll() may wait: a log flush or a session sweep may be due. */
static struct timespec *
server_timeout(int pending, struct timespec *ts)
{
	long	 ms = prune_wait(srv.conf);

	if (pending && (ms < 0 || ms > 250))
		ms = 250;
	if (ms < 0)
		return NULL;
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = ms % 1000 * 1000 * 1000;
	return ts;
}

/* The parent's loop; returns when told to stop. */
int
server_run(struct conf *conf, int (*reload)(struct conf *), int *fds,
    int nfds)
{
	struct timespec tick;
	struct pollfd *pfd;
	sigset_t waitmask;
	int i, n, npfd, *map, pending = 0;

	srv.conf = conf;
	srv.reload = reload;
	srv.fds = fds;
	srv.nfds = nfds;
	srv.parent = getpid();
	if (server_grow(conf->max_children) == -1)
		fatal("max_children");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	server_nodelay();
	server_signals(&waitmask);
	while (!got_term) {
		pfd = srv.tab->pfd;
		npfd = server_pollset(pfd, nfds + 1 + srv.maxkids, &map);
		n = ppoll(pfd, (nfds_t)npfd, server_timeout(pending, &tick),
		    &waitmask);
		if (n == -1 && errno != EINTR)
			fatal("ppoll");
		for (i = nfds + 1; n > 0 && i < npfd; i++)
			if (pfd[i].revents != 0)
				server_kid_done(&srv.kids[map[i - nfds - 1]]);
		if (n > 0 && pfd[nfds].revents != 0)
			server_sigchld();
		/* a reload may move the poll set: ppoll() again */
		if (got_hup) {
			server_reload();
			continue;
		}
		for (i = 0; n > 0 && i < nfds; i++)
			if (pfd[i].revents & POLLIN)
				server_accept(i);
		pending = limits_log_flush();
		prune_tick(srv.conf, srv.fds, srv.nfds);
	}
	log_info("stopping, %d children to finish", srv.tab->nkids);
	server_stop();
	return 0;
}
