/*
 * prune.c: owns the removal of expired sessions.  A session past
 * session_idle or session_lifetime is refused and removed when it is
 * presented; those never presented again are removed here, by a child
 * of the daemon that sweeps sessions/ at start and then every hour, at
 * idle priority, so the parent never blocks on the disk and no login
 * pays for the sweep.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/wait.h>

#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "prune.h"

#define PRUNE_EVERY	3600	/* seconds between sweeps */

static pid_t	 prune_pid;	/* the sweeping child, 0 if none */
static time_t	 prune_next;	/* monotonic seconds of the next sweep */

static time_t
prune_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The child: the listeners closed (a stopped daemon must not leave its
 * port held by a sweep), SIGTERM back to its default so a stop ends it,
 * idle priority so that clients never wait for it; one locked sweep, one
 * log line, exit.
 */
static void __attribute__((noreturn))
prune_child(const struct conf *c, const int *fds, int nfds)
{
	struct sched_param	 sp = { .sched_priority = 0 };
	struct sigaction	 sa;
	sigset_t		 term;
	long long		 now = time(NULL);
	int			 i, n;

	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigemptyset(&term);
	(void)sigaddset(&term, SIGTERM);
	(void)sigprocmask(SIG_UNBLOCK, &term, NULL);
	(void)sched_setscheduler(0, SCHED_IDLE, &sp);
	n = db_session_expire(now - c->session_idle,
	    now - c->session_lifetime);
	if (n > 0)
		log_info("removed %d expired session%s", n, n == 1 ? "" : "s");
	_exit(n == -1 ? 1 : 0);
}

/* Start a sweep if one is due and none runs; only in auth mode. */
void
prune_tick(const struct conf *c, const int *fds, int nfds)
{
	pid_t	 pid;

	if (c->mode != MODE_AUTH || prune_pid != 0 ||
	    prune_now() < prune_next)
		return;
	prune_next = prune_now() + PRUNE_EVERY;
	if ((pid = fork()) == -1) {
		log_warn("fork for the session sweep");
		return;
	}
	if (pid == 0)
		prune_child(c, fds, nfds);
	prune_pid = pid;
}

/* The daemon stops: so does a sweep (each removal is whole already). */
void
prune_stop(void)
{
	if (prune_pid != 0)
		(void)kill(prune_pid, SIGTERM);
}

/* Milliseconds until the next sweep is due, for the parent's poll. */
long
prune_wait(const struct conf *c)
{
	time_t	 now;

	if (c->mode != MODE_AUTH || prune_pid != 0)
		return -1;
	now = prune_now();
	return prune_next <= now ? 0 : (long)(prune_next - now) * 1000;
}

/* Is a sweep running, so that there is a child to reap? */
int
prune_running(void)
{
	return prune_pid != 0;
}

/* Was pid the sweeper?  Then it is forgotten here, not as a client. */
int
prune_reaped(pid_t pid, int status)
{
	if (pid == 0 || pid != prune_pid)
		return 0;
	prune_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("the session sweep failed");
	return 1;
}
