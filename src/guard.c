/*
 * guard.c: owns the parent's defences against hostile load, after
 * sshd's MaxStartups, PerSourceMaxStartups and PerSourcePenalties: source
 * blocks, random early drop of unauthenticated connections, per-source
 * limits, the penalty table fed by how children ended, and refusal
 * logging that a flood cannot turn into a full disk.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "chat.h"
#include "conf.h"
#include "guard.h"
#include "log.h"

#define PEN_MIN_SLOTS	256
#define PEN_MAX_SLOTS	65536	/* sources remembered at most */
#define LOG_BURST	5	/* refusal lines per second, then a count */

struct penalty {
	struct srckey	 key;
	time_t		 expires;	/* 0: empty slot */
	int		 seconds;
};

static struct penalty	*pen;
static size_t		 npen, nslots;
static time_t		 log_second;
static int		 log_count;
static unsigned long	 log_dropped;
static int		 full_logged;

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Seconds as the log's timestamps count them, so the limit shows there. */
static time_t
log_sec(void)
{
	return time(NULL);
}

/* Keep the first bits of an address, zero the rest. */
static void
mask(unsigned char *a, size_t len, int bits)
{
	size_t i;

	for (i = 0; i < len; i++, bits -= 8) {
		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
}

/* The block a peer belongs to; IPv4-mapped IPv6 counts as IPv4. */
void
limits_key(const struct conf *c, const struct sockaddr_storage *ss,
    struct srckey *k)
{
	const struct sockaddr_in6 *sin6;

	memset(k, 0, sizeof(*k));
	if (ss->ss_family == AF_INET) {
		k->family = AF_INET;
		memcpy(k->addr, &((const struct sockaddr_in *)(const void *)
		    ss)->sin_addr, 4);
		mask(k->addr, 4, c->netmask4);
		return;
	}
	sin6 = (const struct sockaddr_in6 *)(const void *)ss;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		k->family = AF_INET;
		memcpy(k->addr, &sin6->sin6_addr.s6_addr[12], 4);
		mask(k->addr, 4, c->netmask4);
		return;
	}
	k->family = AF_INET6;
	memcpy(k->addr, &sin6->sin6_addr, 16);
	mask(k->addr, 16, c->netmask6);
}

/* Is the unmasked peer inside one of the penalty_exempt networks? */
static int
exempt(const struct conf *c, const struct sockaddr_storage *ss)
{
	struct conf tmp;
	struct srckey k, n;
	int i;

	for (i = 0; i < c->nexempt; i++) {
		tmp.netmask4 = tmp.netmask6 = c->exempt[i].bits;
		limits_key(&tmp, ss, &k);
		memset(&n, 0, sizeof(n));
		n.family = c->exempt[i].family;
		memcpy(n.addr, c->exempt[i].addr, sizeof(n.addr));
		mask(n.addr, n.family == AF_INET ? 4 : 16, c->exempt[i].bits);
		if (memcmp(&k, &n, sizeof(k)) == 0)
			return 1;
	}
	return 0;
}

static size_t
hash(const struct srckey *k)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h ^ (size_t)k->family;
}

/* The slot of key, or of the empty slot where it would go. */
static struct penalty *
pen_slot(const struct srckey *k)
{
	size_t i = hash(k) & (nslots - 1);

	while (pen[i].expires != 0 && memcmp(&pen[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & (nslots - 1);
	return &pen[i];
}

/* Drop expired entries, growing the table when most of it is live. */
static int
pen_rebuild(time_t now)
{
	struct penalty *old = pen, *p;
	size_t i, oldn = nslots, live = 0;

	for (i = 0; i < oldn; i++)
		live += old != NULL && old[i].expires > now;
	nslots = oldn == 0 ? PEN_MIN_SLOTS : oldn;
	while ((live + 1) * 2 >= nslots && nslots < PEN_MAX_SLOTS * 2)
		nslots *= 2;
	if ((pen = calloc(nslots, sizeof(*pen))) == NULL) {
		pen = old;
		nslots = oldn;
		return -1;
	}
	npen = 0;
	for (i = 0; old != NULL && i < oldn; i++) {
		if (old[i].expires <= now)
			continue;
		p = pen_slot(&old[i].key);
		*p = old[i];
		npen++;
	}
	free(old);
	return 0;
}

/* How a child ended, as penalty seconds for its source. */
static int
pen_seconds(const struct conf *c, int status)
{
	switch (status) {
	case CHAT_EXIT_AUTHFAIL:
		return c->pen.authfail;
	case CHAT_EXIT_INVALIDUSER:
		return c->pen.invaliduser;
	case CHAT_EXIT_NOAUTH:
		return c->pen.noauth;
	case CHAT_EXIT_GRACE:
		return c->pen.grace;
	default:
		return 0;
	}
}

/* A child from this source ended with status: add its penalty. */
void
limits_penalize(const struct conf *c, const struct sockaddr_storage *ss,
    int status)
{
	struct srckey k;
	struct penalty *p;
	time_t now = now_sec();
	int secs;

	if (!c->pen.on || (secs = pen_seconds(c, status)) == 0 ||
	    exempt(c, ss))
		return;
	limits_key(c, ss, &k);
	if ((npen + 1) * 2 >= nslots && pen_rebuild(now) == -1)
		return;
	p = pen_slot(&k);
	if (p->expires == 0 && npen >= PEN_MAX_SLOTS) {
		if (!full_logged)
			log_warnx("penalty table full (%d sources): new "
			    "sources are not penalised", PEN_MAX_SLOTS);
		full_logged = 1;
		return;
	}
	if (p->expires == 0) {
		full_logged = 0;
		p->key = k;
		npen++;
	}
	if (p->expires <= now)
		p->seconds = 0;
	p->seconds += secs;
	if (p->seconds > c->pen.max)
		p->seconds = c->pen.max;
	p->expires = now + p->seconds;
}

/* Seconds of penalty in force for this source, 0 when none. */
static int
penalised(const struct conf *c, const struct sockaddr_storage *ss)
{
	struct srckey k;
	struct penalty *p;
	time_t now;

	if (!c->pen.on || nslots == 0 || exempt(c, ss))
		return 0;
	limits_key(c, ss, &k);
	p = pen_slot(&k);
	now = now_sec();
	if (p->expires <= now || p->seconds < c->pen.min)
		return 0;
	return (int)(p->expires - now);
}

/*
 * May this connection in?  NULL when it may, else the one line the
 * client hears before the close.  startups: connections still in their
 * dialogue; same_source: connections from the peer's block.
 */
const char *
limits_admit(const struct conf *c, const struct sockaddr_storage *ss,
    int startups, int same_source)
{
	int p;

	if (penalised(c, ss) > 0)
		return "421 refused for now after failed logins from your "
		    "address; try again later";
	if (same_source >= c->max_per_source)
		return "421 too many connections from your address";
	if (startups >= c->startups_full)
		return "421 too many connections waiting to log in; try again "
		    "later";
	if (startups >= c->startups_start) {
		p = c->startups_rate + (100 - c->startups_rate) *
		    (startups - c->startups_start) /
		    (c->startups_full - c->startups_start + 1);
		if ((int)arc4random_uniform(100) < p)
			return "421 too many connections waiting to log in; "
			    "try again later";
	}
	return NULL;
}

/*
 * Say how many refusals went unlogged once their second is over.
 * Returns 1 while a count still waits, so the caller wakes up for it.
 */
int
limits_log_flush(void)
{
	if (log_dropped > 0 && log_sec() != log_second) {
		log_warnx("%lu more refusals not logged", log_dropped);
		log_dropped = 0;
	}
	return log_dropped > 0;
}

/* A refusal, logged at most LOG_BURST times a second, then counted. */
void
limits_log(const char *fmt, ...)
{
	va_list ap;
	time_t now = log_sec();

	if (now != log_second) {
		if (log_dropped > 0)
			log_warnx("%lu more refusals not logged", log_dropped);
		log_second = now;
		log_count = 0;
		log_dropped = 0;
	}
	if (log_count++ >= LOG_BURST) {
		log_dropped++;
		return;
	}
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}
