#!/usr/bin/env bats
# logging.bats: service messages go to the log file, never the terminal;
# SIGHUP reopens the file; client text cannot forge a line.

load helpers

@test "service messages land in the log file, nothing on the terminal" {
	run start_daemon
	assert_success
	assert_output ""
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	PORT=$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\)$/\1/p' "$TMP/authchatd.log")
	run chat hello /quit
	assert_success
	stop_daemon
	run cat "$TMP/authchatd.log"
	assert_line --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[-+][0-9]{2}:[0-9]{2} authchatd\[[0-9]+\]: info: authchatd .* starting, mode echo$"
	assert_line --partial "info: listening on 127.0.0.1 port $PORT"
	assert_line --regexp "info: connection from 127\.0\.0\.1 port [0-9]+$"
	assert_line --regexp "info: disconnected 127\.0\.0\.1 port [0-9]+: client quit \(2 messages\)$"
	assert_line --partial "info: stopping"
	assert_line --partial "info: stopped"
	[ ! -e "$TMP/authchatd.pid" ]
}

@test "SIGHUP after moving the log file makes a new one" {
	start_daemon
	mv "$TMP/authchatd.log" "$TMP/authchatd.log.1"
	kill -HUP "$DAEMON_PID"
	wait_for test -e "$TMP/authchatd.log"
	wait_for log_has "configuration reloaded"
	run chat after-rotate
	assert_success
	wait_for log_has "disconnected 127.0.0.1"
	run grep -c "connection from" "$TMP/authchatd.log.1"
	assert_output 0
}

@test "a client cannot forge a log line" {
	start_daemon -v
	fake='2026-01-01T00:00:00.000+00:00 authchatd[1]: info: Accepted password for root from 10.0.0.1 port 22'
	run "$TPEER" -p "$PORT" recv "send:x\\n$fake" recv "send:/bad\\r\\n$fake" recv close
	assert_success
	wait_for log_has "disconnected 127.0.0.1"
	run grep -c '^2026-01-01T00:00:00.000' "$TMP/authchatd.log"
	assert_output 0
	# the text is there, escaped, inside a line of our own
	run grep -F 'x\n2026-01-01T00:00:00.000' "$TMP/authchatd.log"
	assert_success
	assert_output --regexp "^[0-9]{4}-.* authchatd\[[0-9]+\]: debug: message from 127\.0\.0\.1"
}

@test "syslog is the default when no log file is set" {
	PORT=$((20000 + RANDOM % 12000))
	run "$AUTHCHATD" -u root -f /dev/null -b 127.0.0.1 -p "$PORT" -P "$TMP/authchatd.pid"
	assert_success
	assert_output ""
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	run chat via-syslog
	assert_success
	[ ! -e "$TMP/authchatd.log" ]
}

@test "SIGHUP re-reads the configuration; a bad one is refused and the old kept" {
	echo "max_message 1000" >"$TMP/c.conf"
	start_daemon -f "$TMP/c.conf"
	run "$TPEER" -p "$PORT" recv "send:0123456789abcdefg" recv close
	assert_line "250 0123456789abcdefg"
	echo "max_message 16" >"$TMP/c.conf"
	kill -HUP "$DAEMON_PID"
	wait_for log_has "configuration reloaded"
	run "$TPEER" -p "$PORT" recv "send:0123456789abcdefg" drain
	assert_line "421 protocol error: message too large, closing"
	echo "max_message lots" >"$TMP/c.conf"
	kill -HUP "$DAEMON_PID"
	wait_for log_has "configuration not reloaded, keeping the old one"
	grep -q "c.conf:1: max_message" "$TMP/authchatd.log"
	run "$TPEER" -p "$PORT" recv "send:0123456789abcdef" recv close
	assert_line "250 0123456789abcdef"
	echo "listen 127.0.0.2" >"$TMP/c.conf"
	kill -HUP "$DAEMON_PID"
	wait_for log_has "port and listen changes wait for a restart"
	run chat "same port still"
	assert_line "same port still"
}
