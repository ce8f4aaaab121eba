#!/usr/bin/env bats
# faults.bats: when the disk fails under a registration, the client hears
# an error, the old database stays intact and the failure is logged.

load helpers

SHIM="$BUILDDIR/faultshim.so"

# A database with one user, then a daemon whose FAULT call fails.
faulty_daemon() {
	[ -e "$SHIM" ]
	start_auth auth "hash_cost 1"
	register ivan secret123
	stop_daemon
	cp "$STATE/users" "$TMP/users.before"
	export LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    FAULT_MATCH=users "$@"
	start_daemon -f "$TMP/auth.conf"
	unset LD_PRELOAD FAULT FAULT_MATCH FAULT_ERRNO
}

check_intact() {
	run chat olga password1 password1
	assert_failure 1
	assert_line "authchat: internal error: the user database could not be used, closing"
	cmp "$STATE/users" "$TMP/users.before"
	wait_for log_has "$1"
	# the daemon goes on serving
	rm -f "$(token_file)"
	run chat ivan secret123 /quit
	assert_line "Welcome, ivan"
}

@test "rename fails: old database intact" {
	faulty_daemon FAULT=rename
	check_intact "rename"
}

@test "fsync fails: old database intact" {
	faulty_daemon FAULT=fsync
	check_intact "fsync"
}

@test "disk full on write: old database intact" {
	faulty_daemon FAULT=write FAULT_ERRNO=ENOSPC
	check_intact "No space left on device"
}
