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

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "conf.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "proto.h"
#include "server.h"

#define ACCEPT_BURST	64	/* accepts per listener per wake-up */
#define STOP_GRACE	5	/* seconds children get to say goodbye */

static volatile sig_atomic_t got_chld, got_term, got_hup;

static struct server {
	struct conf	*conf;
	int		(*reload)(struct conf *);
	int		*fds;
	int		 nfds;
	pid_t		*kids;		/* slots of running children, 0 free */
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
	pid_t *p;

	if (want <= srv.maxkids)
		return 0;
	if ((p = reallocarray(srv.kids, (size_t)want, sizeof(*p))) == NULL)
		return -1;
	memset(p + srv.maxkids, 0, (size_t)(want - srv.maxkids) * sizeof(*p));
	srv.kids = p;
	srv.maxkids = want;
	return 0;
}

static void
server_forget(pid_t pid)
{
	int i;

	for (i = 0; i < srv.maxkids; i++) {
		if (srv.kids[i] == pid) {
			srv.kids[i] = 0;
			srv.nkids--;
			return;
		}
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
		server_forget(pid);
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

/* The connection over the limit hears why, then is closed. */
static void
server_busy(int fd, const struct sockaddr_storage *ss)
{
	static const char text[] = "421 server busy, try again later";
	char msg[64], addr[NET_ADDRSTRLEN];
	int n, port;

	n = snprintf(msg, sizeof(msg), "%010zu%s", strlen(text), text);
	(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
	net_addr_str(ss, addr, sizeof(addr), &port);
	log_warnx("server busy (%d children): refused %s port %d",
	    srv.nkids, addr, port);
}

/* In the child: drop what belongs to the parent, then serve. */
static void __attribute__((noreturn))
server_child(int fd, const struct sockaddr_storage *ss,
    const sigset_t *oldmask)
{
	int i;

	for (i = 0; i < srv.nfds; i++)
		close(srv.fds[i]);
	free(srv.kids);
	chat_signals();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != srv.parent)
		_exit(CHAT_EXIT_ERROR);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	_exit(chat_run(srv.conf, fd, ss));
}

/* Accept what is pending on one listener. */
static void
server_accept(int lfd, const sigset_t *waitmask)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pid_t pid;
	int fd, i, n;

	for (n = 0; n < ACCEPT_BURST; n++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (srv.nkids >= srv.conf->max_children) {
			server_busy(fd, &ss);
			continue;
		}
		if ((pid = fork()) == -1) {
			log_warn("fork");
			close(fd);
			continue;
		}
		if (pid == 0)
			server_child(fd, &ss, waitmask);
		close(fd);
		for (i = 0; i < srv.maxkids && srv.kids[i] != 0; i++)
			;
		srv.kids[i] = pid;
		srv.nkids++;
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
		if (srv.kids[i] != 0)
			kill(srv.kids[i], SIGTERM);
	for (waited = 0; srv.nkids > 0 && waited < STOP_GRACE * 20; waited++) {
		server_reap();
		if (srv.nkids > 0)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < srv.maxkids; i++)
		if (srv.kids[i] != 0)
			kill(srv.kids[i], SIGKILL);
	while (srv.nkids > 0 && waitpid(-1, NULL, 0) > 0)
		srv.nkids--;
	free(srv.kids);
}

/* The parent's loop; returns when told to stop. */
int
server_run(struct conf *conf, int (*reload)(struct conf *), int *fds,
    int nfds)
{
	struct pollfd pfd[CONF_MAX_LISTEN * 4];
	sigset_t waitmask;
	int i, n;

	srv.conf = conf;
	srv.reload = reload;
	srv.fds = fds;
	srv.nfds = nfds;
	srv.parent = getpid();
	if (server_grow(conf->max_children) == -1)
		fatal("max_children");
	server_signals(&waitmask);
	for (i = 0; i < nfds; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (!got_term) {
		n = ppoll(pfd, (nfds_t)nfds, NULL, &waitmask);
		if (n == -1 && errno != EINTR)
			fatal("ppoll");
		if (got_chld)
			server_reap();
		if (got_hup)
			server_reload();
		for (i = 0; n > 0 && i < nfds; i++)
			if (pfd[i].revents & POLLIN)
				server_accept(pfd[i].fd, &waitmask);
	}
	log_info("stopping, %d children to finish", srv.nkids);
	server_stop();
	return 0;
}
