/*
 * conf.c: owns authchatd's settings: embedded defaults, the parser of
 * authchatd.conf(5) ("key value" lines, '#' comments) and strict parsing
 * of ports and durations shared with the command line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "frame.h"
#include "log.h"

#ifndef STATE_DIR
#define STATE_DIR	"/var/lib/authchatd"
#endif

#define CONF_LINE_MAX	1024
#define PW_LIMIT	511	/* pw.h PW_MAX */
#define MAX_MESSAGE_CAP	(16 * 1024 * 1024)

struct conf_key {
	const char	*name;
	int		(*set)(struct conf *, const char *, const char **);
};

static const char *mode_names[] = { "echo", "raw", "ident", "auth" };

/* Embedded defaults: what authchatd does with no file and no options. */
void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->port = CONF_DEFAULT_PORT;
	c->mode = MODE_ECHO;
	c->syslog_facility = LOG_DAEMON;
	strlcpy(c->facility_name, "daemon", sizeof(c->facility_name));
	strlcpy(c->state_dir, STATE_DIR, sizeof(c->state_dir));
	c->max_children = 64;
	c->max_message = FRAME_DEFAULT_MAX;
	c->idle_timeout = 300;
	c->login_grace_time = 60;
	c->registration = 1;
	c->min_password = 8;
	c->session_idle = 30 * 60;
	c->session_lifetime = 7 * 86400;
	c->hash_cost = 0;
	c->fail_delay = 1;
	strlcpy(c->user, "authchatd", sizeof(c->user));
	c->startups_start = 10;
	c->startups_rate = 30;
	c->startups_full = 100;
	c->max_per_source = 10;
	c->netmask4 = 32;
	c->netmask6 = 64;
	c->pen.on = 1;
	c->pen.authfail = 5;
	c->pen.invaliduser = 5;
	c->pen.noauth = 1;
	c->pen.grace = 10;
	c->pen.min = 15;
	c->pen.max = 600;
}

const char *
conf_mode_name(enum conf_mode m)
{
	return mode_names[m];
}

/* A TCP port: digits only, 1..65535. */
int
conf_parse_port(const char *s, int *port, const char **why)
{
	const char *errstr;
	long long v;

	if (s[0] < '0' || s[0] > '9') {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	v = strtonum(s, 1, 65535, &errstr);
	if (errstr != NULL) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* Seconds, or a number with suffix s, m, h or d; at most 365 days. */
int
conf_parse_duration(const char *s, int *secs, const char **why)
{
	char num[32];
	const char *errstr;
	long long v, mult = 1;
	size_t n = strlen(s);

	*why = "duration must be a number of seconds, or with s, m, h or d";
	if (n == 0 || n >= sizeof(num) || !isdigit((unsigned char)s[0]))
		return -1;
	strlcpy(num, s, sizeof(num));
	switch (num[n - 1]) {
	case 's': mult = 1; num[n - 1] = '\0'; break;
	case 'm': mult = 60; num[n - 1] = '\0'; break;
	case 'h': mult = 3600; num[n - 1] = '\0'; break;
	case 'd': mult = 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	v = strtonum(num, 0, 365LL * 86400 / mult, &errstr);
	if (errstr != NULL && strcmp(errstr, "too large") == 0)
		*why = "duration out of range (at most 365d)";
	if (errstr != NULL)
		return -1;
	*secs = (int)(v * mult);
	return 0;
}

static int
set_port(struct conf *c, const char *v, const char **why)
{
	if (conf_parse_port(v, &c->port, why) == -1)
		return -1;
	c->port_set = 1;
	return 0;
}

/* One or more addresses separated by blanks; the key may repeat. */
static int
set_listen(struct conf *c, const char *v, const char **why)
{
	char buf[CONF_LINE_MAX], *p, *tok, *save = NULL;

	strlcpy(buf, v, sizeof(buf));
	for (p = buf; (tok = strtok_r(p, " \t\r\n\v\f", &save)) != NULL;
	    p = NULL) {
		if (c->nlisten >= CONF_MAX_LISTEN) {
			*why = "too many listen addresses (at most 16)";
			return -1;
		}
		if (strlen(tok) >= sizeof(c->listen[0])) {
			*why = "listen address too long";
			return -1;
		}
		strlcpy(c->listen[c->nlisten++], tok, sizeof(c->listen[0]));
	}
	return 0;
}

static int
set_mode(struct conf *c, const char *v, const char **why)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(v, mode_names[i]) == 0) {
			c->mode = (enum conf_mode)i;
			return 0;
		}
	}
	*why = "mode must be echo, raw, ident or auth";
	return -1;
}

/* A path; "none" (as -T prints an unset one) unsets it. */
static int
set_path(char *dst, size_t len, const char *v, const char **why)
{
	if (strcmp(v, "none") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (strlcpy(dst, v, len) >= len) {
		*why = "path too long";
		return -1;
	}
	return 0;
}

static int
set_log_file(struct conf *c, const char *v, const char **why)
{
	return set_path(c->log_file, sizeof(c->log_file), v, why);
}

static int
set_pid_file(struct conf *c, const char *v, const char **why)
{
	return set_path(c->pid_file, sizeof(c->pid_file), v, why);
}

static int
set_state_dir(struct conf *c, const char *v, const char **why)
{
	if (strcmp(v, "none") == 0) {
		*why = "state_dir cannot be none";
		return -1;
	}
	return set_path(c->state_dir, sizeof(c->state_dir), v, why);
}

static int
set_facility(struct conf *c, const char *v, const char **why)
{
	int f;

	if ((f = log_facility(v)) == -1) {
		*why = "unknown syslog facility (daemon, auth, authpriv, user, "
		    "local0..local7)";
		return -1;
	}
	c->syslog_facility = f;
	strlcpy(c->facility_name, v, sizeof(c->facility_name));
	return 0;
}

/* A whole number from min to max into dst; else why is msg, dst untouched. */
static int
set_number(int *dst, const char *v, long long min, long long max,
    const char *msg, const char **why)
{
	const char *errstr;
	long long n;

	n = strtonum(v, min, max, &errstr);
	if (errstr != NULL) {
		*why = msg;
		return -1;
	}
	*dst = (int)n;
	return 0;
}

static int
set_max_children(struct conf *c, const char *v, const char **why)
{
	return set_number(&c->max_children, v, 1, 4096,
	    "max_children must be a number from 1 to 4096", why);
}

static int
set_max_message(struct conf *c, const char *v, const char **why)
{
	int n;

	if (set_number(&n, v, 1, MAX_MESSAGE_CAP,
	    "max_message must be a number from 1 to 16777216", why) == -1)
		return -1;
	c->max_message = (size_t)n;
	return 0;
}

/* A duration of at least one second. */
static int
set_positive(int *dst, const char *key, const char *v, const char **why)
{
	static char buf[64];

	if (conf_parse_duration(v, dst, why) == -1)
		return -1;
	if (*dst == 0) {
		snprintf(buf, sizeof(buf), "%s must be at least 1s", key);
		*why = buf;
		return -1;
	}
	return 0;
}

static int
set_idle_timeout(struct conf *c, const char *v, const char **why)
{
	return set_positive(&c->idle_timeout, "idle_timeout", v, why);
}

static int
set_grace(struct conf *c, const char *v, const char **why)
{
	return set_positive(&c->login_grace_time, "login_grace_time", v, why);
}

static int
set_session_idle(struct conf *c, const char *v, const char **why)
{
	return set_positive(&c->session_idle, "session_idle", v, why);
}

static int
set_session_lifetime(struct conf *c, const char *v, const char **why)
{
	return set_positive(&c->session_lifetime, "session_lifetime", v, why);
}

static int
set_fail_delay(struct conf *c, const char *v, const char **why)
{
	return conf_parse_duration(v, &c->fail_delay, why);
}

static int
set_registration(struct conf *c, const char *v, const char **why)
{
	if (strcmp(v, "yes") == 0)
		c->registration = 1;
	else if (strcmp(v, "no") == 0)
		c->registration = 0;
	else {
		*why = "registration must be yes or no";
		return -1;
	}
	return 0;
}

static int
set_min_password(struct conf *c, const char *v, const char **why)
{
	return set_number(&c->min_password, v, 1, PW_LIMIT,
	    "min_password must be a number from 1 to 511", why);
}

static int
set_hash_cost(struct conf *c, const char *v, const char **why)
{
	int n;

	if (set_number(&n, v, 0, 11,
	    "hash_cost must be a number from 0 (default) to 11", why) == -1)
		return -1;
	c->hash_cost = (unsigned long)n;
	return 0;
}

/* A user name as in passwd(5); "root" keeps root on purpose. */
static int
set_user(struct conf *c, const char *v, const char **why)
{
	if (strlen(v) >= sizeof(c->user) || strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v) ||
	    v[0] == '-') {
		*why = "user must be a user name from the passwd database";
		return -1;
	}
	strlcpy(c->user, v, sizeof(c->user));
	return 0;
}

/*
 * Split "a:b[:c]" into exactly n numbers from 0 to max; -1 when the shape
 * or a number is wrong.
 */
static int
conf_numbers(const char *v, int *out, int n, int max)
{
	char buf[64], *p, *tok, *save = NULL;
	const char *errstr;
	int i = 0;

	if (strlcpy(buf, v, sizeof(buf)) >= sizeof(buf) || strstr(buf, "::") ||
	    buf[0] == ':' || buf[strlen(buf) - 1] == ':')
		return -1;
	for (p = buf; (tok = strtok_r(p, ":", &save)) != NULL; p = NULL) {
		if (i == n)
			return -1;
		out[i++] = (int)strtonum(tok, 0, max, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return i == n ? 0 : -1;
}

/* "start:rate:full" as sshd's MaxStartups. */
static int
set_max_startups(struct conf *c, const char *v, const char **why)
{
	int n[3];

	*why = "max_startups must be start:rate:full, e.g. 10:30:100, with "
	    "start <= full and rate 1..100";
	if (conf_numbers(v, n, 3, 100000) == -1 || n[0] < 1 || n[2] < n[0] ||
	    n[1] < 1 || n[1] > 100)
		return -1;
	c->startups_start = n[0];
	c->startups_rate = n[1];
	c->startups_full = n[2];
	return 0;
}

static int
set_max_per_source(struct conf *c, const char *v, const char **why)
{
	return set_number(&c->max_per_source, v, 1, 100000,
	    "max_per_source must be a number from 1 to 100000", why);
}

static int
set_source_netmask(struct conf *c, const char *v, const char **why)
{
	int n[2];

	if (conf_numbers(v, n, 2, 128) == -1 || n[0] > 32) {
		*why = "source_netmask must be IPV4BITS:IPV6BITS, e.g. 32:64";
		return -1;
	}
	c->netmask4 = n[0];
	c->netmask6 = n[1];
	return 0;
}

/* One "name:duration" of the penalties key. */
static int
set_penalty(struct conf_penalties *p, char *tok, const char **why)
{
	static const struct { const char *name; size_t off; } kinds[] = {
		{ "authfail", offsetof(struct conf_penalties, authfail) },
		{ "invaliduser", offsetof(struct conf_penalties, invaliduser) },
		{ "noauth", offsetof(struct conf_penalties, noauth) },
		{ "grace-exceeded", offsetof(struct conf_penalties, grace) },
		{ "min", offsetof(struct conf_penalties, min) },
		{ "max", offsetof(struct conf_penalties, max) },
	};
	char *val;
	size_t i;

	if ((val = strchr(tok, ':')) == NULL) {
		*why = "penalties: each item is name:duration";
		return -1;
	}
	*val++ = '\0';
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(tok, kinds[i].name) == 0)
			return conf_parse_duration(val, (int *)(void *)
			    ((char *)p + kinds[i].off), why);
	*why = "penalties: names are authfail, invaliduser, noauth, "
	    "grace-exceeded, min and max";
	return -1;
}

/* sshd's PerSourcePenalties syntax, or "no". */
static int
set_penalties(struct conf *c, const char *v, const char **why)
{
	char buf[CONF_LINE_MAX], *p, *tok, *save = NULL;
	struct conf_penalties pen = c->pen;

	if (strcmp(v, "no") == 0) {
		c->pen.on = 0;
		return 0;
	}
	strlcpy(buf, v, sizeof(buf));
	for (p = buf; (tok = strtok_r(p, " \t", &save)) != NULL; p = NULL)
		if (set_penalty(&pen, tok, why) == -1)
			return -1;
	if (pen.max < pen.min) {
		*why = "penalties: max must not be less than min";
		return -1;
	}
	pen.on = 1;
	c->pen = pen;
	return 0;
}

/* An address or a network in CIDR notation. */
int
conf_parse_net(const char *s, struct conf_net *n)
{
	char buf[80], *slash;
	const char *errstr;
	int max;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return -1;
	n->bits = max;
	if (slash != NULL) {
		n->bits = (int)strtonum(slash, 0, max, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return 0;
}

static int
set_penalty_exempt(struct conf *c, const char *v, const char **why)
{
	char buf[CONF_LINE_MAX], *p, *tok, *save = NULL;

	if (strcmp(v, "none") == 0) {
		c->nexempt = 0;
		return 0;
	}
	strlcpy(buf, v, sizeof(buf));
	for (p = buf; (tok = strtok_r(p, " \t", &save)) != NULL; p = NULL) {
		if (c->nexempt >= CONF_MAX_EXEMPT) {
			*why = "penalty_exempt: at most 32 networks";
			return -1;
		}
		if (conf_parse_net(tok, &c->exempt[c->nexempt]) == -1) {
			*why = "penalty_exempt: not an address or network";
			return -1;
		}
		c->nexempt++;
	}
	return 0;
}

static const struct conf_key keys[] = {
	{ "port", set_port },
	{ "listen", set_listen },
	{ "mode", set_mode },
	{ "log_file", set_log_file },
	{ "syslog_facility", set_facility },
	{ "pid_file", set_pid_file },
	{ "state_dir", set_state_dir },
	{ "max_children", set_max_children },
	{ "max_message", set_max_message },
	{ "idle_timeout", set_idle_timeout },
	{ "login_grace_time", set_grace },
	{ "registration", set_registration },
	{ "min_password", set_min_password },
	{ "session_idle", set_session_idle },
	{ "session_lifetime", set_session_lifetime },
	{ "hash_cost", set_hash_cost },
	{ "fail_delay", set_fail_delay },
	{ "user", set_user },
	{ "max_startups", set_max_startups },
	{ "max_per_source", set_max_per_source },
	{ "source_netmask", set_source_netmask },
	{ "penalties", set_penalties },
	{ "penalty_exempt", set_penalty_exempt },
};

/* Set one key; on error writes the reason to err and returns -1. */
int
conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].name) != 0)
			continue;
		if (*value == '\0') {
			snprintf(err, errlen, "%s: missing value", key);
			return -1;
		}
		if (keys[i].set(c, value, &why) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	snprintf(err, errlen, "unknown key \"%.64s\"", key);
	return -1;
}

/* Split a line into key and value, trimming blanks and comments. */
static int
conf_split(char *line, char **key, char **value)
{
	char *p, *end;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*p == '\0')
		return 0;
	*key = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*value = p;
	return 1;
}

/*
 * Read one line into buf without its newline.  Returns the line length,
 * -1 at end of file, -2 for a line over the limit (the rest is skipped),
 * -3 for a line with a NUL byte.
 */
static int
conf_readline(FILE *fp, char *buf, size_t size)
{
	size_t n = 0;
	int ch, bad = 0;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (ch == '\0')
			bad = -3;
		else if (n + 1 >= size)
			bad = bad ? bad : -2;
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ch == EOF && n == 0 && bad == 0)
		return -1;
	return bad ? bad : (int)n;
}

/* Read a config file; every problem is logged with file:line. */
int
conf_load(struct conf *c, const char *path, int missing_ok)
{
	FILE *fp;
	char line[CONF_LINE_MAX + 1], err[256], *key, *value;
	int lineno = 0, errors = 0, r;

	if ((fp = fopen(path, "re")) == NULL) {
		if (missing_ok && errno == ENOENT)
			return 0;
		log_warn("%s", path);
		return -1;
	}
	while ((r = conf_readline(fp, line, sizeof(line))) != -1) {
		lineno++;
		if (r == -2 || r == -3) {
			log_warnx("%s:%d: %s", path, lineno, r == -2 ?
			    "line too long (at most 1024 bytes)" :
			    "NUL byte in line");
			errors++;
			continue;
		}
		if (conf_split(line, &key, &value) == 0)
			continue;
		if (conf_set(c, key, value, err, sizeof(err)) == -1) {
			log_warnx("%s:%d: %s", path, lineno, err);
			errors++;
		}
	}
	if (ferror(fp)) {
		log_warn("%s", path);
		errors++;
	}
	fclose(fp);
	return errors ? -1 : 0;
}

static void
conf_dump_exempt(const struct conf *c, FILE *fp)
{
	char buf[INET6_ADDRSTRLEN];
	int i;

	fprintf(fp, "penalty_exempt");
	for (i = 0; i < c->nexempt; i++) {
		inet_ntop(c->exempt[i].family, c->exempt[i].addr, buf,
		    sizeof(buf));
		fprintf(fp, " %s/%d", buf, c->exempt[i].bits);
	}
	fprintf(fp, "%s\n", c->nexempt == 0 ? " none" : "");
}

/* Print the effective configuration, every key (authchatd -T). */
void
conf_dump(const struct conf *c, FILE *fp)
{
	int i;

	fprintf(fp, "port %d\n", c->port);
	if (c->nlisten == 0)
		fprintf(fp, "listen * ::\n");
	for (i = 0; i < c->nlisten; i++)
		fprintf(fp, "listen %s\n", c->listen[i]);
	fprintf(fp, "mode %s\n", conf_mode_name(c->mode));
	fprintf(fp, "log_file %s\n", c->log_file[0] ? c->log_file : "none");
	fprintf(fp, "syslog_facility %s\n", c->facility_name);
	fprintf(fp, "pid_file %s\n", c->pid_file[0] ? c->pid_file : "none");
	fprintf(fp, "state_dir %s\n", c->state_dir);
	fprintf(fp, "max_children %d\n", c->max_children);
	fprintf(fp, "max_message %zu\n", c->max_message);
	fprintf(fp, "idle_timeout %d\n", c->idle_timeout);
	fprintf(fp, "login_grace_time %d\n", c->login_grace_time);
	fprintf(fp, "registration %s\n", c->registration ? "yes" : "no");
	fprintf(fp, "min_password %d\n", c->min_password);
	fprintf(fp, "session_idle %d\n", c->session_idle);
	fprintf(fp, "session_lifetime %d\n", c->session_lifetime);
	fprintf(fp, "hash_cost %lu\n", c->hash_cost);
	fprintf(fp, "fail_delay %d\n", c->fail_delay);
	fprintf(fp, "user %s\n", c->user);
	fprintf(fp, "max_startups %d:%d:%d\n", c->startups_start,
	    c->startups_rate, c->startups_full);
	fprintf(fp, "max_per_source %d\n", c->max_per_source);
	fprintf(fp, "source_netmask %d:%d\n", c->netmask4, c->netmask6);
	if (c->pen.on)
		fprintf(fp, "penalties authfail:%ds invaliduser:%ds noauth:%ds "
		    "grace-exceeded:%ds min:%ds max:%ds\n", c->pen.authfail,
		    c->pen.invaliduser, c->pen.noauth, c->pen.grace,
		    c->pen.min, c->pen.max);
	else
		fprintf(fp, "penalties no\n");
	conf_dump_exempt(c, fp);
}
