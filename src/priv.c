/*
 * priv.c: owns the privilege drop.  Started as root, the daemon binds its
 * port, hands the state files to the configured user, then becomes that
 * user for good (groups, gid, uid) and checks it cannot come back.  It
 * refuses to run as root unless "user root" is written explicitly.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "priv.h"

/* Before anything is opened: is there a user to become? */
int
priv_check(const struct conf *c)
{
	if (geteuid() != 0)
		return 0;
	if (c->user[0] == '\0') {
		log_warnx("refusing to run as root without a user to drop to; "
		    "set \"user\" (or \"user root\" to stay root)");
		return -1;
	}
	if (strcmp(c->user, "root") != 0 && getpwnam(c->user) == NULL) {
		log_warnx("user %s does not exist: create it (see "
		    "authchatd(8)) or set another \"user\"", c->user);
		return -1;
	}
	return 0;
}

/* Every file in dir, which was not ours: an upgrade or a root tool. */
static int
priv_chown_files(const char *dir, uid_t uid, gid_t gid)
{
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    fchownat(dirfd(d), de->d_name, uid, gid,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOENT) {
			log_warn("chown %s/%s", dir, de->d_name);
			rc = -1;
		}
	(void)closedir(d);
	return rc;
}

/* One path of the state; a directory not yet ours brings its files. */
static int
priv_chown_one(const char *path, int isdir, uid_t uid, gid_t gid)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("stat %s", path);
		return -1;
	}
	if (isdir && st.st_uid != uid &&
	    priv_chown_files(path, uid, gid) == -1)
		return -1;
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    lchown(path, uid, gid) == -1) {
		log_warn("chown %s", path);
		return -1;
	}
	return 0;
}

/*
 * The state directory, its lock and its directories belong to the user
 * we become.  The files in a directory are handed over only when the
 * directory was not that user's yet, so a start-up costs the same with
 * any number of records.
 */
static int
priv_chown_state(const struct conf *c, uid_t uid, gid_t gid)
{
	char		 path[PATH_MAX];
	const char	*name = NULL;
	int		 i;

	if (priv_chown_one(c->state_dir, 0, uid, gid) == -1)
		return -1;
	for (i = -1; i == -1 || (name = db_dir_name(i)) != NULL; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s",
		    c->state_dir, i == -1 ? "lock" : name) >= sizeof(path) ||
		    priv_chown_one(path, i != -1, uid, gid) == -1)
			return -1;
	}
	if (c->log_file[0] != '\0' && chown(c->log_file, uid, gid) == -1 &&
	    errno != ENOENT)
		log_warn("chown %s", c->log_file);
	return 0;
}

/* Become the configured user; -1 (logged) if any step fails. */
int
priv_drop(const struct conf *c)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (strcmp(c->user, "root") == 0) {
		log_warnx("running as root, as \"user root\" says");
		return 0;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("user %s does not exist", c->user);
		return -1;
	}
	if ((c->mode == MODE_IDENT || c->mode == MODE_AUTH) &&
	    priv_chown_state(c, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot become user %s", c->user);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		log_warnx("could regain root after dropping to %s", c->user);
		return -1;
	}
	log_info("running as user %s (uid %ld)", c->user, (long)pw->pw_uid);
	return 0;
}
