/*
 * fuzz_conf.c: libFuzzer target for the parser of authchatd.conf(5),
 * src/conf.c: conf_load() over the input as a file, then
 * conf_parse_duration(), conf_parse_port() and conf_parse_net() on each
 * line of it.
 *
 * Oracle: when conf_load() accepts the file, every setting is in its
 * documented range and every string is terminated, and what conf_dump()
 * prints (authchatd -T) loads back to the same settings ("listen * ::",
 * printed for no listen key, aside).  FUZZ_KNOWN=conf-state-dir-none
 * passes over an empty state_dir (corpus/conf/crash-state-dir-none),
 * conf-listen-space over a listen address with CR, VT or FF in it
 * (corpus/conf/crash-listen-cr).
 * The duration and port parsers agree with a reference written from
 * authchatd.conf(5) (digits only, an optional s/m/h/d suffix, at most
 * 365 days; ports 1 to 65535) and give a reason on refusal; what
 * conf_parse_net() accepts prints and parses back the same.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

#include "fuzz_common.h"

#define YEAR		(365LL * 86400)
#define MAX_SLICES	64

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*dir;
static char		 path[PATH_MAX], dump[PATH_MAX];
static FILE		*null;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf	 c;

	(void)argc;
	(void)argv;
	fz_quiet_logs();
	dir = fz_tmpdir("conf");
	(void)snprintf(path, sizeof(path), "%s/authchatd.conf", dir);
	(void)snprintf(dump, sizeof(dump), "%s/dump.conf", dir);
	if ((null = fopen("/dev/null", "w")) == NULL)
		abort();
	/* a missing file: fine only when the caller says so */
	conf_defaults(&c);
	if (conf_load(&c, path, 1) != 0 || conf_load(&c, path, 0) != -1)
		abort();
	return 0;
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* An address block as conf_parse_net() leaves it. */
static void
check_net(const struct conf_net *n)
{
	FZ_ASSERT(n->family == AF_INET || n->family == AF_INET6);
	FZ_ASSERT(n->bits >= 0 && n->bits <= (n->family == AF_INET ? 32 : 128));
}

/* Every field of an accepted configuration, against the manual. */
static void
check_conf(const struct conf *c)
{
	int	 i;

	FZ_ASSERT(c->port >= 1 && c->port <= 65535);
	FZ_ASSERT(c->nlisten >= 0 && c->nlisten <= CONF_MAX_LISTEN);
	for (i = 0; i < c->nlisten; i++) {
		FZ_ASSERT(terminated(c->listen[i], sizeof(c->listen[i])));
		FZ_ASSERT(c->listen[i][0] != '\0');
		FZ_ASSERT(strpbrk(c->listen[i], " \t") == NULL);
	}
	FZ_ASSERT(c->mode >= MODE_ECHO && c->mode <= MODE_AUTH);
	FZ_ASSERT(conf_mode_name(c->mode) != NULL);
	FZ_ASSERT(terminated(c->log_file, sizeof(c->log_file)));
	FZ_ASSERT(terminated(c->pid_file, sizeof(c->pid_file)));
	FZ_ASSERT(terminated(c->state_dir, sizeof(c->state_dir)));
	FZ_ASSERT(terminated(c->facility_name, sizeof(c->facility_name)));
	FZ_ASSERT(log_facility(c->facility_name) == c->syslog_facility);
	FZ_ASSERT(c->max_children >= 1 && c->max_children <= 4096);
	FZ_ASSERT(c->max_message >= 1 && c->max_message <= 16 * 1024 * 1024);
	FZ_ASSERT(c->idle_timeout >= 1 && c->idle_timeout <= YEAR);
	FZ_ASSERT(c->login_grace_time >= 1 && c->login_grace_time <= YEAR);
	FZ_ASSERT(c->session_idle >= 1 && c->session_idle <= YEAR);
	FZ_ASSERT(c->session_lifetime >= 1 && c->session_lifetime <= YEAR);
	FZ_ASSERT(c->fail_delay >= 0 && c->fail_delay <= YEAR);
	FZ_ASSERT(c->registration == 0 || c->registration == 1);
	FZ_ASSERT(c->min_password >= 1 && c->min_password <= 1024);
	FZ_ASSERT(c->hash_cost <= 11);
	FZ_ASSERT(terminated(c->user, sizeof(c->user)) && c->user[0] != '\0');
	FZ_ASSERT(c->startups_start >= 1 &&
	    c->startups_start <= c->startups_full &&
	    c->startups_full <= 100000);
	FZ_ASSERT(c->startups_rate >= 1 && c->startups_rate <= 100);
	FZ_ASSERT(c->max_per_source >= 1 && c->max_per_source <= 100000);
	FZ_ASSERT(c->netmask4 >= 0 && c->netmask4 <= 32);
	FZ_ASSERT(c->netmask6 >= 0 && c->netmask6 <= 128);
	FZ_ASSERT(c->pen.on == 0 || c->pen.on == 1);
	FZ_ASSERT(c->pen.min <= c->pen.max);
	FZ_ASSERT(c->nexempt >= 0 && c->nexempt <= CONF_MAX_EXEMPT);
	for (i = 0; i < c->nexempt; i++)
		check_net(&c->exempt[i]);
}

/* Does c show a bug FUZZ_KNOWN says to pass over? */
static int
known_bug(const struct conf *c)
{
	int	 i;

	if (c->state_dir[0] == '\0' && fz_known("conf-state-dir-none"))
		return 1;
	for (i = 0; i < c->nlisten; i++)
		if (strpbrk(c->listen[i], "\r\v\f") != NULL &&
		    fz_known("conf-listen-space"))
			return 1;
	return 0;
}

/* What -T prints is a configuration that loads back to the same. */
static void
check_dump(const struct conf *c)
{
	struct conf	 d;
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*fp;
	int		 i;

	if ((fp = open_memstream(&text, &len)) == NULL)
		abort();
	conf_dump(c, fp);
	if (fclose(fp) != 0)
		abort();
	if (known_bug(c)) {
		free(text);
		return;
	}
	fz_put(dir, "dump.conf", text, len, 0600);
	free(text);
	conf_defaults(&d);
	FZ_ASSERT(conf_load(&d, dump, 0) == 0);
	FZ_ASSERT(d.port == c->port && d.mode == c->mode);
	if (c->nlisten > 0) {
		FZ_ASSERT(d.nlisten == c->nlisten);
		for (i = 0; i < c->nlisten; i++)
			FZ_ASSERT(strcmp(d.listen[i], c->listen[i]) == 0);
	}
	FZ_ASSERT(strcmp(d.log_file, c->log_file) == 0);
	FZ_ASSERT(strcmp(d.pid_file, c->pid_file) == 0);
	FZ_ASSERT(strcmp(d.state_dir, c->state_dir) == 0);
	FZ_ASSERT(strcmp(d.facility_name, c->facility_name) == 0);
	FZ_ASSERT(d.syslog_facility == c->syslog_facility);
	FZ_ASSERT(d.max_children == c->max_children);
	FZ_ASSERT(d.max_message == c->max_message);
	FZ_ASSERT(d.idle_timeout == c->idle_timeout);
	FZ_ASSERT(d.login_grace_time == c->login_grace_time);
	FZ_ASSERT(d.registration == c->registration);
	FZ_ASSERT(d.min_password == c->min_password);
	FZ_ASSERT(d.session_idle == c->session_idle);
	FZ_ASSERT(d.session_lifetime == c->session_lifetime);
	FZ_ASSERT(d.hash_cost == c->hash_cost);
	FZ_ASSERT(d.fail_delay == c->fail_delay);
	FZ_ASSERT(strcmp(d.user, c->user) == 0);
	FZ_ASSERT(d.startups_start == c->startups_start &&
	    d.startups_rate == c->startups_rate &&
	    d.startups_full == c->startups_full);
	FZ_ASSERT(d.max_per_source == c->max_per_source);
	FZ_ASSERT(d.netmask4 == c->netmask4 && d.netmask6 == c->netmask6);
	FZ_ASSERT(d.pen.on == c->pen.on);
	if (c->pen.on)
		FZ_ASSERT(memcmp(&d.pen, &c->pen, sizeof(d.pen)) == 0);
	FZ_ASSERT(d.nexempt == c->nexempt);
	for (i = 0; i < c->nexempt; i++)
		FZ_ASSERT(memcmp(&d.exempt[i], &c->exempt[i],
		    sizeof(d.exempt[i])) == 0);
}

/* Digits, saturating above limit; -1 unless all of s[0..n) are digits. */
static long long
ref_number(const char *s, size_t n, long long limit)
{
	long long	 v = 0;
	size_t		 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > limit)
			v = limit + 1;
	}
	return v;
}

/* authchatd.conf(5): seconds, or with s, m, h or d; at most 365d. */
static int
ref_duration(const char *s, int *secs)
{
	size_t		 n = strlen(s);
	long long	 mult = 1, v;

	if (n == 0 || n >= 32)
		return -1;
	switch (s[n - 1]) {
	case 's': n--; break;
	case 'm': mult = 60; n--; break;
	case 'h': mult = 3600; n--; break;
	case 'd': mult = 86400; n--; break;
	}
	if ((v = ref_number(s, n, YEAR)) == -1 || v > YEAR / mult)
		return -1;
	*secs = (int)(v * mult);
	return 0;
}

static int
ref_port(const char *s, int *port)
{
	long long	 v = ref_number(s, strlen(s), 65535);

	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* One NUL-terminated slice through both parsers and their references. */
static void
check_slice(const char *s)
{
	struct conf_net	 n, m;
	char		 buf[INET6_ADDRSTRLEN], again[80];
	const char	*why = NULL;
	int		 got = -7, want = -7, r;

	r = conf_parse_duration(s, &got, &why);
	FZ_ASSERT(r == ref_duration(s, &want));
	FZ_ASSERT(r == -1 ? why != NULL : got == want);
	why = NULL;
	got = want = -7;
	r = conf_parse_port(s, &got, &why);
	FZ_ASSERT(r == ref_port(s, &want));
	FZ_ASSERT(r == -1 ? why != NULL : got == want);
	if (conf_parse_net(s, &n) == 0) {
		check_net(&n);
		FZ_ASSERT(inet_ntop(n.family, n.addr, buf, sizeof(buf)) !=
		    NULL);
		(void)snprintf(again, sizeof(again), "%s/%d", buf, n.bits);
		FZ_ASSERT(conf_parse_net(again, &m) == 0);
		FZ_ASSERT(memcmp(&m, &n, sizeof(m)) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c;
	const uint8_t	*p, *end, *nl;
	char		*s;
	int		 n;

	if (size > FZ_INPUT_MAX)
		size = FZ_INPUT_MAX;
	fz_put(dir, "authchatd.conf", data, size, 0600);
	conf_defaults(&c);
	check_conf(&c);
	if (conf_load(&c, path, 0) == 0) {
		check_conf(&c);
		check_dump(&c);
	} else
		conf_dump(&c, null);

	for (p = data, end = data + size, n = 0; p < end && n < MAX_SLICES;
	    n++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((s = strndup((const char *)p, (size_t)(nl - p))) == NULL)
			abort();
		check_slice(s);
		free(s);
	}
	return 0;
}
