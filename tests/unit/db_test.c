/*
 * db_test.c: unit tests for src/db.c.  Owns the contract the daemon and
 * the admin tool rely on: name rules, the three record formats, file
 * and directory modes, comments kept, malformed lines reported and
 * never lost, session expiry, concurrent writers (no lost update), no
 * torn file when writers are killed at random, and (with FAULTSHIM set
 * to tests/faultshim.so) failed rename/fsync/write/open leaving the
 * old file byte-identical.  Each test uses its own dir under a mkdtemp
 * dir in $TMPDIR (kept on failure or with DB_TEST_KEEP set).  Prints
 * each failure as file:line; last line "N passed, M failed".
 * "db_test --child-add DIR NAME LOG" is the mode re-executed under the
 * shim: it adds one user and exits 0, 1 (error) or 10 + result.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
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
#define FILE_BIG	(4 << 20)	/* largest file the tests read */
#define CONC_KIDS	10
#define CONC_USERS	20
#define STORM_ROUNDS	5
#define STORM_KIDS	6

static int	 passed, failed;
static char	 top[PATH_MAX / 2], logpath[PATH_MAX], dir[PATH_MAX];
static char	 filebuf[FILE_BIG], filebuf2[FILE_BIG];

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

/* dir/name in a static buffer (two in turn). */
static const char *
in_dir(const char *name)
{
	static char	 paths[2][PATH_MAX];
	static int	 n;

	n = !n;
	if (snprintf(paths[n], sizeof(paths[n]), "%s/%s", dir, name) >=
	    (int)sizeof(paths[n]))
		printf("path too long: %s/%s\n", dir, name);
	return paths[n];
}

/* Whole file into buf (NUL-terminated); its length, -1 when missing. */
static ssize_t
slurp(const char *path, char *buf)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
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

/* Do two files (or a file and a snapshot) hold the same bytes? */
static int
same_as(const char *name, const char *snap, ssize_t snaplen)
{
	return slurp(in_dir(name), filebuf2) == snaplen &&
	    memcmp(filebuf2, snap, (size_t)snaplen) == 0;
}

static void
log_reset(void)
{
	if (truncate(logpath, 0) == -1)
		printf("truncate %s: %s\n", logpath, strerror(errno));
}

/* Does the log contain s? */
static int
logged(const char *s)
{
	static char	 logbuf[1 << 16];
	int		 fd;
	ssize_t		 n;

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
	(void)snprintf(s->digest, sizeof(s->digest), "%064x", n);
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
nsessions(void)
{
	int	 n = 0;

	return db_session_list(count_session, &n) == 0 ? n : -1;
}

static int
mode_of(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == -1 ? -1 : (int)(st.st_mode & 07777);
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
			    "abcdefghijklmnopqrstuvwxyz012345" };
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(db_name_valid(ok[i], &why) == 1 && why == NULL);
	CHECK(!db_name_valid("", &why) && strcmp(why, "name is empty") == 0);
	CHECK(!db_name_valid(NULL, &why) &&
	    strcmp(why, "name is empty") == 0);
	CHECK(!db_name_valid("-x", &why) &&
	    strcmp(why, "name may not start with '-'") == 0);
	CHECK(!db_name_valid("123", &why) &&
	    strcmp(why, "name may not be all digits") == 0);
	CHECK(!db_name_valid("abcdefghijklmnopqrstuvwxyz0123456", &why) &&
	    strcmp(why, "name is longer than 32 bytes") == 0);
	CHECK(!db_name_valid("iv an", &why) && strcmp(why, "name may "
	    "contain only letters, digits, '.', '_' and '-'") == 0);
	CHECK(!db_name_valid("ivan:", &why) && strstr(why, "only") != NULL);
	CHECK(!db_name_valid("\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", &why) &&
	    strstr(why, "only") != NULL);
	CHECK(!db_name_valid("a\tb", NULL));
	CHECK(db_name_valid("1a", NULL) && db_name_valid("0.1", NULL));
}

/* 0700 dir and 0600 files even under a hostile umask. */
static void
test_modes(void)
{
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
	mode_t			 old = umask(0277);

	CHECK(new_dir("modes") == 0);
	CHECK(mode_of(dir) == 0700);
	CHECK(mode_of(in_dir("lock")) == 0600);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == 0);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "ivan")) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 5, 5), 0, 0) == 0);
	umask(old);
	CHECK(mode_of(in_dir("users")) == 0600);
	CHECK(mode_of(in_dir("idents")) == 0600);
	CHECK(mode_of(in_dir("sessions")) == 0600);

	/* An open existing dir is accepted, with a warning. */
	(void)snprintf(dir, sizeof(dir), "%s/open", top);
	CHECK(mkdir(dir, 0750) == 0 && chmod(dir, 0750) == 0);
	log_reset();
	CHECK(db_init(dir) == 0);
	CHECK(logged("group or other may access it (mode 0750)"));
	CHECK(mode_of(dir) == 0750);

	/* Failures: not a dir, no parent; then nothing works. */
	puts_file("plain", "x\n");
	CHECK(db_init(in_dir("plain")) == -1);
	CHECK(db_init("") == -1 && db_init(NULL) == -1);
	log_reset();
	CHECK(db_init("/nonexistent/db_test/state") == -1);
	CHECK(logged("mkdir /nonexistent/db_test/state"));
	CHECK(db_user_get("ivan", &u) == -1);
	CHECK(logged("db_init() was not called"));
}

static void
test_users(void)
{
	struct db_user	 u, got;
	ssize_t		 len;
	int		 n = 0;

	CHECK(new_dir("users") == 0);
	CHECK(db_user_get("ivan", &got) == DB_NOTFOUND);	/* no file */
	CHECK(nusers() == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1764134400)) == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH2, 5)) == DB_EXISTS);
	CHECK(db_user_add(mkuser(&u, "Ivan", HASH2, 5)) == 0);
	CHECK(db_user_add(mkuser(&u, "petr", "!", 6)) == 0);
	CHECK(db_user_get("ivan", &got) == 0);
	CHECK(strcmp(got.name, "ivan") == 0 && strcmp(got.hash, HASH1) == 0 &&
	    got.created == 1764134400 && got.last_login == 0 &&
	    got.locked == 0);
	CHECK(db_user_get("IVAN", &got) == DB_NOTFOUND);
	CHECK(slurp(in_dir("users"), filebuf) > 0 && strcmp(filebuf,
	    "ivan " HASH1 " 1764134400 0 0\nIvan " HASH2 " 5 0 0\n"
	    "petr ! 6 0 0\n") == 0);

	mkuser(&u, "ivan", HASH2, 1764134400);
	u.last_login = 1764134500;
	u.locked = 1;
	CHECK(db_user_update(&u) == 0);
	CHECK(db_user_get("ivan", &got) == 0 && strcmp(got.hash, HASH2) == 0 &&
	    got.last_login == 1764134500 && got.locked == 1);
	CHECK(db_user_update(mkuser(&u, "olga", HASH1, 1)) == DB_NOTFOUND);
	CHECK(db_user_del("Ivan") == 0);
	CHECK(db_user_del("Ivan") == DB_NOTFOUND);
	CHECK(db_user_get("Ivan", &got) == DB_NOTFOUND);
	CHECK(db_user_list(stop_second, &n) == 0 && n == 2);
	CHECK(db_user_list(NULL, NULL) == -1);
	CHECK(db_user_get(NULL, &got) == -1 && db_user_add(NULL) == -1);

	/* Bad records are refused before anything is written. */
	len = slurp(in_dir("users"), filebuf);
	log_reset();
	CHECK(db_user_add(mkuser(&u, "bad name", HASH1, 1)) == -1);
	CHECK(logged("users: bad record: name may contain only"));
	CHECK(db_user_add(mkuser(&u, "123", HASH1, 1)) == -1);
	CHECK(db_user_add(mkuser(&u, "olga", "ha sh", 1)) == -1);
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
	mkuser(&u, "olga", HASH1, 1);
	memset(u.hash, 'h', sizeof(u.hash));
	CHECK(db_user_update(&u) == -1);
	CHECK(same_as("users", filebuf, len));
}

static void
test_idents(void)
{
	struct db_ident	 i, got;
	int		 n = 0;

	CHECK(new_dir("idents") == 0);
	CHECK(db_ident_get("192.0.2.1", &got) == DB_NOTFOUND);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "ivan")) == 0);
	CHECK(db_ident_set(mkident(&i, "2001:db8::1", "petr")) == 0);
	CHECK(db_ident_set(mkident(&i, "::ffff:192.0.2.7", "olga")) == 0);
	CHECK(db_ident_set(mkident(&i, "192.0.2.1", "anna")) == 0);
	CHECK(db_ident_get("192.0.2.1", &got) == 0 &&
	    strcmp(got.name, "anna") == 0 && got.created == 1764134400);
	CHECK(db_ident_get("2001:db8::1", &got) == 0 &&
	    strcmp(got.name, "petr") == 0);
	CHECK(db_ident_list(count_ident, &n) == 0 && n == 3);
	CHECK(slurp(in_dir("idents"), filebuf) > 0 && strncmp(filebuf,
	    "192.0.2.1 anna 1764134400\n", 26) == 0);
	CHECK(db_ident_set(mkident(&i, "192.0.2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "2001:DB8::2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "2001:db8:0::2", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "host.example", "ivan")) == -1);
	CHECK(db_ident_set(mkident(&i, "192.0.2.9", "-x")) == -1);
	CHECK(db_ident_del("192.0.2.1") == 0);
	CHECK(db_ident_del("192.0.2.1") == DB_NOTFOUND);
	CHECK(db_ident_get("192.0.2.1", &got) == DB_NOTFOUND);
	CHECK(db_ident_del(NULL) == -1);
}

static void
test_sessions(void)
{
	struct db_session	 s, got;
	struct db_user		 u;
	struct stat		 st1, st2;

	CHECK(new_dir("sessions") == 0);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == 0);
	CHECK(db_user_add(mkuser(&u, "petr", HASH1, 1)) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 100, 100), 0, 0) == 0);
	CHECK(db_session_add(mksession(&s, 1, "ivan", 100, 100), 0, 0) ==
	    DB_EXISTS);
	CHECK(db_session_get(s.digest, &got) == 0 &&
	    strcmp(got.user, "ivan") == 0 && got.created == 100 &&
	    got.last_used == 100);
	CHECK(db_session_touch(s.digest, 150) == 0);
	CHECK(db_session_get(s.digest, &got) == 0 && got.last_used == 150);
	mksession(&s, 99, "ivan", 1, 1);
	CHECK(db_session_touch(s.digest, 150) == DB_NOTFOUND);
	CHECK(db_session_del(s.digest) == DB_NOTFOUND);
	CHECK(db_session_touch(mksession(&s, 1, "ivan", 0, 0)->digest, -5) ==
	    -1);
	CHECK(db_session_add(mksession(&s, 2, "ivan", 1, 1), 0, 0) == 0);
	CHECK(db_session_del(s.digest) == 0);
	CHECK(db_session_get(s.digest, &got) == DB_NOTFOUND);
	CHECK(db_session_add(mksession(&s, 3, "Ivan", 1, 1), 0, 0) == 0);
	(void)snprintf(s.digest, sizeof(s.digest), "%064X", 0xabc);
	CHECK(db_session_add(&s, 0, 0) == -1);

	/* Expiry on add: idle (last_used) and too old (created). */
	CHECK(db_session_add(mksession(&s, 10, "petr", 500, 190), 0, 0) == 0);
	CHECK(db_session_add(mksession(&s, 11, "petr", 50, 900), 0, 0) == 0);
	CHECK(db_session_add(mksession(&s, 12, "petr", 500, 900), 0, 0) == 0);
	CHECK(nsessions() == 5);
	CHECK(db_session_add(mksession(&s, 13, "petr", 1000, 1000), 200,
	    100) == 0);
	CHECK(db_session_get(mksession(&s, 10, "", 0, 0)->digest, &got) ==
	    DB_NOTFOUND);
	CHECK(db_session_get(mksession(&s, 11, "", 0, 0)->digest, &got) ==
	    DB_NOTFOUND);
	CHECK(db_session_get(mksession(&s, 12, "", 0, 0)->digest, &got) == 0);
	CHECK(db_session_get(mksession(&s, 13, "", 0, 0)->digest, &got) == 0);
	CHECK(db_session_get(mksession(&s, 3, "", 0, 0)->digest, &got) ==
	    DB_NOTFOUND);	/* created 1 < 100 */

	/* del_user keeps keep_digest; no match still returns 0. */
	CHECK(db_session_add(mksession(&s, 20, "ivan", 900, 900), 0, 0) == 0);
	CHECK(db_session_add(mksession(&s, 21, "ivan", 900, 900), 0, 0) == 0);
	CHECK(nsessions() == 4);
	CHECK(db_session_del_user("ivan", mksession(&s, 21, "", 0, 0)->digest)
	    == 0);
	CHECK(nsessions() == 3);
	CHECK(db_session_get(s.digest, &got) == 0);
	CHECK(stat(in_dir("sessions"), &st1) == 0);
	CHECK(db_session_del_user("nobody", NULL) == 0);
	CHECK(stat(in_dir("sessions"), &st2) == 0 && st1.st_ino == st2.st_ino);
	CHECK(db_session_del_user("ivan", NULL) == 0);
	CHECK(db_session_get(s.digest, &got) == DB_NOTFOUND);
	CHECK(nsessions() == 2);
	CHECK(db_session_del_user(NULL, NULL) == -1);

	/* db_user_del takes the user's sessions with it. */
	CHECK(db_session_add(mksession(&s, 30, "ivan", 900, 900), 0, 0) == 0);
	CHECK(db_user_del("petr") == 0);
	CHECK(nsessions() == 1);
	CHECK(db_session_get(s.digest, &got) == 0);
	CHECK(db_user_del("petr") == DB_NOTFOUND);
}

/* Comments and empty lines survive every kind of rewrite in place. */
static void
test_comments(void)
{
	struct db_user	 u;
	const char	*orig = "# authchatd users\n\nivan " HASH1 " 1 0 0\n"
			    "# petr left\n\nolga " HASH2 " 2 0 0\n# end\n";

	CHECK(new_dir("comments") == 0);
	puts_file("users", orig);
	CHECK(db_user_add(mkuser(&u, "anna", HASH2, 3)) == 0);
	CHECK(slurp(in_dir("users"), filebuf) > 0 &&
	    strncmp(filebuf, orig, strlen(orig)) == 0 &&
	    strcmp(filebuf + strlen(orig), "anna " HASH2 " 3 0 0\n") == 0);
	CHECK(db_user_update(mkuser(&u, "ivan", HASH2, 9)) == 0);
	CHECK(db_user_del("olga") == 0);
	CHECK(slurp(in_dir("users"), filebuf) > 0 && strcmp(filebuf,
	    "# authchatd users\n\nivan " HASH2 " 9 0 0\n# petr left\n\n"
	    "# end\nanna " HASH2 " 3 0 0\n") == 0);
}

/* One bad line: logged, skipped by reads, every write refuses. */
static void
test_malformed(void)
{
	struct db_user	 u, got;
	ssize_t		 len;

	CHECK(new_dir("malformed") == 0);
	puts_file("users", "# users\nivan " HASH1 " 1 0 0\nbad line\n"
	    "petr " HASH2 " 2 0 0\n");
	len = slurp(in_dir("users"), filebuf);
	log_reset();
	CHECK(db_user_get("petr", &got) == 0 && got.created == 2);
	CHECK(logged("/users:3: a users line has 5 fields"));
	CHECK(nusers() == 2);
	log_reset();
	CHECK(db_user_add(mkuser(&u, "anna", HASH1, 3)) == -1);
	CHECK(logged("/users:3: a users line has 5 fields"));
	CHECK(logged("refusing to rewrite "));
	CHECK(logged("/users: it has 1 malformed line"));
	CHECK(db_user_update(mkuser(&u, "ivan", HASH2, 3)) == -1);
	CHECK(db_user_del("ivan") == -1);
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 3)) == -1);
	CHECK(same_as("users", filebuf, len));
	CHECK(db_check() == 1);
}

/* Every kind of bad line, counted by db_check() with file:line. */
static void
test_check(void)
{
	struct db_ident		 i;
	struct db_session	 s;
	char			 big[1200];
	ssize_t			 ulen, ilen, slen;
	int			 n = 0;
	static const char	 users[] =
	    "# ok\n"				/* 1 */
	    "ok1 h 1 0 0\n"			/* 2 */
	    "123 h 1 0 0\n"			/* 3 all digits */
	    "-x h 1 0 0\n"			/* 4 */
	    "a h:x 1 0 0\n"			/* 5 */
	    "a h +1 0 0\n"			/* 6 */
	    "a h 1 0 2\n"			/* 7 */
	    "a h 1 0 0 \n"			/* 8 */
	    "a  h 1 0 0\n"			/* 9 */
	    "a h 99999999999999999999 0 0\n"	/* 10 */
	    "a h 1 0\n";			/* 11 */
	static const char	 nul[] = "a h 1\0 0 0\n# fine\n\nb h 1 0 0";

	CHECK(new_dir("check") == 0);
	CHECK(db_check() == 0);			/* no files at all */
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';		/* line 12 */
	memcpy(filebuf, users, sizeof(users) - 1);
	memcpy(filebuf + sizeof(users) - 1, big, sizeof(big));
	memcpy(filebuf + sizeof(users) - 1 + sizeof(big), nul, sizeof(nul) - 1);
	ulen = (ssize_t)(sizeof(users) - 1 + sizeof(big) + sizeof(nul) - 1);
	put(in_dir("users"), filebuf, (size_t)ulen);
	puts_file("idents", "127.0.0.1 ivan 5\n::1 ivan 5\n1.2.3 ivan 5\n"
	    "2001:DB8::1 ivan 5\n127.0.0.1 iv@n 5\n::ffff:1.2.3.4 ivan 5\n");
	(void)snprintf(filebuf, sizeof(filebuf), "%064x ivan 1 2\n%064X ivan "
	    "1 2\n%063x ivan 1 2\n%064x ivan 1 -2\n", 1, 0xabc, 2, 3);
	puts_file("sessions", filebuf);
	log_reset();
	CHECK(db_check() == 12 + 3 + 3);
	CHECK(logged("/users:3: name may not be all digits"));
	CHECK(logged("/users:4: name may not start with '-'"));
	CHECK(logged("/users:5: hash may contain only"));
	CHECK(logged("/users:6: CREATED must be a number"));
	CHECK(logged("/users:7: LOCKED must be 0 or 1"));
	CHECK(logged("/users:8: fields are separated by exactly one space"));
	CHECK(logged("/users:9: fields are separated by exactly one space"));
	CHECK(logged("/users:10: CREATED must be a number"));
	CHECK(logged("/users:11: a users line has 5 fields"));
	CHECK(logged("/users:12: line is longer than 1024 bytes"));
	CHECK(logged("/users:13: line contains a NUL byte"));
	CHECK(logged("/users:16: last line has no newline"));
	CHECK(logged("/idents:3: address is not a numeric"));
	CHECK(logged("/idents:4: address is not written as inet_ntop(3)"));
	CHECK(logged("/idents:5: name may contain only"));
	CHECK(logged("/sessions:2: digest is not 64 hex digits"));
	CHECK(logged("/sessions:3: digest is not 64 hex digits"));
	CHECK(logged("/sessions:4: LAST_USED must be a number"));
	CHECK(!logged("/users:2:") && !logged("/users:14:") &&
	    !logged("/users:15:") && !logged("/idents:6:"));
	CHECK(nusers() == 1);
	CHECK(db_ident_list(count_ident, &n) == 0 && n == 3);
	CHECK(nsessions() == 1);
	ulen = slurp(in_dir("users"), filebuf);
	CHECK(db_user_del("ok1") == -1 && same_as("users", filebuf, ulen));
	ilen = slurp(in_dir("idents"), filebuf);
	CHECK(db_ident_set(mkident(&i, "::1", "olga")) == -1);
	CHECK(same_as("idents", filebuf, ilen));
	slen = slurp(in_dir("sessions"), filebuf);
	CHECK(db_session_add(mksession(&s, 9, "ivan", 1, 1), 0, 0) == -1);
	CHECK(same_as("sessions", filebuf, slen));
	CHECK(logged("/sessions: it has 3 malformed lines"));
}

/* Over the size cap, or not a file: an error, not an empty table. */
static void
test_limits(void)
{
	struct db_user	 u;
	int		 fd;

	CHECK(new_dir("limits") == 0);
	fd = open(in_dir("users"), O_WRONLY | O_CREAT, 0600);
	CHECK(fd != -1 && ftruncate(fd, (256 << 20) + 1) == 0);
	close(fd);
	log_reset();
	CHECK(db_user_get("ivan", &u) == -1);
	CHECK(logged("not a regular file of at most 268435456 bytes"));
	CHECK(db_user_add(mkuser(&u, "ivan", HASH1, 1)) == -1);
	CHECK(db_check() == -1);
	CHECK(truncate(in_dir("users"), 256 << 20) == 0);
	CHECK(db_user_get("ivan", &u) == DB_NOTFOUND);	/* NUL lines */
	CHECK(unlink(in_dir("users")) == 0 && mkdir(in_dir("users"), 0700) ==
	    0);
	CHECK(db_user_get("ivan", &u) == -1 && nusers() == -1);
}

/* Child: add CONC_USERS users and a few sessions, all at once. */
static void
conc_child(int id)
{
	struct db_user		 u;
	struct db_session	 s;
	char			 name[DB_NAME_MAX + 1];
	int			 j;

	for (j = 0; j < CONC_USERS; j++) {
		if (snprintf(name, sizeof(name), "c%d_u%d", id, j) >=
		    (int)sizeof(name))
			_exit(3);
		if (db_user_add(mkuser(&u, name, HASH1, j)) != 0)
			_exit(1);
		if (j % 4 == 0 && db_session_add(mksession(&s, id * 100 + j,
		    name, 10, 10), 0, 0) != 0)
			_exit(2);
	}
	_exit(0);
}

/* No lost update: every child's every add is in the files. */
static void
test_concurrency(void)
{
	struct db_user	 u;
	char		 name[DB_NAME_MAX + 1];
	pid_t		 pids[CONC_KIDS];
	int		 i, j, missing = 0, bad = 0;

	CHECK(new_dir("storm") == 0);
	fflush(NULL);
	for (i = 0; i < CONC_KIDS; i++)
		if ((pids[i] = fork()) == 0)
			conc_child(i);
	for (i = 0; i < CONC_KIDS; i++)
		if (pids[i] == -1 || reap(pids[i]) != 0)
			bad++;
	CHECK(bad == 0);
	for (i = 0; i < CONC_KIDS; i++)
		for (j = 0; j < CONC_USERS; j++) {
			if (snprintf(name, sizeof(name), "c%d_u%d", i, j) >=
			    (int)sizeof(name) || db_user_get(name, &u) != 0 ||
			    u.created != j)
				missing++;
		}
	CHECK(missing == 0);
	CHECK(nusers() == CONC_KIDS * CONC_USERS);
	CHECK(nsessions() == CONC_KIDS * ((CONC_USERS + 3) / 4));
	CHECK(db_check() == 0);
}

/* Writer killed at a random moment; adds until then. */
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
		    1000000 + id * 10000 + j, name, 10, 10), 0, 0) != 0)
			_exit(2);
	}
	_exit(0);
}

/* Only the real files, the lock and writers' leftover temp files. */
static int
dir_clean(int *temps)
{
	DIR		*d;
	struct dirent	*e;
	int		 ok = 1;

	*temps = 0;
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") ==
		    0 || strcmp(e->d_name, "users") == 0 ||
		    strcmp(e->d_name, "sessions") == 0 ||
		    strcmp(e->d_name, "lock") == 0)
			continue;
		if ((strncmp(e->d_name, ".users.", 7) == 0 &&
		    strlen(e->d_name) == 13) || (strncmp(e->d_name,
		    ".sessions.", 10) == 0 && strlen(e->d_name) == 16))
			(*temps)++;
		else {
			printf("unexpected file %s\n", e->d_name);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

/* Is the file empty or ending in '\n' (only whole lines)? */
static int
whole_lines(const char *name)
{
	ssize_t	 n = slurp(in_dir(name), filebuf);

	return n == 0 || (n > 0 && filebuf[n - 1] == '\n');
}

/* SIGKILL writers at random moments: never a torn or lost file. */
static void
test_torn(void)
{
	pid_t		 pids[STORM_KIDS];
	unsigned int	 seed = (unsigned int)time(NULL) ^
			    (unsigned int)getpid();
	int		 r, i, before, after, temps, bad = 0, lost = 0;

	printf("torn test seed %u\n", seed);
	srand(seed);
	before = nusers();	/* test_concurrency's users */
	for (r = 0; r < STORM_ROUNDS; r++) {
		fflush(NULL);
		for (i = 0; i < STORM_KIDS; i++)
			if ((pids[i] = fork()) == 0)
				storm_child(r, i);
		usleep(1000 + (useconds_t)(rand() % 30000));
		for (i = 0; i < STORM_KIDS; i++)
			if (pids[i] != -1)
				(void)kill(pids[i], SIGKILL);
		for (i = 0; i < STORM_KIDS; i++) {
			int	 st = pids[i] == -1 ? -1 : reap(pids[i]);

			if (st == -1 || !((WIFSIGNALED(st) &&
			    WTERMSIG(st) == SIGKILL) || (WIFEXITED(st) &&
			    WEXITSTATUS(st) == 0))) {
				printf("writer %d: status %#x\n", i, st);
				bad++;
			}
		}
		after = nusers();
		if (after < before)
			lost++;
		before = after;
		CHECK(db_check() == 0);
		CHECK(whole_lines("users") && whole_lines("sessions"));
		CHECK(dir_clean(&temps));
		printf("torn round %d: %d users, %d temp files left\n", r,
		    after, temps);
	}
	CHECK(bad == 0);
	CHECK(lost == 0);
	CHECK(nusers() >= CONC_KIDS * CONC_USERS);
}

/* The --child-add mode run under the shim. */
static int
child_add(const char *d, const char *name, const char *log)
{
	struct db_user	 u;
	int		 rc;

	if (log_set_file(log) == -1)
		return 3;
	if (db_init(d) == -1)
		return 1;
	rc = db_user_add(mkuser(&u, name, HASH1, 7));
	return rc == -1 ? 1 : rc == 0 ? 0 : 10 + rc;
}

/* Run ourselves as --child-add under the shim with FAULT* set. */
static int
run_faulty(const char *shim, const char *fault, const char *match,
    const char *err, const char *name)
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
		execl(self, self, "--child-add", dir, name, logpath,
		    (char *)NULL);
		_exit(127);
	}
	if (pid == -1 || (st = reap(pid)) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Failed rename, fsync, write, open: -1, step logged, file intact. */
static void
test_faults(void)
{
	const char	*shim = getenv("FAULTSHIM");
	struct db_user	 u;
	ssize_t		 len;
	int		 temps;

	if (shim == NULL || access(shim, R_OK) == -1) {
		printf("skip: fault injection (FAULTSHIM not set)\n");
		return;
	}
	CHECK(new_dir("faults") == 0);
	puts_file("users", "# users\nivan " HASH1 " 1 0 0\n");
	CHECK(run_faulty(shim, NULL, NULL, NULL, "ok1") == 0);
	CHECK(db_user_get("ok1", &u) == 0);
	len = slurp(in_dir("users"), filebuf);

	log_reset();
	CHECK(run_faulty(shim, "rename", NULL, NULL, "anna") == 1);
	CHECK(logged("rename ") && logged("/.users.") &&
	    logged("/users: Input/output error"));
	CHECK(same_as("users", filebuf, len));
	log_reset();
	CHECK(run_faulty(shim, "fsync", NULL, "EIO", "anna") == 1);
	CHECK(logged("fsync ") && logged("/.users.") &&
	    logged(": Input/output error"));
	CHECK(same_as("users", filebuf, len));
	log_reset();
	CHECK(run_faulty(shim, "write", "/.users.", "ENOSPC", "anna") == 1);
	CHECK(logged("write ") && logged("/.users.") &&
	    logged(": No space left on device"));
	CHECK(same_as("users", filebuf, len));
	log_reset();
	CHECK(run_faulty(shim, "fdatasync,open", "/lock", "EACCES", "anna") ==
	    1);
	CHECK(logged("open ") && logged("/lock: Permission denied"));
	CHECK(same_as("users", filebuf, len));
	CHECK(dir_clean(&temps) && temps == 0);
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

	if (argc == 5 && strcmp(argv[1], "--child-add") == 0)
		return child_add(argv[2], argv[3], argv[4]);
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
	test_idents();
	test_sessions();
	test_comments();
	test_malformed();
	test_check();
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
