/*
 * bench.h: what the benchmark's programs share: strict numbers from the
 * command line by strtonum(3) (libbsd-overlay).  Header only, as
 * tests/bench/run.sh builds each program from its one file.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>

/* A whole number from min to max, else "PROG: S: must be ..." and exit 2. */
static long long
number(const char *s, long long min, long long max)
{
	const char *errstr;
	long long v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "%s: %s: must be %lld to %lld\n",
		    getprogname(), s, min, max);
		exit(2);
	}
	return v;
}

#endif /* BENCH_H */
