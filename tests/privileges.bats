#!/usr/bin/env bats
# privileges.bats: started as root, the daemon drops to its user; the
# children never run as root; it refuses to stay root by accident.

load helpers

uids_of() {
	awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"
}

@test "as root: parent and children run as the configured user; the state becomes that user's" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	chmod 755 "$TMP" "$(dirname "$TMP")"
	auth_conf auth "hash_cost 1"
	# a record made by root before the daemon ever ran (0600, root's)
	printf 'secret123\n' | "$BUILDDIR/authchatctl" -f "$TMP/auth.conf" user add --stdin olga
	[ "$(stat -c %U "$STATE/users/olga")" = root ]
	start_daemon -f "$TMP/auth.conf" -u nobody
	uid=$(id -u nobody)
	[ "$(uids_of "$DAEMON_PID")" = "$uid $uid $uid $uid" ]
	mkfifo "$TMP/hold"
	"$TPEER" -p "$PORT" recv wait <"$TMP/hold" >"$TMP/peer.out" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/hold"
	wait_for grep -q '^220' "$TMP/peer.out"
	kid=$(children_of "$DAEMON_PID")
	[ -n "$kid" ]
	[ "$(uids_of "$kid")" = "$uid $uid $uid $uid" ]
	exec 8>&-
	log_has "running as user nobody (uid $uid)"
	for f in . lock users users/olga lastlog idents sessions; do
		[ "$(stat -c %U "$STATE/$f")" = nobody ]
	done
	# the unprivileged daemon can still write its state
	run chat ivan secret123 secret123 /quit
	assert_success
	assert_line "Welcome, ivan"
	# and read root's old record, now its own
	rm -f "$(token_file)"
	run chat olga secret123 /quit
	assert_success
	assert_line "Welcome, olga"
	[ -e "$STATE/users/ivan" ]
	[ -e "$STATE/lastlog/olga" ]
	[ "$(records sessions | wc -l)" -eq 2 ]
	run find "$STATE" ! -user nobody
	assert_output ""
}

@test "as root: refuses a user that does not exist, and no user at all" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	run "$AUTHCHATD" -f /dev/null -u no_such_user_x -b 127.0.0.1 -p 1 -l "$TMP/l"
	assert_failure 1
	assert_output --partial "user no_such_user_x does not exist"
	if ! getent passwd authchatd >/dev/null; then
		run "$AUTHCHATD" -f /dev/null -b 127.0.0.1 -p 1 -l "$TMP/l"
		assert_failure 1
		assert_output --partial "user authchatd does not exist"
	fi
}

@test "user root is possible, and said in the log" {
	start_daemon
	[ "$(id -u)" -ne 0 ] || log_has 'running as root, as "user root" says'
}
