/*
 * hashrate.c: how many password hashes per second this machine computes
 * at a given yescrypt cost, by the daemon's own code path (pw.c): a
 * setting from crypt_gensalt_rn("$y$", cost, NULL, 0), a calloc'd
 * struct crypt_data, crypt_rn(3), the data wiped and freed.  Workers are
 * threads, or processes with -f (the daemon hashes in forked children).
 * This is the bound of the benchmark's login load.  It starts a session
 * of its own, as the detached daemon does, so that the scheduler's
 * autogroups give both the same share of a busy machine.
 *
 * usage: hashrate [-f] [-c cost] [-t workers] [-d seconds] [-n hashes]
 *
 * One line on stdout:
 *   RESULT mode=hashrate cost=C workers=W hashes=N secs=S rate=R p50_us=..
 */
#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <crypt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_WORKERS	256
#define MAX_SAMPLES	65536		/* per worker */
#define PASSWORD	"benchpass"

/* Per worker, in shared memory so forked workers can fill it too. */
struct slot {
	long		 n;
	long		 errors;
	double		 t_end;
	uint32_t	 us[MAX_SAMPLES];
};

static unsigned long	 cost = 0;
static int		 nworkers = 8;
static double		 secs = 5;
static long		 max_hashes = -1;
static double		 deadline;
static struct slot	*slots;
static atomic_long	*claimed;		/* shared, for -n */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One hash as pw_hash() makes it; 0 on success. */
static int
hash_once(void)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int r = -1;

	if (crypt_gensalt_rn("$y$", cost, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL || setting[0] == '*')
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_rn(PASSWORD, setting, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*')
		r = 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

static void
work(struct slot *s)
{
	double t0;

	while (now() < deadline) {
		if (max_hashes >= 0 && atomic_fetch_add(claimed, 1) >=
		    max_hashes)
			break;
		t0 = now();
		if (hash_once() == -1) {
			s->errors++;
			continue;
		}
		if (s->n < MAX_SAMPLES)
			s->us[s->n] = (uint32_t)((now() - t0) * 1e6);
		s->n++;
	}
	s->t_end = now();
}

static void *
thread_main(void *arg)
{
	work(arg);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100 * (double)n + 0.999999);

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

static void
report(double t_start)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE] = "?";
	uint32_t *all;
	double t_end = t_start, el;
	size_t k = 0, kept;
	long n = 0, errors = 0;
	int i;

	for (i = 0; i < nworkers; i++) {
		n += slots[i].n;
		errors += slots[i].errors;
		if (slots[i].t_end > t_end)
			t_end = slots[i].t_end;
	}
	if ((all = malloc(((size_t)n + 1) * sizeof(*all))) == NULL)
		exit(2);
	for (i = 0; i < nworkers; i++) {
		kept = slots[i].n < MAX_SAMPLES ? (size_t)slots[i].n :
		    MAX_SAMPLES;
		memcpy(all + k, slots[i].us, kept * sizeof(*all));
		k += kept;
	}
	qsort(all, k, sizeof(*all), cmp_u32);
	el = t_end - t_start;
	(void)crypt_gensalt_rn("$y$", cost, NULL, 0, setting,
	    (int)sizeof(setting));
	setting[7] = '\0';	/* "$y$j75$": method and cost, no salt */
	printf("RESULT mode=hashrate cost=%lu setting=%s workers=%d "
	    "hashes=%ld secs=%.3f rate=%.1f p50_us=%.0f p99_us=%.0f "
	    "errors=%ld\n", cost, setting, nworkers, n, el,
	    el > 0 ? n / el : 0.0, pct(all, k, 50), pct(all, k, 99), errors);
	free(all);
	exit(errors > 0);
}

int
main(int argc, char *argv[])
{
	pthread_t th[MAX_WORKERS];
	double t_start;
	pid_t pid;
	int ch, fork_mode = 0, i;

	while ((ch = getopt(argc, argv, "c:d:fn:t:")) != -1) {
		switch (ch) {
		case 'c': cost = (unsigned long)number(optarg, 0, 11); break;
		case 'd': secs = (double)number(optarg, 1, 3600); break;
		case 'f': fork_mode = 1; break;
		case 'n': max_hashes = number(optarg, 1, 100000000); break;
		case 't': nworkers = (int)number(optarg, 1, MAX_WORKERS);
			break;
		default:
			fprintf(stderr, "usage: hashrate [-f] [-c cost] "
			    "[-t workers] [-d seconds] [-n hashes]\n");
			return 2;
		}
	}
	(void)setsid();
	slots = mmap(NULL, sizeof(*slots) * (size_t)nworkers +
	    sizeof(*claimed), PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("hashrate: mmap");
		return 2;
	}
	claimed = (atomic_long *)(void *)(slots + nworkers);
	t_start = now();
	deadline = t_start + secs;
	for (i = 0; i < nworkers; i++) {
		if (!fork_mode) {
			if (pthread_create(&th[i], NULL, thread_main,
			    &slots[i]) != 0)
				return 2;
		} else if ((pid = fork()) == 0) {
			work(&slots[i]);
			_exit(0);
		} else if (pid == -1) {
			perror("hashrate: fork");
			return 2;
		}
	}
	for (i = 0; i < nworkers; i++) {
		if (!fork_mode)
			pthread_join(th[i], NULL);
		else
			(void)wait(NULL);
	}
	report(t_start);
}
