#!/bin/sh
# replay.sh: the fuzz targets' regression test for make check: builds the
# libFuzzer targets of tests/fuzz with clang and runs each once over its
# corpus, crash-* regressions included.  Skips (77) only when clang cannot
# link a -fsanitize=fuzzer program: its fuzzer runtime (libclang-rt-14-dev
# on Debian 12) is missing.  Any crash fails the test.

set -u

srcdir=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${BUILDDIR:-$srcdir}
cc=${FUZZ_CC:-clang}

probe=$(mktemp -d "${TMPDIR:-/tmp}/fuzzprobe.XXXXXX") || exit 99
trap 'rm -rf "$probe"' EXIT
cat >"$probe/probe.c" <<'PROBE'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	return (int)(d != NULL && n > 0 && d[0] == 0);
}
PROBE
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/probe" \
    "$probe/probe.c" >"$probe/log" 2>&1; then
	echo "SKIP: $cc cannot link a libFuzzer target:"
	sed 's/^/  /' "$probe/log"
	exit 77
fi

"$srcdir/tests/fuzz/run.sh" replay "$builddir"
case $? in
0)	exit 0 ;;
2)	exit 99 ;;	# could not build: a hard error, not a test failure
*)	exit 1 ;;
esac
