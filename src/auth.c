/*
 * auth.c: owns the dialogues before the conversation: identification by
 * address (mode ident) and authentication by name and password with
 * session tokens (mode auth), plus the conversation's /passwd and
 * /logout.  Failures are logged in OpenSSH's words for fail2ban.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "chat.h"
#include "conf.h"
#include "db.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "pw.h"

#define MAX_ATTEMPTS	3

/* An answer from the client; secrets are wiped when it is dropped. */
struct answer {
	char	*text;
	size_t	 len;
};

static void
answer_drop(struct answer *a)
{
	if (a->text != NULL)
		freezero(a->text, a->len + 1);
	a->text = NULL;
	a->len = 0;
}

/* Send a prompt and wait for its answer; -1 when the connection ended. */
static int
ask(struct chat *ch, int code, const char *prompt, struct answer *a)
{
	int r;

	a->text = NULL;
	if (msgsock_sendf(ch->ms, "%d %s", code, prompt) != MS_OK) {
		ch->reason = "write failed";
		return -1;
	}
	if ((r = msgsock_recv(ch->ms, &a->text, &a->len)) != MS_OK) {
		chat_recv_failed(ch, r);
		return -1;
	}
	return 0;
}

/* A failure costs the same time whatever failed. */
static void
fail_delay(const struct chat *ch)
{
	struct timespec ts = { ch->conf->fail_delay, 0 };

	while (nanosleep(&ts, &ts) == -1 && !chat_terminating())
		;
}

/* The state database failed: tell the client and end. */
static int
db_failed(struct chat *ch)
{
	msgsock_sendf(ch->ms, "%d internal error: the user database could "
	    "not be used, closing", CODE_CLOSING);
	ch->reason = "database error";
	ch->status = CHAT_EXIT_ERROR;
	return -1;
}

/* mode ident: a known address is greeted, an unknown one asked. */
int
auth_ident(struct chat *ch)
{
	struct db_ident id;
	struct answer a;
	const char *why;
	int r, tries;

	if ((r = db_ident_get(ch->addr, &id)) == -1)
		return db_failed(ch);
	for (tries = 0; r == DB_NOTFOUND && tries < MAX_ATTEMPTS; tries++) {
		if (ask(ch, CODE_PROMPT, "What is your name?", &a) == -1)
			return -1;
		if (!db_name_valid(a.text, &why)) {
			msgsock_sendf(ch->ms, "%d-Bad name: %s", CODE_BAD_NAME,
			    why);
			answer_drop(&a);
			continue;
		}
		memset(&id, 0, sizeof(id));
		strlcpy(id.addr, ch->addr, sizeof(id.addr));
		strlcpy(id.name, a.text, sizeof(id.name));
		id.created = time(NULL);
		answer_drop(&a);
		if (db_ident_set(&id) == -1)
			return db_failed(ch);
		log_info("New name %s for %s port %d", id.name, ch->addr,
		    ch->port);
		r = 0;
	}
	if (r == DB_NOTFOUND) {
		msgsock_sendf(ch->ms, "%d Too many bad names, closing",
		    CODE_CLOSING);
		ch->reason = "too many bad names";
		return -1;
	}
	strlcpy(ch->user, id.name, sizeof(ch->user));
	return msgsock_sendf(ch->ms, "%d Hello, %s!", CODE_OK, id.name) ==
	    MS_OK ? 0 : -1;
}

/* A session for user: the client gets the token, the database its digest. */
static void
session_issue(struct chat *ch, const char *user)
{
	struct db_session s;
	char tok[TOKEN_HEX_LEN + 1];
	long long now = time(NULL);

	memset(&s, 0, sizeof(s));
	if (token_new(tok) == -1 || token_digest(tok, s.digest) == -1)
		return;
	strlcpy(s.user, user, sizeof(s.user));
	s.created = s.last_used = now;
	if (db_session_add(&s) == 0) {
		msgsock_sendf(ch->ms, "%d-%s", CODE_TOKEN, tok);
		strlcpy(ch->digest, s.digest, sizeof(ch->digest));
	}
	explicit_bzero(tok, sizeof(tok));
}

/* Is this session still good?  Expired ones are removed. */
static int
session_valid(struct chat *ch, const struct db_session *s)
{
	struct db_user u;
	long long now = time(NULL);

	if (now - s->last_used > ch->conf->session_idle ||
	    now - s->created > ch->conf->session_lifetime) {
		db_session_del(s->digest);
		return 0;
	}
	if (db_user_get(s->user, &u) != 0 || u.locked)
		return 0;
	explicit_bzero(u.hash, sizeof(u.hash));
	return db_session_touch(s->digest, now) == 0;
}

/* The client offers its token: 1 resumed, 0 go on to the password. */
static int
auth_token(struct chat *ch)
{
	struct db_session s;
	struct answer a;
	char digest[65];
	int ok = 0;

	if (ask(ch, CODE_TOKEN_ASK, "Session token?", &a) == -1)
		return -1;
	if (a.len == 0) {
		answer_drop(&a);
		return 0;
	}
	if (token_digest(a.text, digest) == 0 &&
	    db_session_get(digest, &s) == 0)
		ok = session_valid(ch, &s);
	answer_drop(&a);
	if (!ok) {
		log_info("Refused token from %s port %d", ch->addr, ch->port);
		msgsock_sendf(ch->ms, "%d-Session expired or revoked; please "
		    "log in", CODE_TOKEN_BAD);
		return 0;
	}
	strlcpy(ch->user, s.user, sizeof(ch->user));
	strlcpy(ch->digest, digest, sizeof(ch->digest));
	log_info("Accepted token for %s from %s port %d", s.user, ch->addr,
	    ch->port);
	return 1;
}

/* A new password, asked twice; 0 with hash set, 1 refused, -1 ended. */
static int
new_password(struct chat *ch, const char *what, char *hash, size_t len)
{
	struct answer p1, p2;
	char prompt[64];
	int r = 1;

	snprintf(prompt, sizeof(prompt), "%s:", what);
	if (ask(ch, CODE_SECRET, prompt, &p1) == -1)
		return -1;
	snprintf(prompt, sizeof(prompt), "Repeat %s:", what);
	if (ask(ch, CODE_SECRET, prompt, &p2) == -1) {
		answer_drop(&p1);
		return -1;
	}
	if (!secret_equal(p1.text, p2.text))
		msgsock_sendf(ch->ms, "%d-Passwords do not match",
		    CODE_REFUSED);
	else if (p1.len < (size_t)ch->conf->min_password)
		msgsock_sendf(ch->ms, "%d-Password too short (at least %d "
		    "bytes)", CODE_REFUSED, ch->conf->min_password);
	else if (p1.len > PW_MAX)
		msgsock_sendf(ch->ms, "%d-Password too long (at most %d "
		    "bytes)", CODE_REFUSED, PW_MAX);
	else if (pw_hash(p1.text, ch->conf->hash_cost, hash, len) == 0)
		r = 0;
	else
		r = -1;
	answer_drop(&p1);
	answer_drop(&p2);
	return r;
}

/* Unknown name, registration on: 0 registered, 1 refused, -1 ended. */
static int
auth_register(struct chat *ch, const char *name)
{
	struct db_user u;
	int r;

	memset(&u, 0, sizeof(u));
	strlcpy(u.name, name, sizeof(u.name));
	msgsock_sendf(ch->ms, "%d-New user %s: choose a password of at least "
	    "%d bytes", CODE_OK, name, ch->conf->min_password);
	if ((r = new_password(ch, "New password", u.hash,
	    sizeof(u.hash))) != 0)
		return r == -1 && ch->reason == NULL ? db_failed(ch) : r;
	u.created = u.last_login = time(NULL);
	r = db_user_add(&u);
	explicit_bzero(u.hash, sizeof(u.hash));
	if (r == DB_EXISTS) {
		msgsock_sendf(ch->ms, "%d-Name taken, choose another",
		    CODE_BAD_NAME);
		return 1;
	}
	if (r != 0)
		return db_failed(ch);
	log_info("Registered new user %s from %s port %d", name, ch->addr,
	    ch->port);
	return 0;
}

/* A known user's password; 0 accepted, 1 wrong, -1 ended. */
static int
auth_password(struct chat *ch, struct db_user *u, int known)
{
	struct answer a;
	char newhash[PW_HASH_MAX] = "";
	const char *name = u->name;
	int ok, rehash, r;

	if (ask(ch, CODE_SECRET, "Password:", &a) == -1)
		return -1;
	ok = 0;
	if (known)
		ok = pw_verify(a.text, u->hash) && !u->locked;
	else
		pw_fake(a.text, ch->conf->hash_cost);
	rehash = ok && pw_needs_rehash(u->hash, ch->conf->hash_cost) &&
	    pw_hash(a.text, ch->conf->hash_cost, newhash, sizeof(newhash)) == 0;
	answer_drop(&a);
	/* the record is changed only if nobody locked it or changed it */
	if (ok && (r = db_user_login(name, u->hash, rehash ? newhash : NULL,
	    time(NULL))) != 0) {
		/* an I/O error only loses the login time; a change wins */
		if (r == -1)
			log_warnx("could not record the login of %s", name);
		else
			ok = 0;
		rehash = 0;
	}
	explicit_bzero(newhash, sizeof(newhash));
	if (!ok) {
		log_warnx("Failed password for %s%s from %s port %d",
		    known ? "" : "invalid user ", name, ch->addr, ch->port);
		if (known)
			ch->nfailed++;
		else
			ch->ninvalid++;
		return 1;
	}
	if (rehash)
		log_info("Rehashed password of %s", name);
	log_info("Accepted password for %s from %s port %d", name, ch->addr,
	    ch->port);
	return 0;
}

/* One round: ask the name, then log in or register; as auth_password. */
static int
auth_round(struct chat *ch)
{
	struct db_user u;
	struct answer a;
	char esc[DB_NAME_MAX * 4 + 8];
	const char *why;
	int r, valid;

	if (ask(ch, CODE_PROMPT, "Name:", &a) == -1)
		return -1;
	memset(&u, 0, sizeof(u));
	valid = db_name_valid(a.text, &why);
	if (valid)
		strlcpy(u.name, a.text, sizeof(u.name));
	else
		strlcpy(u.name, log_escape(a.text, esc, sizeof(esc)),
		    sizeof(u.name));
	answer_drop(&a);
	if (!valid && ch->conf->registration) {
		msgsock_sendf(ch->ms, "%d-Bad name: %s", CODE_BAD_NAME, why);
		return 1;
	}
	r = valid ? db_user_get(u.name, &u) : DB_NOTFOUND;
	if (r == -1)
		return db_failed(ch);
	if (r == DB_NOTFOUND && ch->conf->registration)
		r = auth_register(ch, u.name);
	else
		r = auth_password(ch, &u, r == 0);
	if (r == 0)
		strlcpy(ch->user, u.name, sizeof(ch->user));
	explicit_bzero(u.hash, sizeof(u.hash));
	return r;
}

/* mode auth: a token, or up to three rounds of name and password. */
int
auth_login(struct chat *ch)
{
	int r, tries;

	if ((r = auth_token(ch)) != 0)
		return r == 1 ? chat_welcome(ch, "Welcome back") : -1;
	for (tries = 0; tries < MAX_ATTEMPTS; tries++) {
		if ((r = auth_round(ch)) == -1)
			return -1;
		if (r == 0) {
			session_issue(ch, ch->user);
			return chat_welcome(ch, "Welcome");
		}
		fail_delay(ch);
		msgsock_sendf(ch->ms, "%d-Login incorrect", CODE_AUTH_FAILED);
	}
	log_warnx("Too many authentication failures from %s port %d",
	    ch->addr, ch->port);
	msgsock_sendf(ch->ms, "%d Too many authentication failures, closing",
	    CODE_CLOSING);
	ch->reason = "too many authentication failures";
	return -1;
}

/* /passwd: old password, new one twice; other sessions are revoked. */
static int
auth_passwd(struct chat *ch)
{
	struct db_user u;
	struct answer a;
	int ok, r;

	if (db_user_get(ch->user, &u) != 0)
		return db_failed(ch);
	if (ask(ch, CODE_SECRET, "Old password:", &a) == -1)
		return -1;
	ok = pw_verify(a.text, u.hash);
	answer_drop(&a);
	if (!ok) {
		log_warnx("Failed password for %s from %s port %d", u.name,
		    ch->addr, ch->port);
		fail_delay(ch);
		explicit_bzero(u.hash, sizeof(u.hash));
		return msgsock_sendf(ch->ms, "%d Wrong password, not changed",
		    CODE_AUTH_FAILED) == MS_OK ? 0 : -1;
	}
	if ((r = new_password(ch, "New password", u.hash,
	    sizeof(u.hash))) != 0) {
		explicit_bzero(u.hash, sizeof(u.hash));
		if (r == -1)
			return ch->reason == NULL ? db_failed(ch) : -1;
		return msgsock_sendf(ch->ms, "%d Password not changed",
		    CODE_REFUSED) == MS_OK ? 0 : -1;
	}
	r = db_user_update(&u);
	explicit_bzero(u.hash, sizeof(u.hash));
	if (r != 0 || db_session_del_user(u.name, ch->digest[0] ?
	    ch->digest : NULL) == -1)
		return db_failed(ch);
	log_info("Password changed for %s from %s port %d", u.name, ch->addr,
	    ch->port);
	return msgsock_sendf(ch->ms, "%d Password changed; other sessions "
	    "revoked", CODE_OK) == MS_OK ? 0 : -1;
}

/* /logout: the session ends here and on the client. */
static int
auth_logout(struct chat *ch)
{
	if (ch->digest[0] != '\0' && db_session_del(ch->digest) == -1)
		return db_failed(ch);
	log_info("Logout of %s from %s port %d", ch->user, ch->addr,
	    ch->port);
	msgsock_sendf(ch->ms, "%d-Session revoked", CODE_REVOKED);
	msgsock_sendf(ch->ms, "%d Logged out, goodbye", CODE_BYE);
	ch->reason = "logout";
	return 1;
}

/*
 * The auth mode's own commands.  Returns 1 when the conversation ends,
 * 0 when it goes on, -1 when text is not ours.
 */
int
auth_command(struct chat *ch, const char *text)
{
	int r;

	if (ch->conf->mode != MODE_AUTH)
		return -1;
	if (strcmp(text, "/passwd") == 0) {
		msgsock_set_timeout(ch->ms, ch->conf->login_grace_time * 1000);
		r = auth_passwd(ch);
		msgsock_set_timeout(ch->ms, ch->conf->idle_timeout * 1000);
		return r == 0 ? 0 : 1;
	}
	if (strcmp(text, "/logout") == 0)
		return auth_logout(ch);
	return -1;
}
