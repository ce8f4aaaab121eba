/*
 * db.c: owns the state files in state_dir (users, idents, sessions).
 * Every line is parsed strictly; a malformed line is logged as
 * "file:line: reason", skipped by lookups and makes every change of
 * that file refuse, so nothing is ever lost.  Reads take no lock: a
 * file is only ever replaced by rename(2), so a reader sees a whole
 * old or a whole new version.  A change is a read-modify-write under
 * flock(2) on the one file "lock" (never renamed or removed): the new
 * content goes to a 0600 temp file ".NAME.XXXXXX" in state_dir, which
 * is written, fsynced, closed and renamed over NAME, then the directory
 * is fsynced (the shadow lib/commonio.c scheme).  A writer killed
 * before the rename leaves only its temp file behind.  Comment and
 * empty lines are kept verbatim.  See authchatd-users(5).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define DB_LINE_MAX	1024		/* bytes in a line, without '\n' */
#define DB_FILE_MAX	(256 << 20)	/* bytes in a file */
#define DB_FIELDS_MAX	5
#define DB_NUM_MAX	19		/* digits in LLONG_MAX */
#define DB_MODE		0600
#define DB_DIR_MODE	0700
#define DB_TEMP		".XXXXXX"	/* mkstemp(3) suffix of ".NAME" */

/* What db_next() found. */
#define DB_EOF		(-1)
#define DB_TEXT		0		/* comment or empty line */
#define DB_REC		1
#define DB_BAD		2

/* Field types: each has its own check. */
#define DB_F_NAME	0
#define DB_F_HASH	1
#define DB_F_ADDR	2
#define DB_F_DIGEST	3
#define DB_F_TIME	4		/* long long, 0 .. LLONG_MAX */
#define DB_F_FLAG	5		/* int, 0 or 1 */

/* What a change does to the records (db_edit()). */
#define DB_E_NONE	0
#define DB_E_REPLACE	1		/* the match becomes op->add */
#define DB_E_DROP	2		/* the match goes */
#define DB_E_TOUCH	3		/* the match gets last_used = a */
#define DB_E_EXPIRE	4		/* sessions idle or old (a, b) go */
#define DB_E_USER	5		/* sessions of user go, but keep */
#define DB_E_LOGIN	6		/* a login: last_login, maybe hash */

/* db_edit() results, and the internal "nothing to write" result. */
#define DB_KEEP		0
#define DB_DROP		1
#define DB_REPLACE	2
#define DB_SAME		3

union db_rec {
	struct db_user		 u;
	struct db_ident		 i;
	struct db_session	 s;
};

/* One field of a record: where it lives and what is wrong if bad. */
struct db_field {
	int		 type;
	size_t		 off;
	size_t		 size;
	const char	*msg;		/* too long, or out of range */
};

/* A table: a file of lines; field 0 is the key. */
struct db_table {
	const char	*file;
	const char	*fieldmsg;
	int		 nfields;
	struct db_field	 f[DB_FIELDS_MAX];
};

/* A whole file in memory and the line db_next() is at. */
struct db_file {
	const struct db_table *t;
	char		 path[PATH_MAX];
	char		*buf;
	size_t		 len, size, off;
	int		 lineno, bad;
};

/* The new content of a file; it grows by copy so it can be wiped. */
struct db_buf {
	char		*p;
	size_t		 len, size;
};

/* One change: which records match, what happens, what is added. */
struct db_op {
	int		 edit;		/* DB_E_* */
	int		 need;		/* DB_EXISTS: key must be absent,
					   DB_NOTFOUND: key must be present */
	const char	*key;
	long long	 a, b;
	const char	*user, *keep;
	int		*stale;		/* DB_E_LOGIN: set if the user changed */
	int		 adding;	/* add is appended if nothing matched */
	union db_rec	 add;
};

/* What db_walk() hands each record to: a lookup or a list callback. */
struct db_visit {
	const char	*key;
	void		*out;
	size_t		 size;
	int		 found;
	int		(*user)(const struct db_user *, void *);
	int		(*ident)(const struct db_ident *, void *);
	int		(*session)(const struct db_session *, void *);
	void		*arg;
};

#define DB_FIELD(type, st, m, msg) \
	{ type, offsetof(struct st, m), sizeof(((struct st *)0)->m), msg }

static const struct db_table db_users = {
	"users", "a users line has 5 fields", 5, {
	DB_FIELD(DB_F_NAME, db_user, name, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_HASH, db_user, hash, "hash is longer than 255 bytes"),
	DB_FIELD(DB_F_TIME, db_user, created,
	    "CREATED must be a number from 0 to 2^63-1"),
	DB_FIELD(DB_F_TIME, db_user, last_login,
	    "LAST_LOGIN must be a number from 0 to 2^63-1"),
	DB_FIELD(DB_F_FLAG, db_user, locked, "LOCKED must be 0 or 1") }
};

static const struct db_table db_idents = {
	"idents", "an idents line has 3 fields", 3, {
	DB_FIELD(DB_F_ADDR, db_ident, addr, "address is longer than 63 bytes"),
	DB_FIELD(DB_F_NAME, db_ident, name, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_TIME, db_ident, created,
	    "CREATED must be a number from 0 to 2^63-1") }
};

static const struct db_table db_sessions = {
	"sessions", "a sessions line has 4 fields", 4, {
	DB_FIELD(DB_F_DIGEST, db_session, digest,
	    "digest is not 64 hex digits"),
	DB_FIELD(DB_F_NAME, db_session, user, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_TIME, db_session, created,
	    "CREATED must be a number from 0 to 2^63-1"),
	DB_FIELD(DB_F_TIME, db_session, last_used,
	    "LAST_USED must be a number from 0 to 2^63-1") }
};

static char	 db_dir[PATH_MAX];	/* set by db_init() */

/* shadow's useradd rules: portable, and never mistaken for an option. */
int
db_name_valid(const char *name, const char **why)
{
	const char	*msg = NULL, *ok = "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t		 len;

	if (name == NULL || name[0] == '\0')
		msg = "name is empty";
	else if ((len = strnlen(name, DB_NAME_MAX + 1)) > DB_NAME_MAX)
		msg = "name is longer than 32 bytes";
	else if (strspn(name, ok) != len)
		msg = "name may contain only letters, digits, '.', '_' and '-'";
	else if (name[0] == '-')
		msg = "name may not start with '-'";
	else if (strspn(name, "0123456789") == len)
		msg = "name may not be all digits";
	if (why != NULL)
		*why = msg;
	return msg == NULL;
}

/* crypt(3) output and lock markers; ':' and space would break lines. */
static const char *
db_hash_why(const char *h)
{
	if (*h == '\0')
		return "hash is empty";
	for (; *h != '\0'; h++)
		if ((unsigned char)*h < '!' || (unsigned char)*h > '~' ||
		    *h == ':')
			return "hash may contain only printable ASCII "
			    "other than space and ':'";
	return NULL;
}

/* Numeric, and spelt as inet_ntop(3) does, so one host has one key. */
static const char *
db_addr_why(const char *a)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		 back[INET6_ADDRSTRLEN];
	int		 af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(af, a, bin) != 1)
		return "address is not a numeric IPv4 or IPv6 address";
	if (inet_ntop(af, bin, back, sizeof(back)) == NULL ||
	    strcmp(a, back) != 0)
		return "address is not written as inet_ntop(3) prints it";
	return NULL;
}

/* Check one field of a record that a caller may have filled badly. */
static const char *
db_field_why(const struct db_field *fd, const union db_rec *r)
{
	const char	*p = (const char *)r + fd->off, *why;
	long long	 v;
	int		 flag;

	if (fd->type == DB_F_TIME) {
		memcpy(&v, p, sizeof(v));
		return v < 0 ? fd->msg : NULL;
	}
	if (fd->type == DB_F_FLAG) {
		memcpy(&flag, p, sizeof(flag));
		return flag != 0 && flag != 1 ? fd->msg : NULL;
	}
	if (memchr(p, '\0', fd->size) == NULL)
		return fd->msg;
	if (fd->type == DB_F_NAME)
		return db_name_valid(p, &why) ? NULL : why;
	if (fd->type == DB_F_HASH)
		return db_hash_why(p);
	if (fd->type == DB_F_ADDR)
		return db_addr_why(p);
	/* DB_F_DIGEST */
	if (strlen(p) != DB_DIGEST_LEN ||
	    strspn(p, "0123456789abcdef") != DB_DIGEST_LEN)
		return fd->msg;
	return NULL;
}

/* Every field of a record; NULL if it may be written. */
static const char *
db_rec_why(const struct db_table *t, const union db_rec *r)
{
	const char	*why;
	int		 i;

	for (i = 0; i < t->nfields; i++)
		if ((why = db_field_why(&t->f[i], r)) != NULL)
			return why;
	return NULL;
}

/* Store one text field: digits only (no sign, no blanks) for times. */
static const char *
db_field_set(const struct db_field *fd, const char *s, union db_rec *r)
{
	char		*p = (char *)r + fd->off;
	const char	*errstr;
	long long	 v;
	int		 flag;

	if (fd->type == DB_F_TIME) {
		if (strspn(s, "0123456789") != strlen(s) ||
		    strlen(s) > DB_NUM_MAX)
			return fd->msg;
		v = strtonum(s, 0, LLONG_MAX, &errstr);
		if (errstr != NULL)
			return fd->msg;
		memcpy(p, &v, sizeof(v));
	} else if (fd->type == DB_F_FLAG) {
		if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
			return fd->msg;
		flag = s[0] - '0';
		memcpy(p, &flag, sizeof(flag));
	} else if (strlcpy(p, s, fd->size) >= fd->size)
		return fd->msg;
	return NULL;
}

/* One record as a line with its '\n'; the length, or -1. */
static int
db_format(const struct db_table *t, const union db_rec *r, char *buf,
    size_t size)
{
	const char	*p;
	long long	 v;
	size_t		 n = 0;
	int		 i, w, flag;

	for (i = 0; i < t->nfields; i++, n += (size_t)w) {
		p = (const char *)r + t->f[i].off;
		if (t->f[i].type == DB_F_TIME) {
			memcpy(&v, p, sizeof(v));
			w = snprintf(buf + n, size - n, "%lld ", v);
		} else if (t->f[i].type == DB_F_FLAG) {
			memcpy(&flag, p, sizeof(flag));
			w = snprintf(buf + n, size - n, "%d ", flag);
		} else
			w = snprintf(buf + n, size - n, "%s ", p);
		if (w < 0 || (size_t)w >= size - n)
			return -1;
	}
	if (n == 0)
		return -1;
	buf[n - 1] = '\n';
	return (int)n;
}

/* Split a line into exactly t->nfields fields and fill *r. */
static const char *
db_fields(const struct db_table *t, char *line, union db_rec *r)
{
	char		*f[DB_FIELDS_MAX], *s = line;
	const char	*why;
	int		 i;

	if (line[0] == ' ' || line[strlen(line) - 1] == ' ' ||
	    strstr(line, "  ") != NULL)
		return "fields are separated by exactly one space";
	for (i = 0; i < t->nfields && s != NULL; i++)
		f[i] = strsep(&s, " ");
	if (i < t->nfields || s != NULL)
		return t->fieldmsg;
	memset(r, 0, sizeof(*r));
	for (i = 0; i < t->nfields; i++)
		if ((why = db_field_set(&t->f[i], f[i], r)) != NULL)
			return why;
	return db_rec_why(t, r);
}

/* Classify one line (no '\n'); a record goes to *r, a reason to *why. */
static int
db_parse(const struct db_table *t, const char *p, size_t n,
    union db_rec *r, const char **why)
{
	char	 line[DB_LINE_MAX + 1];

	if (n > DB_LINE_MAX)
		*why = "line is longer than 1024 bytes";
	else if (memchr(p, '\0', n) != NULL)
		*why = "line contains a NUL byte";
	else if (n == 0 || p[0] == '#')
		return DB_TEXT;
	else {
		memcpy(line, p, n);
		line[n] = '\0';
		*why = db_fields(t, line, r);
		explicit_bzero(line, sizeof(line));
	}
	return *why == NULL ? DB_REC : DB_BAD;
}

/* Build state_dir/PREFIX NAME SUFFIX in a PATH_MAX buffer. */
static int
db_path(char *buf, const char *prefix, const char *name, const char *suffix)
{
	int	 n;

	if (db_dir[0] == '\0') {
		log_warnx("db: db_init() was not called");
		return -1;
	}
	n = snprintf(buf, PATH_MAX, "%s/%s%s%s", db_dir, prefix, name, suffix);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		log_warn("%s/%s%s", db_dir, prefix, name);
		return -1;
	}
	return 0;
}

/* Read up to size bytes; filling size means the file grew meanwhile. */
static int
db_readall(struct db_file *f, int fd)
{
	ssize_t	 n;

	while (f->len < f->size) {
		if ((n = read(fd, f->buf + f->len, f->size - f->len)) == 0)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("read %s", f->path);
			return -1;
		}
		f->len += (size_t)n;
	}
	log_warnx("%s: changed while being read", f->path);
	return -1;
}

/* Wipe and free: the users file holds hashes. */
static void
db_close(struct db_file *f)
{
	freezero(f->buf, f->size);
	f->buf = NULL;
}

/* Read t's file whole and unlocked; a missing file is an empty table. */
static int
db_open(struct db_file *f, const struct db_table *t)
{
	struct stat	 st;
	int		 fd, rc = -1;

	memset(f, 0, sizeof(*f));
	f->t = t;
	if (db_path(f->path, "", t->file, "") == -1)
		return -1;
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("open %s", f->path);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		log_warn("fstat %s", f->path);
	else if (!S_ISREG(st.st_mode) || st.st_size > DB_FILE_MAX)
		log_warnx("%s: not a regular file of at most %d bytes",
		    f->path, DB_FILE_MAX);
	else if ((f->buf = malloc(f->size = (size_t)st.st_size + 1)) == NULL)
		log_warn("malloc for %s", f->path);
	else
		rc = db_readall(f, fd);
	(void)close(fd);
	if (rc == -1)
		db_close(f);
	return rc;
}

/* Step to the next line; bad lines are logged and counted here. */
static int
db_next(struct db_file *f, const char **line, size_t *len, union db_rec *r)
{
	const char	*p, *nl, *why = NULL;
	int		 kind = DB_BAD;

	if (f->off >= f->len)
		return DB_EOF;	/* also when buf is NULL: no file */
	p = f->buf + f->off;
	f->lineno++;
	if ((nl = memchr(p, '\n', f->len - f->off)) == NULL) {
		*len = f->len - f->off;
		why = "last line has no newline";
	} else {
		*len = (size_t)(nl - p) + 1;
		kind = db_parse(f->t, p, *len - 1, r, &why);
	}
	*line = p;
	f->off += *len;
	if (kind == DB_BAD) {
		f->bad++;
		log_warnx("%s:%d: %s", f->path, f->lineno, why);
	}
	return kind;
}

/* Lookup and list callbacks; non-zero stops the walk. */
static int
db_visit(const struct db_table *t, const union db_rec *r, struct db_visit *v)
{
	if (v->key != NULL) {
		if (strcmp((const char *)r + t->f[0].off, v->key) != 0)
			return 0;
		memcpy(v->out, r, v->size);
		v->found = 1;
		return 1;
	}
	if (v->user != NULL)
		return v->user(&r->u, v->arg);
	if (v->ident != NULL)
		return v->ident(&r->i, v->arg);
	return v->session != NULL ? v->session(&r->s, v->arg) : 0;
}

/* Unlocked walk in file order; the number of bad lines seen, or -1. */
static int
db_walk(const struct db_table *t, struct db_visit *v)
{
	struct db_file	 f;
	union db_rec	 r;
	const char	*line;
	size_t		 len;
	int		 kind, bad;

	if (db_open(&f, t) == -1)
		return -1;
	while ((kind = db_next(&f, &line, &len, &r)) != DB_EOF)
		if (kind == DB_REC && v != NULL && db_visit(t, &r, v) != 0)
			break;
	explicit_bzero(&r, sizeof(r));
	bad = f.bad;
	db_close(&f);
	return bad;
}

/* Append n bytes; growth copies and wipes, never realloc(3). */
static int
db_buf_add(struct db_buf *b, const char *p, size_t n)
{
	char	*np;
	size_t	 size;

	if (n > DB_FILE_MAX - b->len) {
		log_warnx("db: new file would exceed %d bytes", DB_FILE_MAX);
		return -1;
	}
	if (b->len + n > b->size) {
		for (size = b->size < 4096 ? 4096 : b->size;
		    size < b->len + n; size *= 2)
			;
		if ((np = malloc(size)) == NULL) {
			log_warn("db: malloc");
			return -1;
		}
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		freezero(b->p, b->size);
		b->p = np;
		b->size = size;
	}
	if (n > 0) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
	return 0;
}

/* Every record written is checked first, whatever its origin. */
static int
db_buf_rec(struct db_buf *b, const struct db_table *t, const union db_rec *r)
{
	char		 line[DB_LINE_MAX + 2];
	const char	*why;
	int		 n, rc = -1;

	if ((why = db_rec_why(t, r)) != NULL)
		log_warnx("%s: refusing to write a bad record: %s", t->file,
		    why);
	else if ((n = db_format(t, r, line, sizeof(line))) == -1)
		log_warnx("%s: record too long", t->file);
	else
		rc = db_buf_add(b, line, (size_t)n);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* What op does to one record (match: its key is op->key). */
static int
db_edit(union db_rec *r, int match, const struct db_op *op)
{
	switch (op->edit) {
	case DB_E_REPLACE:
		if (match)
			*r = op->add;
		return match ? DB_REPLACE : DB_KEEP;
	case DB_E_DROP:
		return match ? DB_DROP : DB_KEEP;
	case DB_E_TOUCH:
		if (match)
			r->s.last_used = op->a;
		return match ? DB_REPLACE : DB_KEEP;
	case DB_E_EXPIRE:
		return r->s.last_used < op->a || r->s.created < op->b ?
		    DB_DROP : DB_KEEP;
	case DB_E_USER:
		return strcmp(r->s.user, op->user) == 0 && (op->keep == NULL ||
		    strcmp(r->s.digest, op->keep) != 0) ? DB_DROP : DB_KEEP;
	case DB_E_LOGIN:
		if (!match)
			return DB_KEEP;
		/* locked or given a new password since it was read */
		if (r->u.locked || strcmp(r->u.hash, op->user) != 0) {
			*op->stale = 1;
			return DB_KEEP;
		}
		r->u.last_login = op->a;
		if (op->keep != NULL)
			strlcpy(r->u.hash, op->keep, sizeof(r->u.hash));
		return DB_REPLACE;
	}
	return DB_KEEP;
}

/* Copy f to out through db_edit(); counts matches and changes. */
static int
db_edit_all(struct db_file *f, const struct db_op *op, struct db_buf *out,
    int *found, int *changed)
{
	union db_rec	 r;
	const char	*line;
	size_t		 len;
	int		 kind, act, match, rc = 0;

	while (rc == 0 && (kind = db_next(f, &line, &len, &r)) != DB_EOF) {
		act = DB_KEEP;
		if (kind == DB_REC) {
			match = op->key != NULL && strcmp((const char *)&r +
			    f->t->f[0].off, op->key) == 0;
			*found += match;
			act = db_edit(&r, match, op);
		}
		if (act != DB_KEEP)
			*changed = 1;
		if (act == DB_KEEP)
			rc = db_buf_add(out, line, len);
		else if (act == DB_REPLACE)
			rc = db_buf_rec(out, f->t, &r);
	}
	explicit_bzero(&r, sizeof(r));
	return rc;
}

/* New content of f in out: 0, DB_SAME, DB_EXISTS, DB_NOTFOUND or -1. */
static int
db_apply(struct db_file *f, const struct db_op *op, struct db_buf *out)
{
	int	 found = 0, changed = 0;

	if (db_edit_all(f, op, out, &found, &changed) == -1)
		return -1;
	if (f->bad > 0) {
		log_warnx("refusing to rewrite %s: it has %d malformed line%s",
		    f->path, f->bad, f->bad == 1 ? "" : "s");
		return -1;
	}
	if (found && op->need == DB_EXISTS)
		return DB_EXISTS;
	if (!found && op->need == DB_NOTFOUND)
		return DB_NOTFOUND;
	if (!found && op->adding) {
		if (db_buf_rec(out, f->t, &op->add) == -1)
			return -1;
		changed = 1;
	}
	return changed ? 0 : DB_SAME;
}

/* Full write, retrying short writes and EINTR. */
static int
db_writeall(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* New content to a synced 0600 temp file beside t's file, named tmp. */
static int
db_temp(const struct db_table *t, const struct db_buf *b, char *tmp)
{
	const char	*step = NULL;
	int		 fd;

	if (db_path(tmp, ".", t->file, DB_TEMP) == -1)
		return -1;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("mkstemp %s", tmp);
		return -1;
	}
	if (fchmod(fd, DB_MODE) == -1)
		step = "fchmod";
	else if (db_writeall(fd, b->p, b->len) == -1)
		step = "write";
	else if (fsync(fd) == -1)
		step = "fsync";
	if (step != NULL) {
		log_warn("%s %s", step, tmp);
		(void)close(fd);
	} else if (close(fd) == -1) {
		step = "close";
		log_warn("%s %s", step, tmp);
	}
	if (step == NULL)
		return 0;
	(void)unlink(tmp);
	return -1;
}

/* Under the lock: read t, apply op, stage the result in tmp. */
static int
db_stage(const struct db_table *t, const struct db_op *op, char *tmp)
{
	struct db_file	 f;
	struct db_buf	 out = { NULL, 0, 0 };
	int		 rc;

	if (db_open(&f, t) == -1)
		return -1;
	if ((rc = db_apply(&f, op, &out)) == 0)
		rc = db_temp(t, &out, tmp);
	freezero(out.p, out.size);
	db_close(&f);
	return rc;
}

/* The rename is the commit; the directory fsync makes it durable. */
static int
db_commit(const struct db_table *t, const char *tmp)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (db_path(path, "", t->file, "") == -1) {
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		log_warn("rename %s to %s", tmp, path);
		(void)unlink(tmp);
		return -1;
	}
	if ((fd = open(db_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open %s", db_dir);
		return -1;
	}
	if (fsync(fd) == -1) {
		log_warn("fsync %s", db_dir);
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	return 0;
}

/* The one lock every change holds (a 0600 file, never renamed). */
static int
db_lock(void)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd;

	if (db_path(path, "", "lock", "") == -1)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, DB_MODE)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		log_warn("fstat %s", path);
	else if ((st.st_mode & 07777) != DB_MODE && fchmod(fd, DB_MODE) == -1)
		log_warn("fchmod %s", path);
	else {
		while (flock(fd, LOCK_EX) == -1)
			if (errno != EINTR) {
				log_warn("flock %s", path);
				(void)close(fd);
				return -1;
			}
		return fd;	/* close(2) releases the lock */
	}
	(void)close(fd);
	return -1;
}

/* One locked read-modify-write of one table. */
static int
db_change(const struct db_table *t, struct db_op *op)
{
	char		 tmp[PATH_MAX];
	const char	*why;
	int		 lock, rc;

	if (op->adding) {
		if ((why = db_rec_why(t, &op->add)) != NULL) {
			log_warnx("%s: bad record: %s", t->file, why);
			return -1;
		}
		op->key = (const char *)&op->add + t->f[0].off;
	}
	if (op->key == NULL && op->user == NULL) {
		log_warnx("%s: no key given", t->file);
		return -1;
	}
	if ((lock = db_lock()) == -1)
		return -1;
	if ((rc = db_stage(t, op, tmp)) == 0)
		rc = db_commit(t, tmp);
	(void)close(lock);
	return rc == DB_SAME ? 0 : rc;
}

/* Changes that carry a record: copy it (bounded), change, wipe. */
static int
db_put(const struct db_table *t, const void *rec, size_t size,
    struct db_op *op)
{
	int	 rc;

	if (rec == NULL) {
		log_warnx("%s: no record given", t->file);
		return -1;
	}
	memcpy(&op->add, rec, size);
	op->adding = 1;
	rc = db_change(t, op);
	explicit_bzero(&op->add, sizeof(op->add));
	return rc;
}

/* Unlocked lookup of the first record with this key. */
static int
db_get(const struct db_table *t, const char *key, void *out, size_t size)
{
	struct db_visit	 v = { .key = key, .out = out, .size = size };

	if (key == NULL || out == NULL) {
		log_warnx("%s: no key or record given", t->file);
		return -1;
	}
	if (db_walk(t, &v) == -1)
		return -1;
	return v.found ? 0 : DB_NOTFOUND;
}

/* A list needs its callback; db_visit() calls it. */
static int
db_list(const struct db_table *t, struct db_visit *v, int set)
{
	if (!set) {
		log_warnx("%s: no callback given", t->file);
		return -1;
	}
	return db_walk(t, v) == -1 ? -1 : 0;
}

/* Remember state_dir, make it 0700 if new, take the lock once. */
int
db_init(const char *state_dir)
{
	struct stat	 st;
	int		 fd;

	db_dir[0] = '\0';
	if (state_dir == NULL || state_dir[0] == '\0' || strlen(state_dir) +
	    sizeof("/.sessions" DB_TEMP) > sizeof(db_dir)) {
		log_warnx("db: bad state directory name");
		return -1;
	}
	if (mkdir(state_dir, DB_DIR_MODE) == 0) {
		if (chmod(state_dir, DB_DIR_MODE) == -1) {
			log_warn("chmod %s", state_dir);
			return -1;
		}
	} else if (errno != EEXIST) {
		log_warn("mkdir %s", state_dir);
		return -1;
	}
	if (stat(state_dir, &st) == -1) {
		log_warn("stat %s", state_dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("%s: not a directory", state_dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		log_warnx("%s: group or other may access it (mode %04o)",
		    state_dir, (unsigned int)(st.st_mode & 07777));
	(void)strlcpy(db_dir, state_dir, sizeof(db_dir));
	if ((fd = db_lock()) == -1) {
		db_dir[0] = '\0';
		return -1;
	}
	(void)close(fd);
	return 0;
}

int
db_user_get(const char *name, struct db_user *u)
{
	return db_get(&db_users, name, u, sizeof(*u));
}

int
db_user_add(const struct db_user *u)
{
	struct db_op	 op = { .need = DB_EXISTS };

	return db_put(&db_users, u, sizeof(*u), &op);
}

int
db_user_update(const struct db_user *u)
{
	struct db_op	 op = { .edit = DB_E_REPLACE, .need = DB_NOTFOUND };

	return db_put(&db_users, u, sizeof(*u), &op);
}

/*
 * Both files are staged under the one lock, users first; sessions are
 * committed first, so a failure in between leaves a user without
 * sessions, never sessions that a new user of that name would inherit.
 */
/*
 * Record a login under the lock, only if the user is still as it was
 * read before the password was checked (old_hash, not locked); a lock or
 * a password change made meanwhile wins: DB_CHANGED.  new_hash, if not
 * NULL, replaces the hash (a rehash).
 */
int
db_user_login(const char *name, const char *old_hash, const char *new_hash,
    long long now)
{
	int		 stale = 0, rc;
	struct db_op	 op = { .edit = DB_E_LOGIN, .need = DB_NOTFOUND,
			    .key = name, .user = old_hash, .keep = new_hash,
			    .a = now, .stale = &stale };

	if (name == NULL || old_hash == NULL) {
		log_warnx("%s: no user given", db_users.file);
		return -1;
	}
	rc = db_change(&db_users, &op);
	return rc == 0 && stale ? DB_CHANGED : rc;
}

int
db_user_del(const char *name)
{
	struct db_op	 uop = { .edit = DB_E_DROP, .need = DB_NOTFOUND,
			    .key = name };
	struct db_op	 sop = { .edit = DB_E_USER, .user = name };
	char		 utmp[PATH_MAX], stmp[PATH_MAX];
	int		 lock, rc, src;

	if (name == NULL) {
		log_warnx("users: no key given");
		return -1;
	}
	if ((lock = db_lock()) == -1)
		return -1;
	if ((rc = db_stage(&db_users, &uop, utmp)) == 0) {
		if ((src = db_stage(&db_sessions, &sop, stmp)) == 0)
			src = db_commit(&db_sessions, stmp);
		if (src == -1) {
			(void)unlink(utmp);
			rc = -1;
		} else
			rc = db_commit(&db_users, utmp);
	}
	(void)close(lock);
	return rc;
}

int
db_user_list(int (*cb)(const struct db_user *, void *), void *arg)
{
	struct db_visit	 v = { .user = cb, .arg = arg };

	return db_list(&db_users, &v, cb != NULL);
}

int
db_ident_get(const char *addr, struct db_ident *i)
{
	return db_get(&db_idents, addr, i, sizeof(*i));
}

int
db_ident_set(const struct db_ident *i)
{
	struct db_op	 op = { .edit = DB_E_REPLACE };

	return db_put(&db_idents, i, sizeof(*i), &op);
}

int
db_ident_del(const char *addr)
{
	struct db_op	 op = { .edit = DB_E_DROP, .need = DB_NOTFOUND,
			    .key = addr };

	return db_change(&db_idents, &op);
}

int
db_ident_list(int (*cb)(const struct db_ident *, void *), void *arg)
{
	struct db_visit	 v = { .ident = cb, .arg = arg };

	return db_list(&db_idents, &v, cb != NULL);
}

int
db_session_get(const char *digest, struct db_session *s)
{
	return db_get(&db_sessions, digest, s, sizeof(*s));
}

/* Purges expired sessions too; a digest already present: DB_EXISTS. */
int
db_session_add(const struct db_session *s, long long idle_before,
    long long created_before)
{
	struct db_op	 op = { .edit = DB_E_EXPIRE, .need = DB_EXISTS,
			    .a = idle_before, .b = created_before };

	return db_put(&db_sessions, s, sizeof(*s), &op);
}

int
db_session_touch(const char *digest, long long now)
{
	struct db_op	 op = { .edit = DB_E_TOUCH, .need = DB_NOTFOUND,
			    .key = digest, .a = now };

	return db_change(&db_sessions, &op);
}

int
db_session_del(const char *digest)
{
	struct db_op	 op = { .edit = DB_E_DROP, .need = DB_NOTFOUND,
			    .key = digest };

	return db_change(&db_sessions, &op);
}

int
db_session_del_user(const char *user, const char *keep_digest)
{
	struct db_op	 op = { .edit = DB_E_USER, .user = user,
			    .keep = keep_digest };

	return db_change(&db_sessions, &op);
}

int
db_session_list(int (*cb)(const struct db_session *, void *), void *arg)
{
	struct db_visit	 v = { .session = cb, .arg = arg };

	return db_list(&db_sessions, &v, cb != NULL);
}

/* Parse all three files; every bad line is logged with file:line. */
int
db_check(void)
{
	int	 u, i, s;

	if ((u = db_walk(&db_users, NULL)) == -1 ||
	    (i = db_walk(&db_idents, NULL)) == -1 ||
	    (s = db_walk(&db_sessions, NULL)) == -1)
		return -1;
	return u + i + s;
}
