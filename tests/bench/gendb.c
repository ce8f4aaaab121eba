/*
 * gendb.c: makes an authchatd state directory for the benchmark, in the
 * layout of authchatd-users(5) (one file per record): N users PREFIX0 ..
 * PREFIX<N-1>, all with the same password and real yescrypt hashes, and
 * S sessions whose tokens are written to a side file (one per line, the
 * line number is the session number) for the resume load.
 *
 * Hashing 100,000 passwords even at cost 1 takes minutes, so by default
 * only -u distinct hashes are made (each with its own salt) and user i
 * gets hash i mod u; every hash is a real one of the same password, so
 * any user can log in.  -u 0 makes every hash distinct.
 *
 * usage: gendb -o dir -n users [-s sessions] [-c cost] [-u distinct]
 *	  [-w password] [-U prefix] [-T tokenfile] [-j threads]
 */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sha2.h>

#include "bench.h"

#define HASH_MAX	256
#define TOKEN_HEX	64

static const char	*dir, *password = "benchpass", *prefix = "bench";
static const char	*token_file;
static long		 nusers = -1, nsessions = 0, ndistinct = 1024;
static unsigned long	 cost = 1;
static int		 nthreads;
static char		(*hashes)[HASH_MAX];
static atomic_long	 next_hash;
static atomic_int	 hash_failed;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hash the password with fresh salts until the pool is full. */
static void *
hash_worker(void *arg)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	long i;

	(void)arg;
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		hash_failed = 1;
		return NULL;
	}
	while ((i = atomic_fetch_add(&next_hash, 1)) < ndistinct) {
		if (crypt_gensalt_rn("$y$", cost, NULL, 0, setting,
		    (int)sizeof(setting)) == NULL ||
		    (h = crypt_rn(password, setting, cd, sizeof(*cd))) ==
		    NULL || h[0] == '*' || strlen(h) >= HASH_MAX) {
			hash_failed = 1;
			break;
		}
		memcpy(hashes[i], h, strlen(h) + 1);
	}
	free(cd);
	return NULL;
}

static int
make_hashes(void)
{
	pthread_t th[64];
	int i;

	if ((hashes = calloc((size_t)ndistinct, sizeof(*hashes))) == NULL)
		return -1;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, hash_worker, NULL) != 0)
			return -1;
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return hash_failed ? -1 : 0;
}

/* A new file of mode 0600 at dir/sub/name (sub NULL: name alone). */
static FILE *
create(const char *sub, const char *name)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s%s%s",
	    sub ? dir : "", sub ? "/" : "", sub ? sub : "", sub ? "/" : "",
	    name) >= sizeof(path))
		return NULL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "gendb: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return fdopen(fd, "w");
}

static int
finish(FILE *fp)
{
	if (fflush(fp) == EOF || ferror(fp)) {
		fclose(fp);
		return -1;
	}
	return fclose(fp) == EOF ? -1 : 0;
}

/* dir/sub, mode 0700. */
static int
subdir(const char *sub)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path) || (mkdir(path, 0700) == -1 && errno != EEXIST)) {
		fprintf(stderr, "gendb: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_users(long long t)
{
	char name[64];
	FILE *fp;
	long i;

	if (subdir("users") == -1)
		return -1;
	for (i = 0; i < nusers; i++) {
		(void)snprintf(name, sizeof(name), "%s%ld", prefix, i);
		if ((fp = create("users", name)) == NULL)
			return -1;
		fprintf(fp, "%s %s %lld 0\n", name, hashes[i % ndistinct], t);
		if (finish(fp) == -1)
			return -1;
	}
	return 0;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Session i belongs to user i mod N; the digest is SHA-256 of the hex. */
static int
write_sessions(long long t)
{
	unsigned char raw[TOKEN_HEX / 2], md[SHA256_DIGEST_LENGTH];
	char tok[TOKEN_HEX + 1], digest[2 * SHA256_DIGEST_LENGTH + 1];
	FILE *sfp, *tfp;
	SHA2_CTX ctx;
	long i;

	if (subdir("sessions") == -1 || (tfp = create(NULL, token_file)) ==
	    NULL)
		return -1;
	for (i = 0; i < nsessions; i++) {
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			return -1;
		hex(raw, sizeof(raw), tok);
		SHA256Init(&ctx);
		SHA256Update(&ctx, (const unsigned char *)tok, TOKEN_HEX);
		SHA256Final(md, &ctx);
		hex(md, sizeof(md), digest);
		if ((sfp = create("sessions", digest)) == NULL)
			return -1;
		fprintf(sfp, "%s %s%ld %lld\n", digest, prefix, i % nusers, t);
		if (finish(sfp) == -1)
			return -1;
		fprintf(tfp, "%s\n", tok);
	}
	return finish(tfp);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gendb -o dir -n users [-s sessions] "
	    "[-c cost] [-u distinct]\n\t[-w password] [-U prefix] "
	    "[-T tokenfile] [-j threads]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	double t0 = now(), th;
	long long t = (long long)time(NULL);
	int ch;

	nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((ch = getopt(argc, argv, "c:j:n:o:s:T:U:u:w:")) != -1) {
		switch (ch) {
		case 'c': cost = (unsigned long)number(optarg, 0, 11); break;
		case 'j': nthreads = (int)number(optarg, 1, 64); break;
		case 'n': nusers = number(optarg, 1, 10000000); break;
		case 'o': dir = optarg; break;
		case 's': nsessions = number(optarg, 0, 10000000); break;
		case 'T': token_file = optarg; break;
		case 'U': prefix = optarg; break;
		case 'u': ndistinct = number(optarg, 0, 10000000); break;
		case 'w': password = optarg; break;
		default: usage();
		}
	}
	if (dir == NULL || nusers < 1 || optind != argc ||
	    (nsessions > 0 && token_file == NULL))
		usage();
	if (nthreads < 1 || nthreads > 64)
		nthreads = nthreads < 1 ? 1 : 64;
	if (ndistinct == 0 || ndistinct > nusers)
		ndistinct = nusers;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "gendb: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (make_hashes() == -1) {
		fprintf(stderr, "gendb: hashing failed\n");
		return 1;
	}
	th = now() - t0;
	if (write_users(t) == -1 || (nsessions > 0 &&
	    write_sessions(t) == -1)) {
		fprintf(stderr, "gendb: writing %s failed\n", dir);
		return 1;
	}
	fprintf(stderr, "gendb: %s: %ld users (%ld distinct cost-%lu hashes "
	    "in %.1f s), %ld sessions, %.1f s in all\n", dir, nusers,
	    ndistinct, cost, th, nsessions, now() - t0);
	return 0;
}
