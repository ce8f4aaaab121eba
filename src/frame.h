/*
 * frame.h: the message socket, the only way authchatd and authchat talk.
 * A message is a 10-digit ASCII decimal length header, then that many bytes
 * of UTF-8 text without NUL.  See authchat-protocol(7).
 */
#ifndef FRAME_H
#define FRAME_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>
#include <time.h>

#define FRAME_HDRLEN		10
#define FRAME_DEFAULT_MAX	65536
#define FRAME_CLIENT_MAX	(1024 * 1024)

/* Results of msgsock operations; 0 is success, the rest are negative. */
enum msgsock_err {
	MS_OK = 0,
	MS_EOF = -1,		/* peer closed cleanly between messages */
	MS_EHEADER = -2,	/* bad header */
	MS_ETOOBIG = -3,	/* message too large */
	MS_EUTF8 = -4,		/* invalid UTF-8 */
	MS_ENUL = -5,		/* NUL byte in message */
	MS_ETRUNC = -6,		/* connection closed mid-message */
	MS_ETIMEOUT = -7,	/* deadline passed */
	MS_ESYS = -8		/* system error, errno is set */
};

#define MSGSOCK_BUFSZ	4096

/* Public for msgsock_init() without malloc; only frame.c uses the fields. */
struct msgsock {
	int		 fd;
	int		 notsock;	/* pipe or tty: read/writev */
	int		 answer_due;	/* sent since the last read */
	size_t		 max_message;
	int		 timeout;	/* ms per operation, -1: none */
	int		(*interrupt)(void); /* non-zero: stop reading */
	int		 masked;	/* wait with sigmask */
	sigset_t	 sigmask;
	long long	 deadline;	/* monotonic ms, -1: none */
	size_t		 rpos;		/* next unread byte */
	size_t		 rlen;		/* bytes held */
	unsigned char	 rbuf[MSGSOCK_BUFSZ];
};

void		 msgsock_init(struct msgsock *, int fd, size_t max_message);
struct msgsock	*msgsock_new(int fd, size_t max_message);
void		 msgsock_free(struct msgsock *);
int		 msgsock_fd(const struct msgsock *);
void		 msgsock_set_timeout(struct msgsock *, int msec);
void		 msgsock_set_deadline(struct msgsock *, const struct timespec *);
void		 msgsock_set_interrupt(struct msgsock *, int (*)(void));
void		 msgsock_set_sigmask(struct msgsock *, const sigset_t *);
int		 msgsock_send(struct msgsock *, const char *);
int		 msgsock_sendn(struct msgsock *, const char *, size_t);
int		 msgsock_sendf(struct msgsock *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 msgsock_recv(struct msgsock *, char **, size_t *);
int		 msgsock_recv_into(struct msgsock *, char *, size_t, char **,
		    size_t *);
ssize_t		 msgsock_read_raw(struct msgsock *, void *, size_t);
int		 msgsock_write_raw(struct msgsock *, const void *, size_t);
const char	*msgsock_strerror(int);
int		 utf8_valid(const char *, size_t);
size_t		 utf8_prefix(const char *, size_t);

#endif /* FRAME_H */
