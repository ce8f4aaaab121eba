/*
 * db_test.c: unit tests for src/db.c.  Owns the contract the daemon and
 * the admin tool rely on: name rules, the three record formats (one file
 * per record: users/NAME, idents/ADDRESS, sessions/DIGEST), file (0600)
 * and directory (0700) modes, malformed files reported as "path: reason"
 * and never replaced while other records still change, lists in name
 * order, timestamps as mtimes (lastlog/NAME, sessions/DIGEST), logins,
 * session expiry, concurrent writers (no lost update), no torn record
 * when writers are killed at random, and (with FAULTSHIM set to
 * tests/faultshim.so) failed rename/fsync/write/open leaving the old
 * record byte-identical and no partial file.  Each test uses its own dir
 * under a mkdtemp dir in $TMPDIR (kept on failure or with DB_TEST_KEEP
 * set).  Prints each failure as file:line; last line "N passed, M failed".
 * "db_test --child OP DIR KEY LOG" is the mode re-executed under the
 * shim: one change (OP add, update, login, ident or session) and exit 0,
 * 1 (error), 3 (no log) or 10 + result.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define CHECK(c)	check((c), #c, __FILE__, __LINE__)

#define HASH1	"$y$j9T$abcdefghijklmnop$qrstuvwxyz0123456789ABCDEFGHIJ"
#define HASH2	"$6$salt$Zm9vYmFy./"
#define FILE_BIG	(64 << 10)	/* largest file the tests read */
#define CONC_KIDS	10
#define CONC_USERS	20
#define STORM_ROUNDS	5
#define STORM_KIDS	6
#define SHARED_DIGEST	999999
/* 61 zeros: Z61 "abc" is a digest. */
#define Z61	"0000000000000000000000000000000000000000" \
		"000000000000000000000"

static int	 passed, failed;
static char	 top[PATH_MAX / 2], logpath[PATH_MAX], dir[PATH_MAX];
static char	 filebuf[FILE_BIG], filebuf2[FILE_BIG];
static const char *const subdirs[] = { "users", "lastlog", "idents",
		    "sessions" };

/* Record one result; a failure names the line of the CHECK. */
static void
check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("%s:%d: FAIL: %s\n", file, line, what);
	fflush(stdout);
}

/* dir/name in a static buffer (four in turn). */
static const char *
in_dir(const char *name)
{
	static char	 paths[4][PATH_MAX];
	static int	 n;

	n = (n + 1) % 4;
	if (snprintf(paths[n], sizeof(paths[n]), "%s/%s", dir, name) >=
	    (int)sizeof(paths[n]))
		printf("path too long: %s/%s\n", dir, name);
	return paths[n];
}

/* "sub/key", a name for in_dir() (four in turn). */
static const char *
rec(const char *sub, const char *key)
{
	static char	 names[4][PATH_MAX];
	static int	 n;

	n = (n + 1) % 4;
	(void)snprintf(names[n], sizeof(names[n]), "%s/%s", sub, key);
	return names[n];
}

/* A session digest: n in 64 hex digits (four in turn). */
static const char *
dig(int n)
{
	static char	 d[4][DB_DIGEST_LEN + 1];
	static int	 i;

	i = (i + 1) % 4;
	(void)snprintf(d[i], sizeof(d[i]), "%064x", n);
	return d[i];
}

/* Whole file into buf (NUL-terminated); its length, -1 when missing. */
static ssize_t
slurp(const char *path, char *buf)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return -1;
	while (off < FILE_BIG - 1 &&
	    (n = read(fd, buf + off, FILE_BIG - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
	return (ssize_t)off;
}

/* Write len bytes as the whole file (0600). */
static void
put(const char *path, const char *data, size_t len)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, data, len) != (ssize_t)len)
		printf("put %s: %s\n", path, strerror(errno));
	if (fd != -1)
		close(fd);
}

static void
puts_file(const char *name, const char *text)
{
	put(in_dir(name), text, strlen(text));
}

/* Does the file hold exactly text? */
static int
file_is(const char *name, const char *text)
{
	return slurp(in_dir(name), filebuf2) == (ssize_t)strlen(text) &&
	    strcmp(filebuf2, text) == 0;
}

/* Does the file hold the same bytes as a snapshot? */
static int
same_as(const char *name, const char *snap, ssize_t snaplen)
{
	return slurp(in_dir(name), filebuf2) == snaplen &&
	    memcmp(filebuf2, snap, (size_t)snaplen) == 0;
}

static int
exists(const char *name)
{
	struct stat	 st;

	return lstat(in_dir(name), &st) == 0;
}

static long long
mtime_of(const char *name)
{
	struct stat	 st;

	return lstat(in_dir(name), &st) == -1 ? -1 :
	    (long long)st.st_mtim.tv_sec;
}

static long long
inode_of(const char *name)
{
	struct stat	 st;

	return lstat(in_dir(name), &st) == -1 ? -1 : (long long)st.st_ino;
}

static int
mode_of(const char *name)
{
	struct stat	 st;

	return lstat(in_dir(name), &st) == -1 ? -1 :
	    (int)(st.st_mode & 07777);
}

static void
log_reset(void)
{
	if (truncate(logpath, 0) == -1)
		printf("truncate %s: %s\n", logpath, strerror(errno));
}

/* Does the log contain the formatted string? */
static int __attribute__((format(printf, 1, 2)))
logged(const char *fmt, ...)
{
	static char	 logbuf[1 << 18];
	char		 s[PATH_MAX + 256];
	va_list		 ap;
	ssize_t		 n;
	int		 fd;

	va_start(ap, fmt);
	(void)vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if ((fd = open(logpath, O_RDONLY)) == -1)
		return 0;
	n = read(fd, logbuf, sizeof(logbuf) - 1);
	close(fd);
	logbuf[n > 0 ? n : 0] = '\0';
	return strstr(logbuf, s) != NULL;
}

/* A fresh state dir top/name, made by db_init(). */
static int
new_dir(const char *name)
{
	(void)snprintf(dir, sizeof(dir), "%s/%s", top, name);
	return db_init(dir);
}

static struct db_user *
mkuser(struct db_user *u, const char *name, const char *hash, long long t)
{
	memset(u, 0, sizeof(*u));
	(void)strlcpy(u->name, name, sizeof(u->name));
	(void)strlcpy(u->hash, hash, sizeof(u->hash));
	u->created = t;
	return u;
}

static struct db_session *
mksession(struct db_session *s, int n, const char *user, long long created,
    long long last_used)
{
	memset(s, 0, sizeof(*s));
	(void)strlcpy(s->digest, dig(n), sizeof(s->digest));
	(void)strlcpy(s->user, user, sizeof(s->user));
	s->created = created;
	s->last_used = last_used;
	return s;
}

static struct db_ident *
mkident(struct db_ident *i, const char *addr, const char *name)
{
	memset(i, 0, sizeof(*i));
	(void)strlcpy(i->addr, addr, sizeof(i->addr));
	(void)strlcpy(i->name, name, sizeof(i->name));
	i->created = 1764134400;
	return i;
}

/* List callbacks: keys joined by blanks into the buffer at arg. */
static void
join(char *buf, const char *key)
{
	if (buf[0] != '\0')
		(void)strlcat(buf, " ", FILE_BIG);
	(void)strlcat(buf, key, FILE_BIG);
}

static int
join_user(const struct db_user *u, void *arg)
{
	join(arg, u->name);
	return 0;
}

static int
join_ident(const struct db_ident *i, void *arg)
{
	join(arg, i->addr);
	return 0;
}

static int
join_session(const struct db_session *s, void *arg)
{
	join(arg, s->digest);
	return 0;
}

static int
count_user(const struct db_user *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
	return 0;
}

static int
count_ident(const struct db_ident *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

static int
count_session(const struct db_session *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/* Every session's user has a record. */
static int
session_has_user(const struct db_session *s, void *arg)
{
	struct db_user	 u;

	if (db_user_get(s->user, &u) != 0)
		(*(int *)arg)++;
	return 0;
}

/* Stops the list at the second record. */
static int
stop_second(const struct db_user *u, void *arg)
{
	(void)u;
	return ++(*(int *)arg) == 2;
}

static int
nusers(void)
{
	int	 n = 0;

	return db_user_list(count_user, &n) == 0 ? n : -1;
}

static int
nidents(void)
{
	int	 n = 0;

	return db_ident_list(count_ident, &n) == 0 ? n : -1;
}

static int
nsessions(void)
{
	int	 n = 0;

	return db_session_list(count_session, &n) == 0 ? n : -1;
}

/* Names in dir/sub: records (no leading '.') and dot files. */
static int
nfiles(const char *sub, int *dots)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0, ndots = 0;

	if ((d = opendir(in_dir(sub))) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '.')
			ndots++;
		else
			n++;
	}
	closedir(d);
	if (dots != NULL)
		*dots = ndots;
	return n;
}

/* No dot file (a temp file left behind) in any directory. */
static int
no_temps(void)
{
	size_t	 i;
	int	 dots, all = 0;

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (nfiles(subdirs[i], &dots) == -1)
			return 0;
		all += dots;
	}
	return all == 0;
}

/* Wait for pid; its raw status. */
static int
reap(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

/* shadow's rules and every reason text. */
static void
test_names(void)
{
	const char	*why, *ok[] = { "ivan", "a.b_c-d", "_x", "Ivan.2",
			    "abcdefghijklmnopqrstuvwxyz012345", "x..", "1a",
			    "0.1" };
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(db_name_valid(ok[i], &why) == 1 && why == NULL);
	CHECK(!db_name_valid("", &why) && strcmp(why, "name is empty") == 0);
	CHECK(!db_name_valid(NULL, &why) &&
	    strcmp(why, "name is empty") == 0);
	CHECK(!db_name_valid("-x", &why) &&
	    strcmp(why, "name may not start with '-'") == 0);
	CHECK(!db_name_valid(".x", &why) &&
	    strcmp(why, "name may not start with '.'") == 0);
	CHECK(!db_name_valid(".", &why) &&
	    strcmp(why, "name may not start with '.'") == 0);
	CHECK(!db_name_valid("..", &why) &&
	    strcmp(why, "name may not start with '.'") == 0);
	CHECK(!db_name_valid(".ivan.AbCd1234", NULL));	/* a temp name */
	CHECK(!db_name_valid("123", &why) &&
	    strcmp(why, "name may not be all digits") == 0);
	CHECK(!db_name_valid("abcdefghijklmnopqrstuvwxyz0123456", &why) &&
	    strcmp(why, "name is longer than 32 bytes") == 0);
	CHECK(!db_name_valid("iv an", &why) && strcmp(why, "name may "
	    "contain only letters, digits, '.', '_' and '-'") == 0);
	CHECK(!db_name_valid("a/b", &why) && strstr(why, "only") != NULL);
	CHECK(!db_name_valid("ivan:", &why) && strstr(why, "only") != NULL);
	CHECK(!db_name_valid("\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", &why) &&
	    strstr(why, "only") != NULL);
	CHECK(!db_name_valid("a\tb", NULL));
	CHECK(db_dir_name(0) != NULL && strcmp(db_dir_name(0), "users") == 0);
	CHECK(db_dir_name(3) != NULL &&
	    strcmp(db_dir_name(3), "sessions") == 0);
	CHECK(db_dir_name(4) == NULL && db_dir_name(-1) == NULL);
}

/* Has name this mode?  If not, say what it has. */
static int
mode_is(const char *name, int mode)
{
	int	 m = mode_of(name);

	if (m != mode)
		printf("%s: mode %04o, not %04o\n", in_dir(name), m, mode);
	return m == mode;
}

/* Every directory 0700 and every file 0600. */
static int
modes_ok(void)
{
	size_t	 i;
	int	 ok = mode_is("", 0700) & mode_is("lock", 0600);

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		ok &= mode_is(subdirs[i], 0700);
	return ok & mode_is("users/ivan", 0600) &
	    mode_is("lastlog/ivan", 0600) &
	    mode_is("idents/192.0.2.1", 0600) &
	    mode_is(rec("sessions", dig(1)), 0600);
}

/* Make one of each file under the umask given. */
static void
make_all(const char *name, mode_t mask)
{
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
	mode_t			 old = umask(mask);

	CHECK(new_dir(name) == 0);
	mkuser(&u, "ivan", HASH1, 1);
	u.last_login = 5;
	CHECK(db_user_add(&u) == 0);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "ivan")) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 5, 5)) == 0);
	CHECK(db_user_update(mkuser(&u, "ivan", HASH2, 1)) == 0);
	umask(old);
}

/* 0700 dirs and 0600 files, even under a hostile umask. */
static void
test_modes(void)
{
	struct db_user	 u;

	make_all("modes", 022);
	CHECK(modes_ok());
	make_all("umask", 0277);
	CHECK(modes_ok());

	/* An open existing dir is accepted, with a warning. */
	(void)snprintf(dir, sizeof(dir), "%s/open", top);
	CHECK(mkdir(dir, 0750) == 0 && chmod(dir, 0750) == 0);
	log_reset();
	CHECK(db_init(dir) == 0);
	CHECK(logged("group or other may access it (mode 0750)"));
	CHECK(mode_of("") == 0750);

	/* The old layout (one file per table) is not read. */
	CHECK(new_dir("oldlayout") == 0);
	CHECK(rmdir(in_dir("users")) == 0);
	puts_file("users", "ivan " HASH1 " 1 0 0\n");
	CHECK(db_init(dir) == -1);

	/* Failures: not a dir, no parent; then nothing works. */
	puts_file("plain", "x\n");
	CHECK(db_init(in_dir("plain")) == -1);
	CHECK(db_init("") == -1 && db_init(NULL) == -1);
	log_reset();
	CHECK(db_init("/nonexistent/db_test/state") == -1);
	CHECK(logged("mkdir /nonexistent/db_test/state"));
	CHECK(db_user_get("ivan", &u) == -1);
	CHECK(logged("db_init() was not called"));
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == -1 &&
	    db_check() == -1 && nusers() == -1);
}

/* Refused before anything is written: the users dir is as it was. */
static void
test_user_refusals(void)
{
	struct db_user	 u;
	char		 before[FILE_BIG], after[FILE_BIG];

	before[0] = after[0] = '\0';
	CHECK(db_user_list(join_user, before) == 0);
	log_reset();
	CHECK(db_user_add(mkuser(&u, "bad name", HASH1, 1)) == -1);
	CHECK(logged("users: bad key: name may contain only"));
	CHECK(db_user_add(mkuser(&u, ".olga", HASH1, 1)) == -1);
	CHECK(logged("name may not start with '.'"));
	CHECK(db_user_add(mkuser(&u, "123", HASH1, 1)) == -1);
	CHECK(db_user_add(mkuser(&u, "olga", "ha sh", 1)) == -1);
	CHECK(logged("users: refusing to write a bad record: hash may "
	    "contain only"));
	CHECK(db_user_add(mkuser(&u, "olga", "ha:sh", 1)) == -1);
	CHECK(db_user_add(mkuser(&u, "olga", "", 1)) == -1);
	CHECK(db_user_add(mkuser(&u, "olga", HASH1, -1)) == -1);
	mkuser(&u, "olga", HASH1, 1);
	u.locked = 2;
	CHECK(db_user_add(&u) == -1);
	mkuser(&u, "olga", HASH1, 1);
	memset(u.name, 'a', sizeof(u.name));	/* not terminated */
	CHECK(db_user_add(&u) == -1);
	CHECK(logged("name is longer than 32 bytes"));
	mkuser(&u, "ivan", HASH1, 1);
	memset(u.hash, 'h', sizeof(u.hash));
	CHECK(db_user_update(&u) == -1);
	CHECK(logged("hash is longer than 255 bytes"));
	CHECK(db_user_list(join_user, after) == 0 &&
	    strcmp(before, after) == 0);
	CHECK(!exists("users/olga") && no_temps());
}

static void
test_users(void)
{
	struct db_user	 u, got;
	char		 names[FILE_BIG];
	int		 n = 0;

	CHECK(new_dir("users") == 0);
	CHECK(db_user_get("ivan", &got) == DB_NOTFOUND);
	CHECK(nusers() == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1764134400)) == 0);
	CHECK(file_is("users/ivan", "ivan " HASH1 " 1764134400 0\n"));
	CHECK(!exists("lastlog/ivan"));		/* never logged in */
	CHECK(db_user_add(mkuser(&u, "ivan", HASH2, 5)) == DB_EXISTS);
	CHECK(file_is("users/ivan", "ivan " HASH1 " 1764134400 0\n"));
	CHECK(db_user_add(mkuser(&u, "petr", "!", 6)) == 0);
	CHECK(db_user_add(mkuser(&u, "Ivan", HASH2, 5)) == 0);
	mkuser(&u, "anna", HASH2, 7);
	u.last_login = 1764134500;
	CHECK(db_user_add(&u) == 0);
	CHECK(file_is("lastlog/anna", "") &&
	    mtime_of("lastlog/anna") == 1764134500);
	CHECK(db_user_get("ivan", &got) == 0);
	CHECK(strcmp(got.name, "ivan") == 0 && strcmp(got.hash, HASH1) == 0 &&
	    got.created == 1764134400 && got.last_login == 0 &&
	    got.locked == 0);
	CHECK(db_user_get("anna", &got) == 0 && got.last_login == 1764134500);
	CHECK(db_user_get("IVAN", &got) == DB_NOTFOUND);
	names[0] = '\0';
	CHECK(db_user_list(join_user, names) == 0 &&
	    strcmp(names, "Ivan anna ivan petr") == 0);

	/* An update writes hash and lock, never the last login. */
	mkuser(&u, "ivan", HASH2, 1764134400);
	u.last_login = 1764134999;
	u.locked = 1;
	CHECK(db_user_update(&u) == 0);
	CHECK(file_is("users/ivan", "ivan " HASH2 " 1764134400 1\n"));
	CHECK(!exists("lastlog/ivan"));
	CHECK(db_user_get("ivan", &got) == 0 && strcmp(got.hash, HASH2) == 0 &&
	    got.last_login == 0 && got.locked == 1);
	CHECK(db_user_update(mkuser(&u, "olga", HASH1, 1)) == DB_NOTFOUND);
	CHECK(!exists("users/olga"));

	CHECK(db_user_del("Ivan") == 0 && !exists("users/Ivan"));
	CHECK(db_user_del("Ivan") == DB_NOTFOUND);
	CHECK(db_user_get("Ivan", &got) == DB_NOTFOUND);
	CHECK(db_user_del("anna") == 0);
	CHECK(!exists("users/anna") && !exists("lastlog/anna"));
	CHECK(db_user_list(stop_second, &n) == 0 && n == 2);
	CHECK(db_user_list(NULL, NULL) == -1);
	CHECK(db_user_get(NULL, &got) == -1 && db_user_add(NULL) == -1 &&
	    db_user_update(NULL) == -1 && db_user_get("ivan", NULL) == -1);
	CHECK(db_user_del(NULL) == -1 && db_user_del("-x") == -1);
	test_user_refusals();
}

/* A login sets lastlog/NAME's mtime; a rehash also rewrites the record. */
static void
test_login(void)
{
	struct db_user	 u, got;
	long long	 ino;

	CHECK(new_dir("login") == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 5)) == 0);
	ino = inode_of("users/ivan");
	CHECK(db_user_login("ivan", HASH1, NULL, 1000) == 0);
	CHECK(inode_of("users/ivan") == ino &&
	    file_is("users/ivan", "ivan " HASH1 " 5 0\n"));
	CHECK(file_is("lastlog/ivan", "") && mode_of("lastlog/ivan") == 0600 &&
	    mtime_of("lastlog/ivan") == 1000);
	CHECK(db_user_get("ivan", &got) == 0 && got.last_login == 1000);
	CHECK(db_user_login("ivan", HASH1, NULL, 2000) == 0);
	CHECK(mtime_of("lastlog/ivan") == 2000 &&
	    inode_of("users/ivan") == ino);

	/* A password changed meanwhile wins. */
	CHECK(db_user_login("ivan", HASH2, NULL, 3000) == DB_CHANGED);
	CHECK(db_user_login("ivan", HASH2, HASH1, 3000) == DB_CHANGED);
	CHECK(mtime_of("lastlog/ivan") == 2000 &&
	    inode_of("users/ivan") == ino);

	/* Rehash: the new hash under the lock, and the last login. */
	CHECK(db_user_login("ivan", HASH1, HASH2, 3000) == 0);
	CHECK(file_is("users/ivan", "ivan " HASH2 " 5 0\n"));
	CHECK(mode_of("users/ivan") == 0600 &&
	    mtime_of("lastlog/ivan") == 3000);
	CHECK(db_user_login("ivan", HASH1, HASH1, 4000) == DB_CHANGED);
	CHECK(file_is("users/ivan", "ivan " HASH2 " 5 0\n") &&
	    mtime_of("lastlog/ivan") == 3000);

	/* A lock set meanwhile wins, with or without a rehash. */
	mkuser(&u, "ivan", HASH2, 5);
	u.locked = 1;
	CHECK(db_user_update(&u) == 0);
	ino = inode_of("users/ivan");
	CHECK(db_user_login("ivan", HASH2, NULL, 5000) == DB_CHANGED);
	CHECK(db_user_login("ivan", HASH2, HASH1, 5000) == DB_CHANGED);
	CHECK(inode_of("users/ivan") == ino &&
	    file_is("users/ivan", "ivan " HASH2 " 5 1\n") &&
	    mtime_of("lastlog/ivan") == 3000);

	/* A bad new hash: nothing written, no login recorded. */
	CHECK(db_user_update(mkuser(&u, "ivan", HASH2, 5)) == 0);
	CHECK(db_user_login("ivan", HASH2, "ha sh", 6000) == -1);
	CHECK(file_is("users/ivan", "ivan " HASH2 " 5 0\n") &&
	    mtime_of("lastlog/ivan") == 3000 && no_temps());

	CHECK(db_user_login("nobody", HASH1, NULL, 7000) == DB_NOTFOUND);
	CHECK(db_user_login("nobody", HASH1, HASH2, 7000) == DB_NOTFOUND);
	CHECK(!exists("lastlog/nobody") && !exists("users/nobody"));
	CHECK(db_user_login(NULL, HASH1, NULL, 1) == -1);
	CHECK(db_user_login("ivan", NULL, NULL, 1) == -1);
	CHECK(db_user_login("-x", HASH1, NULL, 1) == -1);
	CHECK(db_user_login(".ivan", HASH1, NULL, 1) == -1);
	CHECK(mtime_of("lastlog/ivan") == 3000);

	/* The user goes with its last login. */
	CHECK(db_user_del("ivan") == 0 && !exists("lastlog/ivan"));
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 6)) == 0);
	CHECK(db_user_get("ivan", &got) == 0 && got.last_login == 0);
}

static void
test_idents(void)
{
	struct db_ident	 i, got;
	char		 addrs[FILE_BIG];

	CHECK(new_dir("idents") == 0);
	CHECK(db_ident_get("192.0.2.1", &got) == DB_NOTFOUND);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "ivan")) == 0);
	CHECK(file_is("idents/192.0.2.1", "192.0.2.1 ivan 1764134400\n"));
	CHECK(db_ident_set(mkident(&i, "::1", "petr")) == 0);
	CHECK(file_is("idents/::1", "::1 petr 1764134400\n"));
	CHECK(db_ident_set(mkident(&i, "2001:db8::1", "petr")) == 0);
	CHECK(db_ident_set(mkident(&i, "::ffff:192.0.2.7", "olga")) == 0);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "anna")) == 0);
	CHECK(file_is("idents/192.0.2.1", "192.0.2.1 anna 1764134400\n"));
	CHECK(db_ident_get("192.0.2.1", &got) == 0 &&
	    strcmp(got.addr, "192.0.2.1") == 0 &&
	    strcmp(got.name, "anna") == 0 && got.created == 1764134400);
	CHECK(db_ident_get("2001:db8::1", &got) == 0 &&
	    strcmp(got.name, "petr") == 0);
	addrs[0] = '\0';
	CHECK(db_ident_list(join_ident, addrs) == 0 && strcmp(addrs,
	    "192.0.2.1 2001:db8::1 ::1 ::ffff:192.0.2.7") == 0);

	CHECK(db_ident_set(mkident(&i, "192.0.2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "2001:DB8::2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "2001:db8:0::2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "host.example", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "../users", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "192.0.2.9", "-x")) == -1);
	CHECK(db_ident_set(mkident(&i, "192.0.2.9", ".x")) == -1);
	CHECK(db_ident_set(NULL) == -1 && db_ident_get("::1", NULL) == -1);
	CHECK(nidents() == 4 && no_temps());
	CHECK(db_ident_get("2001:DB8::1", &got) == -1);
	CHECK(db_ident_del("192.0.2.1") == 0 && !exists("idents/192.0.2.1"));
	CHECK(db_ident_del("192.0.2.1") == DB_NOTFOUND);
	CHECK(db_ident_get("192.0.2.1", &got) == DB_NOTFOUND);
	CHECK(db_ident_del(NULL) == -1 && db_ident_del("x") == -1);
	CHECK(db_ident_list(NULL, NULL) == -1);
}

/* del_user keeps keep_digest; db_user_del takes the sessions along. */
static void
test_session_users(void)
{
	struct db_session	 s, got;

	CHECK(db_session_add(mksession(&s, 20, "ivan", 900, 900)) == 0);
	CHECK(db_session_add(mksession(&s, 21, "ivan", 900, 900)) == 0);
	CHECK(db_session_add(mksession(&s, 22, "petr", 900, 900)) == 0);
	CHECK(db_session_add(mksession(&s, 23, "petr", 900, 900)) == 0);
	CHECK(nsessions() == 6);
	CHECK(db_session_del_user("ivan", dig(21)) == 0);
	CHECK(nsessions() == 4);
	CHECK(db_session_get(dig(21), &got) == 0 &&
	    db_session_get(dig(1), &got) == DB_NOTFOUND &&
	    db_session_get(dig(20), &got) == DB_NOTFOUND &&
	    db_session_get(dig(3), &got) == 0);
	CHECK(db_session_del_user("nobody", NULL) == 0 && nsessions() == 4);
	CHECK(db_session_del_user("ivan", NULL) == 0);
	CHECK(db_session_get(dig(21), &got) == DB_NOTFOUND && nsessions() == 3);
	CHECK(db_session_del_user(NULL, NULL) == -1);
	CHECK(db_session_del_user("-x", NULL) == -1);

	CHECK(db_session_add(mksession(&s, 30, "ivan", 900, 900)) == 0);
	CHECK(db_user_del("petr") == 0);
	CHECK(!exists("users/petr") && !exists("lastlog/petr"));
	CHECK(!exists(rec("sessions", dig(3))) &&
	    !exists(rec("sessions", dig(22))) &&
	    !exists(rec("sessions", dig(23))));
	CHECK(nsessions() == 1 && db_session_get(dig(30), &got) == 0);
	CHECK(db_session_add(mksession(&s, 31, "petr", 900, 900)) ==
	    DB_NOTFOUND);
	CHECK(db_user_del("petr") == DB_NOTFOUND);
}

static void
test_sessions(void)
{
	struct db_session	 s, got;
	struct db_user		 u;
	char			 line[256], list[FILE_BIG];
	long long		 t0, t1, ino;

	CHECK(new_dir("sessions") == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == 0);
	CHECK(db_user_add(mkuser(&u, "petr", HASH1, 1)) == 0);
	CHECK(db_user_login("petr", HASH1, NULL, 60) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 100, 150)) == 0);
	(void)snprintf(line, sizeof(line), "%s ivan 100\n", dig(1));
	CHECK(file_is(rec("sessions", dig(1)), line));
	CHECK(mtime_of(rec("sessions", dig(1))) == 150);
	CHECK(db_session_add(mksession(&s, 1, "petr", 7, 7)) == DB_EXISTS);
	CHECK(file_is(rec("sessions", dig(1)), line));
	CHECK(db_session_get(dig(1), &got) == 0 &&
	    strcmp(got.digest, dig(1)) == 0 && strcmp(got.user, "ivan") == 0 &&
	    got.created == 100 && got.last_used == 150);

	/* The user must exist; the digest must be 64 lowercase hex. */
	CHECK(db_session_add(mksession(&s, 2, "nobody", 1, 1)) == DB_NOTFOUND);
	CHECK(db_session_add(mksession(&s, 2, "bad name", 1, 1)) != 0);
	CHECK(db_session_add(mksession(&s, 2, "ivan", -1, 1)) == -1);
	CHECK(!exists(rec("sessions", dig(2))));
	mksession(&s, 2, "ivan", 1, 1);
	(void)snprintf(s.digest, sizeof(s.digest), "%064X", 0xabc);
	CHECK(db_session_add(&s) == -1 && !exists(rec("sessions", s.digest)));
	CHECK(db_session_add(NULL) == -1 && db_session_get(dig(1), NULL) == -1);

	/* last_used 0: the file's mtime is now. */
	t0 = (long long)time(NULL);
	CHECK(db_session_add(mksession(&s, 3, "petr", 100, 0)) == 0);
	t1 = (long long)time(NULL);
	CHECK(db_session_get(dig(3), &got) == 0 && got.last_used >= t0 &&
	    got.last_used <= t1);

	/* Touch: the mtime only, no rewrite. */
	ino = inode_of(rec("sessions", dig(1)));
	CHECK(db_session_touch(dig(1), 500) == 0);
	CHECK(mtime_of(rec("sessions", dig(1))) == 500 &&
	    inode_of(rec("sessions", dig(1))) == ino &&
	    file_is(rec("sessions", dig(1)), line));
	CHECK(db_session_get(dig(1), &got) == 0 && got.last_used == 500);
	CHECK(db_session_touch(dig(99), 150) == DB_NOTFOUND);
	CHECK(!exists(rec("sessions", dig(99))));
	CHECK(db_session_touch("abc", 150) == -1);
	CHECK(db_session_touch(NULL, 150) == -1);

	/* Lists in name order. */
	CHECK(db_session_add(mksession(&s, 2, "ivan", 1, 1)) == 0);
	list[0] = '\0';
	CHECK(db_session_list(join_session, list) == 0);
	(void)snprintf(line, sizeof(line), "%s ", dig(1));
	(void)strlcat(line, dig(2), sizeof(line));
	(void)strlcat(line, " ", sizeof(line));
	(void)strlcat(line, dig(3), sizeof(line));
	CHECK(strcmp(list, line) == 0);
	CHECK(db_session_list(NULL, NULL) == -1);

	CHECK(db_session_del(dig(2)) == 0 && !exists(rec("sessions", dig(2))));
	CHECK(db_session_del(dig(2)) == DB_NOTFOUND);
	CHECK(db_session_get(dig(2), &got) == DB_NOTFOUND);
	CHECK(db_session_del("xyz") == -1 && db_session_del(NULL) == -1);
	CHECK(db_user_get("petr", &u) == 0 && u.last_login == 60);
	test_session_users();
	CHECK(no_temps() && db_check() == 0);
}

/* Idle (mtime) or too old (CREATED): gone; the rest stays. */
static void
test_expire(void)
{
	struct db_session	 s, got;
	struct db_user		 u;

	CHECK(new_dir("expire") == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == 0);
	CHECK(db_session_expire(0, 0) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 100, 1000)) == 0);
	CHECK(db_session_add(mksession(&s, 2, "ivan", 500, 150)) == 0);
	CHECK(db_session_add(mksession(&s, 3, "ivan", 500, 1000)) == 0);
	CHECK(db_session_add(mksession(&s, 4, "ivan", 200, 200)) == 0);
	puts_file(rec("sessions", dig(5)), "bad\n");
	puts_file("sessions/.x.AbCdEfGh", "tmp\n");
	CHECK(nsessions() == 4 && db_check() == 1);
	CHECK(db_session_expire(200, 200) == 2);	/* 1 old, 2 idle */
	CHECK(db_session_get(dig(1), &got) == DB_NOTFOUND &&
	    db_session_get(dig(2), &got) == DB_NOTFOUND);
	CHECK(db_session_get(dig(3), &got) == 0 &&
	    db_session_get(dig(4), &got) == 0);
	CHECK(db_session_expire(200, 200) == 0);
	CHECK(db_session_expire(201, 0) == 1);		/* 4: idle since 200 */
	CHECK(db_session_expire(0, 501) == 1);		/* 3: made at 500 */
	CHECK(nsessions() == 0);
	CHECK(exists(rec("sessions", dig(5))) &&
	    exists("sessions/.x.AbCdEfGh"));
	CHECK(db_session_add(mksession(&s, 6, "ivan", 1, 1)) == 0);
	CHECK(db_session_expire(LLONG_MAX, LLONG_MAX) == 1);
	CHECK(exists(rec("sessions", dig(5))) && db_check() == 1);
}

/* One malformed file of each kind, in its directory. */
struct bad_case {
	const char	*sub;
	const char	*key;
	const char	*data;		/* NULL: see kind */
	size_t		 len;		/* 0: strlen(data) */
	int		 kind;		/* 0 file, 'd', 'p' fifo, 'l' link */
	const char	*why;
};

static const struct bad_case bad_cases[] = {
	{ "users", "f3", "f3 h 1\n", 0, 0, "a users record has 4 fields" },
	{ "users", "f5", "f5 h 1 0 0\n", 0, 0, "a users record has 4 fields" },
	{ "users", "key", "olga h 1 0\n", 0, 0,
	    "the record's key is not the file's name" },
	{ "users", "empty", "", 0, 0, "file is empty" },
	{ "users", "nonl", "nonl h 1 0", 0, 0,
	    "record does not end with a newline" },
	{ "users", "two", "two h 1 0\ntwo h 1 0\n", 0, 0,
	    "file has more than one line" },
	{ "users", "nul", "nul h\0 1 0\n", 11, 0,
	    "record contains a NUL byte" },
	{ "users", "dir", NULL, 0, 'd', "not a regular file" },
	{ "users", "fifo", NULL, 0, 'p', "not a regular file" },
	{ "users", "link", NULL, 0, 'l', "a symbolic link, not a file" },
	{ "users", "sp2", "sp2  h 1 0\n", 0, 0,
	    "fields are separated by exactly one space" },
	{ "users", "sp3", "sp3 h 1 0 \n", 0, 0,
	    "fields are separated by exactly one space" },
	{ "users", "sp1", " sp1 h 1 0\n", 0, 0,
	    "fields are separated by exactly one space" },
	{ "users", "colon", "colon h:x 1 0\n", 0, 0,
	    "hash may contain only printable ASCII other than space and ':'" },
	{ "users", "plus", "plus h +1 0\n", 0, 0,
	    "CREATED must be a number from 0 to 2^63-1" },
	{ "users", "huge", "huge h 9223372036854775808 0\n", 0, 0,
	    "CREATED must be a number from 0 to 2^63-1" },
	{ "users", "lock2", "lock2 h 1 2\n", 0, 0, "LOCKED must be 0 or 1" },
	{ "users", "crlf", "crlf h 1 0\r\n", 0, 0, "LOCKED must be 0 or 1" },
	{ "users", "123", "123 h 1 0\n", 0, 0, "name may not be all digits" },
	{ "users", "-x", "-x h 1 0\n", 0, 0, "name may not start with '-'" },
	{ "users", "abcdefghijklmnopqrstuvwxyz0123456",
	    "abcdefghijklmnopqrstuvwxyz0123456 h 1 0\n", 0, 0,
	    "name is longer than 32 bytes" },
	{ "idents", "1.2.3", "1.2.3 ivan 5\n", 0, 0,
	    "address is not a numeric IPv4 or IPv6 address" },
	{ "idents", "2001:DB8::1", "2001:DB8::1 ivan 5\n", 0, 0,
	    "address is not written as inet_ntop(3) prints it" },
	{ "idents", "127.0.0.2", "127.0.0.2 iv@n 5\n", 0, 0,
	    "name may contain only letters, digits, '.', '_' and '-'" },
	{ "idents", "127.0.0.3", "127.0.0.3 ivan 5 6\n", 0, 0,
	    "an idents record has 3 fields" },
	{ "sessions", Z61 "ABC", Z61 "ABC ivan 1\n", 0, 0,
	    "digest is not 64 hex digits" },
	{ "sessions", Z61 "001", Z61 "001 ivan 1 2\n", 0, 0,
	    "a sessions record has 3 fields" },
	{ "sessions", Z61 "002", Z61 "002 ivan -2\n", 0, 0,
	    "CREATED must be a number from 0 to 2^63-1" },
	{ "sessions", "short", "short ivan 1\n", 0, 0,
	    "digest is not 64 hex digits" },
};

/* Put one bad case in place. */
static void
put_bad(const struct bad_case *c)
{
	const char	*path = in_dir(rec(c->sub, c->key));

	if (c->kind == 'd')
		CHECK(mkdir(path, 0700) == 0);
	else if (c->kind == 'p')
		CHECK(mkfifo(path, 0600) == 0);
	else if (c->kind == 'l')
		CHECK(symlink("ok", path) == 0);
	else
		put(path, c->data, c->len != 0 ? c->len : strlen(c->data));
}

/* Every kind of malformed file: counted, logged as path: reason. */
static void
test_check(void)
{
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
	char			 list[FILE_BIG];
	size_t			 n, k;
	int			 nbad = 0;

	CHECK(new_dir("check") == 0);
	CHECK(db_check() == 0);			/* no files at all */
	n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	for (k = 0; k < n; k++)
		put_bad(&bad_cases[k]);
	puts_file("users/ok", "ok h 1 0\n");
	puts_file("users/zed", "zed h 9223372036854775807 1\n");
	puts_file("users/.zed.AbCdEfGh", "garbage");	/* a writer's temp */
	puts_file("users/.hidden", "\n\n");
	puts_file("idents/127.0.0.1", "127.0.0.1 ivan 5\n");
	puts_file("idents/::ffff:1.2.3.4", "::ffff:1.2.3.4 ivan 5\n");
	puts_file(rec("sessions", dig(4)), "");
	(void)snprintf(list, sizeof(list), "%s ivan 7\n", dig(5));
	puts_file(rec("sessions", dig(5)), list);
	log_reset();
	CHECK(db_check() == (int)n + 1);		/* dig(4): empty */
	for (k = 0; k < n; k++)
		if (!logged("%s/%s/%s: %s\n", dir, bad_cases[k].sub,
		    bad_cases[k].key, bad_cases[k].why)) {
			printf("not logged: %s/%s: %s\n", bad_cases[k].sub,
			    bad_cases[k].key, bad_cases[k].why);
			nbad++;
		}
	CHECK(nbad == 0);
	CHECK(!logged("/users/ok:") && !logged("/users/zed:") &&
	    !logged("/users/.") && !logged("/idents/127.0.0.1:"));
	list[0] = '\0';
	CHECK(db_user_list(join_user, list) == 0 &&
	    strcmp(list, "ok zed") == 0);
	CHECK(nidents() == 2 && nsessions() == 1);
	CHECK(db_user_get("zed", &u) == 0 && u.created == LLONG_MAX &&
	    u.locked == 1 && strcmp(u.hash, "h") == 0);
	CHECK(db_user_get("f3", &u) == -1 && db_user_get("dir", &u) == -1 &&
	    db_user_get("link", &u) == -1 && db_user_get("fifo", &u) == -1);
	CHECK(db_user_get("123", &u) == -1);		/* not a key at all */
	CHECK(db_ident_get("127.0.0.2", &i) == -1);
	CHECK(db_session_get(dig(1), &s) == -1 && db_session_get(dig(4), &s) ==
	    -1 && db_session_get(dig(5), &s) == 0);
}

/* A malformed record: never replaced, while the others still change. */
static void
test_malformed(void)
{
	struct db_user		 u, got;
	struct db_ident		 i;
	struct db_session	 s;
	ssize_t			 len;
	long long		 ino;

	CHECK(new_dir("malformed") == 0);
	puts_file("users/olga", "olga h 1\n");
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == 0);
	len = slurp(in_dir("users/olga"), filebuf);
	ino = inode_of("users/olga");
	log_reset();
	CHECK(db_user_get("olga", &got) == -1);
	CHECK(logged("%s/users/olga: a users record has 4 fields", dir));
	CHECK(nusers() == 1 && db_check() == 1);

	log_reset();
	CHECK(db_user_update(mkuser(&u, "olga", HASH2, 3)) == -1);
	CHECK(logged("refusing to replace %s/users/olga: it is malformed",
	    dir));
	CHECK(db_user_add(mkuser(&u, "olga", HASH1, 3)) == DB_EXISTS);
	/* a login fails closed: the record is not the one checked */
	CHECK(db_user_login("olga", "h", HASH2, 9) == DB_CHANGED);
	CHECK(db_user_login("olga", "h", NULL, 9) == DB_CHANGED);
	CHECK(same_as("users/olga", filebuf, len) &&
	    inode_of("users/olga") == ino && !exists("lastlog/olga"));

	/* The others: no whole-directory refusal. */
	CHECK(db_user_add(mkuser(&u, "anna", HASH1, 3)) == 0);
	CHECK(db_user_update(mkuser(&u, "ivan", HASH2, 4)) == 0);
	CHECK(db_user_login("ivan", HASH2, NULL, 9) == 0);
	CHECK(db_user_get("ivan", &got) == 0 && got.last_login == 9);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 1, 1)) == 0);

	puts_file("idents/127.0.0.1", "127.0.0.1 iv@n 5\n");
	log_reset();
	CHECK(db_ident_set(mkident(&i, "127.0.0.1", "ivan")) == -1);
	CHECK(logged("refusing to replace %s/idents/127.0.0.1: it is "
	    "malformed", dir));
	CHECK(file_is("idents/127.0.0.1", "127.0.0.1 iv@n 5\n"));
	CHECK(db_ident_set(mkident(&i, "::1", "ivan")) == 0);

	/* A malformed session of ivan's is not ivan's: it stays. */
	(void)snprintf(filebuf, sizeof(filebuf), "%s ivan 1 1\n", dig(2));
	puts_file(rec("sessions", dig(2)), filebuf);
	CHECK(db_session_add(mksession(&s, 2, "ivan", 1, 1)) == DB_EXISTS);
	CHECK(db_session_del_user("ivan", NULL) == 0);
	CHECK(exists(rec("sessions", dig(2))) &&
	    !exists(rec("sessions", dig(1))));
	CHECK(db_check() == 3 && no_temps());

	/* An explicit delete works on a malformed record too. */
	CHECK(db_user_del("olga") == 0 && !exists("users/olga"));
	CHECK(db_ident_del("127.0.0.1") == 0 && !exists("idents/127.0.0.1"));
	CHECK(db_session_del(dig(2)) == 0 && !exists(rec("sessions", dig(2))));
	CHECK(db_check() == 0 && nusers() == 2);
}

/* The 1024-byte cap: one byte over is a different reason. */
static void
test_limits(void)
{
	struct db_user	 u;
	char		 hs[1100], big[1100], longname[PATH_MAX];
	int		 fd;

	CHECK(new_dir("limits") == 0);
	memset(hs, 'h', sizeof(hs) - 1);
	hs[sizeof(hs) - 1] = '\0';
	CHECK(snprintf(big, sizeof(big), "olga %.*s 1 0\n", 1015, hs) == 1025);
	puts_file("users/olga", big);
	log_reset();
	CHECK(db_user_get("olga", &u) == -1);
	CHECK(logged("/users/olga: hash is longer than 255 bytes"));
	CHECK(snprintf(big, sizeof(big), "olga %.*s 1 0\n", 1016, hs) == 1026);
	puts_file("users/olga", big);
	CHECK(db_user_get("olga", &u) == -1);
	CHECK(logged("/users/olga: record is longer than 1024 bytes"));
	fd = open(in_dir("users/anna"), O_WRONLY | O_CREAT, 0600);
	CHECK(fd != -1 && ftruncate(fd, 256 << 20) == 0);
	if (fd != -1)
		close(fd);
	log_reset();
	CHECK(db_user_get("anna", &u) == -1);
	CHECK(logged("/users/anna: record is longer than 1024 bytes"));
	CHECK(db_check() == 2);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, LLONG_MAX)) == 0);
	CHECK(db_user_get("ivan", &u) == 0 && u.created == LLONG_MAX);
	memset(longname, 'x', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	log_reset();
	CHECK(db_init(longname) == -1);
	CHECK(logged("db: bad state directory name"));
}

/*
 * Child: once the parent closes the barrier, race the others for one
 * shared user and one shared session, then add CONC_USERS users and a
 * session for every fourth.  Exit 10 + 1 (won the user) + 2 (won the
 * session); below 10: what failed.
 */
static void
conc_child(int id, int barrier)
{
	struct db_user		 u;
	struct db_session	 s;
	char			 name[DB_NAME_MAX + 1], c;
	int			 j, ru, rs;

	while (read(barrier, &c, 1) == -1 && errno == EINTR)
		;
	ru = db_user_add(mkuser(&u, "shared", HASH1, id));
	rs = db_session_add(mksession(&s, SHARED_DIGEST, "shared", id, id));
	if ((ru != 0 && ru != DB_EXISTS) || (rs != 0 && rs != DB_EXISTS))
		_exit(4);
	for (j = 0; j < CONC_USERS; j++) {
		if (snprintf(name, sizeof(name), "c%d_u%d", id, j) >=
		    (int)sizeof(name))
			_exit(3);
		if (db_user_add(mkuser(&u, name, HASH1, j)) != 0)
			_exit(1);
		if (j % 4 == 0 && db_session_add(mksession(&s, id * 100 + j,
		    name, 10, 10)) != 0)
			_exit(2);
	}
	_exit(10 + (ru == 0) + 2 * (rs == 0));
}

/* No lost update: every child's every add is there, once. */
static void
test_concurrency(void)
{
	struct db_user	 u;
	char		 name[DB_NAME_MAX + 1];
	pid_t		 pids[CONC_KIDS];
	int		 i, j, st, missing = 0, bad = 0, uwins = 0, swins = 0;
	int		 barrier[2];

	CHECK(new_dir("storm") == 0);
	CHECK(pipe(barrier) == 0);
	fflush(NULL);
	for (i = 0; i < CONC_KIDS; i++)
		if ((pids[i] = fork()) == 0) {
			close(barrier[1]);
			conc_child(i, barrier[0]);
		}
	close(barrier[0]);
	close(barrier[1]);			/* all go */
	for (i = 0; i < CONC_KIDS; i++) {
		st = pids[i] == -1 ? -1 : reap(pids[i]);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) < 10) {
			printf("child %d: status %#x\n", i, st);
			bad++;
			continue;
		}
		uwins += (WEXITSTATUS(st) - 10) & 1;
		swins += ((WEXITSTATUS(st) - 10) & 2) != 0;
	}
	CHECK(bad == 0);
	CHECK(uwins == 1 && swins == 1);
	for (i = 0; i < CONC_KIDS; i++)
		for (j = 0; j < CONC_USERS; j++) {
			if (snprintf(name, sizeof(name), "c%d_u%d", i, j) >=
			    (int)sizeof(name) || db_user_get(name, &u) != 0 ||
			    u.created != j)
				missing++;
		}
	CHECK(missing == 0);
	CHECK(nusers() == CONC_KIDS * CONC_USERS + 1);
	CHECK(nsessions() == CONC_KIDS * ((CONC_USERS + 3) / 4) + 1);
	CHECK(nfiles("users", NULL) == nusers() && no_temps());
	CHECK(db_check() == 0);
}

/* Writer killed at a random moment; adds, rehashes and logs in. */
static void
storm_child(int round, int id)
{
	struct db_user		 u;
	struct db_session	 s;
	char			 name[DB_NAME_MAX + 1];
	int			 j;

	for (j = 0; j < 5000; j++) {
		if (snprintf(name, sizeof(name), "r%dw%dn%d", round, id, j) >=
		    (int)sizeof(name))
			_exit(3);
		if (db_user_add(mkuser(&u, name, HASH2, j)) != 0)
			_exit(1);
		if (j % 3 == 0 && db_session_add(mksession(&s, (round + 1) *
		    1000000 + id * 10000 + j, name, 10, 10)) != 0)
			_exit(2);
		if (j % 3 == 1 && db_user_login(name, HASH2, HASH1, j) != 0)
			_exit(4);
	}
	_exit(0);
}

/* ".KEY.XXXXXXXX": what a killed writer may leave. */
static int
temp_name(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n < 11 || s[0] != '.' || s[n - 9] != '.')
		return 0;
	for (i = n - 8; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Is every non-temp file one whole record (one line, '\n' at the end)? */
static int
whole_records(const char *sub, int *temps)
{
	DIR		*d;
	struct dirent	*e;
	char		 name[PATH_MAX];
	ssize_t		 n;
	int		 ok = 1;

	if ((d = opendir(in_dir(sub))) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '.') {
			if (!temp_name(e->d_name)) {
				printf("unexpected file %s/%s\n", sub,
				    e->d_name);
				ok = 0;
			}
			(*temps)++;
			continue;
		}
		(void)snprintf(name, sizeof(name), "%s/%s", sub, e->d_name);
		n = slurp(in_dir(name), filebuf);
		if (strcmp(sub, "lastlog") == 0 ? n != 0 : (n < 2 ||
		    filebuf[n - 1] != '\n' || strchr(filebuf, '\n') !=
		    filebuf + n - 1)) {
			printf("torn file %s\n", name);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

/* Only the four directories and the lock at the top. */
static int
top_clean(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 5 && exists("lock");
}

/* After a storm: nothing torn, temps skipped, nothing lost. */
static void
storm_verify(int round, int *before)
{
	size_t	 i;
	int	 after, temps = 0, ok = 1, orphans = 0;

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		ok = whole_records(subdirs[i], &temps) && ok;
	CHECK(ok);
	CHECK(top_clean());
	CHECK(db_check() == 0);
	after = nusers();
	CHECK(after >= *before);
	CHECK(after == nfiles("users", NULL));
	CHECK(nsessions() == nfiles("sessions", NULL));
	CHECK(db_session_list(session_has_user, &orphans) == 0 &&
	    orphans == 0);
	printf("torn round %d: %d users, %d temp files left\n", round, after,
	    temps);
	*before = after;
}

/* SIGKILL writers at random moments: never a torn or lost record. */
static void
test_torn(void)
{
	pid_t		 pids[STORM_KIDS];
	int		 r, i, st, before, bad = 0;

	before = nusers();	/* test_concurrency's users */
	for (r = 0; r < STORM_ROUNDS; r++) {
		fflush(NULL);
		for (i = 0; i < STORM_KIDS; i++)
			if ((pids[i] = fork()) == 0)
				storm_child(r, i);
		usleep(1000 + arc4random_uniform(30000));
		for (i = 0; i < STORM_KIDS; i++)
			if (pids[i] != -1)
				(void)kill(pids[i], SIGKILL);
		for (i = 0; i < STORM_KIDS; i++) {
			st = pids[i] == -1 ? -1 : reap(pids[i]);
			if (st == -1 || !((WIFSIGNALED(st) &&
			    WTERMSIG(st) == SIGKILL) || (WIFEXITED(st) &&
			    WEXITSTATUS(st) == 0))) {
				printf("writer %d: status %#x\n", i, st);
				bad++;
			}
		}
		storm_verify(r, &before);
	}
	CHECK(bad == 0);
	CHECK(nusers() >= CONC_KIDS * CONC_USERS);
}

/* The --child mode run under the shim: one change. */
static int
child_op(const char *op, const char *d, const char *key, const char *log)
{
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
	int			 rc;

	if (log_set_file(log) == -1)
		return 3;
	if (db_init(d) == -1)
		return 1;
	if (strcmp(op, "add") == 0)
		rc = db_user_add(mkuser(&u, key, HASH1, 7));
	else if (strcmp(op, "update") == 0) {
		mkuser(&u, key, HASH2, 8);
		u.locked = 1;
		rc = db_user_update(&u);
	} else if (strcmp(op, "login") == 0)
		rc = db_user_login(key, HASH1, HASH2, 1000);
	else if (strcmp(op, "ident") == 0)
		rc = db_ident_set(mkident(&i, key, "anna"));
	else if (strcmp(op, "session") == 0)
		rc = db_session_add(mksession(&s, 77, key, 5, 5));
	else
		return 2;
	return rc == -1 ? 1 : rc == 0 ? 0 : 10 + rc;
}

/* Run ourselves as --child under the shim with FAULT* set. */
static int
run_faulty(const char *shim, const char *fault, const char *match,
    const char *err, const char *op, const char *key)
{
	char		 self[PATH_MAX], asan[512];
	const char	*old = getenv("ASAN_OPTIONS");
	ssize_t		 n;
	pid_t		 pid;
	int		 st;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return -1;
	self[n] = '\0';
	fflush(NULL);
	if ((pid = fork()) == 0) {
		/* gcc's dynamic ASan runtime would refuse a preload first. */
		(void)snprintf(asan, sizeof(asan), "%s%s%s",
		    old != NULL ? old : "", old != NULL ? ":" : "",
		    "verify_asan_link_order=0");
		setenv("ASAN_OPTIONS", asan, 1);
		setenv("LD_PRELOAD", shim, 1);
		if (fault != NULL)
			setenv("FAULT", fault, 1);
		if (match != NULL)
			setenv("FAULT_MATCH", match, 1);
		if (err != NULL)
			setenv("FAULT_ERRNO", err, 1);
		execl(self, self, "--child", op, dir, key, logpath,
		    (char *)NULL);
		_exit(127);
	}
	if (pid == -1 || (st = reap(pid)) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* The records before the faults, as they must stay. */
static struct {
	ssize_t		 ulen, ilen;
	long long	 uino, iino;
	char		 ident[256];
} orig;

/* Nothing changed: old records byte-identical, no new or partial file. */
static int
intact(void)
{
	return same_as("users/ivan", filebuf, orig.ulen) &&
	    inode_of("users/ivan") == orig.uino &&
	    same_as("idents/127.0.0.1", orig.ident, orig.ilen) &&
	    inode_of("idents/127.0.0.1") == orig.iino &&
	    !exists("users/anna") && !exists("lastlog/ivan") &&
	    !exists(rec("sessions", dig(77))) && no_temps() &&
	    db_check() == 0;
}

/* Failed rename, fsync, write, open: -1, step logged, records intact. */
static void
test_faults(void)
{
	const char		*shim = getenv("FAULTSHIM");
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;

	if (shim == NULL || access(shim, R_OK) == -1) {
		printf("skip: fault injection (FAULTSHIM not set)\n");
		return;
	}
	CHECK(new_dir("faults") == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 7)) == 0);
	CHECK(db_ident_set(mkident(&i, "127.0.0.1", "ivan")) == 0);
	CHECK(run_faulty(shim, NULL, NULL, NULL, "add", "ok1") == 0);
	CHECK(db_user_get("ok1", &u) == 0);
	orig.ulen = slurp(in_dir("users/ivan"), filebuf);
	orig.uino = inode_of("users/ivan");
	orig.ilen = slurp(in_dir("idents/127.0.0.1"), filebuf2);
	memcpy(orig.ident, filebuf2, sizeof(orig.ident));
	orig.iino = inode_of("idents/127.0.0.1");

	log_reset();
	CHECK(run_faulty(shim, "renameat", NULL, NULL, "update", "ivan") == 1);
	CHECK(logged("rename %s/users/.ivan.", dir) &&
	    logged(": Input/output error"));
	CHECK(intact());
	CHECK(run_faulty(shim, "renameat", NULL, NULL, "add", "anna") == 1);
	CHECK(intact());
	CHECK(run_faulty(shim, "renameat", NULL, NULL, "login", "ivan") == 1);
	CHECK(intact());
	CHECK(run_faulty(shim, "renameat", NULL, NULL, "session", "ivan") == 1);
	CHECK(intact());
	log_reset();
	CHECK(run_faulty(shim, "fsync,fdatasync", NULL, "EIO", "update",
	    "ivan") == 1);
	CHECK(logged("fsync %s/users/.ivan.", dir) &&
	    logged(": Input/output error"));
	CHECK(intact());
	log_reset();
	CHECK(run_faulty(shim, "write", "/users/.", "ENOSPC", "update",
	    "ivan") == 1);
	CHECK(logged("write %s/users/.ivan.", dir) &&
	    logged(": No space left on device"));
	CHECK(intact());
	CHECK(run_faulty(shim, "write", "/idents/.", "ENOSPC", "ident",
	    "127.0.0.1") == 1);
	CHECK(intact());
	log_reset();
	CHECK(run_faulty(shim, "openat", ".ivan.", "EACCES", "update",
	    "ivan") == 1);
	CHECK(logged("create a temp file in %s/users: Permission denied",
	    dir));
	CHECK(intact());
	log_reset();
	CHECK(run_faulty(shim, "open,openat", "lock", "EACCES", "update",
	    "ivan") == 1);
	CHECK(logged("open %s/lock: Permission denied", dir));
	CHECK(intact());

	/* A new session is not fsynced: a failing fsync does not matter. */
	CHECK(run_faulty(shim, "fsync,fdatasync", NULL, "EIO", "session",
	    "ivan") == 0);
	CHECK(db_session_get(dig(77), &s) == 0 && strcmp(s.user, "ivan") == 0);
	CHECK(db_user_get("anna", &u) == DB_NOTFOUND && db_check() == 0);
}

/* nftw(3) callback: remove the tree below top, depth first. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char *argv[])
{
	const char	*tmp;

	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return child_op(argv[2], argv[3], argv[4], argv[5]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	tmp = getenv("TMPDIR");
	if (snprintf(top, sizeof(top), "%s/db_test.XXXXXX", tmp != NULL ?
	    tmp : "/tmp") >= (int)sizeof(top) || mkdtemp(top) == NULL) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	(void)snprintf(logpath, sizeof(logpath), "%s/log", top);
	if (log_set_file(logpath) == -1) {
		printf("log_set_file: %s\n", strerror(errno));
		return 1;
	}
	test_names();
	test_modes();
	test_users();
	test_login();
	test_idents();
	test_sessions();
	test_expire();
	test_check();
	test_malformed();
	test_limits();
	test_concurrency();
	test_torn();
	test_faults();
	if (failed == 0 && getenv("DB_TEST_KEEP") == NULL) {
		if (nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
			printf("could not remove %s\n", top);
	} else
		printf("state kept in %s\n", top);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
