/*
 * fuzz_common.h: what the libFuzzer targets in tests/fuzz share: growing
 * buffers, a temporary directory removed at exit, the input script that
 * becomes a wire stream, a peer thread that plays the other end of a
 * socketpair, and an independent check of frames and UTF-8 to compare
 * src/frame.c against.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_INPUT_MAX	65536	/* longer inputs are cut, see -max_len */
#define FZ_SEP		0xff	/* splits the script into segments */
#define FZ_RAW		0xfe	/* segment sent as is, unframed */
#define FZ_LINE		0xfd	/* segment is a line for the client's stdin */

/* Invariant check: a violation aborts so libFuzzer keeps the input. */
#define FZ_ASSERT(c)	((c) ? (void)0 : fz_fail(#c, __FILE__, __LINE__))

struct fz_buf {
	unsigned char	*p;
	size_t		 len, size;
};

/* The far end of a socketpair, played by a thread during one run. */
struct fz_peer {
	int		 fd;
	struct fz_buf	 out;		/* written first, then SHUT_WR */
	struct fz_buf	 in;		/* everything read until EOF */
	int		 truncated;	/* in reached FZ_PEER_CAP */
	pthread_t	 thread;
};

void	 fz_fail(const char *, const char *, int)
	    __attribute__((noreturn));
void	 fz_buf_add(struct fz_buf *, const void *, size_t);
void	 fz_buf_frame(struct fz_buf *, const void *, size_t);
void	 fz_buf_free(struct fz_buf *);

const char *fz_tmpdir(const char *tag);
void	 fz_put(const char *dir, const char *name, const void *, size_t,
	    mode_t);
int	 fz_slurp(const char *dir, const char *name, struct fz_buf *);
void	 fz_quiet_logs(void);

size_t	 fz_script(const uint8_t *, size_t, size_t maxsegs,
	    struct fz_buf *wire, struct fz_buf *lines);

void	 fz_pair(int sv[2]);
void	 fz_peer_start(struct fz_peer *, int fd);
void	 fz_peer_finish(struct fz_peer *);

int	 fz_utf8_ok(const unsigned char *, size_t);
int	 fz_frames(const unsigned char *, size_t, size_t max, int strict,
	    void (*)(const char *, size_t, void *), void *);
int	 fz_known(const char *tag);

#endif /* FUZZ_COMMON_H */
