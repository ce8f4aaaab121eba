/*
 * authchatd.c: owns the daemon's start-up: command line, configuration,
 * the port question, listening sockets, detaching with a start-up report
 * to the shell, the pidfile, and handing over to the server loop.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "priv.h"
#include "server.h"

#ifndef CONF_FILE
#define CONF_FILE	"/etc/authchatd/authchatd.conf"
#endif

#define MAX_OVERRIDES	64

/* Settings from the command line, applied again after every reload. */
static struct {
	const char	*key;
	const char	*value;
} overrides[MAX_OVERRIDES];
static int noverrides;
static char conf_path[PATH_MAX] = CONF_FILE;
static int conf_path_given;
static char start_dir[PATH_MAX];	/* relative paths are from here */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: authchatd [-DdhnTv] [-b address] [-f file] "
	    "[-l file] [-m mode] [-P file]\n\t\t [-p port] [-u user]\n");
	exit(2);
}

static void
override(const char *key, const char *value)
{
	if (noverrides >= MAX_OVERRIDES) {
		fprintf(stderr, "authchatd: too many options\n");
		exit(2);
	}
	overrides[noverrides].key = key;
	overrides[noverrides++].value = value;
}

/* Make a relative path absolute, since the daemon changes to /. */
static int
absolute(char *path, size_t len)
{
	char tmp[PATH_MAX];

	if (path[0] == '\0' || path[0] == '/')
		return 0;
	if (start_dir[0] == '\0' && getcwd(start_dir, sizeof(start_dir)) ==
	    NULL)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", start_dir, path) >=
	    sizeof(tmp) || strlcpy(path, tmp, len) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Defaults, then the file, then the command line. */
static int
load(struct conf *c)
{
	char err[256];
	int i;

	conf_defaults(c);
	if (conf_load(c, conf_path, !conf_path_given) == -1)
		return -1;
	for (i = 0; i < noverrides; i++) {
		if (conf_set(c, overrides[i].key, overrides[i].value, err,
		    sizeof(err)) == -1) {
			log_warnx("command line: %s", err);
			return -1;
		}
	}
	if (absolute(c->log_file, sizeof(c->log_file)) == -1 ||
	    absolute(c->pid_file, sizeof(c->pid_file)) == -1 ||
	    absolute(c->state_dir, sizeof(c->state_dir)) == -1) {
		log_warn("cannot make paths absolute");
		return -1;
	}
	return 0;
}

/* SIGHUP: a new configuration; what needs new sockets waits. */
static int
reload(struct conf *c)
{
	struct conf n;

	if (load(&n) == -1)
		return -1;
	if ((n.mode == MODE_IDENT || n.mode == MODE_AUTH) &&
	    db_init(n.state_dir) == -1)
		return -1;
	if (n.port != c->port || n.nlisten != c->nlisten ||
	    memcmp(n.listen, c->listen, sizeof(n.listen)) != 0) {
		log_warnx("port and listen changes wait for a restart");
		n.port = c->port;
		n.nlisten = c->nlisten;
		memcpy(n.listen, c->listen, sizeof(n.listen));
	}
	if (strcmp(n.log_file, c->log_file) != 0 && n.log_file[0] != '\0' &&
	    log_set_file(n.log_file) == -1) {
		log_warn("log file %s", n.log_file);
		return -1;
	}
	*c = n;
	return 0;
}

/* Listen on every configured address; exits on failure. */
static int
open_listeners(const struct conf *c, int *fds, int maxfds)
{
	int i, n, nfds = 0;

	if (c->nlisten == 0) {
		n = net_listen(NULL, c->port, fds, maxfds);
		if (n == -1)
			exit(1);
		return n;
	}
	for (i = 0; i < c->nlisten; i++) {
		n = net_listen(c->listen[i], c->port, fds + nfds,
		    maxfds - nfds);
		if (n == -1)
			exit(1);
		nfds += n;
	}
	return nfds;
}

/* Write the pidfile through a temporary file and rename. */
static int
write_pidfile(const char *path)
{
	char tmp[PATH_MAX], buf[32];
	int fd, n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Detach: the starting process waits on a pipe until the daemon says it
 * is ready, so the shell sees start-up failures as an exit status.
 */
static int
detach(void)
{
	int p[2], fd;
	char c = 0;
	pid_t pid;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

static void
announce(const struct conf *c, const int *fds, int nfds)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[NET_ADDRSTRLEN];
	int i, port;

	log_info("authchatd %s starting, mode %s", PACKAGE_VERSION,
	    conf_mode_name(c->mode));
	for (i = 0; i < nfds; i++) {
		len = sizeof(ss);
		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) == -1)
			continue;
		net_addr_str(&ss, addr, sizeof(addr), &port);
		log_info("listening on %s port %d", addr, port);
	}
}

int
main(int argc, char *argv[])
{
	struct conf conf;
	int ch, debug = 0, foreground = 0, check = 0, dump = 0, verbose = 0;
	int fds[CONF_MAX_LISTEN * 4], nfds, ready = -1, fd;

	log_init(1, 0);
	while ((ch = getopt(argc, argv, "b:Ddf:hl:m:nP:p:Tu:v")) != -1) {
		switch (ch) {
		case 'b': override("listen", optarg); break;
		case 'D': foreground = 1; break;
		case 'd': debug = foreground = 1; break;
		case 'f':
			if (strlcpy(conf_path, optarg, sizeof(conf_path)) >=
			    sizeof(conf_path) || absolute(conf_path,
			    sizeof(conf_path)) == -1)
				fatal("%s", optarg);
			conf_path_given = 1;
			break;
		case 'l': override("log_file", optarg); break;
		case 'm': override("mode", optarg); break;
		case 'n': check = 1; break;
		case 'P': override("pid_file", optarg); break;
		case 'p': override("port", optarg); break;
		case 'T': dump = 1; break;
		case 'u': override("user", optarg); break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (argc != optind)
		usage();
	log_setverbose(verbose);
	if (load(&conf) == -1)
		exit(1);
	if (dump)
		conf_dump(&conf, stdout);
	if (check || dump) {
		if (check)
			fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	if (priv_check(&conf) == -1)
		exit(1);
	if ((conf.mode == MODE_IDENT || conf.mode == MODE_AUTH) &&
	    db_init(conf.state_dir) == -1)
		exit(1);
	if ((nfds = notify_listen_fds(fds, CONF_MAX_LISTEN * 4)) == -1)
		exit(1);
	if (nfds == 0) {
		if (!conf.port_set && foreground && isatty(STDIN_FILENO))
			ask_port("authchatd", CONF_DEFAULT_PORT, &conf.port);
		nfds = open_listeners(&conf, fds, CONF_MAX_LISTEN * 4);
	}
	if (conf.log_file[0] != '\0' && log_set_file(conf.log_file) == -1)
		fatal("log file %s", conf.log_file);
	if (!foreground)
		ready = detach();
	if (!debug && conf.log_file[0] == '\0')
		log_init(0, conf.syslog_facility);
	if (conf.pid_file[0] != '\0' && write_pidfile(conf.pid_file) == -1)
		fatal("pidfile %s", conf.pid_file);
	announce(&conf, fds, nfds);
	if (priv_drop(&conf) == -1)
		exit(1);
	if (ready != -1) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* nothing to do if the starting shell went away */
		if (write(ready, "R", 1) != 1)
			log_debug("start-up report not delivered");
		close(ready);
	}
	notify("READY=1");
	server_run(&conf, reload, fds, nfds);
	notify("STOPPING=1");
	if (conf.pid_file[0] != '\0')
		unlink(conf.pid_file);
	log_info("stopped");
	return 0;
}
