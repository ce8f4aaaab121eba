#!/usr/bin/env bats
# startup.bats: start-up failures reach the shell; options and the config
# file are checked strictly; SIGTERM stops cleanly.

load helpers

@test "port in use: non-zero exit and a message" {
	start_daemon
	first=$DAEMON_PID
	run "$AUTHCHATD" -u root -f /dev/null -b 127.0.0.1 -p "$PORT" -l "$TMP/second.log"
	assert_failure 1
	assert_output --partial "cannot listen on 127.0.0.1 port $PORT: Address already in use"
	[ -e "/proc/$first" ]
}

@test "bad config: file:line for every error, exit 1" {
	printf 'port 9090\nbogus 1\nport 70000\nmax_children x\n# fine\nmode echo\nidle_timeout 5q\n' >"$TMP/bad.conf"
	run "$AUTHCHATD" -n -f "$TMP/bad.conf"
	assert_failure 1
	assert_line --partial "$TMP/bad.conf:2: unknown key \"bogus\""
	assert_line --partial "$TMP/bad.conf:3: port: port must be a number from 1 to 65535"
	assert_line --partial "$TMP/bad.conf:4: max_children: max_children must be a number"
	assert_line --partial "$TMP/bad.conf:7: idle_timeout: duration must be"
}

@test "-n accepts the sample config; -T prints every key" {
	run "$AUTHCHATD" -n -f "$SRCDIR/etc/authchatd.conf"
	assert_success
	assert_output --partial "configuration OK"
	run "$AUTHCHATD" -T -f /dev/null -p 2222 -m raw
	assert_success
	assert_line "port 2222"
	assert_line "mode raw"
	assert_line "max_children 64"
	assert_line "max_message 65536"
	assert_line "idle_timeout 300"
}

@test "bad options: usage, exit 2; bad values name what was wrong" {
	run "$AUTHCHATD" -x
	assert_failure 2
	assert_output --partial "usage: authchatd"
	run "$AUTHCHATD" -n -f /dev/null -p 12ab
	assert_failure 1
	assert_output --partial "port: port must be a number from 1 to 65535"
	run "$AUTHCHATD" -n -f /dev/null -m chatty
	assert_failure 1
	assert_output --partial "mode must be echo, raw, ident or auth"
	run "$AUTHCHATD" -n -f "$TMP/missing.conf"
	assert_failure 1
	assert_output --partial "missing.conf: No such file or directory"
}

@test "SIGTERM: connected clients hear goodbye, pidfile removed, exit 0" {
	start_daemon
	mkfifo "$TMP/in"
	"$TPEER" -p "$PORT" recv wait drain <"$TMP/in" >"$TMP/peer.out" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/in"
	wait_for grep -q '^220 ' "$TMP/peer.out"
	stop_daemon
	exec 8>&-
	wait_for grep -q '^421 server shutting down' "$TMP/peer.out"
	[ ! -e "$TMP/authchatd.pid" ]
	log_has "stopped"
}
