/*
 * conf.h: the daemon's settings, from embedded defaults, authchatd.conf(5)
 * and the command line, in that order of precedence (last wins).
 */
#ifndef CONF_H
#define CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#define CONF_MAX_LISTEN		16
#define CONF_DEFAULT_PORT	9090

enum conf_mode {
	MODE_ECHO,
	MODE_RAW,
	MODE_IDENT,
	MODE_AUTH
};

#define CONF_MAX_EXEMPT		32

/* An address block: family, network bytes, prefix length. */
struct conf_net {
	int		 family;
	unsigned char	 addr[16];
	int		 bits;
};

/* Penalty seconds per way a connection can end badly (sshd's names). */
struct conf_penalties {
	int		 on;
	int		 authfail;
	int		 invaliduser;
	int		 noauth;
	int		 grace;
	int		 min;
	int		 max;
};

struct conf {
	int		 port;
	int		 port_set;		/* from file or command line */
	char		 listen[CONF_MAX_LISTEN][256];
	int		 nlisten;		/* 0: all addresses */
	enum conf_mode	 mode;
	char		 log_file[PATH_MAX];
	int		 syslog_facility;
	char		 facility_name[16];
	char		 pid_file[PATH_MAX];
	char		 state_dir[PATH_MAX];
	int		 max_children;
	size_t		 max_message;
	int		 idle_timeout;		/* seconds */
	int		 login_grace_time;	/* seconds for the dialogue */
	int		 registration;		/* unknown users may register */
	int		 min_password;		/* bytes */
	int		 session_idle;		/* seconds */
	int		 session_lifetime;	/* seconds */
	unsigned long	 hash_cost;		/* 0: libxcrypt's default */
	int		 fail_delay;		/* seconds after a failure */
	char		 user[64];		/* to drop to when root */
	int		 startups_start;	/* max_startups start:rate:full */
	int		 startups_rate;
	int		 startups_full;
	int		 max_per_source;
	int		 netmask4;		/* source_netmask 32:64 */
	int		 netmask6;
	struct conf_penalties pen;
	struct conf_net	 exempt[CONF_MAX_EXEMPT];
	int		 nexempt;
};

void		 conf_defaults(struct conf *);
int		 conf_load(struct conf *, const char *path, int missing_ok);
int		 conf_set(struct conf *, const char *key, const char *value,
		    char *err, size_t errlen);
const char	*conf_mode_name(enum conf_mode);
int		 conf_parse_port(const char *, int *, const char **);
int		 conf_parse_duration(const char *, int *, const char **);
void		 conf_dump(const struct conf *, FILE *);
int		 conf_parse_net(const char *, struct conf_net *);

#endif /* CONF_H */
