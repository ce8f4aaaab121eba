/*
 * db.h: the state database: one plain-text file per record in state_dir
 * (users/NAME, idents/ADDRESS, sessions/DIGEST, lastlog/NAME), changed
 * only under one lock and replaced atomically.  See authchatd-users(5).
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <time.h>

#define DB_NAME_MAX	32	/* bytes in a user or ident name */
#define DB_HASH_MAX	255	/* bytes in a crypt(3) hash */
#define DB_ADDR_MAX	63	/* bytes in a numeric address */
#define DB_DIGEST_LEN	64	/* hex SHA-256 of a session token */

struct db_user {
	char		name[DB_NAME_MAX + 1];
	char		hash[DB_HASH_MAX + 1];
	long long	created;	/* seconds since the epoch */
	long long	last_login;	/* 0: never (lastlog/NAME's mtime) */
	int		locked;		/* 1: may not log in */
};

struct db_ident {
	char		addr[DB_ADDR_MAX + 1];
	char		name[DB_NAME_MAX + 1];
	long long	created;
};

struct db_session {
	char		digest[DB_DIGEST_LEN + 1];
	char		user[DB_NAME_MAX + 1];
	long long	created;
	long long	last_used;	/* the file's mtime */
};

/* Results: 0 done, DB_EXISTS / DB_NOTFOUND as said, -1 error (logged). */
#define DB_EXISTS	1
#define DB_NOTFOUND	2
#define DB_CHANGED	3	/* the record changed since it was read */

int	db_init(const char *state_dir);
const char *db_dir_name(int);
int	db_name_valid(const char *name, const char **why);

int	db_user_get(const char *name, struct db_user *);
int	db_user_add(const struct db_user *);
int	db_user_update(const struct db_user *);
int	db_user_login(const char *, const char *, const char *, long long);
int	db_user_del(const char *name);
int	db_user_list(int (*)(const struct db_user *, void *), void *);

int	db_ident_get(const char *addr, struct db_ident *);
int	db_ident_set(const struct db_ident *);
int	db_ident_del(const char *addr);
int	db_ident_list(int (*)(const struct db_ident *, void *), void *);

int	db_session_get(const char *digest, struct db_session *);
int	db_session_add(const struct db_session *);
int	db_session_expire(long long idle_before, long long created_before);
int	db_session_touch(const char *digest, long long now);
int	db_session_del(const char *digest);
int	db_session_del_user(const char *user, const char *keep_digest);
int	db_session_list(int (*)(const struct db_session *, void *), void *);

int	db_check(void);

#endif /* DB_H */
