/*
 * server.c: owns the parent process: it only accepts, forks, counts and
 * reaps.  Signals are blocked except inside ppoll(), so SIGCHLD, SIGTERM
 * and SIGHUP are handled in the main loop, never in the middle of work.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/prctl.h>
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
#include "server.h"

#define ACCEPT_BURST	64	/* accepts per listener per wake-up */
#define STOP_GRACE	5	/* seconds children get to say goodbye */

static volatile sig_atomic_t got_chld, got_term, got_hup;
static int spare_fd = -1;	/* given up to accept and refuse at EMFILE */

/* A running child: where it came from, whether it is still logging in. */
struct kid {
	pid_t			 pid;		/* 0: free slot */
	struct sockaddr_storage	 ss;
	struct srckey		 key;
	int			 fd;		/* dialogue pipe, -1 when done */
};

static struct server {
	struct conf	*conf;
	int		(*reload)(struct conf *);
	int		*fds;
	int		 nfds;
	struct kid	*kids;
	int		 nkids;
	int		 maxkids;	/* slots allocated */
	pid_t		 parent;
} srv;

static void
server_on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/* Install handlers; the signals stay blocked outside ppoll(). */
static void
server_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGCHLD);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = server_on_signal;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Make room for as many children as max_children allows. */
static int
server_grow(int want)
{
	struct kid *p;
	int i;

	if (want <= srv.maxkids)
		return 0;
	if ((p = reallocarray(srv.kids, (size_t)want, sizeof(*p))) == NULL)
		return -1;
	memset(p + srv.maxkids, 0, (size_t)(want - srv.maxkids) * sizeof(*p));
	for (i = srv.maxkids; i < want; i++)
		p[i].fd = -1;
	srv.kids = p;
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
		srv.nkids--;
		return;
	}
}

/* Reap every child that has ended and log the ones that ended badly. */
static void
server_reap(void)
{
	pid_t pid;
	int status;

	got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
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

/* In the child: drop what belongs to the parent, then serve. */
static void __attribute__((noreturn))
server_child(int fd, const struct sockaddr_storage *ss, int done_fd,
    const sigset_t *oldmask)
{
	int i;

	for (i = 0; i < srv.nfds; i++)
		close(srv.fds[i]);
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].fd != -1)
			close(srv.kids[i].fd);
	if (spare_fd != -1)
		close(spare_fd);
	free(srv.kids);
	chat_signals();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != srv.parent)
		_exit(CHAT_EXIT_ERROR);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	_exit(chat_run(srv.conf, fd, ss, done_fd));
}

/* Why this connection may not in, or NULL. */
static const char *
server_admit(const struct sockaddr_storage *ss, struct srckey *key,
    const char **why)
{
	const char *text;
	int i, startups = 0, same = 0;

	limits_key(srv.conf, ss, key);
	if (srv.nkids >= srv.conf->max_children) {
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

/* Fork the child of one admitted connection and remember it. */
static void
server_spawn(int fd, const struct sockaddr_storage *ss,
    const struct srckey *key, const sigset_t *waitmask)
{
	int p[2] = { -1, -1 }, i, one = 1;
	pid_t pid;

	if ((srv.conf->mode == MODE_IDENT || srv.conf->mode == MODE_AUTH) &&
	    pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		close(fd);
		return;
	}
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
		/* replies of several messages must not wait for delayed ACKs */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		server_child(fd, ss, p[1], waitmask);
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
	srv.nkids++;
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

/* Accept what is pending on one listener. */
static void
server_accept(int lfd, const sigset_t *waitmask)
{
	struct sockaddr_storage ss;
	struct srckey key;
	const char *text, *why;
	socklen_t len;
	int fd, n;

	for (n = 0; n < ACCEPT_BURST; n++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd == -1) {
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
			server_spawn(fd, &ss, &key, waitmask);
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
	int i, waited;

	for (i = 0; i < srv.nfds; i++)
		close(srv.fds[i]);
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].pid != 0)
			kill(srv.kids[i].pid, SIGTERM);
	for (waited = 0; srv.nkids > 0 && waited < STOP_GRACE * 20; waited++) {
		server_reap();
		if (srv.nkids > 0)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i].pid != 0)
			kill(srv.kids[i].pid, SIGKILL);
	while (srv.nkids > 0 && waitpid(-1, NULL, 0) > 0)
		srv.nkids--;
	free(srv.kids);
}

/* The poll set: listeners, then the pipes of children still logging in. */
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
	for (i = 0; i < srv.maxkids && n < max; i++) {
		if (srv.kids[i].pid == 0 || srv.kids[i].fd == -1)
			continue;
		map[n - srv.nfds] = i;
		pfd[n].fd = srv.kids[i].fd;
		pfd[n++].events = POLLIN;
	}
	*which = map;
	return n;
}

/* The parent's loop; returns when told to stop. */
int
server_run(struct conf *conf, int (*reload)(struct conf *), int *fds,
    int nfds)
{
	struct pollfd *pfd = NULL;
	struct timespec tick = { 0, 250 * 1000 * 1000 };
	sigset_t waitmask;
	int i, n, npfd, *map, pfdsize = 0, pending = 0;

	srv.conf = conf;
	srv.reload = reload;
	srv.fds = fds;
	srv.nfds = nfds;
	srv.parent = getpid();
	if (server_grow(conf->max_children) == -1)
		fatal("max_children");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	server_signals(&waitmask);
	while (!got_term) {
		if (pfd == NULL || pfdsize < nfds + srv.maxkids) {
			pfdsize = nfds + srv.maxkids;
			free(pfd);
			if ((pfd = calloc((size_t)pfdsize, sizeof(*pfd))) == NULL)
				fatal("poll set");
		}
		npfd = server_pollset(pfd, nfds + srv.maxkids, &map);
		n = ppoll(pfd, (nfds_t)npfd, pending ? &tick : NULL,
		    &waitmask);
		if (n == -1 && errno != EINTR)
			fatal("ppoll");
		for (i = nfds; n > 0 && i < npfd; i++)
			if (pfd[i].revents != 0)
				server_kid_done(&srv.kids[map[i - nfds]]);
		if (got_chld)
			server_reap();
		if (got_hup)
			server_reload();
		for (i = 0; n > 0 && i < nfds; i++)
			if (pfd[i].revents & POLLIN)
				server_accept(pfd[i].fd, &waitmask);
		pending = limits_log_flush();
	}
	free(pfd);
	log_info("stopping, %d children to finish", srv.nkids);
	server_stop();
	return 0;
}
