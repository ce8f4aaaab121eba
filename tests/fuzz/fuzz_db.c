/*
 * fuzz_db.c: libFuzzer target for the state database, src/db.c: its
 * record parser through every lookup and list, and its writers on top of
 * whatever the record files hold.
 *
 * Input: a control byte, then record files split on 0xff, each a header
 * byte and the file's content:
 *   header bits 0-1: directory: users, idents, sessions, lastlog
 *          bits 2-4: name: 0-6 one of a fixed set per directory (names[]
 *                    below: good keys, bad keys, a writer's temp file);
 *                    7 the content's first field (fuzzer bytes), if it
 *                    can be a file name at all
 *          bits 5-6: a regular file, a symbolic link, a directory, a FIFO
 *          bit 7:    its mtime is OLD_TIME rather than NEW_TIME
 *   control bits 0-6: which changes to try (ops[] below, in order), each
 *          on every name of its directory, fixed or from the input
 *          bit 7: the changes' variant (last login on add, lock on
 *          update, rehash on login, old last use on a new session,
 *          keep one session and expire by age)
 *
 * Oracle: a model of the directories, read back after every change, and
 * a record checker written apart from db.c:
 *   - db_check() counts exactly the files the checker calls malformed;
 *     every lookup agrees with it (the file's record, -1 for a malformed
 *     file or a bad key, DB_NOTFOUND when absent); last_login and
 *     last_used are the mtimes; lists give exactly the good records, in
 *     name order, dot files skipped;
 *   - each change returns what the model predicts and changes exactly
 *     what it should: the new record's line (mode 0600), the mtimes it
 *     sets, the files it removes; a malformed users/ or idents/ record is
 *     never replaced; every other file stays as it was, byte for byte,
 *     mtime included, so no temporary file is left behind either;
 *   - nothing outside the four directories changes (a symbolic link
 *     points at a canary file that must stay as it is).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#include "fuzz_common.h"

#define NDIRS		4
#define D_USERS		0
#define D_IDENTS	1
#define D_SESSIONS	2
#define D_LASTLOG	3
#define NFIXED		7
#define K_FILE		0
#define K_LINK		1
#define K_DIR		2
#define K_FIFO		3
#define MAX_SEGS	16
#define MAX_ENTS	256
#define MAX_TARGETS	(NFIXED + MAX_SEGS)
#define MAX_EDITS	64
#define NAME_LEN	80		/* longest name taken from input */
#define LINE_MAX_DB	1024		/* db.c's cap, without '\n' */
#define OLD_TIME	1000LL
#define NEW_TIME	1700000000LL
#define NOW		1800000000LL
#define NEW_HASH	"$y$j9T$F5Jx5fExrKuJdUvfOkYNb.$0123456789abcdefghijk"
#define HASH2		"$6$salt$Zm9vYmFy./"
#define HASH3		"$y$j9T$rehashed$0123456789"
#define WRONG_HASH	"wrong:hash"	/* ':' never in a good hash */
#define CANARY		"canary\n"
#define D1	"abababababababababababababababab" \
		"abababababababababababababababab"
#define D2	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define D3	"feedfacefeedfacefeedfacefeedface" \
		"feedfacefeedfacefeedfacefeedface"
#define D1U	"ABABABABABABABABABABABABABABABAB" \
		"ABABABABABABABABABABABABABABABAB"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const dirs[NDIRS] = {
	"users", "idents", "sessions", "lastlog"
};

static const char *const names[NDIRS][NFIXED] = {
	{ "alice", "bob", "fuzzuser", "123", "-x", ".alice.AbCd1234", "Zed" },
	{ "127.0.0.1", "::1", "192.0.2.1", "1.2.3", "2001:DB8::1",
	    ".127.0.0.1.AbCd1234", "::ffff:1.2.3.4" },
	{ D1, D2, D3, "short", D1U, "." D1 ".AbCd1234", D1 "0" },
	{ "alice", "bob", "fuzzuser", "123", "-x", ".alice.AbCd1234", "Zed" },
};

/* One directory entry as the model sees it. */
struct ent {
	int		 dir;
	char		 name[NAME_MAX + 1];
	int		 kind;
	int		 mode;
	long long	 mtime;
	struct fz_buf	 data;		/* a regular file's bytes */
};

struct model {
	struct ent	 e[MAX_ENTS];
	int		 n;
};

/* A record as the checker parses it. */
struct mrec {
	char		 line[LINE_MAX_DB + 2];
	char		*f[4];
	long long	 created;
	int		 locked;
};

/* What a change must do to one file; any other file must stay. */
#define E_GONE		0
#define E_LINE		1	/* a new record file holding line */
#define E_TOUCH		2	/* same file (or a new empty one), mtime */

struct edit {
	int		 dir;
	char		 name[NAME_MAX + 1];
	int		 what;
	char		 line[LINE_MAX_DB + 2];
	long long	 mtime;		/* -1: any */
};

static const char	*dir;
static int		 dfd[NDIRS];
static struct model	 models[2], *cur = &models[0], *nxt = &models[1];
static struct edit	 edits[MAX_EDITS];
static int		 nedits, variant, skip;
static char		 targets[NDIRS][MAX_TARGETS][NAME_LEN + 1];
static int		 ntargets[NDIRS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 i, root;

	(void)argc;
	(void)argv;
	fz_quiet_logs();
	dir = fz_tmpdir("db");
	if (db_init(dir) == -1 ||
	    (root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
	for (i = 0; i < NDIRS; i++)
		if ((dfd[i] = openat(root, dirs[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			abort();
	(void)close(root);
	fz_put(dir, "canary", CANARY, sizeof(CANARY) - 1, 0600);
	return 0;
}

/* shadow's rules, written apart from db_name_valid(). */
static int
name_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= DB_NAME_MAX && strspn(s, "abcdefghijklm"
	    "nopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	    s[0] != '-' && s[0] != '.' && strspn(s, "0123456789") != n;
}

static int
hash_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > DB_HASH_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~' || s[i] == ':')
			return 0;
	return 1;
}

static int
addr_ok(const char *s)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		 back[INET6_ADDRSTRLEN];
	int		 af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

	return strlen(s) <= DB_ADDR_MAX && inet_pton(af, s, bin) == 1 &&
	    inet_ntop(af, bin, back, sizeof(back)) != NULL &&
	    strcmp(s, back) == 0;
}

static int
digest_ok(const char *s)
{
	return strlen(s) == DB_DIGEST_LEN &&
	    strspn(s, "0123456789abcdef") == DB_DIGEST_LEN;
}

/* 0 .. 2^63-1 in plain digits. */
static int
time_ok(const char *s, long long *v)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 19 || strspn(s, "0123456789") != n ||
	    (n == 19 && strcmp(s, "9223372036854775807") > 0))
		return 0;
	*v = strtoll(s, NULL, 10);
	return 1;
}

/* Is key a key of directory d (so that db.c looks it up at all)? */
static int
key_ok(int d, const char *key)
{
	if (d == D_USERS || d == D_LASTLOG)
		return name_ok(key);
	if (d == D_IDENTS)
		return addr_ok(key);
	return digest_ok(key);
}

/* Split a line on single blanks into exactly n fields. */
static int
split(char *line, char **f, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		f[i] = line;
		if ((line = strchr(line, ' ')) != NULL)
			*line++ = '\0';
		if (f[i][0] == '\0' || (line == NULL) != (i == n - 1))
			return 0;
	}
	return 1;
}

/* The checker: is e a good record of its directory?  Fills *r if so. */
static int
rec_parse(const struct ent *e, struct mrec *r)
{
	size_t	 n = e->data.len;
	int	 nf = e->dir == D_USERS ? 4 : 3;

	if (e->kind != K_FILE || n == 0 || n > LINE_MAX_DB + 1 ||
	    e->data.p[n - 1] != '\n' || memchr(e->data.p, '\0', n) != NULL ||
	    memchr(e->data.p, '\n', n) != e->data.p + n - 1)
		return 0;
	memcpy(r->line, e->data.p, n - 1);
	r->line[n - 1] = '\0';
	if (!split(r->line, r->f, nf) || strcmp(r->f[0], e->name) != 0)
		return 0;
	if (e->dir == D_USERS) {
		r->locked = strcmp(r->f[3], "1") == 0;
		return name_ok(r->f[0]) && hash_ok(r->f[1]) &&
		    time_ok(r->f[2], &r->created) &&
		    (r->locked || strcmp(r->f[3], "0") == 0);
	}
	if (e->dir == D_IDENTS)
		return addr_ok(r->f[0]) && name_ok(r->f[1]) &&
		    time_ok(r->f[2], &r->created);
	return digest_ok(r->f[0]) && name_ok(r->f[1]) &&
	    time_ok(r->f[2], &r->created);
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent	*x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir - y->dir;
	return strcmp(x->name, y->name);
}

/* A regular file's bytes into b. */
static void
read_ent(int fd, const char *name, struct fz_buf *b)
{
	char	 chunk[4096];
	ssize_t	 n;
	int	 f;

	b->len = 0;
	if ((f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) == -1)
		abort();
	while ((n = read(f, chunk, sizeof(chunk))) > 0)
		fz_buf_add(b, chunk, (size_t)n);
	(void)close(f);
}

/* Read the four directories into m, sorted by directory and name. */
static void
snap_take(struct model *m)
{
	struct dirent	*de;
	struct stat	 st;
	struct ent	*e;
	DIR		*d;
	int		 i;

	m->n = 0;
	for (i = 0; i < NDIRS; i++) {
		if ((d = fdopendir(dup(dfd[i]))) == NULL)
			abort();
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			FZ_ASSERT(m->n < MAX_ENTS);
			e = &m->e[m->n++];
			if (fstatat(dfd[i], de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				abort();
			e->dir = i;
			(void)strlcpy(e->name, de->d_name, sizeof(e->name));
			e->kind = S_ISREG(st.st_mode) ? K_FILE :
			    S_ISLNK(st.st_mode) ? K_LINK :
			    S_ISDIR(st.st_mode) ? K_DIR : K_FIFO;
			e->mode = (int)(st.st_mode & 07777);
			e->mtime = (long long)st.st_mtim.tv_sec;
			e->data.len = 0;
			if (e->kind == K_FILE)
				read_ent(dfd[i], de->d_name, &e->data);
		}
		(void)closedir(d);
	}
	qsort(m->e, (size_t)m->n, sizeof(m->e[0]), ent_cmp);
}

static struct ent *
find(struct model *m, int d, const char *name)
{
	int	 i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].dir == d && strcmp(m->e[i].name, name) == 0)
			return &m->e[i];
	return NULL;
}

/* Is there a good record d/name in the current model?  Fills *r. */
static int
good(int d, const char *name, struct mrec *r)
{
	const struct ent	*e = find(cur, d, name);

	return e != NULL && rec_parse(e, r);
}

static long long
last_login(const char *name)
{
	const struct ent	*e = find(cur, D_LASTLOG, name);

	return e == NULL ? 0 : e->mtime;
}

/* List callbacks: the next good record of the model, in order. */
struct walk {
	int	 dir;
	int	 at;		/* index into cur->e */
};

static const struct ent *
walk_next(struct walk *w, const char *key)
{
	struct mrec	 r;

	for (; w->at < cur->n; w->at++)
		if (cur->e[w->at].dir == w->dir && cur->e[w->at].name[0] !=
		    '.' && rec_parse(&cur->e[w->at], &r))
			break;
	FZ_ASSERT(w->at < cur->n && strcmp(cur->e[w->at].name, key) == 0);
	return &cur->e[w->at++];
}

static void
same_user(const struct db_user *u, const struct ent *e)
{
	struct mrec	 r;

	FZ_ASSERT(rec_parse(e, &r));
	FZ_ASSERT(strcmp(u->name, r.f[0]) == 0 && strcmp(u->hash, r.f[1]) ==
	    0 && u->created == r.created && u->locked == r.locked &&
	    u->last_login == last_login(u->name));
}

static void
same_ident(const struct db_ident *i, const struct ent *e)
{
	struct mrec	 r;

	FZ_ASSERT(rec_parse(e, &r));
	FZ_ASSERT(strcmp(i->addr, r.f[0]) == 0 && strcmp(i->name, r.f[1]) ==
	    0 && i->created == r.created);
}

static void
same_session(const struct db_session *s, const struct ent *e)
{
	struct mrec	 r;

	FZ_ASSERT(rec_parse(e, &r));
	FZ_ASSERT(strcmp(s->digest, r.f[0]) == 0 && strcmp(s->user, r.f[1]) ==
	    0 && s->created == r.created && s->last_used == e->mtime);
}

static int
list_user(const struct db_user *u, void *arg)
{
	same_user(u, walk_next(arg, u->name));
	return 0;
}

static int
list_ident(const struct db_ident *i, void *arg)
{
	same_ident(i, walk_next(arg, i->addr));
	return 0;
}

static int
list_session(const struct db_session *s, void *arg)
{
	same_session(s, walk_next(arg, s->digest));
	return 0;
}

/* No good record left after the walk. */
static void
walk_end(struct walk *w)
{
	struct mrec	 r;

	for (; w->at < cur->n; w->at++)
		FZ_ASSERT(cur->e[w->at].dir != w->dir ||
		    cur->e[w->at].name[0] == '.' ||
		    !rec_parse(&cur->e[w->at], &r));
}

/* One lookup of d/key against the model. */
static void
check_get(int d, const char *key)
{
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
	const struct ent	*e = find(cur, d, key);
	struct mrec		 r;
	int			 rc, want;

	if (!key_ok(d, key))
		want = -1;
	else if (e == NULL)
		want = DB_NOTFOUND;
	else
		want = rec_parse(e, &r) ? 0 : -1;
	if (d == D_USERS)
		rc = db_user_get(key, &u);
	else if (d == D_IDENTS)
		rc = db_ident_get(key, &i);
	else
		rc = db_session_get(key, &s);
	FZ_ASSERT(rc == want);
	if (rc != 0)
		return;
	if (d == D_USERS)
		same_user(&u, e);
	else if (d == D_IDENTS)
		same_ident(&i, e);
	else
		same_session(&s, e);
}

/* Every read against the model: db_check(), lookups, lists. */
static void
check_reads(void)
{
	struct walk	 w;
	struct mrec	 r;
	int		 i, d, bad = 0;

	for (i = 0; i < cur->n; i++) {
		FZ_ASSERT(db_name_valid(cur->e[i].name, NULL) ==
		    name_ok(cur->e[i].name));
		if (cur->e[i].dir == D_LASTLOG)
			continue;
		if (cur->e[i].name[0] != '.' && !rec_parse(&cur->e[i], &r))
			bad++;
		check_get(cur->e[i].dir, cur->e[i].name);
	}
	FZ_ASSERT(db_check() == bad);
	for (d = 0; d < D_LASTLOG; d++)
		for (i = 0; i < ntargets[d]; i++)
			check_get(d, targets[d][i]);
	w.dir = D_USERS;
	w.at = 0;
	FZ_ASSERT(db_user_list(list_user, &w) == 0);
	walk_end(&w);
	w.dir = D_IDENTS;
	w.at = 0;
	FZ_ASSERT(db_ident_list(list_ident, &w) == 0);
	walk_end(&w);
	w.dir = D_SESSIONS;
	w.at = 0;
	FZ_ASSERT(db_session_list(list_session, &w) == 0);
	walk_end(&w);
}

static struct edit *
expect(int d, const char *name, int what, long long mtime)
{
	struct edit	*ed;

	FZ_ASSERT(nedits < MAX_EDITS);
	ed = &edits[nedits++];
	ed->dir = d;
	(void)strlcpy(ed->name, name, sizeof(ed->name));
	ed->what = what;
	ed->line[0] = '\0';
	ed->mtime = mtime;
	return ed;
}

static struct edit *
find_edit(int d, const char *name)
{
	int	 i;

	for (i = 0; i < nedits; i++)
		if (edits[i].dir == d && strcmp(edits[i].name, name) == 0)
			return &edits[i];
	return NULL;
}

static int
same_ent(const struct ent *a, const struct ent *b)
{
	return a->kind == b->kind && a->mode == b->mode &&
	    a->data.len == b->data.len && (a->data.len == 0 ||
	    memcmp(a->data.p, b->data.p, a->data.len) == 0);
}

/* An entry of the new model against the old one and the edits. */
static void
check_ent(const struct ent *a)
{
	const struct edit	*ed = find_edit(a->dir, a->name);
	const struct ent	*b = find(cur, a->dir, a->name);

	if (ed == NULL) {
		FZ_ASSERT(b != NULL && same_ent(a, b) && a->mtime == b->mtime);
		return;
	}
	FZ_ASSERT(ed->what != E_GONE);
	FZ_ASSERT(ed->mtime == -1 || a->mtime == ed->mtime);
	if (ed->what == E_LINE)
		FZ_ASSERT(a->kind == K_FILE && a->mode == 0600 &&
		    a->data.len == strlen(ed->line) &&
		    memcmp(a->data.p, ed->line, a->data.len) == 0);
	else if (b != NULL)
		FZ_ASSERT(same_ent(a, b));
	else
		FZ_ASSERT(a->kind == K_FILE && a->mode == 0600 &&
		    a->data.len == 0);
}

/*
 * A bad key: db.c refuses before it touches a file.  The snapshot after
 * it is left to the next change (or the end of the batch) to save time.
 */
static int
rejected(void)
{
	skip = 1;
	return -1;
}

/* After a change: its result, then exactly the edits happened. */
static void
verify(int rc, int want)
{
	struct model	*t;
	int		 i;

	FZ_ASSERT(rc == want);
	if (skip) {
		skip = 0;
		FZ_ASSERT(nedits == 0);
		return;
	}
	snap_take(nxt);
	for (i = 0; i < nxt->n; i++)
		check_ent(&nxt->e[i]);
	for (i = 0; i < cur->n; i++)
		if (find(nxt, cur->e[i].dir, cur->e[i].name) == NULL)
			FZ_ASSERT(find_edit(cur->e[i].dir, cur->e[i].name) !=
			    NULL && find_edit(cur->e[i].dir,
			    cur->e[i].name)->what == E_GONE);
	for (i = 0; i < nedits; i++)
		FZ_ASSERT(edits[i].what == E_GONE ||
		    find(nxt, edits[i].dir, edits[i].name) != NULL);
	nedits = 0;
	t = cur;
	cur = nxt;
	nxt = t;
}

static void
op_user_add(void)
{
	struct db_user	 u;
	struct edit	*ed;
	const struct ent *e;
	int		 i, want;

	for (i = 0; i < ntargets[D_USERS]; i++) {
		memset(&u, 0, sizeof(u));
		(void)strlcpy(u.name, targets[D_USERS][i], sizeof(u.name));
		(void)strlcpy(u.hash, NEW_HASH, sizeof(u.hash));
		u.created = 1;
		u.last_login = variant ? NOW : 0;
		if (!name_ok(u.name))
			want = rejected();
		else if (find(cur, D_USERS, u.name) != NULL)
			want = DB_EXISTS;
		else {
			want = 0;
			ed = expect(D_USERS, u.name, E_LINE, -1);
			(void)snprintf(ed->line, sizeof(ed->line),
			    "%s %s 1 0\n", u.name, NEW_HASH);
			if (variant)
				expect(D_LASTLOG, u.name, E_TOUCH, NOW);
			else if ((e = find(cur, D_LASTLOG, u.name)) != NULL &&
			    e->kind != K_DIR)
				/* a stale one, left by a login racing a delete */
				expect(D_LASTLOG, u.name, E_GONE, -1);
		}
		verify(db_user_add(&u), want);
	}
}

static void
op_user_update(void)
{
	struct db_user	 u;
	struct mrec	 r;
	struct edit	*ed;
	int		 i, want;

	for (i = 0; i < ntargets[D_USERS]; i++) {
		memset(&u, 0, sizeof(u));
		(void)strlcpy(u.name, targets[D_USERS][i], sizeof(u.name));
		(void)strlcpy(u.hash, HASH2, sizeof(u.hash));
		u.created = 2;
		u.locked = variant;
		u.last_login = 99;	/* never written by an update */
		if (!name_ok(u.name))
			want = rejected();
		else if (find(cur, D_USERS, u.name) == NULL)
			want = DB_NOTFOUND;
		else if (!good(D_USERS, u.name, &r))
			want = -1;
		else {
			want = 0;
			ed = expect(D_USERS, u.name, E_LINE, -1);
			(void)snprintf(ed->line, sizeof(ed->line),
			    "%s %s 2 %d\n", u.name, HASH2, variant);
		}
		verify(db_user_update(&u), want);
	}
}

/* A login with old as the hash read before; what must it do? */
static int
login_plan(const char *name, const char *old, const char *new)
{
	struct mrec	 r;
	struct edit	*ed;

	if (!name_ok(name))
		return rejected();
	if (find(cur, D_USERS, name) == NULL)
		return DB_NOTFOUND;
	/* a malformed record is not the one checked: it fails closed */
	if (!good(D_USERS, name, &r) || r.locked || strcmp(r.f[1], old) != 0)
		return DB_CHANGED;
	if (new != NULL) {
		ed = expect(D_USERS, name, E_LINE, -1);
		(void)snprintf(ed->line, sizeof(ed->line), "%s %s %lld %d\n",
		    name, new, r.created, r.locked);
	}
	expect(D_LASTLOG, name, E_TOUCH, NOW + 1);
	return 0;
}

static void
op_user_login(void)
{
	struct mrec	 r;
	const char	*name, *new = variant ? HASH3 : NULL;
	char		 old[DB_HASH_MAX + 1];
	int		 i, want;

	for (i = 0; i < ntargets[D_USERS]; i++) {
		name = targets[D_USERS][i];
		(void)strlcpy(old, good(D_USERS, name, &r) ? r.f[1] : NEW_HASH,
		    sizeof(old));
		want = login_plan(name, old, new);
		verify(db_user_login(name, old, new, NOW + 1), want);
		want = login_plan(name, WRONG_HASH, new);
		verify(db_user_login(name, WRONG_HASH, new, NOW + 1), want);
	}
}

static void
op_ident_set(void)
{
	struct db_ident	 id;
	struct mrec	 r;
	struct edit	*ed;
	int		 i, want;

	for (i = 0; i < ntargets[D_IDENTS]; i++) {
		memset(&id, 0, sizeof(id));
		(void)strlcpy(id.addr, targets[D_IDENTS][i], sizeof(id.addr));
		(void)strlcpy(id.name, "fuzzident", sizeof(id.name));
		id.created = 7;
		if (!addr_ok(id.addr))
			want = rejected();
		else if (find(cur, D_IDENTS, id.addr) != NULL &&
		    !good(D_IDENTS, id.addr, &r))
			want = -1;
		else {
			want = 0;
			ed = expect(D_IDENTS, id.addr, E_LINE, -1);
			(void)snprintf(ed->line, sizeof(ed->line),
			    "%s fuzzident 7\n", id.addr);
		}
		verify(db_ident_set(&id), want);
	}
}

/*
 * A new session for each digest, by turns for each user (the variant
 * starts at "123": a user file that exists but is no name); a touch.
 */
static void
op_session_add(void)
{
	struct db_session	 s;
	struct edit		*ed;
	const char		*key;
	int			 i, want;

	for (i = 0; i < ntargets[D_SESSIONS]; i++) {
		key = targets[D_SESSIONS][i];
		memset(&s, 0, sizeof(s));
		(void)strlcpy(s.digest, key, sizeof(s.digest));
		(void)strlcpy(s.user, targets[D_USERS][(i + 3 * variant) %
		    ntargets[D_USERS]], sizeof(s.user));
		s.created = NEW_TIME;
		s.last_used = variant ? OLD_TIME : NOW;
		if (!digest_ok(s.digest))
			want = rejected();
		else if (find(cur, D_SESSIONS, s.digest) != NULL)
			want = DB_EXISTS;
		else if (find(cur, D_USERS, s.user) == NULL)
			want = DB_NOTFOUND;
		else if (!name_ok(s.user))
			want = -1;
		else {
			want = 0;
			ed = expect(D_SESSIONS, s.digest, E_LINE, s.last_used);
			(void)snprintf(ed->line, sizeof(ed->line),
			    "%s %s %lld\n", s.digest, s.user, NEW_TIME);
		}
		verify(db_session_add(&s), want);

		if (!digest_ok(key))
			want = rejected();
		else if (find(cur, D_SESSIONS, key) == NULL)
			want = DB_NOTFOUND;
		else {
			want = 0;
			expect(D_SESSIONS, key, E_TOUCH, NOW + 2);
		}
		verify(db_session_touch(key, NOW + 2), want);
	}
}

/*
 * The good sessions that go: user's but keep (user not NULL), or
 * those idle or made before the thresholds.  Their number.
 */
static int
sweep_plan(const char *user, const char *keep, long long idle_before,
    long long created_before)
{
	struct mrec	 r;
	int		 i, n = 0;

	for (i = 0; i < cur->n; i++) {
		if (cur->e[i].dir != D_SESSIONS || cur->e[i].name[0] == '.' ||
		    !rec_parse(&cur->e[i], &r))
			continue;
		if (user != NULL ? strcmp(r.f[1], user) != 0 ||
		    (keep != NULL && strcmp(r.f[0], keep) == 0) :
		    cur->e[i].mtime >= idle_before &&
		    r.created >= created_before)
			continue;
		expect(D_SESSIONS, cur->e[i].name, E_GONE, -1);
		n++;
	}
	return n;
}

static void
op_session_sweep(void)
{
	const char	*user, *keep = variant ? targets[D_SESSIONS][0] : NULL;
	long long	 created_before = variant ? NEW_TIME + 1 : 0;
	int		 i, want;

	want = sweep_plan(NULL, NULL, NEW_TIME, created_before);
	verify(db_session_expire(NEW_TIME, created_before), want);
	for (i = 0; i < ntargets[D_USERS]; i++) {
		user = targets[D_USERS][i];
		if (!name_ok(user))
			want = rejected();
		else {
			(void)sweep_plan(user, keep, 0, 0);
			want = 0;
		}
		verify(db_session_del_user(user, keep), want);
	}
}

/* Delete d/key: what must happen?  A directory cannot be unlinked. */
static int
del_plan(int d, const char *key)
{
	const struct ent	*e;

	if (!key_ok(d, key))
		return rejected();
	if ((e = find(cur, d, key)) == NULL)
		return DB_NOTFOUND;
	if (e->kind == K_DIR)
		return -1;
	expect(d, key, E_GONE, -1);
	return 0;
}

static int
user_del_plan(const char *name)
{
	int	 rc;

	if (!name_ok(name))
		return rejected();
	if (find(cur, D_USERS, name) == NULL)
		return DB_NOTFOUND;
	(void)sweep_plan(name, NULL, 0, 0);
	if ((rc = del_plan(D_USERS, name)) != 0)
		return rc;
	if (find(cur, D_LASTLOG, name) == NULL)
		return 0;
	return del_plan(D_LASTLOG, name);
}

static void
op_deletes(void)
{
	const char	*key;
	int		 i, want;

	for (i = 0; i < ntargets[D_SESSIONS]; i++) {
		key = targets[D_SESSIONS][i];
		want = del_plan(D_SESSIONS, key);
		verify(db_session_del(key), want);
	}
	for (i = 0; i < ntargets[D_IDENTS]; i++) {
		key = targets[D_IDENTS][i];
		want = del_plan(D_IDENTS, key);
		verify(db_ident_del(key), want);
	}
	for (i = 0; i < ntargets[D_USERS]; i++) {
		key = targets[D_USERS][i];
		want = user_del_plan(key);
		verify(db_user_del(key), want);
	}
}

static void (*const ops[7])(void) = {
	op_user_add, op_user_update, op_user_login, op_ident_set,
	op_session_add, op_session_sweep, op_deletes
};

/* Empty the four directories. */
static void
wipe(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 i;

	for (i = 0; i < NDIRS; i++) {
		if ((d = fdopendir(dup(dfd[i]))) == NULL)
			abort();
		rewinddir(d);
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0 &&
			    unlinkat(dfd[i], de->d_name, 0) == -1 &&
			    unlinkat(dfd[i], de->d_name, AT_REMOVEDIR) == -1)
				abort();
		(void)closedir(d);
	}
}

static void
add_target(int d, const char *name)
{
	int	 i;

	if (d == D_LASTLOG)
		d = D_USERS;
	for (i = 0; i < ntargets[d]; i++)
		if (strcmp(targets[d][i], name) == 0)
			return;
	if (ntargets[d] < MAX_TARGETS)
		(void)strlcpy(targets[d][ntargets[d]++], name, NAME_LEN + 1);
}

/* The name of a file from its content's first field; 0 if none. */
static int
name_from(const uint8_t *p, size_t n, char *name)
{
	size_t	 len = 0;

	while (len < n && len < NAME_LEN && p[len] != ' ' && p[len] != '\n')
		len++;
	if (len == 0 || memchr(p, '/', len) != NULL ||
	    memchr(p, '\0', len) != NULL)
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* One segment: its file, made as the header says. */
static void
put_seg(const uint8_t *p, size_t n)
{
	struct timespec	 ts[2];
	char		 name[NAME_LEN + 1];
	int		 hdr, d, kind, fd;

	if (n == 0)
		return;
	hdr = *p++;
	n--;
	d = hdr & 3;
	kind = (hdr >> 5) & 3;
	if (((hdr >> 2) & 7) < NFIXED)
		(void)strlcpy(name, names[d][(hdr >> 2) & 7], sizeof(name));
	else if (!name_from(p, n, name))
		return;
	if (unlinkat(dfd[d], name, 0) == -1)
		(void)unlinkat(dfd[d], name, AT_REMOVEDIR);
	if (kind == K_FILE) {
		if ((fd = openat(dfd[d], name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW, 0600)) == -1 || (n > 0 &&
		    write(fd, p, n) != (ssize_t)n))
			abort();
		(void)close(fd);
	} else if ((kind == K_LINK && symlinkat("../canary", dfd[d], name) ==
	    -1) || (kind == K_DIR && mkdirat(dfd[d], name, 0700) == -1) ||
	    (kind == K_FIFO && mkfifoat(dfd[d], name, 0600) == -1))
		abort();
	ts[0].tv_sec = ts[1].tv_sec = hdr & 0x80 ? OLD_TIME : NEW_TIME;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(dfd[d], name, ts, AT_SYMLINK_NOFOLLOW) == -1)
		abort();
	add_target(d, name);
}

/* The input's files, and the names the changes aim at. */
static void
put_files(const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *sep;
	int		 d, i, segs = 0;

	wipe();
	for (d = 0; d < NDIRS; d++) {
		ntargets[d] = 0;
		if (d != D_LASTLOG)
			for (i = 0; i < NFIXED; i++)
				add_target(d, names[d][i]);
	}
	while (p < end && segs++ < MAX_SEGS) {
		if ((sep = memchr(p, FZ_SEP, (size_t)(end - p))) == NULL)
			sep = end;
		put_seg(p, (size_t)(sep - p));
		p = sep + 1;
	}
}

/* Nothing outside the four directories changed. */
static void
check_outside(void)
{
	struct fz_buf	 b = { NULL, 0, 0 };
	DIR		*d;
	int		 n = 0;

	FZ_ASSERT(fz_slurp(dir, "canary", &b) == 0 &&
	    b.len == sizeof(CANARY) - 1 && memcmp(b.p, CANARY, b.len) == 0);
	fz_buf_free(&b);
	if ((d = opendir(dir)) == NULL)
		abort();
	while (readdir(d) != NULL)
		n++;
	(void)closedir(d);
	FZ_ASSERT(n == 2 + NDIRS + 2);		/* ., .., dirs, lock, canary */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	 i;

	if (size < 1)
		return 0;
	if (size > 1 + FZ_INPUT_MAX)
		size = 1 + FZ_INPUT_MAX;
	put_files(data + 1, size - 1);
	variant = (data[0] & 0x80) != 0;
	nedits = 0;
	snap_take(cur);
	check_reads();
	for (i = 0; i < 7; i++)
		if (data[0] & (1 << i)) {
			ops[i]();
			verify(0, 0);		/* nothing else changed */
			check_reads();
		}
	check_outside();
	return 0;
}
