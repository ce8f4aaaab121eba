/*
 * cookie.c: owns the client's session tokens, like a browser's cookies:
 * one file per server host and port in $XDG_STATE_HOME/authchat/
 * (default ~/.local/state/authchat/), the directory 0700, each file 0600,
 * written through a temp file and rename.  A token file that others can
 * read is refused.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cookie.h"

#define COOKIE_MAX	128

/* mkdir that accepts an existing directory. */
static int
mkdir_one(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		fprintf(stderr, "authchat: mkdir %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The token directory, created on demand when create is set. */
static int
cookie_dir(char *buf, size_t len, int create)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char base[PATH_MAX];

	if (xdg != NULL && xdg[0] == '/')
		strlcpy(base, xdg, sizeof(base));
	else if (home != NULL && home[0] == '/') {
		snprintf(base, sizeof(base), "%s/.local", home);
		if (create && mkdir_one(base, 0700) == -1)
			return -1;
		strlcat(base, "/state", sizeof(base));
	} else
		return -1;
	if (create && mkdir_one(base, 0700) == -1)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/authchat", base) >= len)
		return -1;
	if (create && (mkdir_one(buf, 0700) == -1 || chmod(buf, 0700) == -1))
		return -1;
	return 0;
}

/* One file per server: HOST,PORT with unusual characters replaced. */
static int
cookie_path(const char *host, int port, char *buf, size_t len, int create)
{
	char dir[PATH_MAX], name[300];
	size_t i;

	if (cookie_dir(dir, sizeof(dir), create) == -1)
		return -1;
	snprintf(name, sizeof(name), "%s,%d", host, port);
	for (i = 0; name[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.:-,", name[i]) == NULL)
			name[i] = '_';
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) >= len ? -1 : 0;
}

/* A token we keep or send: printable ASCII without blanks, bounded. */
static int
cookie_valid(const char *tok)
{
	size_t n;

	for (n = 0; tok[n] != '\0'; n++)
		if ((unsigned char)tok[n] <= ' ' || (unsigned char)tok[n] > '~')
			return 0;
	return n > 0 && n <= COOKIE_MAX - 2;
}

/* The kept token for host and port; 0 with tok set, -1 when none. */
int
cookie_load(const char *host, int port, char *tok, size_t len)
{
	char path[PATH_MAX], buf[COOKIE_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if (cookie_path(host, port, path, sizeof(path), 0) == -1 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		fprintf(stderr, "authchat: not using token file %s: it is "
		    "readable by others (mode %04o); remove it\n", path,
		    (unsigned int)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	n = !cookie_valid(buf) || strlcpy(tok, buf, len) >= len ? -1 : 0;
	explicit_bzero(buf, sizeof(buf));
	return (int)n;
}

/* Keep a token: write a temp file 0600, fsync, rename over the old. */
int
cookie_save(const char *host, int port, const char *tok)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	size_t n = strlen(tok);
	int fd;

	if (!cookie_valid(tok)) {
		fprintf(stderr, "authchat: the server sent a malformed session "
		    "token; not kept\n");
		return -1;
	}
	if (cookie_path(host, port, path, sizeof(path), 1) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	if (fchmod(fd, 0600) == -1 || write(fd, tok, n) != (ssize_t)n ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "authchat: cannot keep the session token in %s: %s\n",
	    path, strerror(errno));
	return -1;
}

/* Forget the token of host and port. */
int
cookie_forget(const char *host, int port)
{
	char path[PATH_MAX];

	if (cookie_path(host, port, path, sizeof(path), 0) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}
