/*
 * fuzz_db.c: libFuzzer target for the state database, src/db.c: its
 * line parser through every lookup and list, and its writers on top of
 * whatever the files hold.
 *
 * Input: a control byte, then the users, idents and sessions files,
 * split on 0xff (a file with no part is absent).
 *   byte 0  bits 0-5: which changes to try (ops[] below, in order)
 *           bit 6: the changes' expiry thresholds are "now" rather than 0
 *           bit 7: users is a directory, not a file
 *
 * Oracle:
 *   - every listed record is found again by its key, as a record with
 *     that key, and holds only values db.c would write;
 *   - db_check() counts the bad lines of each file (files are put in
 *     one by one to tell them apart);
 *   - a change to a file with a bad line is refused (-1) and leaves it
 *     byte for byte as it was; a change to a clean file never fails
 *     with -1, and leaves it clean, with the change visible;
 *   - an add to a clean file appends exactly one line to it;
 *   - no temporary file is left behind.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#include "fuzz_common.h"

#define NFILES		3
#define F_USERS		0
#define F_IDENTS	1
#define F_SESSIONS	2
#define NEW_NAME	"fuzzuser"
#define NEW_HASH	"$y$j9T$F5Jx5fExrKuJdUvfOkYNb.$0123456789abcdefghijk"
#define NEW_ADDR	"192.0.2.1"
#define NEW_DIGEST	\
	"feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const files[NFILES] = { "users", "idents", "sessions" };

static const char	*dir;
static int		 bad[NFILES];		/* bad lines per file */
static int		 bad_total;
static struct fz_buf	 before, after;
static long long	 thr;			/* expiry threshold */

/* The first record of each table, for the changes to aim at. */
static struct {
	int		 nusers, nidents, nsessions;
	struct db_user	 u;
	struct db_ident	 i;
	struct db_session s;
} seen;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_logs();
	dir = fz_tmpdir("db");
	if (db_init(dir) == -1)
		abort();
	return 0;
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* A value db.c would write: printable, no blank, no ':' in a hash. */
static void
check_hash(const char *h)
{
	FZ_ASSERT(h[0] != '\0');
	for (; *h != '\0'; h++)
		FZ_ASSERT(*h > ' ' && *h <= '~' && *h != ':');
}

static int
list_user(const struct db_user *u, void *arg)
{
	struct db_user	 again;

	(void)arg;
	FZ_ASSERT(terminated(u->name, sizeof(u->name)));
	FZ_ASSERT(terminated(u->hash, sizeof(u->hash)));
	FZ_ASSERT(db_name_valid(u->name, NULL));
	check_hash(u->hash);
	FZ_ASSERT(u->created >= 0 && u->last_login >= 0);
	FZ_ASSERT(u->locked == 0 || u->locked == 1);
	FZ_ASSERT(db_user_get(u->name, &again) == 0);
	FZ_ASSERT(strcmp(again.name, u->name) == 0);
	if (seen.nusers++ == 0)
		seen.u = *u;
	return 0;
}

static int
list_ident(const struct db_ident *i, void *arg)
{
	struct db_ident	 again;

	(void)arg;
	FZ_ASSERT(terminated(i->addr, sizeof(i->addr)));
	FZ_ASSERT(terminated(i->name, sizeof(i->name)));
	FZ_ASSERT(i->addr[0] != '\0' && strchr(i->addr, ' ') == NULL);
	FZ_ASSERT(db_name_valid(i->name, NULL));
	FZ_ASSERT(i->created >= 0);
	FZ_ASSERT(db_ident_get(i->addr, &again) == 0);
	FZ_ASSERT(strcmp(again.addr, i->addr) == 0);
	if (seen.nidents++ == 0)
		seen.i = *i;
	return 0;
}

static int
list_session(const struct db_session *s, void *arg)
{
	struct db_session again;

	(void)arg;
	FZ_ASSERT(terminated(s->digest, sizeof(s->digest)));
	FZ_ASSERT(strlen(s->digest) == DB_DIGEST_LEN &&
	    strspn(s->digest, "0123456789abcdef") == DB_DIGEST_LEN);
	FZ_ASSERT(db_name_valid(s->user, NULL));
	FZ_ASSERT(s->created >= 0 && s->last_used >= 0);
	FZ_ASSERT(db_session_get(s->digest, &again) == 0);
	FZ_ASSERT(strcmp(again.digest, s->digest) == 0);
	if (seen.nsessions++ == 0)
		seen.s = *s;
	return 0;
}

/* After a session purge: nothing idle or old is left. */
static int
list_fresh(const struct db_session *s, void *arg)
{
	(void)arg;
	FZ_ASSERT(s->last_used >= thr && s->created >= thr);
	return 0;
}

/* After db_session_del_user(arg): none of that user's is left. */
static int
list_not_user(const struct db_session *s, void *arg)
{
	FZ_ASSERT(strcmp(s->user, arg) != 0);
	return 0;
}

static int
list_not_user_of(const struct db_user *u, void *arg)
{
	FZ_ASSERT(strcmp(u->name, arg) != 0);
	return 0;
}

/*
 * The three files from the input, put in one at a time (users last, as
 * it may be a directory and make db_check() fail) to count the bad
 * lines of each: -1 for a file that cannot be read at all.
 */
static void
put_files(const uint8_t *p, size_t n, int users_dir)
{
	static const int order[NFILES] = { F_IDENTS, F_SESSIONS, F_USERS };
	const uint8_t	*end = p + n, *sep, *part[NFILES];
	size_t		 len[NFILES];
	char		 path[PATH_MAX];
	int		 i, f, total = 0, now;

	for (i = 0; i < NFILES; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) == -1)
			(void)rmdir(path);
		part[i] = NULL;
		if (n > 0 && p <= end) {
			if ((sep = memchr(p, FZ_SEP, (size_t)(end - p))) ==
			    NULL)
				sep = end;
			part[i] = p;
			len[i] = (size_t)(sep - p);
			p = sep + 1;
		}
	}
	for (i = 0; i < NFILES; i++) {
		f = order[i];
		if (f == F_USERS && users_dir) {
			(void)snprintf(path, sizeof(path), "%s/users", dir);
			(void)mkdir(path, 0700);
		} else if (part[f] != NULL)
			fz_put(dir, files[f], part[f], len[f], 0600);
		now = db_check();
		bad[f] = now == -1 ? -1 : now - total;
		total = now;
	}
	bad_total = bad[F_USERS] == -1 ? -1 : total;
}

/*
 * A change to file f returned r: refused and f untouched when f had a
 * bad line, else one of the results a clean file allows, and no file
 * gained a bad line.
 */
static void
check_change(int f, int r, int ok_result)
{
	if (bad[f] != 0) {
		FZ_ASSERT(r == -1);
		if (bad[f] == -1)
			return;
		FZ_ASSERT(fz_slurp(dir, files[f], &after) == 0);
		FZ_ASSERT(after.len == before.len && (after.len == 0 ||
		    memcmp(after.p, before.p, after.len) == 0));
		return;
	}
	FZ_ASSERT(r == 0 || r == ok_result);
	if (bad_total != -1)
		FZ_ASSERT(db_check() == bad_total);
	if (fz_slurp(dir, files[f], &after) == -1)
		after.len = 0;
}

/* Snapshot of file f before a change (empty when absent). */
static void
snap(int f)
{
	if (fz_slurp(dir, files[f], &before) == -1)
		before.len = 0;
}

static void
op_user_add(void)
{
	struct db_user	 u, got;
	static const char line[] = NEW_NAME " " NEW_HASH " 1 0 0\n";
	int		 r;

	memset(&u, 0, sizeof(u));
	(void)strlcpy(u.name, NEW_NAME, sizeof(u.name));
	(void)strlcpy(u.hash, NEW_HASH, sizeof(u.hash));
	u.created = 1;
	snap(F_USERS);
	r = db_user_add(&u);
	check_change(F_USERS, r, DB_EXISTS);
	if (bad[F_USERS] == 0 && r == 0) {
		FZ_ASSERT(after.len == before.len + sizeof(line) - 1);
		FZ_ASSERT(before.len == 0 ||
		    memcmp(after.p, before.p, before.len) == 0);
		FZ_ASSERT(memcmp(after.p + before.len, line,
		    sizeof(line) - 1) == 0);
		FZ_ASSERT(db_user_get(NEW_NAME, &got) == 0 &&
		    strcmp(got.hash, NEW_HASH) == 0);
	}
}

static void
op_user_update(void)
{
	struct db_user	 u, got;
	int		 r;

	if (seen.nusers == 0)
		return;
	u = seen.u;
	u.last_login = 42;
	u.locked = !u.locked;
	snap(F_USERS);
	r = db_user_update(&u);
	check_change(F_USERS, r, DB_NOTFOUND);
	if (bad[F_USERS] == 0) {
		FZ_ASSERT(r == 0);
		FZ_ASSERT(db_user_get(u.name, &got) == 0 &&
		    got.last_login == 42 && got.locked == u.locked);
	}
}

static void
op_ident_set(void)
{
	struct db_ident	 id, got;
	int		 r;

	memset(&id, 0, sizeof(id));
	(void)strlcpy(id.addr, seen.nidents > 0 && (seen.nidents & 1) ?
	    seen.i.addr : NEW_ADDR, sizeof(id.addr));
	(void)strlcpy(id.name, "fuzzident", sizeof(id.name));
	id.created = 7;
	snap(F_IDENTS);
	r = db_ident_set(&id);
	check_change(F_IDENTS, r, 0);
	if (bad[F_IDENTS] == 0)
		FZ_ASSERT(db_ident_get(id.addr, &got) == 0 &&
		    strcmp(got.name, "fuzzident") == 0);
}

static void
op_session_add(void)
{
	struct db_session s, got;
	int		 r;

	memset(&s, 0, sizeof(s));
	(void)strlcpy(s.digest, NEW_DIGEST, sizeof(s.digest));
	(void)strlcpy(s.user, NEW_NAME, sizeof(s.user));
	s.created = s.last_used = thr + 1;
	snap(F_SESSIONS);
	r = db_session_add(&s, thr, thr);
	check_change(F_SESSIONS, r, DB_EXISTS);
	if (bad[F_SESSIONS] == 0 && r == 0) {
		FZ_ASSERT(db_session_get(NEW_DIGEST, &got) == 0);
		FZ_ASSERT(db_session_list(list_fresh, NULL) == 0);
	}
}

static void
op_session_touch_del(void)
{
	struct db_session got;
	int		 r, present;

	if (seen.nsessions == 0)
		return;
	present = db_session_get(seen.s.digest, &got) == 0;
	snap(F_SESSIONS);
	r = db_session_touch(seen.s.digest, thr + 5);
	check_change(F_SESSIONS, r, DB_NOTFOUND);
	if (bad[F_SESSIONS] == 0 && !present)
		FZ_ASSERT(r == DB_NOTFOUND);
	if (bad[F_SESSIONS] == 0 && present)
		FZ_ASSERT(r == 0 && db_session_get(seen.s.digest, &got) == 0 &&
		    got.last_used == thr + 5);
	snap(F_SESSIONS);
	r = db_session_del(seen.s.digest);
	check_change(F_SESSIONS, r, DB_NOTFOUND);
	if (bad[F_SESSIONS] == 0)
		FZ_ASSERT(r == (present ? 0 : DB_NOTFOUND) &&
		    db_session_get(seen.s.digest, &got) == DB_NOTFOUND);
}

static void
op_session_del_user(void)
{
	char	 user[DB_NAME_MAX + 1];
	int	 r;

	if (seen.nsessions == 0)
		return;
	(void)strlcpy(user, seen.s.user, sizeof(user));
	snap(F_SESSIONS);
	r = db_session_del_user(user, NULL);
	check_change(F_SESSIONS, r, 0);
	if (bad[F_SESSIONS] == 0)
		FZ_ASSERT(db_session_list(list_not_user, user) == 0);
}

/* Both files or neither: a bad sessions file keeps the user too. */
static void
op_user_del(void)
{
	struct fz_buf	 sbefore = { NULL, 0, 0 };
	char		 name[DB_NAME_MAX + 1];
	int		 r;

	if (seen.nusers == 0)
		return;
	(void)strlcpy(name, seen.u.name, sizeof(name));
	if (fz_slurp(dir, "sessions", &sbefore) == -1)
		sbefore.len = 0;
	snap(F_USERS);
	r = db_user_del(name);
	if (bad[F_USERS] != 0 || bad[F_SESSIONS] != 0) {
		FZ_ASSERT(r == -1);
		if (bad[F_USERS] != -1) {
			FZ_ASSERT(fz_slurp(dir, "users", &after) == 0);
			FZ_ASSERT(after.len == before.len && (after.len == 0 ||
			    memcmp(after.p, before.p, after.len) == 0));
		}
	} else {
		FZ_ASSERT(r == 0);
		FZ_ASSERT(db_user_list(list_not_user_of, name) == 0);
		FZ_ASSERT(db_session_list(list_not_user, name) == 0);
		FZ_ASSERT(db_check() == bad_total);
	}
	fz_buf_free(&sbefore);
}

static void
op_ident_del(void)
{
	struct db_ident	 got;
	int		 r;

	if (seen.nidents == 0)
		return;
	snap(F_IDENTS);
	r = db_ident_del(seen.i.addr);
	check_change(F_IDENTS, r, DB_NOTFOUND);
	if (bad[F_IDENTS] == 0)
		FZ_ASSERT(r == 0 &&
		    db_ident_get(seen.i.addr, &got) == DB_NOTFOUND);
}

static void (*const ops[6])(void) = {
	op_user_add, op_user_update, op_ident_set, op_session_add,
	op_session_touch_del, op_session_del_user
};

/* Only temporary files would be new names in the directory. */
static void
check_no_temp(void)
{
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		FZ_ASSERT(de->d_name[0] != '.' ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0);
	(void)closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	 i, total;

	if (size < 1)
		return 0;
	if (size > 1 + FZ_INPUT_MAX)
		size = 1 + FZ_INPUT_MAX;
	put_files(data + 1, size - 1, data[0] & 0x80);
	thr = data[0] & 0x40 ? 1700000000LL : 0;
	memset(&seen, 0, sizeof(seen));

	total = db_check();
	FZ_ASSERT(total >= -1);
	FZ_ASSERT(db_user_list(list_user, NULL) == (bad[F_USERS] == -1 ?
	    -1 : 0));
	FZ_ASSERT(db_ident_list(list_ident, NULL) == 0);
	FZ_ASSERT(db_session_list(list_session, NULL) == 0);
	FZ_ASSERT(db_user_list(NULL, NULL) == -1);

	for (i = 0; i < 6; i++)
		if (data[0] & (1 << i))
			ops[i]();
	if (data[0] & 1 && data[0] & 2) {
		op_user_del();
		op_ident_del();
	}
	check_no_temp();
	return 0;
}
