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

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "priv.h"

static const char *state_files[] = { "", "/users", "/idents", "/sessions",
    "/lock" };

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

/* The state directory and its files belong to the user we become. */
static int
priv_chown_state(const struct conf *c, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", c->state_dir,
		    state_files[i]) >= sizeof(path))
			return -1;
		if (chown(path, uid, gid) == -1 && errno != ENOENT) {
			log_warn("chown %s", path);
			return -1;
		}
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
