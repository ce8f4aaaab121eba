/*
 * db.c: owns the state database in state_dir: one plain-text file per
 * record, users/NAME, idents/ADDRESS and sessions/DIGEST, each holding
 * one line, and lastlog/NAME, empty files whose mtime is a user's last
 * login (as a session file's mtime is its last use).  A lookup opens one
 * file, so its cost does not grow with the number of records.
 *
 * Reads take no lock: a record is only ever replaced by rename(2), so a
 * reader sees a whole old or a whole new version.  Every change holds
 * flock(2) on the one file "lock" (never renamed or removed), re-reads
 * what it depends on, writes the new record to a 0600 temp file
 * ".KEY.XXXXXXXX" in the same directory, fsyncs it, renames it over
 * KEY and fsyncs the directory (the shadow lib/commonio.c scheme).
 * Sessions are the one exception: a new session is not fsynced, since
 * losing one in a crash only asks for the password again; removing one
 * is.  Timestamps (last login, last use) are set with utimensat(2):
 * no rewrite, no lock, no fsync.  A malformed file is logged as
 * "path: reason", never used, and never replaced or dropped except by
 * an explicit delete.  See authchatd-users(5).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
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

#define DB_LINE_MAX	1024		/* bytes in a record, without '\n' */
#define DB_FIELDS_MAX	4
#define DB_NUM_MAX	19		/* digits in LLONG_MAX */
#define DB_MODE		0600
#define DB_DIR_MODE	0700
#define DB_TEMP_RAND	8		/* random letters in a temp name */
#define DB_TEMP_TRIES	16

/* Field types: each has its own check. */
#define DB_F_NAME	0
#define DB_F_HASH	1
#define DB_F_ADDR	2
#define DB_F_DIGEST	3
#define DB_F_TIME	4		/* long long, 0 .. LLONG_MAX */
#define DB_F_FLAG	5		/* int, 0 or 1 */

/* The directories, in the order db_init() makes them. */
#define DB_D_USERS	0
#define DB_D_LASTLOG	1
#define DB_D_IDENTS	2
#define DB_D_SESSIONS	3
#define DB_NDIRS	4

/* Results of reading one record file, beside 0 and DB_NOTFOUND. */
#define DB_BAD		(-2)

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

/* A table: a directory of one-line files named by field 0. */
struct db_table {
	int		 dir;		/* DB_D_* */
	int		 durable;	/* fsync a new record */
	const char	*fieldmsg;
	int		 nfields;
	struct db_field	 f[DB_FIELDS_MAX];
};

#define DB_FIELD(type, st, m, msg) \
	{ type, offsetof(struct st, m), sizeof(((struct st *)0)->m), msg }

static const struct db_table db_users = {
	DB_D_USERS, 1, "a users record has 4 fields", 4, {
	DB_FIELD(DB_F_NAME, db_user, name, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_HASH, db_user, hash, "hash is longer than 255 bytes"),
	DB_FIELD(DB_F_TIME, db_user, created,
	    "CREATED must be a number from 0 to 2^63-1"),
	DB_FIELD(DB_F_FLAG, db_user, locked, "LOCKED must be 0 or 1") }
};

static const struct db_table db_idents = {
	DB_D_IDENTS, 1, "an idents record has 3 fields", 3, {
	DB_FIELD(DB_F_ADDR, db_ident, addr, "address is longer than 63 bytes"),
	DB_FIELD(DB_F_NAME, db_ident, name, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_TIME, db_ident, created,
	    "CREATED must be a number from 0 to 2^63-1") }
};

static const struct db_table db_sessions = {
	DB_D_SESSIONS, 0, "a sessions record has 3 fields", 3, {
	DB_FIELD(DB_F_DIGEST, db_session, digest,
	    "digest is not 64 hex digits"),
	DB_FIELD(DB_F_NAME, db_session, user, "name is longer than 32 bytes"),
	DB_FIELD(DB_F_TIME, db_session, created,
	    "CREATED must be a number from 0 to 2^63-1") }
};

static const char *db_dirname[DB_NDIRS] = {
	"users", "lastlog", "idents", "sessions"
};

static char	 db_root[PATH_MAX];	/* set by db_init() */
static int	 db_chmod;		/* the umask would take owner bits */
static int	 db_rootfd = -1;
static int	 db_dfd[DB_NDIRS] = { -1, -1, -1, -1 };

/* shadow's useradd rules: portable, a safe file name, never an option. */
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
	else if (name[0] == '.')
		msg = "name may not start with '.'";
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

/* A text field's own check; NULL if good. */
static const char *
db_text_why(int type, const char *p, const char *msg)
{
	const char	*why;

	if (type == DB_F_NAME)
		return db_name_valid(p, &why) ? NULL : why;
	if (type == DB_F_HASH)
		return db_hash_why(p);
	if (type == DB_F_ADDR)
		return db_addr_why(p);
	/* DB_F_DIGEST */
	if (strlen(p) != DB_DIGEST_LEN ||
	    strspn(p, "0123456789abcdef") != DB_DIGEST_LEN)
		return msg;
	return NULL;
}

/* Check one field of a record that a caller may have filled badly. */
static const char *
db_field_why(const struct db_field *fd, const union db_rec *r)
{
	const char	*p = (const char *)r + fd->off;
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
	return db_text_why(fd->type, p, fd->msg);
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

/* A key is a file name only once it passes its field's check. */
static int
db_key_ok(const struct db_table *t, const char *key)
{
	const char	*why;

	if (key == NULL || strnlen(key, t->f[0].size) >= t->f[0].size)
		why = t->f[0].msg;
	else
		why = db_text_why(t->f[0].type, key, t->f[0].msg);
	if (why != NULL)
		log_warnx("%s: bad key: %s", db_dirname[t->dir],
		    key == NULL ? "none given" : why);
	return why == NULL;
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

/* The content of a record file (n bytes) as *r, or why it is not one. */
static const char *
db_parse(const struct db_table *t, const char *key, char *buf, size_t n,
    union db_rec *r)
{
	const char	*why;

	if (n == 0)
		return "file is empty";
	if (n > DB_LINE_MAX + 1)
		return "record is longer than 1024 bytes";
	if (buf[n - 1] != '\n')
		return "record does not end with a newline";
	buf[n - 1] = '\0';
	if (n == 1)
		return "record is empty";
	if (memchr(buf, '\0', n - 1) != NULL)
		return "record contains a NUL byte";
	if (strchr(buf, '\n') != NULL)
		return "file has more than one line";
	if ((why = db_fields(t, buf, r)) != NULL)
		return why;
	if (strcmp((const char *)r + t->f[0].off, key) != 0)
		return "the record's key is not the file's name";
	return NULL;
}

/* Read a short file whole into buf; n is its length. */
static int
db_slurp(int fd, char *buf, size_t size, size_t *n)
{
	ssize_t	 r;

	*n = 0;
	while (*n < size) {
		if ((r = read(fd, buf + *n, size - *n)) == 0)
			return 0;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		*n += (size_t)r;
	}
	return 0;
}

/*
 * Read the record KEY of t: 0 with *r (and its file's mtime in *mtime
 * if not NULL), DB_NOTFOUND, DB_BAD (logged) or -1 (logged).
 */
static int
db_read(const struct db_table *t, const char *key, union db_rec *r,
    long long *mtime)
{
	char		 buf[DB_LINE_MAX + 2];
	const char	*why = NULL;
	struct stat	 st;
	size_t		 n;
	int		 fd, rc = -1;

	if ((fd = openat(db_dfd[t->dir], key, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return DB_NOTFOUND;
		if (errno == ELOOP)
			why = "a symbolic link, not a file";
		else if (errno == ENXIO || errno == EOPNOTSUPP)
			why = "not a regular file";
		else
			log_warn("open %s/%s/%s", db_root, db_dirname[t->dir],
			    key);
	} else if (fstat(fd, &st) == -1)
		log_warn("fstat %s/%s/%s", db_root, db_dirname[t->dir], key);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (db_slurp(fd, buf, sizeof(buf), &n) == -1)
		log_warn("read %s/%s/%s", db_root, db_dirname[t->dir], key);
	else if ((why = db_parse(t, key, buf, n, r)) == NULL) {
		if (mtime != NULL)
			*mtime = (long long)st.st_mtim.tv_sec;
		rc = 0;
	}
	if (fd != -1)
		(void)close(fd);
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL) {
		log_warnx("%s/%s/%s: %s", db_root, db_dirname[t->dir], key,
		    why);
		rc = DB_BAD;
	}
	if (rc != 0)
		explicit_bzero(r, sizeof(*r));
	return rc;
}

/* A file's mtime, or 0 if it does not exist; -1 on error (logged). */
static long long
db_mtime(int dir, const char *name)
{
	struct stat	 st;

	if (fstatat(db_dfd[dir], name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return (long long)st.st_mtim.tv_sec;
	if (errno == ENOENT)
		return 0;
	log_warn("stat %s/%s/%s", db_root, db_dirname[dir], name);
	return -1;
}

/* Is there an entry name in dir (a link counts, and is not followed)? */
static int
db_exists(int dir, const char *name)
{
	return faccessat(db_dfd[dir], name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Set a file's times to when; DB_NOTFOUND if it is not there. */
static int
db_stamp(int dir, const char *name, long long when)
{
	struct timespec	 ts[2] = { { (time_t)when, 0 }, { (time_t)when, 0 } };

	if (utimensat(db_dfd[dir], name, ts, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == ENOENT)
		return DB_NOTFOUND;
	log_warn("utimensat %s/%s/%s", db_root, db_dirname[dir], name);
	return -1;
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

/* A new 0600 temp file ".KEY.XXXXXXXX" in dir; its name goes to tmp. */
static int
db_temp_open(int dir, const char *key, char *tmp, size_t size)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char	 rnd[DB_TEMP_RAND + 1];
	int	 fd, i, try;

	for (try = 0; try < DB_TEMP_TRIES; try++) {
		for (i = 0; i < DB_TEMP_RAND; i++)
			rnd[i] = abc[arc4random_uniform(sizeof(abc) - 1)];
		rnd[DB_TEMP_RAND] = '\0';
		(void)snprintf(tmp, size, ".%s.%s", key, rnd);
		if ((fd = openat(db_dfd[dir], tmp, O_WRONLY | O_CREAT |
		    O_EXCL | O_CLOEXEC | O_NOFOLLOW, DB_MODE)) != -1 &&
		    db_chmod && fchmod(fd, DB_MODE) == -1) {
			(void)close(fd);
			(void)unlinkat(db_dfd[dir], tmp, 0);
			return -1;
		}
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Durable: the directory entry made by a rename or unlink is on disk. */
static int
db_dirsync(int dir)
{
	if (fsync(db_dfd[dir]) == 0)
		return 0;
	log_warn("fsync %s/%s", db_root, db_dirname[dir]);
	return -1;
}

/*
 * Under the lock: write r as its table's file KEY through a temp file;
 * a durable write is fsynced, file and directory.  mtime, if not 0,
 * becomes the file's mtime (a session's last use).
 */
static int
db_write(const struct db_table *t, const union db_rec *r, long long mtime)
{
	char		 line[DB_LINE_MAX + 2], tmp[DB_NAME_MAX + DB_DIGEST_LEN +
			    DB_TEMP_RAND + 8];
	const char	*key = (const char *)r + t->f[0].off, *why, *step = NULL;
	struct timespec	 ts[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
	int		 fd, n;

	if ((why = db_rec_why(t, r)) != NULL) {
		log_warnx("%s: refusing to write a bad record: %s",
		    db_dirname[t->dir], why);
		return -1;
	}
	if ((n = db_format(t, r, line, sizeof(line))) == -1) {
		log_warnx("%s/%s: record too long", db_dirname[t->dir], key);
		return -1;
	}
	if ((fd = db_temp_open(t->dir, key, tmp, sizeof(tmp))) == -1) {
		log_warn("create a temp file in %s/%s", db_root,
		    db_dirname[t->dir]);
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	if (db_writeall(fd, line, (size_t)n) == -1)
		step = "write";
	else if (mtime != 0 && futimens(fd, ts) == -1)
		step = "futimens";
	else if (t->durable && fsync(fd) == -1)
		step = "fsync";
	explicit_bzero(line, sizeof(line));
	if (close(fd) == -1 && step == NULL)
		step = "close";
	if (step == NULL && renameat(db_dfd[t->dir], tmp, db_dfd[t->dir],
	    key) == -1)
		step = "rename";
	if (step != NULL) {
		log_warn("%s %s/%s/%s", step, db_root, db_dirname[t->dir],
		    tmp);
		(void)unlinkat(db_dfd[t->dir], tmp, 0);
		return -1;
	}
	return t->durable ? db_dirsync(t->dir) : 0;
}

/* Under the lock: remove one file; DB_NOTFOUND if it is not there. */
static int
db_remove(int dir, const char *name)
{
	if (unlinkat(db_dfd[dir], name, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return DB_NOTFOUND;
	log_warn("unlink %s/%s/%s", db_root, db_dirname[dir], name);
	return -1;
}

/* The one lock every change holds (a 0600 file, never renamed). */
static int
db_lock(void)
{
	int	 fd;

	if (db_rootfd == -1) {
		log_warnx("db: db_init() was not called");
		return -1;
	}
	if ((fd = openat(db_rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, DB_MODE)) == -1 ||
	    (db_chmod && fchmod(fd, DB_MODE) == -1)) {
		log_warn("open %s/lock", db_root);
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			log_warn("flock %s/lock", db_root);
			(void)close(fd);
			return -1;
		}
	return fd;	/* close(2) releases the lock */
}

/* Release: closing the lock file drops the flock. */
static int
db_unlock(int lock, int rc)
{
	(void)close(lock);
	return rc;
}

/* Compare directory entry names for qsort(3). */
static int
db_namecmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Free what db_names() made. */
static void
db_names_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted names in dir, temp files (".*") left out. */
static int
db_names(int dir, char ***out, size_t *n)
{
	struct dirent	 *de;
	DIR		 *d;
	char		**names = NULL, **nn;
	size_t		  size = 0;
	int		  fd, rc = 0;

	*n = 0;
	if ((fd = dup(db_dfd[dir])) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("open %s/%s", db_root, db_dirname[dir]);
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	rewinddir(d);
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == size) {
			size = size == 0 ? 256 : size * 2;
			if ((nn = reallocarray(names, size,
			    sizeof(*names))) == NULL) {
				rc = -1;
				break;
			}
			names = nn;
		}
		if ((names[*n] = strdup(de->d_name)) == NULL)
			rc = -1;
		else
			(*n)++;
	}
	if (rc == -1 || errno != 0) {
		log_warn("read %s/%s", db_root, db_dirname[dir]);
		rc = -1;
	}
	(void)closedir(d);
	if (rc == -1) {
		db_names_free(names, *n);
		return -1;
	}
	if (*n > 0)
		qsort(names, *n, sizeof(*names), db_namecmp);
	*out = names;
	return 0;
}

/*
 * Every record of t in name order, to cb with its file's mtime; bad
 * files are logged and counted.  Returns that count, or -1.
 */
static int
db_walk(const struct db_table *t,
    int (*cb)(const union db_rec *, long long, void *), void *arg)
{
	union db_rec	  r;
	char		**names = NULL;
	long long	  mtime = 0;
	size_t		  i, n;
	int		  bad = 0, rc = 0, got;

	if (db_rootfd == -1) {
		log_warnx("db: db_init() was not called");
		return -1;
	}
	if (db_names(t->dir, &names, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		got = db_read(t, names[i], &r, &mtime);
		if (got == DB_BAD)
			bad++;
		else if (got == -1)
			rc = -1;
		else if (got == 0 && cb != NULL && cb(&r, mtime, arg) != 0)
			break;
	}
	explicit_bzero(&r, sizeof(r));
	db_names_free(names, n);
	return rc == -1 ? -1 : bad;
}

/* Open (making it if need be) one directory of the database. */
static int
db_opendir(int at, const char *path, const char *name)
{
	struct stat	 st;
	int		 fd, made;

	if (!(made = mkdirat(at, name, DB_DIR_MODE) == 0) && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (made && db_chmod && fchmod(fd, DB_DIR_MODE) == -1) {
		log_warn("chmod %s", path);
		(void)close(fd);
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("%s: group or other may access it (mode %04o)",
		    path, (unsigned int)(st.st_mode & 07777));
	return fd;
}

/* Forget the directories of an earlier db_init(). */
static void
db_closeall(void)
{
	int	 i;

	for (i = 0; i < DB_NDIRS; i++) {
		if (db_dfd[i] != -1)
			(void)close(db_dfd[i]);
		db_dfd[i] = -1;
	}
	if (db_rootfd != -1)
		(void)close(db_rootfd);
	db_rootfd = -1;
	db_root[0] = '\0';
}

/* Open state_dir and its directories (0700 if new), take the lock once. */
int
db_init(const char *state_dir)
{
	char	 path[PATH_MAX];
	mode_t	 mask;
	int	 i, fd;

	db_closeall();
	mask = umask(077);
	(void)umask(mask);
	db_chmod = (mask & 0700) != 0;
	if (state_dir == NULL || state_dir[0] == '\0' ||
	    strlen(state_dir) >= sizeof(db_root) - sizeof("/sessions")) {
		log_warnx("db: bad state directory name");
		return -1;
	}
	if ((db_rootfd = db_opendir(AT_FDCWD, state_dir, state_dir)) == -1)
		return -1;
	(void)strlcpy(db_root, state_dir, sizeof(db_root));
	for (i = 0; i < DB_NDIRS; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", state_dir,
		    db_dirname[i]);
		if ((db_dfd[i] = db_opendir(db_rootfd, path,
		    db_dirname[i])) == -1) {
			db_closeall();
			return -1;
		}
	}
	if ((fd = db_lock()) == -1) {
		db_closeall();
		return -1;
	}
	(void)close(fd);
	return 0;
}

/* The names of the database's directories, for chown at start-up. */
const char *
db_dir_name(int i)
{
	return i >= 0 && i < DB_NDIRS ? db_dirname[i] : NULL;
}

/* A lookup by key; a bad file is an error to the caller. */
static int
db_get(const struct db_table *t, const char *key, union db_rec *r,
    long long *mtime)
{
	int	 rc;

	if (db_rootfd == -1) {
		log_warnx("db: db_init() was not called");
		return -1;
	}
	if (!db_key_ok(t, key))
		return -1;
	rc = db_read(t, key, r, mtime);
	return rc == DB_BAD ? -1 : rc;
}

int
db_user_get(const char *name, struct db_user *u)
{
	union db_rec	 r;
	long long	 last;
	int		 rc;

	if (u == NULL || (rc = db_get(&db_users, name, &r, NULL)) != 0)
		return u == NULL ? -1 : rc;
	if ((last = db_mtime(DB_D_LASTLOG, name)) == -1) {
		explicit_bzero(&r, sizeof(r));
		return -1;
	}
	r.u.last_login = last;
	*u = r.u;
	explicit_bzero(&r, sizeof(r));
	return 0;
}

/* A login at when: lastlog/NAME's mtime, made if need be. */
static int
db_lastlog(const char *name, long long when)
{
	struct timespec	 ts[2] = { { (time_t)when, 0 }, { (time_t)when, 0 } };
	int		 fd, rc;

	if ((rc = db_stamp(DB_D_LASTLOG, name, when)) != DB_NOTFOUND)
		return rc;
	if ((fd = openat(db_dfd[DB_D_LASTLOG], name, O_WRONLY | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, DB_MODE)) == -1 ||
	    (db_chmod && fchmod(fd, DB_MODE) == -1) ||
	    futimens(fd, ts) == -1) {
		log_warn("%s/lastlog/%s", db_root, name);
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	(void)close(fd);
	return 0;
}

/* Copy a caller's record into the union db_write() takes. */
static int
db_put(const struct db_table *t, const void *rec, size_t size,
    union db_rec *r)
{
	if (rec == NULL) {
		log_warnx("%s: no record given", db_dirname[t->dir]);
		return -1;
	}
	memset(r, 0, sizeof(*r));
	memcpy(r, rec, size);
	return 0;
}

int
db_user_add(const struct db_user *u)
{
	union db_rec	 r;
	int		 lock, rc;

	if (db_put(&db_users, u, sizeof(*u), &r) == -1 ||
	    !db_key_ok(&db_users, r.u.name) || (lock = db_lock()) == -1)
		return -1;
	if (db_exists(DB_D_USERS, r.u.name))
		rc = DB_EXISTS;
	else if ((rc = db_write(&db_users, &r, 0)) == 0) {
		if (r.u.last_login > 0)
			rc = db_lastlog(r.u.name, r.u.last_login);
		else	/* a login racing an earlier delete may have left one */
			(void)db_remove(DB_D_LASTLOG, r.u.name);
	}
	explicit_bzero(&r, sizeof(r));
	return db_unlock(lock, rc);
}

/* Under the lock: the current record of u, which must be well-formed. */
static int
db_user_current(const char *name, union db_rec *cur)
{
	int	 rc;

	if ((rc = db_read(&db_users, name, cur, NULL)) == DB_BAD) {
		log_warnx("refusing to replace %s/users/%s: it is malformed",
		    db_root, name);
		return -1;
	}
	return rc;
}

/* A new hash or lock state; the last login is not written here. */
int
db_user_update(const struct db_user *u)
{
	union db_rec	 r, cur;
	int		 lock, rc;

	if (db_put(&db_users, u, sizeof(*u), &r) == -1 ||
	    !db_key_ok(&db_users, r.u.name) || (lock = db_lock()) == -1)
		return -1;
	if ((rc = db_user_current(r.u.name, &cur)) == 0)
		rc = db_write(&db_users, &r, 0);
	explicit_bzero(&r, sizeof(r));
	explicit_bzero(&cur, sizeof(cur));
	return db_unlock(lock, rc);
}

/* Is the user still as read before the password was checked? */
static int
db_user_same(const union db_rec *cur, const char *old_hash)
{
	return !cur->u.locked && strcmp(cur->u.hash, old_hash) == 0;
}

/*
 * Record a login, only if the user is still as it was read before the
 * password was checked (old_hash, not locked); a lock or a password
 * change made meanwhile wins: DB_CHANGED, as does a record found
 * malformed.  new_hash, if not NULL,
 * replaces the hash (a rehash) under the lock; otherwise nothing is
 * rewritten, only lastlog/NAME's mtime is set.
 */
int
db_user_login(const char *name, const char *old_hash, const char *new_hash,
    long long now)
{
	union db_rec	 cur;
	int		 lock = -1, rc;

	if (old_hash == NULL || !db_key_ok(&db_users, name))
		return -1;
	if (new_hash != NULL && (lock = db_lock()) == -1)
		return -1;
	/* a record gone bad meanwhile is not the one checked: fail closed */
	if ((rc = db_read(&db_users, name, &cur, NULL)) == DB_BAD ||
	    (rc == 0 && !db_user_same(&cur, old_hash)))
		rc = DB_CHANGED;
	if (rc == 0 && new_hash != NULL) {
		if (strlcpy(cur.u.hash, new_hash, sizeof(cur.u.hash)) >=
		    sizeof(cur.u.hash)) {
			log_warnx("users/%s: new hash too long", name);
			rc = -1;
		} else
			rc = db_write(&db_users, &cur, 0);
	}
	explicit_bzero(&cur, sizeof(cur));
	if (rc == 0)
		rc = db_lastlog(name, now);
	return lock == -1 ? rc : db_unlock(lock, rc);
}

/* Under the lock: sessions of user go, except keep; -1 on error. */
static int
db_session_sweep(const char *user, const char *keep, long long idle_before,
    long long created_before)
{
	union db_rec	  r;
	char		**names = NULL;
	long long	  used = 0;
	size_t		  i, n;
	int		  rc = 0, got, gone = 0;

	if (db_names(DB_D_SESSIONS, &names, &n) == -1)
		return -1;
	for (i = 0; i < n && rc != -1; i++) {
		if ((got = db_read(&db_sessions, names[i], &r, &used)) != 0) {
			rc = got == -1 ? -1 : rc;
			continue;
		}
		if (user != NULL ? strcmp(r.s.user, user) != 0 ||
		    (keep != NULL && strcmp(r.s.digest, keep) == 0) :
		    used >= idle_before && r.s.created >= created_before)
			continue;
		if (db_remove(DB_D_SESSIONS, names[i]) == -1)
			rc = -1;
		else
			gone++;
	}
	db_names_free(names, n);
	if (gone > 0 && db_dirsync(DB_D_SESSIONS) == -1)
		rc = -1;
	return rc == -1 ? -1 : gone;
}

/* The user goes with its sessions (first) and its last login. */
int
db_user_del(const char *name)
{
	int	 lock, rc;

	if (!db_key_ok(&db_users, name) || (lock = db_lock()) == -1)
		return -1;
	if (!db_exists(DB_D_USERS, name))
		rc = DB_NOTFOUND;
	else if ((rc = db_session_sweep(name, NULL, 0, 0)) != -1 &&
	    (rc = db_remove(DB_D_USERS, name)) == 0) {
		if (db_remove(DB_D_LASTLOG, name) == -1)
			rc = -1;
		else
			rc = db_dirsync(DB_D_USERS);
	}
	return db_unlock(lock, rc);
}

/* db_walk() callbacks that hand each table's record to the caller's. */
struct db_cb {
	int	(*user)(const struct db_user *, void *);
	int	(*ident)(const struct db_ident *, void *);
	int	(*session)(const struct db_session *, void *);
	void	*arg;
};

static int
db_user_visit(const union db_rec *r, long long mtime, void *arg)
{
	struct db_cb	*c = arg;
	struct db_user	 u = r->u;
	int		 rc;

	(void)mtime;
	if ((u.last_login = db_mtime(DB_D_LASTLOG, u.name)) == -1)
		u.last_login = 0;
	rc = c->user(&u, c->arg);
	explicit_bzero(&u, sizeof(u));
	return rc;
}

int
db_user_list(int (*cb)(const struct db_user *, void *), void *arg)
{
	struct db_cb	 c = { .user = cb, .arg = arg };

	if (cb == NULL) {
		log_warnx("users: no callback given");
		return -1;
	}
	return db_walk(&db_users, db_user_visit, &c) == -1 ? -1 : 0;
}

int
db_ident_get(const char *addr, struct db_ident *i)
{
	union db_rec	 r;
	int		 rc;

	if (i == NULL)
		return -1;
	if ((rc = db_get(&db_idents, addr, &r, NULL)) == 0)
		*i = r.i;
	return rc;
}

int
db_ident_set(const struct db_ident *i)
{
	union db_rec	 r, cur;
	int		 lock, rc;

	if (db_put(&db_idents, i, sizeof(*i), &r) == -1 ||
	    !db_key_ok(&db_idents, r.i.addr) || (lock = db_lock()) == -1)
		return -1;
	if (db_read(&db_idents, r.i.addr, &cur, NULL) == DB_BAD) {
		log_warnx("refusing to replace %s/idents/%s: it is malformed",
		    db_root, r.i.addr);
		rc = -1;
	} else
		rc = db_write(&db_idents, &r, 0);
	return db_unlock(lock, rc);
}

int
db_ident_del(const char *addr)
{
	int	 lock, rc;

	if (!db_key_ok(&db_idents, addr) || (lock = db_lock()) == -1)
		return -1;
	if ((rc = db_remove(DB_D_IDENTS, addr)) == 0)
		rc = db_dirsync(DB_D_IDENTS);
	return db_unlock(lock, rc);
}

static int
db_ident_visit(const union db_rec *r, long long mtime, void *arg)
{
	struct db_cb	*c = arg;

	(void)mtime;
	return c->ident(&r->i, c->arg);
}

int
db_ident_list(int (*cb)(const struct db_ident *, void *), void *arg)
{
	struct db_cb	 c = { .ident = cb, .arg = arg };

	if (cb == NULL) {
		log_warnx("idents: no callback given");
		return -1;
	}
	return db_walk(&db_idents, db_ident_visit, &c) == -1 ? -1 : 0;
}

int
db_session_get(const char *digest, struct db_session *s)
{
	union db_rec	 r;
	long long	 used = 0;
	int		 rc;

	if (s == NULL)
		return -1;
	if ((rc = db_get(&db_sessions, digest, &r, &used)) == 0) {
		*s = r.s;
		s->last_used = used;
	}
	return rc;
}

/*
 * A new session, under the lock so that it cannot outlive a user being
 * deleted at the same moment: its user must exist.  DB_EXISTS if the
 * digest is taken, DB_NOTFOUND if the user is gone.
 */
int
db_session_add(const struct db_session *s)
{
	union db_rec	 r;
	int		 lock, rc;

	if (db_put(&db_sessions, s, sizeof(*s), &r) == -1 ||
	    !db_key_ok(&db_sessions, r.s.digest) || (lock = db_lock()) == -1)
		return -1;
	if (db_exists(DB_D_SESSIONS, r.s.digest))
		rc = DB_EXISTS;
	else if (!db_exists(DB_D_USERS, r.s.user))
		rc = DB_NOTFOUND;
	else
		rc = db_write(&db_sessions, &r, s->last_used);
	return db_unlock(lock, rc);
}

/* The session's mtime is its last use: no lock, no rewrite. */
int
db_session_touch(const char *digest, long long now)
{
	if (db_rootfd == -1 || !db_key_ok(&db_sessions, digest) || now < 0)
		return -1;
	return db_stamp(DB_D_SESSIONS, digest, now);
}

int
db_session_del(const char *digest)
{
	int	 lock, rc;

	if (!db_key_ok(&db_sessions, digest) || (lock = db_lock()) == -1)
		return -1;
	if ((rc = db_remove(DB_D_SESSIONS, digest)) == 0)
		rc = db_dirsync(DB_D_SESSIONS);
	return db_unlock(lock, rc);
}

int
db_session_del_user(const char *user, const char *keep_digest)
{
	int	 lock, rc;

	if (!db_key_ok(&db_users, user) || (lock = db_lock()) == -1)
		return -1;
	rc = db_session_sweep(user, keep_digest, 0, 0);
	return db_unlock(lock, rc == -1 ? -1 : 0);
}

/* Sessions unused since idle_before or made before created_before go. */
int
db_session_expire(long long idle_before, long long created_before)
{
	int	 lock, rc;

	if ((lock = db_lock()) == -1)
		return -1;
	rc = db_session_sweep(NULL, NULL, idle_before, created_before);
	return db_unlock(lock, rc);
}

static int
db_session_visit(const union db_rec *r, long long mtime, void *arg)
{
	struct db_cb		*c = arg;
	struct db_session	 s = r->s;

	s.last_used = mtime;
	return c->session(&s, c->arg);
}

int
db_session_list(int (*cb)(const struct db_session *, void *), void *arg)
{
	struct db_cb	 c = { .session = cb, .arg = arg };

	if (cb == NULL) {
		log_warnx("sessions: no callback given");
		return -1;
	}
	return db_walk(&db_sessions, db_session_visit, &c) == -1 ? -1 : 0;
}

/* Read every record; each bad file is logged.  Their number, or -1. */
int
db_check(void)
{
	int	 u, i, s;

	if ((u = db_walk(&db_users, NULL, NULL)) == -1 ||
	    (i = db_walk(&db_idents, NULL, NULL)) == -1 ||
	    (s = db_walk(&db_sessions, NULL, NULL)) == -1)
		return -1;
	return u + i + s;
}
