/*
 * auth.h: the ident and auth dialogues, and the auth mode's commands.
 */
#ifndef AUTH_H
#define AUTH_H

struct chat;

int	auth_ident(struct chat *);
int	auth_login(struct chat *);
int	auth_command(struct chat *, const char *);

#endif /* AUTH_H */
