#!/bin/sh
# run.sh: build the libFuzzer targets of tests/fuzz, replay their corpora,
# or fuzz them.
#
#   tests/fuzz/run.sh build  [BUILDDIR]          build every target
#   tests/fuzz/run.sh replay [BUILDDIR]          build, run each target
#                                                once over its corpus
#   tests/fuzz/run.sh fuzz SECONDS [BUILDDIR]    build, fuzz each target
#                                                for SECONDS
#   tests/fuzz/run.sh coverage [BUILDDIR]        line coverage of src/ by
#                                                the corpora (llvm-cov)
#   tests/fuzz/run.sh BUILDDIR                   same as build
#
# BUILDDIR is where configure wrote config.h (default: the top of the
# source tree); the binaries go to BUILDDIR/tests/fuzz/.  TARGETS picks
# targets ("frame conf"), FUZZ_CC the compiler (clang), FUZZ_FLAGS adds
# libFuzzer options to a fuzz run, FUZZ_KNOWN names known, unfixed bugs
# in src/ a fuzz run passes over (client-token conf-state-dir-none
# conf-listen-space; see the targets); replay ignores it.  A fuzz run
# writes new inputs to a scratch directory, merges those that add
# coverage into tests/fuzz/corpus/TARGET, and saves crashes as
# tests/fuzz/crashes/TARGET-crash-*.  Exit status: 0 all well, 1 a
# target crashed, 2 a build or usage error.

set -u

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$srcdir/tests/fuzz
CC=${FUZZ_CC:-clang}
TARGETS=${TARGETS:-frame server client conf db}

usage() {
	echo "usage: run.sh build|replay|coverage [BUILDDIR]" \
	    "| fuzz SECONDS [BUILDDIR]" >&2
	exit 2
}

cmd=build
secs=
case ${1:-} in
build|replay|coverage)
	cmd=$1; shift ;;
fuzz)
	[ $# -ge 2 ] || usage
	cmd=fuzz; secs=$2; shift 2
	case $secs in ''|*[!0-9]*) usage ;; esac ;;
'')
	;;
*)
	[ -d "$1" ] || usage ;;
esac
builddir=$(cd "${1:-$srcdir}" && pwd) || usage
outdir=$builddir/tests/fuzz

if bsdflags=$(pkg-config --cflags libbsd-overlay 2>/dev/null); then :
else bsdflags="-isystem /usr/include/bsd -DLIBBSD_OVERLAY"; fi
if [ -f "$builddir/config.h" ]; then
	config="-DHAVE_CONFIG_H -I$builddir"
else
	echo "run.sh: no config.h in $builddir: run configure first" >&2
	exit 2
fi
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
    -Wall -Wextra $bsdflags $config -I$srcdir/src -I$fuzzdir"
SANITIZE="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
LIBS="-lcrypt -lmd -lbsd -lpthread"

# Sources of each target besides fuzz_TARGET.c and fuzz_common.c.
sources() {
	case $1 in
	frame)	echo frame log ;;
	conf)	echo conf frame log ;;
	db)	echo db log ;;
	server)	echo chat auth db pw conf log frame net ;;
	client)	echo ask conf cookie frame log net ;;
	esac
}

# Longest input a fuzz run makes (the targets cut at 64 KiB themselves).
maxlen() {
	case $1 in
	frame)	echo 65540 ;;
	server)	echo 4096 ;;
	*)	echo 8192 ;;
	esac
}

compile() {	# out.o in.c [extra flags]
	o=$1; c=$2; shift 2
	# shellcheck disable=SC2086
	$CC $CFLAGS $SANITIZE "$@" -c -o "$o" "$c" || exit 2
}

# Every target into bindir, objects in bindir/obj.
build() {	# bindir
	bindir=$1
	objdir=$bindir/obj
	mkdir -p "$objdir" || exit 2
	for s in ask auth chat conf cookie db frame log net pw; do
		compile "$objdir/$s.o" "$srcdir/src/$s.c"
	done
	compile "$objdir/authchat.o" "$srcdir/src/authchat.c" \
	    -Dmain=authchat_main
	compile "$objdir/fuzz_common.o" "$fuzzdir/fuzz_common.c"
	for t in $TARGETS; do
		objs="$objdir/fuzz_$t.o $objdir/fuzz_common.o"
		for s in $(sources "$t"); do objs="$objs $objdir/$s.o"; done
		wrap=
		if [ "$t" = client ]; then
			objs="$objs $objdir/authchat.o"
			wrap="-Wl,--wrap=exit,--wrap=net_connect"
			wrap="$wrap,--wrap=msgsock_new,--wrap=msgsock_recv"
		fi
		compile "$objdir/fuzz_$t.o" "$fuzzdir/fuzz_$t.c"
		# shellcheck disable=SC2086
		$CC $CFLAGS $SANITIZE $wrap -o "$bindir/fuzz_$t" $objs $LIBS ||
		    exit 2
	done
}

# One libFuzzer process over files "$@"; libFuzzer's own exit codes (77
# among them) must not reach make check, so any failure is 1.
replay_files() {	# target log files...
	t=$1; log=$2; shift 2
	if "$outdir/fuzz_$t" -timeout=60 "$@" >"$log" 2>&1; then
		return 0
	fi
	echo "fuzz_$t: CRASH, see $log:"
	grep -E '^(Running:|fuzz inv|==[0-9]+==ERROR|SUMMARY)' "$log" |
	    sed 's/^/  /'
	grep -E '^ +#[0-9]+ ' "$log" |
	    grep -vE 'fuzzer::|__sanitizer|libc\.so|nptl|raise|abort|fz_fail' |
	    head -n 8 | sed 's/ (.*BuildId.*//; s/^/  /'
	return 1
}

# Every corpus file once.  A libFuzzer process stops at its first crash,
# so the crash-* regressions run one per process, the rest together.
replay() {
	status=0
	unset FUZZ_KNOWN
	for t in $TARGETS; do
		n=0
		for f in "$fuzzdir/corpus/$t"/crash-*; do
			[ -f "$f" ] || continue
			n=$((n + 1))
			out=$outdir/replay-$t-$(basename "$f").out
			replay_files "$t" "$out" "$f" || status=1
		done
		set --
		for f in "$fuzzdir/corpus/$t"/*; do
			case $f in */crash-*) ;; *) set -- "$@" "$f" ;; esac
		done
		replay_files "$t" "$outdir/replay-$t.out" "$@" || status=1
		echo "fuzz_$t: $(($# + n)) inputs replayed"
	done
	return $status
}

fuzz() {
	status=0
	mkdir -p "$fuzzdir/crashes"
	for t in $TARGETS; do
		corpus=$fuzzdir/corpus/$t
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX") || exit 2
		log=$outdir/fuzz-$t.out
		echo "fuzz_$t: $secs s, log in $log"
		# shellcheck disable=SC2086
		"$outdir/fuzz_$t" -max_total_time="$secs" \
		    -max_len="$(maxlen "$t")" -timeout=25 -print_final_stats=1 \
		    -artifact_prefix="$fuzzdir/crashes/$t-" ${FUZZ_FLAGS:-} \
		    "$scratch" "$corpus" >"$log" 2>&1 || status=1
		grep -E '^(stat::|Done|==[0-9]+==ERROR|SUMMARY|fuzz inv)' \
		    "$log" | sed "s/^/  /"
		"$outdir/fuzz_$t" -merge=1 -max_len="$(maxlen "$t")" \
		    "$corpus" "$scratch" >"$log.merge" 2>&1 ||
		    echo "fuzz_$t: merge failed, see $log.merge"
		rm -rf "$scratch"
	done
	return $status
}

# Without sanitizers, with clang's source-based coverage; crash-* inputs
# are left out (an abort loses the profile).
coverage() {
	covdir=$outdir/cov
	rm -f "$covdir"/*.profraw
	objects=
	for t in $TARGETS; do
		set --
		for f in "$fuzzdir/corpus/$t"/*; do
			case $f in */crash-*) ;; *) set -- "$@" "$f" ;; esac
		done
		LLVM_PROFILE_FILE=$covdir/$t.profraw \
		    "$covdir/fuzz_$t" -runs=0 "$@" >"$covdir/$t.out" 2>&1 ||
		    { echo "fuzz_$t: failed, see $covdir/$t.out"; return 1; }
		objects="$objects${objects:+ -object }$covdir/fuzz_$t"
	done
	llvm-profdata merge -sparse -o "$covdir/all.profdata" \
	    "$covdir"/*.profraw || return 1
	# shellcheck disable=SC2086
	llvm-cov report -instr-profile="$covdir/all.profdata" $objects \
	    -ignore-filename-regex='tests/fuzz/' "$srcdir/src"
}

case $cmd in
coverage)
	SANITIZE="-fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping"
	build "$outdir/cov"
	coverage || exit 1 ;;
replay)	build "$outdir"; replay || exit 1 ;;
fuzz)	build "$outdir"; fuzz || exit 1 ;;
*)	build "$outdir" ;;
esac
exit 0
