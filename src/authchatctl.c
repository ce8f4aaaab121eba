/*
 * authchatctl.c: owns the administrator's view of the state database:
 * users, idents and sessions listed and changed from the command line,
 * also while authchatd runs.  Every change goes through db.c, so it
 * takes the daemon's lock and is made by the same atomic rename.
 * Passwords are read without echo, or one line from stdin, and wiped
 * on every path.  See authchatctl(8).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <readpassphrase.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "pw.h"

#ifndef CONF_FILE
#define CONF_FILE	"/etc/authchatd/authchatd.conf"
#endif

#define TIME_LEN	32	/* "%Y-%m-%dT%H:%M:%S%z" is 24 */
#define DIGEST_SHOWN	16	/* hex digits of a session digest shown */
#define CMD_WORDS	3	/* "user add --stdin" */

/* Every session, read once, for the lists and for session revoke. */
struct sessions {
	struct db_session	*s;
	size_t			 n, size;
	int			 failed;
};

/* One command: its words (an option is one), operands, what runs it. */
struct ctl_cmd {
	const char	*words[CMD_WORDS];
	int		 min, max;	/* operands */
	int		(*run)(const char *, int);
	int		 val;		/* run()'s second argument */
};

static struct conf	 conf;		/* as authchatd would read it */

/* The same lines as the SYNOPSIS of authchatctl(8). */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: authchatctl [-f file] user add [--stdin] NAME\n"
	    "       authchatctl [-f file] user del NAME\n"
	    "       authchatctl [-f file] user passwd [--stdin] NAME\n"
	    "       authchatctl [-f file] user lock NAME\n"
	    "       authchatctl [-f file] user unlock NAME\n"
	    "       authchatctl [-f file] user list\n"
	    "       authchatctl [-f file] ident list\n"
	    "       authchatctl [-f file] ident forget ADDRESS\n"
	    "       authchatctl [-f file] session list [NAME]\n"
	    "       authchatctl [-f file] session revoke NAME | --all\n"
	    "       authchatctl [-f file] check\n");
	exit(2);
}

/* Our own messages; db.c and conf.c speak through log_warnx(). */
static void __attribute__((format(printf, 1, 2)))
ctl_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fputs("authchatctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Operands echoed in messages, made safe for the terminal. */
static const char *
esc(const char *s)
{
	static char	 buf[4 * DB_NAME_MAX + 8];

	return log_escape(s, buf, sizeof(buf));
}

/* A NAME operand must be a name the database could hold. */
static int
name_ok(const char *name)
{
	const char	*why;

	if (db_name_valid(name, &why))
		return 1;
	ctl_warnx("bad name \"%s\": %s", esc(name), why);
	return 0;
}

/* ISO-8601 local time; the number itself if it is no date. */
static const char *
fmt_time(long long t, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if ((long long)tt != t || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		(void)snprintf(buf, len, "%lld", t);
	return buf;
}

/* One line of stdin, bytewise so that no stdio buffer keeps a copy. */
static int
pw_stdin(char *buf, size_t size)
{
	size_t	 n = 0;
	ssize_t	 r;
	char	 c = '\0';
	int	 rc = -1;

	while ((r = read(STDIN_FILENO, &c, 1)) == 1 && c != '\n' && c != '\0')
		if (n + 1 < size)	/* too long: pw_new() says so */
			buf[n++] = c;
	buf[n] = '\0';
	if (r == -1)
		ctl_warnx("standard input: %s", strerror(errno));
	else if (r == 1 && c == '\0')
		ctl_warnx("password contains a NUL byte");
	else if (r == 0 && n == 0)
		ctl_warnx("no password on standard input");
	else
		rc = 0;
	explicit_bzero(&c, sizeof(c));
	return rc;
}

/* Twice on the terminal, without echo; the two must match. */
static int
pw_tty(char *buf, size_t size)
{
	char	 again[PW_MAX + 2];
	int	 rc = -1;

	if (readpassphrase("Password: ", buf, size, RPP_REQUIRE_TTY) == NULL ||
	    readpassphrase("Repeat password: ", again, sizeof(again),
	    RPP_REQUIRE_TTY) == NULL)
		ctl_warnx("cannot read the password from a terminal: %s "
		    "(use --stdin)", strerror(errno));
	else if (!secret_equal(buf, again))
		ctl_warnx("passwords do not match");
	else
		rc = 0;
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* A new password, checked as the daemon checks it, then hashed. */
static int
pw_new(int from_stdin, char *hash, size_t hashlen)
{
	char	 pw[PW_MAX + 2];	/* one more byte shows "too long" */
	size_t	 len;
	int	 rc = -1;

	if ((from_stdin ? pw_stdin(pw, sizeof(pw)) :
	    pw_tty(pw, sizeof(pw))) == 0) {
		if ((len = strlen(pw)) > PW_MAX)
			ctl_warnx("password too long (at most %d bytes)",
			    PW_MAX);
		else if (len < (size_t)conf.min_password)
			ctl_warnx("password too short (at least %d bytes)",
			    conf.min_password);
		else if (pw_hash(pw, conf.hash_cost, hash, hashlen) == -1)
			ctl_warnx("cannot hash the password");
		else
			rc = 0;
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

/* 0 if done; otherwise say what was wrong (db.c logged why for -1). */
static int
ctl_result(int rc, const char *what, const char *key)
{
	if (rc == DB_NOTFOUND)
		ctl_warnx("no such %s %s", what, esc(key));
	else if (rc == DB_EXISTS)
		ctl_warnx("%s %s already exists", what, key);
	else if (rc != 0)
		ctl_warnx("cannot change %s %s", what, esc(key));
	return rc == 0 ? 0 : 1;
}

/* Write back a changed user; locking or a new password ends sessions. */
static int
user_put(struct db_user *u, int revoke)
{
	int	 rc;

	rc = db_user_update(u);
	explicit_bzero(u->hash, sizeof(u->hash));
	if (rc != 0)
		return ctl_result(rc, "user", u->name);
	if (revoke && db_session_del_user(u->name, NULL) != 0) {
		ctl_warnx("user %s changed, but not its sessions", u->name);
		return 1;
	}
	return 0;
}

/* user add: checked first, so a taken name asks no password. */
static int
user_add(const char *name, int from_stdin)
{
	struct db_user	 u;
	int		 rc;

	if (!name_ok(name))
		return 1;
	if ((rc = db_user_get(name, &u)) != DB_NOTFOUND) {
		explicit_bzero(&u, sizeof(u));
		return ctl_result(rc == 0 ? DB_EXISTS : rc, "user", name);
	}
	memset(&u, 0, sizeof(u));
	(void)strlcpy(u.name, name, sizeof(u.name));
	u.created = time(NULL);
	if (pw_new(from_stdin, u.hash, sizeof(u.hash)) == -1)
		return 1;
	rc = db_user_add(&u);
	explicit_bzero(&u, sizeof(u));
	return ctl_result(rc, "user", name);
}

/* user del: db.c removes the user's sessions in the same change. */
static int
user_del(const char *name, int unused)
{
	(void)unused;
	return name_ok(name) ? ctl_result(db_user_del(name), "user", name) : 1;
}

/*
 * user passwd: a new hash, and every session of the user ends.  The
 * record is read again after the password, which may take a while, so
 * that a change made meanwhile (a lock, a login) is not undone.
 */
static int
user_passwd(const char *name, int from_stdin)
{
	struct db_user	 u;
	char		 hash[sizeof(u.hash)];
	int		 rc = 1;

	if (!name_ok(name) || ctl_result(db_user_get(name, &u), "user",
	    name) != 0)
		return 1;
	explicit_bzero(&u, sizeof(u));
	if (pw_new(from_stdin, hash, sizeof(hash)) == 0 &&
	    ctl_result(db_user_get(name, &u), "user", name) == 0) {
		(void)strlcpy(u.hash, hash, sizeof(u.hash));
		rc = user_put(&u, 1);
	}
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(&u, sizeof(u));
	return rc;
}

/* user lock, unlock: auth.c refuses a locked user's password and token. */
static int
user_setlock(const char *name, int locked)
{
	struct db_user	 u;

	if (!name_ok(name) || ctl_result(db_user_get(name, &u), "user",
	    name) != 0)
		return 1;
	u.locked = locked;
	return user_put(&u, locked);
}

/* db_session_list() callback: keep a copy of every session. */
static int
sessions_add(const struct db_session *s, void *arg)
{
	struct sessions		*ss = arg;
	struct db_session	*p;
	size_t			 size;

	if (ss->n == ss->size) {
		size = ss->size == 0 ? 64 : ss->size * 2;
		if ((p = reallocarray(ss->s, size, sizeof(*p))) == NULL) {
			ctl_warnx("%s", strerror(errno));
			ss->failed = 1;
			return 1;
		}
		ss->s = p;
		ss->size = size;
	}
	ss->s[ss->n++] = *s;
	return 0;
}

/* Read the sessions file once, unlocked; the caller frees ss->s. */
static int
sessions_load(struct sessions *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (db_session_list(sessions_add, ss) == 0 && !ss->failed)
		return 0;
	ctl_warnx("cannot read the sessions");
	free(ss->s);
	return -1;
}

/* The daemon refuses a session idle or old for longer than allowed. */
static long long
session_expires(const struct db_session *s)
{
	long long	 idle = LLONG_MAX, life = LLONG_MAX;

	if (s->last_used <= LLONG_MAX - conf.session_idle)
		idle = s->last_used + conf.session_idle;
	if (s->created <= LLONG_MAX - conf.session_lifetime)
		life = s->created + conf.session_lifetime;
	return idle < life ? idle : life;
}

/* user list walks the users and the sessions, both in name order. */
struct user_rows {
	struct sessions	*ss;
	size_t		 at;	/* first session not of an earlier user */
	long long	 now;
};

/* How many live sessions (the daemon accepts them) user has. */
static size_t
sessions_count(struct user_rows *ur, const char *user)
{
	const struct sessions *ss = ur->ss;
	size_t		 n = 0;

	while (ur->at < ss->n && strcmp(ss->s[ur->at].user, user) < 0)
		ur->at++;
	for (; ur->at < ss->n && strcmp(ss->s[ur->at].user, user) == 0;
	    ur->at++)
		if (session_expires(&ss->s[ur->at]) >= ur->now)
			n++;
	return n;
}

/* db_user_list() callback: one row of user list. */
static int
user_row(const struct db_user *u, void *arg)
{
	char	 c[TIME_LEN], l[TIME_LEN];

	printf("%-32s %-24s %-24s %-6s %zu\n", u->name,
	    fmt_time(u->created, c, sizeof(c)), u->last_login == 0 ? "never" :
	    fmt_time(u->last_login, l, sizeof(l)), u->locked ? "yes" : "no",
	    sessions_count(arg, u->name));
	return 0;
}

/* qsort(3) order: a user's sessions together, users in name order. */
static int
session_cmp(const void *a, const void *b)
{
	return strcmp(((const struct db_session *)a)->user,
	    ((const struct db_session *)b)->user);
}

/* user list: sessions are read first and sorted, to count each user's. */
static int
user_list(const char *unused, int unused2)
{
	struct sessions	 ss;
	struct user_rows ur;
	int		 rc;

	(void)unused;
	(void)unused2;
	if (sessions_load(&ss) == -1)
		return 1;
	if (ss.n > 0)
		qsort(ss.s, ss.n, sizeof(*ss.s), session_cmp);
	ur.ss = &ss;
	ur.at = 0;
	ur.now = time(NULL);
	printf("%-32s %-24s %-24s %-6s %s\n", "NAME", "CREATED",
	    "LAST LOGIN", "LOCKED", "SESSIONS");
	if ((rc = db_user_list(user_row, &ur)) != 0)
		ctl_warnx("cannot read the users");
	free(ss.s);
	return rc == 0 ? 0 : 1;
}

/* db_ident_list() callback: one row of ident list. */
static int
ident_row(const struct db_ident *i, void *arg)
{
	char	 c[TIME_LEN];

	(void)arg;
	printf("%-39s %-32s %s\n", i->addr, i->name,
	    fmt_time(i->created, c, sizeof(c)));
	return 0;
}

/* ident list: every address with a name, in file order. */
static int
ident_list(const char *unused, int unused2)
{
	(void)unused;
	(void)unused2;
	printf("%-39s %-32s %s\n", "ADDRESS", "NAME", "CREATED");
	if (db_ident_list(ident_row, NULL) == 0)
		return 0;
	ctl_warnx("cannot read the idents");
	return 1;
}

/* ident forget: that address is asked its name again. */
static int
ident_forget(const char *addr, int unused)
{
	(void)unused;
	return ctl_result(db_ident_del(addr), "ident", addr);
}

/* Digests are not tokens; 16 hex digits tell sessions apart. */
static int
session_list(const char *name, int unused)
{
	struct sessions	 ss;
	const struct db_session *s;
	char		 c[TIME_LEN], u[TIME_LEN], e[TIME_LEN];
	size_t		 i;

	(void)unused;
	if ((name != NULL && !name_ok(name)) || sessions_load(&ss) == -1)
		return 1;
	printf("%-16s %-32s %-24s %-24s %s\n", "SESSION", "USER", "CREATED",
	    "LAST USED", "EXPIRES");
	for (i = 0; i < ss.n; i++) {
		s = &ss.s[i];
		if (name != NULL && strcmp(s->user, name) != 0)
			continue;
		printf("%-16.*s %-32s %-24s %-24s %s\n", DIGEST_SHOWN,
		    s->digest, s->user, fmt_time(s->created, c, sizeof(c)),
		    fmt_time(s->last_used, u, sizeof(u)),
		    fmt_time(session_expires(s), e, sizeof(e)));
	}
	free(ss.s);
	return 0;
}

/* One locked sweep: of one user's sessions, or of all of them. */
static int
session_revoke(const char *name, int all)
{
	struct sessions	 ss;
	size_t		 i, n = 0;
	int		 rc;

	if (all) {
		if ((rc = db_session_expire(LLONG_MAX, LLONG_MAX)) == -1) {
			ctl_warnx("cannot revoke the sessions");
			return 1;
		}
		n = (size_t)rc;
	} else {
		if (!name_ok(name) || sessions_load(&ss) == -1)
			return 1;
		for (i = 0; i < ss.n; i++)
			n += strcmp(ss.s[i].user, name) == 0;
		free(ss.s);
		if (ctl_result(db_session_del_user(name, NULL), "sessions of",
		    name) != 0)
			return 1;
	}
	printf("%zu session%s revoked\n", n, n == 1 ? "" : "s");
	return 0;
}

/* check: db.c logs each malformed file as path: reason. */
static int
ctl_check(const char *unused, int unused2)
{
	int	 bad;

	(void)unused;
	(void)unused2;
	if ((bad = db_check()) == 0) {
		printf("ok\n");
		return 0;
	}
	if (bad == -1)
		ctl_warnx("cannot read the files in %s", conf.state_dir);
	else
		ctl_warnx("%s: %d malformed file%s", conf.state_dir, bad,
		    bad == 1 ? "" : "s");
	return 1;
}

/* With an option, before without: the first match wins. */
static const struct ctl_cmd cmds[] = {
	{ { "user", "add", "--stdin" }, 1, 1, user_add, 1 },
	{ { "user", "add" }, 1, 1, user_add, 0 },
	{ { "user", "del" }, 1, 1, user_del, 0 },
	{ { "user", "passwd", "--stdin" }, 1, 1, user_passwd, 1 },
	{ { "user", "passwd" }, 1, 1, user_passwd, 0 },
	{ { "user", "lock" }, 1, 1, user_setlock, 1 },
	{ { "user", "unlock" }, 1, 1, user_setlock, 0 },
	{ { "user", "list" }, 0, 0, user_list, 0 },
	{ { "ident", "list" }, 0, 0, ident_list, 0 },
	{ { "ident", "forget" }, 1, 1, ident_forget, 0 },
	{ { "session", "list" }, 0, 1, session_list, 0 },
	{ { "session", "revoke", "--all" }, 0, 0, session_revoke, 1 },
	{ { "session", "revoke" }, 1, 1, session_revoke, 0 },
	{ { "check" }, 0, 0, ctl_check, 0 },
};

/* The command argv starts with, and how many words name it; or NULL. */
static const struct ctl_cmd *
cmd_find(int argc, char *argv[], int *nwords)
{
	const char *const	*w;
	size_t			 i;
	int			 n;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		w = cmds[i].words;
		for (n = 0; n < CMD_WORDS && w[n] != NULL; n++)
			if (n >= argc || strcmp(argv[n], w[n]) != 0)
				break;
		if (n == CMD_WORDS || w[n] == NULL) {
			*nwords = n;
			return &cmds[i];
		}
	}
	return NULL;
}

/* Root works as the owner of state_dir, so that files stay the daemon's. */
static int
ctl_become_owner(const char *dir)
{
	struct stat	 st;

	if (geteuid() != 0 || stat(dir, &st) == -1 || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setgid(st.st_gid) == -1 ||
	    setuid(st.st_uid) == -1) {
		ctl_warnx("cannot become uid %u, the owner of %s: %s",
		    (unsigned int)st.st_uid, dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The settings as authchatd reads them, then the database they name. */
static int
ctl_open(const char *path, int given)
{
	conf_defaults(&conf);
	if (conf_load(&conf, path, !given) == -1) {
		ctl_warnx("cannot load the configuration %s", path);
		return -1;
	}
	if (ctl_become_owner(conf.state_dir) == -1)
		return -1;
	if (db_init(conf.state_dir) == -1) {
		ctl_warnx("cannot use the state directory %s", conf.state_dir);
		return -1;
	}
	return 0;
}

/* Options, the command's words, then its run; 0, 1, or 2 for usage. */
int
main(int argc, char *argv[])
{
	const struct ctl_cmd	*c;
	const char		*path = CONF_FILE;
	int			 ch, given = 0, i, n;

	log_init(1, 0);
	while ((ch = getopt(argc, argv, "+f:h")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			given = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((c = cmd_find(argc, argv, &n)) == NULL)
		usage();
	argc -= n;
	argv += n;
	if (argc < c->min || argc > c->max)
		usage();
	for (i = 0; i < argc; i++)
		if (argv[i][0] == '-')	/* no NAME or ADDRESS looks so */
			usage();
	if (ctl_open(path, given) == -1)
		return 1;
	return c->run(argc > 0 ? argv[0] : NULL, c->val);
}
