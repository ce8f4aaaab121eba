#!/usr/bin/env bats
# echo.bats: the conversation in echo mode through the real client.

load helpers

@test "client pipes messages and gets one reply each" {
	start_daemon
	run chat hello "Привет, мир" /whoami /time /help /nosuch
	assert_success
	assert_line --index 0 --partial "authchat/1 authchatd ready"
	assert_line --index 1 "hello"
	assert_line --index 2 "Привет, мир"
	assert_line --index 3 --regexp "^You are 127\.0\.0\.1 port [0-9]+$"
	assert_line --index 4 --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[-+][0-9]{4}$"
	assert_output --partial "/quit    end the conversation"
	assert_output --partial "unknown command /nosuch"
	assert_line "Goodbye"
}

@test "/quit and exit end the conversation with goodbye, exit 0" {
	start_daemon
	run chat one /quit two
	assert_success
	assert_line "one"
	assert_line "Goodbye"
	refute_line "two"
	run chat exit
	assert_success
	assert_line "Goodbye"
}

@test "IPv6 loopback works for daemon and client" {
	BIND=::1 start_daemon
	run bash -c "printf 'v6\n/whoami\n' | '$AUTHCHAT' -H ::1 -p $PORT"
	assert_success
	assert_line "v6"
	assert_line --regexp "^You are ::1 port [0-9]+$"
	log_has "listening on ::1 port $PORT"
}

@test "an IPv4-mapped address is shown as plain IPv4" {
	BIND=:: start_daemon
	run chat /whoami
	assert_success
	assert_line --regexp "^You are 127\.0\.0\.1 port [0-9]+$"
	wait_for log_has "connection from 127.0.0.1 port"
}

@test "a lost connection is one clear line and a non-zero exit" {
	start_daemon
	mkfifo "$TMP/in"
	"$AUTHCHAT" -H 127.0.0.1 -p "$PORT" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	cpid=$!
	EXTRA_PIDS+=("$cpid")
	exec 8>"$TMP/in"
	wait_for grep -q "ready" "$TMP/out"
	kids=$(children_of "$DAEMON_PID")
	[ -n "$kids" ]
	kill -9 $kids "$DAEMON_PID"
	DAEMON_PID=
	echo "anyone there" >&8
	exec 8>&-
	rc=0
	wait "$cpid" || rc=$?
	[ "$rc" -eq 1 ]
	run cat "$TMP/err"
	assert_output --regexp "^authchat: connection lost: "
	[ "$(wc -l <"$TMP/err")" -eq 1 ]
}

@test "20 clients at once, 100 messages each, every reply right" {
	# 20 from one address: over the default max_per_source of 10
	echo "max_per_source 20" >"$TMP/conf"
	start_daemon -f "$TMP/conf"
	for c in $(seq 1 20); do
		(
			rc=0
			for m in $(seq 1 100); do echo "client $c message $m"; done |
			    "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" >"$TMP/out.$c" 2>&1 || rc=$?
			echo "$rc" >"$TMP/rc.$c"
		) &
	done
	wait
	for c in $(seq 1 20); do
		assert_equal "$(cat "$TMP/rc.$c"): $(head -1 "$TMP/out.$c")" "0: authchat/1 authchatd ready, mode echo; /help for commands"
		for m in $(seq 1 100); do echo "client $c message $m"; done >"$TMP/want.$c"
		sed -n '2,101p' "$TMP/out.$c" | diff -u "$TMP/want.$c" -
		[ "$(sed -n '102p' "$TMP/out.$c")" = "Goodbye" ]
	done
}
