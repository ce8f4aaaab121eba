/*
 * chat.h: one client connection in its child process.
 */
#ifndef CHAT_H
#define CHAT_H

#include <sys/socket.h>

#include <signal.h>

#include "net.h"

/* Child exit statuses: how the connection ended, for the parent. */
#define CHAT_EXIT_OK		0
#define CHAT_EXIT_ERROR		1
#define CHAT_EXIT_PROTO		2
#define CHAT_EXIT_AUTHFAIL	3
#define CHAT_EXIT_GRACE		4
#define CHAT_EXIT_INVALIDUSER	5
#define CHAT_EXIT_NOAUTH	6

struct conf;
struct msgsock;

struct chat {
	const struct conf	*conf;
	struct msgsock		*ms;
	char			 addr[NET_ADDRSTRLEN];
	int			 port;
	char			 user[64];
	char			 digest[65];	/* this connection's session */
	int			 in_dialogue;	/* before the conversation */
	int			 done_fd;	/* told when the dialogue succeeds */
	int			 nfailed;	/* failed logins, known users */
	int			 ninvalid;	/* failed logins, invalid users */
	const char		*reason;	/* why it ended, for the log */
	unsigned long		 nmessages;
	int			 status;	/* CHAT_EXIT_* */
};

void	chat_signals(const sigset_t *);
void	chat_stop(void);
int	chat_terminating(void);
int	chat_run(const struct conf *, int, const struct sockaddr_storage *,
	    int);
int	chat_serve(const struct conf *, int, const char *, int, int);
void	chat_converse(struct chat *);
void	chat_recv_failed(struct chat *, int);
int	chat_welcome(struct chat *, const char *);

#endif /* CHAT_H */
