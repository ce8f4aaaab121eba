#!/usr/bin/env bats
# hardening.bats: one client's behaviour cannot hurt another's: startups,
# per-source limits, grace and idle deadlines, penalties, floods, log
# rate limits, and faults the daemon survives.

load helpers

SHIM="$BUILDDIR/faultshim.so"

# hold_dialogue N: N peers stuck at the auth dialogue's token question.
hold_dialogue() {
	hold "$1" recvn:2 "^332 "
}

# refusals N: of N quick connections, how many heard a refusal.
refusals() {
	local i n=0
	for i in $(seq 1 "$1"); do
		"$TPEER" -p "$PORT" recv close 2>/dev/null | grep -q '^421 too many connections waiting' && n=$((n + 1))
	done
	echo "$n"
}

@test "max_startups: below start all in; from start, random early drop" {
	start_auth auth "max_startups 2:50:4" "max_per_source 1000"
	hold_dialogue 1
	[ "$(refusals 20)" -eq 0 ]
	exec 8>&-
	wait_for [ "$(count_children)" -eq 0 ]
	rm "$TMP/hold"
	hold_dialogue 2
	n=$(refusals 40)
	echo "# refused $n of 40 at start (rate 50%)" >&3
	[ "$n" -ge 8 ]
	[ "$n" -le 36 ]
	log_has "too many connections waiting to log in"
}

@test "max_startups: at full every new connection is refused" {
	start_auth auth "max_startups 3:30:3" "max_per_source 1000"
	hold_dialogue 3
	[ "$(refusals 10)" -eq 10 ]
	exec 8>&-
	wait_for [ "$(count_children)" -eq 0 ]
	[ "$(refusals 5)" -eq 0 ]
}

@test "max_per_source: the connection over the limit hears why" {
	start_auth auth "max_per_source 2"
	hold_dialogue 2
	run "$TPEER" -p "$PORT" drain
	assert_output "421 too many connections from your address"
	# another source block is not affected
	run bash -c "printf '' | '$AUTHCHAT' -H ::1 -p $PORT" || true
	wait_for grep -qE "refused 127\.0\.0\.1 port [0-9]+: too many connections from your address" "$TMP/authchatd.log"
}

@test "login_grace_time is a deadline for the whole dialogue, not per read" {
	start_auth auth "login_grace_time 2"
	t0=$(date +%s)
	run "$TPEER" -p "$PORT" recvn:2 trickle:300 drain
	t1=$(date +%s)
	assert_line "421 Login grace time exceeded, closing"
	[ $((t1 - t0)) -le 5 ]
	wait_for log_has "Login grace time exceeded for 127.0.0.1 port"
}

@test "penalties: one failure lets in, two refuse, access returns when it expires" {
	start_auth auth "registration no" "penalties authfail:2s invaliduser:2s noauth:0s grace-exceeded:2s min:3s max:3s"
	fail_once() { chat nobody x1 nobody x2 nobody x3 >/dev/null 2>&1 || true; }
	fail_once
	run "$TPEER" -p "$PORT" recv close
	assert_output --regexp "^220-authchat/1"
	fail_once
	run "$TPEER" -p "$PORT" drain
	assert_output "421 refused for now after failed logins from your address; try again later"
	# let the three-second penalty run out
	sleep 3.2
	run "$TPEER" -p "$PORT" recv close
	assert_output --regexp "^220-authchat/1"
}

@test "penalty_exempt: an exempt address is never refused" {
	start_auth auth "registration no" "penalties authfail:2s invaliduser:2s noauth:0s grace-exceeded:2s min:3s max:3s" "penalty_exempt 127.0.0.0/8 ::1"
	for i in 1 2 3; do chat nobody x1 nobody x2 nobody x3 >/dev/null 2>&1 || true; done
	run "$TPEER" -p "$PORT" recv close
	assert_output --regexp "^220-authchat/1"
}

@test "a flood of 2000 connections: bounded children and memory, then service" {
	start_daemon -f <(echo "max_children 8")
	pids=()
	for l in $(seq 1 20); do
		( for i in $(seq 1 100); do "$TPEER" -p "$PORT" recv sleep:60 close >/dev/null 2>&1 || true; done ) &
		pids+=($!)
	done
	maxkids=0 maxrss=0
	while kill -0 "${pids[@]}" 2>/dev/null; do
		k=$(count_children)
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")
		[ "$k" -gt "$maxkids" ] && maxkids=$k
		[ "$r" -gt "$maxrss" ] && maxrss=$r
		sleep 0.05
	done
	wait
	echo "# max children $maxkids, max parent RSS ${maxrss} kB" >&3
	# the monitor saw the flood (at least one child), never over the limit
	[ "$maxkids" -le 8 ]
	[ "$maxkids" -ge 1 ]
	[ "$maxrss" -lt 16384 ]
	[ "$(ls /proc/$DAEMON_PID/fd | wc -l)" -lt 64 ]
	run chat "after the flood"
	assert_success
	assert_line "after the flood"
}

@test "refusals are logged at most a few lines a second, then counted" {
	start_daemon -f <(echo "max_children 1")
	mkfifo "$TMP/hold"
	"$TPEER" -p "$PORT" recv wait <"$TMP/hold" >"$TMP/held" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/hold"
	wait_for grep -q '^220' "$TMP/held"
	for i in $(seq 1 200); do "$TPEER" -p "$PORT" close 2>/dev/null || true; done
	exec 8>&-
	# the counts come once their second is over: every refusal is
	# either a line or in a count
	logged_total() {
		awk '/refused 127.0.0.1/ { n++ } /more refusals not logged/ { n += $(NF-4) } END { print n + 0 }' "$TMP/authchatd.log"
	}
	wait_for eval '[ "$(logged_total)" -eq 200 ]'
	lines=$(grep -c "refused 127.0.0.1" "$TMP/authchatd.log")
	echo "# $lines refusal lines for 200 refusals" >&3
	# never more than 5 lines in one second, whatever the machine's speed
	# (plus the one line whose timestamp, taken a moment after the
	# limiter's clock, can fall into the next second)
	busiest=$(grep "refused 127.0.0.1" "$TMP/authchatd.log" | cut -c1-19 |
	    sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
	[ "$busiest" -le 6 ]
	[ "$lines" -eq 200 ] || log_has "more refusals not logged"
}

@test "fork fails: the client hears why, the daemon keeps serving" {
	[ -e "$SHIM" ]
	export LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" FAULT=fork FAULT_SKIP=2 FAULT_COUNT=1
	start_daemon
	unset LD_PRELOAD FAULT FAULT_SKIP FAULT_COUNT
	run "$TPEER" -p "$PORT" drain
	assert_output "421 cannot serve now, try again later"
	wait_for log_has "fork: Resource temporarily unavailable"
	run chat "after fork failure"
	assert_line "after fork failure"
}

@test "accept runs out of descriptors: the client hears why, the daemon goes on" {
	[ -e "$SHIM" ]
	export LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" FAULT=accept FAULT_COUNT=1
	start_daemon
	unset LD_PRELOAD FAULT FAULT_COUNT
	run "$TPEER" -p "$PORT" drain
	assert_output "421 cannot serve now, try again later"
	wait_for log_has "out of file descriptors"
	run chat "after EMFILE"
	assert_line "after EMFILE"
}

@test "malloc fails for a large message: the client hears why, others go on" {
	[ -e "$SHIM" ]
	if grep -qa __asan_init "$AUTHCHATD"; then skip "the sanitizer build owns malloc"; fi
	export LD_PRELOAD="$SHIM" FAULT=malloc FAULT_MINSIZE=30000
	start_daemon
	unset LD_PRELOAD FAULT FAULT_MINSIZE
	big=$(head -c 40000 /dev/zero | tr '\0' a)
	run "$TPEER" -p "$PORT" recv "send:$big" drain
	assert_line "421 out of memory, closing"
	run chat "small is fine"
	assert_line "small is fine"
}

@test "a full disk during registration keeps the old database" {
	[ -e "$SHIM" ]
	start_auth auth "hash_cost 1"
	register ivan secret123
	stop_daemon
	state_snapshot >"$TMP/state.before"
	# no room for olga's record: its temp file users/.olga.XXXXXXXX can
	# be neither made (openat) nor written
	export LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" FAULT=write,openat FAULT_MATCH=.olga. FAULT_ERRNO=ENOSPC
	start_daemon -f "$TMP/auth.conf"
	unset LD_PRELOAD FAULT FAULT_MATCH FAULT_ERRNO
	run chat olga password1 password1
	assert_line "authchat: internal error: the user database could not be used, closing"
	wait_for log_has "create a temp file in $STATE/users: No space left on device"
	state_snapshot >"$TMP/state.after"
	diff -u "$TMP/state.before" "$TMP/state.after"
	[ ! -e "$STATE/users/olga" ]
	[ -z "$(temp_files)" ]
	rm -f "$(token_file)"
	run chat ivan secret123 /quit
	assert_line "Welcome, ivan"
}
