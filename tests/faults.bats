#!/usr/bin/env bats
# faults.bats: when the disk fails under a registration, the client hears
# an error, the old database stays intact and the failure is logged.

load helpers

SHIM="$BUILDDIR/faultshim.so"

# A database with one user, then a daemon whose FAULT call fails on the
# new record's temp file, users/.olga.XXXXXXXX (renameat names it so,
# relative to users/; write and fsync see its full path).
faulty_daemon() {
	[ -e "$SHIM" ]
	start_auth auth "hash_cost 1"
	register ivan secret123
	stop_daemon
	state_snapshot >"$TMP/state.before"
	export LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    FAULT_MATCH=.olga. "$@"
	start_daemon -f "$TMP/auth.conf"
	unset LD_PRELOAD FAULT FAULT_MATCH FAULT_ERRNO
}

# check_intact LOGGED: olga's registration failed as it should have.
check_intact() {
	run chat olga password1 password1
	assert_failure 1
	assert_line "authchat: internal error: the user database could not be used, closing"
	wait_for log_has "$1"
	# nothing changed, no olga half made, no temp file left behind
	state_snapshot >"$TMP/state.after"
	diff -u "$TMP/state.before" "$TMP/state.after"
	[ ! -e "$STATE/users/olga" ]
	[ ! -e "$STATE/lastlog/olga" ]
	[ -z "$(temp_files)" ]
	# the daemon goes on serving
	rm -f "$(token_file)"
	run chat ivan secret123 /quit
	assert_line "Welcome, ivan"
}

@test "rename fails: old database intact" {
	faulty_daemon FAULT=renameat
	check_intact "rename $STATE/users/.olga."
}

@test "fsync fails: old database intact" {
	faulty_daemon FAULT=fsync
	check_intact "fsync $STATE/users/.olga."
}

@test "disk full on write: old database intact" {
	faulty_daemon FAULT=write FAULT_ERRNO=ENOSPC
	check_intact "write $STATE/users/.olga."
	grep -q "write $STATE/users/\.olga\.[0-9A-Za-z]\{8\}: No space left on device" "$TMP/authchatd.log"
}
