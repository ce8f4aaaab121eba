#!/bin/bash
# run.sh: the authchatd benchmark (make bench).  Builds the load
# generator, the reference server, the hash-rate meter and the state
# generator, then measures authchatd against the reference in the same
# run, every figure a ratio: pairs in alternating order, the median of
# the per-pair ratios, and a reference-against-reference control that
# says when the machine was too noisy to judge.  Then memory, and growth
# with 1,000 / 10,000 / 100,000 users and sessions.
#
# usage: run.sh [--quick] [BUILDDIR]
#   BUILDDIR holds the built authchatd (default: the top of the tree).
#   Environment: BENCH_PAIRS (10; quick 3), BENCH_SECS (seconds per run,
#   3; quick 1), BENCH_HASH_COST (the daemon's hash_cost for the login
#   target, 0 = its default), BENCH_PORT (first of 8 ports, < 32760),
#   BENCH_WORK (scratch directory, default a new /tmp/authchatd-bench.*,
#   never in the source tree), BENCH_KEEP=1 (keep the state directories).
# Every server runs on 127.0.0.1; only the PIDs started here are killed.
# The results stay in the scratch directory: results.md, results.txt.

set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; shift ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "usage: run.sh [--quick] [BUILDDIR]" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || { echo "usage: run.sh [--quick] [BUILDDIR]" >&2; exit 2; }
BUILDDIR=$(cd "${1:-$HERE/../..}" && pwd) || exit 2
AUTHCHATD=$BUILDDIR/authchatd
AUTHCHATCTL=$BUILDDIR/authchatctl
[ -x "$AUTHCHATD" ] || { echo "run.sh: no $AUTHCHATD: build first" >&2; exit 2; }

if [ $QUICK = 1 ]; then
	PAIRS=${BENCH_PAIRS:-3}; SECS=${BENCH_SECS:-1}
	N_LOGIN=5; N_RESUME=20; N_REG=3; N_START=3
else
	PAIRS=${BENCH_PAIRS:-10}; SECS=${BENCH_SECS:-3}
	N_LOGIN=20; N_RESUME=50; N_REG=10; N_START=7
fi
CLIENTS=8
COST=${BENCH_HASH_COST:-0}
SIZES="1000 10000 100000"
if [ -n "${BENCH_WORK:-}" ]; then
	WORK=$BENCH_WORK
	if [ -d "$WORK" ] && [ -n "$(ls -A "$WORK")" ] &&
	    [ ! -e "$WORK/.authchatd-bench" ]; then
		echo "run.sh: $WORK is neither empty nor a bench directory" >&2
		exit 2
	fi
	rm -rf "$WORK"
else
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/authchatd-bench.XXXXXX") || exit 2
fi
BIN=$WORK/bin
PW=benchpass
T_BEGIN=$EPOCHREALTIME

STARTED=()		# PIDs to end on exit, nothing else
cleanup() {
	local p i
	for p in "${STARTED[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${STARTED[@]}"; do
		for i in $(seq 1 100); do
			[ -e "/proc/$p" ] || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

# ---- build ------------------------------------------------------------
mkdir -p "$BIN" "$WORK/series" && touch "$WORK/.authchatd-bench" ||
    die "cannot make $WORK"
CC=${CC:-cc}
LIBS="-lcrypt $(pkg-config --cflags --libs libbsd-overlay libmd)" ||
    die "pkg-config cannot find libbsd-overlay and libmd"
for p in loadgen ref_fork hashrate gendb; do
	# shellcheck disable=SC2086
	"$CC" -O2 -Wall -pthread -o "$BIN/$p" "$HERE/$p.c" $LIBS ||
	    die "cannot build $p"
done

# ---- helpers ----------------------------------------------------------
# ports below 32768: the clients' own ports live above
BASE=${BENCH_PORT:-$((20000 + (RANDOM % 1500) * 8))}
[ "$BASE" -lt 32760 ] || die "BENCH_PORT must be below 32760"
if command -v ss >/dev/null &&
    [ -n "$(ss -Htln "sport >= :$BASE and sport <= :$((BASE + 7))")" ]; then
	die "a port in $BASE..$((BASE + 7)) is in use; set BENCH_PORT"
fi
P_REFA=$BASE; P_REFB=$((BASE + 1)); P_ECHO=$((BASE + 2))
P_LOGIN=$((BASE + 3)); P_LOGIN1=$((BASE + 4)); P_RESUME=$((BASE + 5))
P_GROW=$((BASE + 6))

USER_LINE=
if [ "$(id -u)" = 0 ] && "$AUTHCHATD" -f /dev/null -T 2>/dev/null |
    grep -q '^user '; then
	USER_LINE="user root"	# the bench keeps its files; no drop
fi

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", (b-a)*1000}'; }
add() { echo "$2" >>"$WORK/series/$1"; }
median() {
	[ -s "$WORK/series/$1" ] || { echo nan; return; }
	sort -g "$WORK/series/$1" | awk '{v[NR]=$1} END{
	    if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'
}
sum() { [ -s "$WORK/series/$1" ] && awk '{s+=$1} END{print s}' "$WORK/series/$1" || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.3f", a/b }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
fmt() { awk -v v="$1" -v f="${2:-%.0f}" 'BEGIN{ if (v == "nan" || v == "") print "n/a"; else printf f, v }'; }

# judge VALUE OP TARGET [NOISE]: PASS, FAIL, or NOISY when the control
# was off by NOISE (> 5%) and the value lies within twice that of TARGET
judge() {
	if [ "$1" = nan ] || [ -z "$1" ]; then echo "n/a"; return; fi
	awk -v v="$1" -v t="$3" -v op="$2" -v d="${4:-0}" 'BEGIN{
	    r = v / t - 1; if (r < 0) r = -r
	    if (d > 0 && r < 2 * d) { print "NOISY"; exit }
	    ok = op == ">=" ? v >= t : v < t; print ok ? "PASS" : "FAIL" }'
}

# lg LABEL ARGS...: one loadgen run; its RESULT line, labelled, on stdout
LAST=
lg() {
	local label=$1 line
	shift
	line=$("$BIN/loadgen" "$@" -q 2>>"$WORK/loadgen.err")
	line=${line/RESULT /RESULT run=$label }
	[ -n "$line" ] || line="RESULT run=$label failed=1 rate=0 errors=1"
	echo "$line" | tee -a "$WORK/results.txt"
	LAST=$line
}

hr() {
	local label=$1 line
	shift
	line=$("$BIN/hashrate" "$@")
	line=${line/RESULT /RESULT run=$label }
	echo "$line" | tee -a "$WORK/results.txt"
	LAST=$line
}

# start_daemon NAME PORT CONF-LINES...: detached; ready when it exits 0
start_daemon() {
	local name=$1 port=$2 l
	shift 2
	{
		for l in "$@" "$USER_LINE"; do [ -n "$l" ] && echo "$l"; done
	} >"$WORK/$name.conf"
	"$AUTHCHATD" -f "$WORK/$name.conf" -b 127.0.0.1 -p "$port" \
	    -l "$WORK/$name.log" -P "$WORK/$name.pid" 2>"$WORK/$name.err" ||
	    { cat "$WORK/$name.err" >&2; return 1; }
	STARTED+=("$(cat "$WORK/$name.pid")")
}

stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 1 200); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.025
	done
	kill -KILL "$1" 2>/dev/null
}

start_ref() {
	"$BIN/ref_fork" "$1" 3600 &
	STARTED+=("$!")
	sleep 0.1
	[ -e "/proc/$!" ] || die "ref_fork could not listen on port $1"
}

children_of() {
	local f line rest pp
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest=${line##*) }
		read -r _ pp _ <<<"$rest"
		[ "$pp" = "$1" ] || continue
		f=${f#/proc/}
		echo "${f%/stat}"
	done
}

kb() { awk -v k="$2" '$1 == k":" {print $2}' "$1" 2>/dev/null; }

# one framed message on fd 3, header and text in one write
fsend() { printf '%010d%s' "${#1}" "$1" >&3; }
frecv() {
	local hdr IFS=
	FRAME=
	read -r -N 10 -t 10 hdr <&3 || return 1
	[ "$((10#$hdr))" -eq 0 ] || read -r -N "$((10#$hdr))" -t 10 FRAME <&3
}

# hold a connection open on fd 3 to read the child's memory; auth: log in
hold_open() {
	local port=$1 user=${2:-} i
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	if [ -z "$user" ]; then
		frecv && fsend "hello" && frecv
		return
	fi
	for i in $(seq 1 16); do
		frecv || return 1
		case $FRAME in
		"332 "*) fsend "" ;;
		"330 "*) fsend "$user" ;;
		"331 "*) fsend "$PW" ;;
		"250 "*) return 0 ;;
		[0-9][0-9][0-9]-*) ;;
		*) return 1 ;;
		esac
	done
	return 1
}

# child_dirty PARENT-PID PORT [USER]: kB of Private_Dirty in its child
child_dirty() {
	local kids v=nan
	hold_open "$2" "${3:-}" || { exec 3>&-; echo nan; return; }
	sleep 0.2
	kids=$(children_of "$1")
	set -- $kids
	if [ $# -ge 1 ]; then
		eval "v=\$$#"
		v=$(kb "/proc/$v/smaps_rollup" Private_Dirty)
	fi
	exec 3>&-
	echo "${v:-nan}"
}

# ---- machine ----------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MACHINE="$(nproc) CPUs, ${CPU:-unknown CPU}, Linux $(uname -r)"
REV=$(git -C "$HERE" describe --always --dirty 2>/dev/null || echo unknown)
say "== authchatd benchmark: $([ $QUICK = 1 ] && echo quick || echo full)," \
    "$PAIRS pairs of ${SECS}s, $CLIENTS clients"
say "== machine: $MACHINE; authchatd $AUTHCHATD ($REV)"

# ---- state ------------------------------------------------------------
say "== generating state directories"
"$BIN/gendb" -o "$WORK/login" -n 1000 -c "$COST" -u 16 ||
    die "gendb failed"
"$BIN/gendb" -o "$WORK/login1" -n 1000 -c 1 -u 64 || die "gendb failed"
"$BIN/gendb" -o "$WORK/resume" -n 1000 -s 1000 -c 1 -u 64 \
    -T "$WORK/resume.tokens" || die "gendb failed"

start_ref "$P_REFA"
start_ref "$P_REFB"
start_daemon echo "$P_ECHO" "mode echo" || die "authchatd (echo) did not start"
PID_ECHO=${STARTED[-1]}
start_daemon login "$P_LOGIN" "mode auth" "state_dir $WORK/login" \
    "hash_cost $COST" || die "authchatd (auth) did not start"
PID_LOGIN=${STARTED[-1]}
start_daemon login1 "$P_LOGIN1" "mode auth" "state_dir $WORK/login1" \
    "hash_cost 1" || die "authchatd (auth) did not start"
start_daemon resume "$P_RESUME" "mode auth" "state_dir $WORK/resume" \
    "hash_cost 1" || die "authchatd (auth) did not start"

LG=(-c "$CLIENTS" -d "$SECS")
# a login takes a whole hash: longer runs, so each holds more of them
LSECS=$((SECS * 2))
LLG=(-c "$CLIENTS" -d "$LSECS")
port_of() { case $1 in A) echo "$P_REFA" ;; B) echo "$P_REFB" ;; D) echo "$P_ECHO" ;; esac; }

say "== warm-up"
for s in A D B; do
	lg "warmup.connect.$s" connect -p "$(port_of $s)" -c "$CLIENTS" -d 1 >/dev/null
done
lg warmup.login login -p "$P_LOGIN" -c "$CLIENTS" -d 1 -u 1000 -w "$PW" >/dev/null

# ---- pairs ------------------------------------------------------------
say "== $PAIRS pairs: reference (A), authchatd (D), reference again (B)"
for i in $(seq 1 "$PAIRS"); do
	case $((i % 3)) in
	1) order="A D B" ;; 2) order="D B A" ;; 0) order="B A D" ;;
	esac
	for mode in connect pingpong; do
		declare -A rate=()
		for s in $order; do
			lg "$mode.$s.$i" "$mode" -p "$(port_of $s)" "${LG[@]}" -k 100000000
			rate[$s]=$(field rate "$LAST")
			add "$mode.$s.rate" "${rate[$s]}"
			add "$mode.$s.p50" "$(field p50_us "$LAST")"
			add "$mode.$s.p99" "$(field p99_us "$LAST")"
			add "$mode.$s.errors" "$(field errors "$LAST")"
			add "$mode.$s.busy" "$(field err_busy "$LAST")"
		done
		add "$mode.ratio" "$(ratio "${rate[D]}" "${rate[A]}")"
		add "$mode.control" "$(ratio "${rate[B]}" "${rate[A]}")"
		[ $mode = connect ] && conn_d=${rate[D]}
		unset rate
	done
	# login against the hash rate it is bounded by, in alternating order
	for step in $([ $((i % 2)) = 1 ] && echo "hash login" || echo "login hash"); do
		if [ $step = hash ]; then
			hr "hashrate.c$COST.$i" -f -t "$CLIENTS" -c "$COST" -d "$LSECS"
			h=$(field rate "$LAST")
			add hash.rate "$h"
		else
			lg "login.$i" login -p "$P_LOGIN" "${LLG[@]}" -u 1000 -w "$PW"
			l=$(field rate "$LAST")
			add login.rate "$l"
			add login.p50 "$(field p50_us "$LAST")"
			add login.p99 "$(field p99_us "$LAST")"
			add login.errors "$(field errors "$LAST")"
		fi
	done
	add login.ratio "$(ratio "$l" "$h")"
	# the same at cost 1, where the hash is cheap: for information
	hr "hashrate.c1.$i" -f -t "$CLIENTS" -c 1 -d "$SECS"
	h1=$(field rate "$LAST")
	lg "login1.$i" login -p "$P_LOGIN1" "${LG[@]}" -u 1000 -w "$PW"
	add login1.rate "$(field rate "$LAST")"
	add login1.p50 "$(field p50_us "$LAST")"
	add hash1.rate "$h1"
	add login1.ratio "$(ratio "$(field rate "$LAST")" "$h1")"
	lg "resume.$i" resume -p "$P_RESUME" "${LG[@]}" -T "$WORK/resume.tokens"
	r=$(field rate "$LAST")
	add resume.rate "$r"
	add resume.p50 "$(field p50_us "$LAST")"
	add resume.p99 "$(field p99_us "$LAST")"
	add resume.errors "$(field errors "$LAST")"
	add resume.vs_login "$(ratio "$r" "$l")"
	add resume.vs_connect "$(ratio "$r" "$conn_d")"
done

# ---- memory -----------------------------------------------------------
say "== memory"
sleep 0.5
RSS_ECHO=$(kb "/proc/$PID_ECHO/status" VmRSS)
RSS_AUTH=$(kb "/proc/$PID_LOGIN/status" VmRSS)
DIRTY_ECHO=$(child_dirty "$PID_ECHO" "$P_ECHO")
DIRTY_AUTH=$(child_dirty "$PID_LOGIN" "$P_LOGIN" bench1)
DIRTY_REF=$(child_dirty "${STARTED[0]}" "$P_REFA")
say "parent RSS: echo ${RSS_ECHO} kB, auth ${RSS_AUTH} kB; child private" \
    "dirty: echo ${DIRTY_ECHO} kB, auth ${DIRTY_AUTH} kB (reference ${DIRTY_REF} kB)"
for p in "${STARTED[@]}"; do stop_pid "$p"; done
STARTED=()

# ---- growth -----------------------------------------------------------
say "== growth: $SIZES users and sessions (cost-1 hashes)"
hr hash1.single -t 1 -c 1 -n 50 -d 60
H1_US=$(field p50_us "$LAST")
# what any command costs to start here, for scale: /bin/true
for k in $(seq 1 "$N_START"); do
	t0=$EPOCHREALTIME
	/bin/true
	add start.true "$(ms_since "$t0")"
done
for n in $SIZES; do
	d=$WORK/g$n
	"$BIN/gendb" -o "$d" -n "$n" -s "$n" -c 1 -u 1024 -T "$d.tokens" ||
	    die "gendb failed"
	conf=("mode auth" "state_dir $d" "hash_cost 1")
	for k in $(seq 1 "$N_START"); do
		t0=$EPOCHREALTIME
		start_daemon "g$n" "$P_GROW" "${conf[@]}" || die "authchatd did not start"
		add "start.$n" "$(ms_since "$t0")"
		stop_pid "${STARTED[-1]}"
		unset 'STARTED[-1]'
	done
	start_daemon "g$n" "$P_GROW" "${conf[@]}" || die "authchatd did not start"
	lg "grow.login.$n" login -p "$P_GROW" -c 1 -n "$N_LOGIN" -d 600 -u "$n" -w "$PW"
	add "glogin.$n" "$(field p50_us "$LAST")"
	lg "grow.resume.$n" resume -p "$P_GROW" -c 1 -n "$N_RESUME" -d 600 -T "$d.tokens"
	add "gresume.$n" "$(field p50_us "$LAST")"
	lg "grow.register.$n" register -p "$P_GROW" -c 1 -n "$N_REG" -d 600 \
	    -U "r${RANDOM}x" -w "$PW"
	add "greg.$n" "$(field p50_us "$LAST")"
	if [ -x "$AUTHCHATCTL" ]; then
		spent=0	# up to 3 times, unless one takes seconds
		for k in 1 2 3; do
			t0=$EPOCHREALTIME
			"$AUTHCHATCTL" -f "$WORK/g$n.conf" user list \
			    >/dev/null 2>"$WORK/ctl.err" || break
			t=$(ms_since "$t0")
			add "ctl.$n" "$t"
			spent=$(awk -v a="$spent" -v b="$t" 'BEGIN{print a+b}')
			awk -v s="$spent" 'BEGIN{exit !(s > 3000)}' && break
		done
	fi
	stop_pid "${STARTED[-1]}"
	unset 'STARTED[-1]'
done

# ---- verdict ----------------------------------------------------------
C_CONN=$(median connect.control)
C_PING=$(median pingpong.control)
# how far a control is off 1.0, 0 when within 5% (1 when missing)
off() { awk -v c="$1" 'BEGIN{ if (c == "nan") { print 1; exit }
    d = c - 1; if (d < 0) d = -d; print (d > 0.05 ? d : 0) }'; }
N_CONN=$(off "$C_CONN"); N_PING=$(off "$C_PING")
N_ANY=$(awk -v a="$N_CONN" -v b="$N_PING" 'BEGIN{ print (a > b ? a : b) }')
NOISY=$(awk -v n="$N_ANY" 'BEGIN{ print (n > 0 ? 1 : 0) }')

R_CONN=$(median connect.ratio); R_PING=$(median pingpong.ratio)
R_LOGIN=$(median login.ratio); R_LOGIN1=$(median login1.ratio)
R_RL=$(median resume.vs_login); R_RC=$(median resume.vs_connect)
SETTING=$(sed -n "s/.*run=hashrate.c$COST.1 .*setting=\([^ ]*\).*/\1/p" "$WORK/results.txt")
pct() { awk -v v="$1" 'BEGIN{ if (v == "nan") print "n/a"; else printf "%.0f%%", v*100 }'; }
x() { awk -v v="$1" 'BEGIN{ if (v == "nan") print "n/a"; else printf "%.2fx", v }'; }
ms() { awk -v v="$1" 'BEGIN{ if (v == "nan" || v == "") print "n/a"; else printf "%.1f ms", v/1000 }'; }
grow() { ratio "$(median "$1.100000")" "$(median "$1.1000")"; }
G_LOGIN=$(grow glogin); G_RESUME=$(grow gresume)
REG_X=$(awk -v r="$(median greg.100000)" -v h="$H1_US" 'BEGIN{ if (r == "nan") print "nan"; else print r-h }')
START100=$(median start.100000)
CTL100=$(median ctl.100000)

{
echo "### Benchmark ($([ $QUICK = 1 ] && echo "quick run" || echo "full run"), $(date -u +%Y-%m-%d))"
echo
echo "Machine: $MACHINE. authchatd $REV; $PAIRS pairs of ${SECS} s, $CLIENTS clients, loopback."
echo
echo "| figure | median | target | result |"
echo "| --- | --- | --- | --- |"
echo "| control: reference / reference, connect | $(x "$C_CONN") | 0.95-1.05 | $([ "$N_CONN" = 0 ] && echo ok || echo NOISY) |"
echo "| control: reference / reference, pingpong | $(x "$C_PING") | 0.95-1.05 | $([ "$N_PING" = 0 ] && echo ok || echo NOISY) |"
echo "| echo connect: authchatd / reference | $(pct "$R_CONN") | >= 85% | $(judge "$R_CONN" ">=" 0.85 "$N_CONN") |"
echo "| echo pingpong: authchatd / reference | $(pct "$R_PING") | >= 90% | $(judge "$R_PING" ">=" 0.90 "$N_PING") |"
echo "| login / hash rate, hash_cost $COST (${SETTING:-?}) | $(pct "$R_LOGIN") | >= 90% | $(judge "$R_LOGIN" ">=" 0.90 "$N_ANY") |"
echo "| login / hash rate, hash_cost 1 (information) | $(pct "$R_LOGIN1") | - | - |"
echo "| resume / login | $(x "$R_RL") | >= 20x | $(judge "$R_RL" ">=" 20 "$N_ANY") |"
echo "| resume / echo connect | $(pct "$R_RC") | >= 50% | $(judge "$R_RC" ">=" 0.50 "$N_ANY") |"
echo "| parent RSS, echo | ${RSS_ECHO:-?} KiB | < 4096 KiB | $(judge "${RSS_ECHO:-nan}" "<" 4096) |"
echo "| parent RSS, auth | ${RSS_AUTH:-?} KiB | < 4096 KiB | $(judge "${RSS_AUTH:-nan}" "<" 4096) |"
echo "| child private dirty, echo (reference: $DIRTY_REF KiB) | $DIRTY_ECHO KiB | < 512 KiB | $(judge "$DIRTY_ECHO" "<" 512) |"
echo "| child private dirty, auth after a login | $DIRTY_AUTH KiB | reported | - |"
echo "| login time, 1 client: 100k / 1k users | $(x "$G_LOGIN") | < 2x | $(judge "$G_LOGIN" "<" 2) |"
echo "| resume time, 1 client: 100k / 1k sessions | $(x "$G_RESUME") | < 2x | $(judge "$G_RESUME" "<" 2) |"
echo "| registration at 100k users, hash excluded | $(ms "$REG_X") | < 50 ms | $(judge "$REG_X" "<" 50000) |"
echo "| start-up to ready, 100k users (starting /bin/true: $(fmt "$(median start.true)" "%.1f ms")) | $(fmt "$START100" "%.1f ms") | < 50 ms | $(judge "$START100" "<" 50) |"
echo "| authchatctl user list, 100k users | $([ -x "$AUTHCHATCTL" ] && fmt "$CTL100" "%.1f ms" || echo "no authchatctl") | reported | - |"
echo
echo "| load (8 clients) | reference | authchatd | p50 ref / authchatd | p99 ref / authchatd | errors ref / authchatd |"
echo "| --- | --- | --- | --- | --- | --- |"
for m in connect pingpong; do
	echo "| echo $m | $(fmt "$(median $m.A.rate)")/s | $(fmt "$(median $m.D.rate)")/s |" \
	    "$(fmt "$(median $m.A.p50)") / $(fmt "$(median $m.D.p50)") us |" \
	    "$(fmt "$(median $m.A.p99)") / $(fmt "$(median $m.D.p99)") us |" \
	    "$(sum $m.A.errors) / $(sum $m.D.errors) ($(sum $m.D.busy) refused busy) |"
done
echo "| hashes (cost $COST, 8 processes) / login | $(fmt "$(median hash.rate)" %.1f)/s | $(fmt "$(median login.rate)" %.1f)/s | - / $(ms "$(median login.p50)") | - / $(ms "$(median login.p99)") | 0 / $(sum login.errors) |"
echo "| hashes (cost 1, 8 processes) / login | $(fmt "$(median hash1.rate)" %.1f)/s | $(fmt "$(median login1.rate)" %.1f)/s | - / $(ms "$(median login1.p50)") | - | - |"
echo "| resume (1,000 sessions) | - | $(fmt "$(median resume.rate)" %.1f)/s | - / $(ms "$(median resume.p50)") | - / $(ms "$(median resume.p99)") | - / $(sum resume.errors) |"
echo
echo "| users and sessions | start-up | login, 1 client (p50) | resume, 1 client (p50) | registration (p50; hash $(ms "$H1_US")) | authchatctl user list |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in $SIZES; do
	echo "| $n | $(fmt "$(median start.$n)" "%.1f ms") | $(ms "$(median glogin.$n)") |" \
	    "$(ms "$(median gresume.$n)") | $(ms "$(median greg.$n)") |" \
	    "$([ -x "$AUTHCHATCTL" ] && fmt "$(median ctl.$n)" "%.1f ms" || echo -) |"
done
echo
if [ "$NOISY" = 1 ]; then
	echo "A control is not within 5% of 1.0: the run was too noisy to judge the" \
	    "ratios near their targets; a ratio that misses its target by more than" \
	    "twice the control's error is still judged, the others say NOISY."
else
	echo "The control is within 5% of 1.0: the ratios can be judged."
fi
echo
echo "Total time $(awk -v a="$T_BEGIN" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s; every run's RESULT line is in $WORK/results.txt."
} | tee "${WORK:?}/results.md"
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	rm -rf "${WORK:?}"/g[0-9]* "${WORK:?}/login" "${WORK:?}/login1" \
	    "${WORK:?}/resume"
fi
