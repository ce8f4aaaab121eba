#!/usr/bin/env bats
# limits.bats: max_children, and the raw mode for plain TCP tools.

load helpers

@test "with max_children 2 the third client hears server busy" {
	echo "max_children 2" >"$TMP/c.conf"
	start_daemon -f "$TMP/c.conf"
	hold 2 recv "^220 "
	[ "$(count_children)" -eq 2 ]
	run "$TPEER" -p "$PORT" drain
	assert_success
	assert_output "421 server busy, try again later"
	run bash -c "echo hi | '$AUTHCHAT' -H 127.0.0.1 -p $PORT"
	assert_failure 1
	assert_output --partial "server busy"
	wait_for grep -qE "refused 127\.0\.0\.1 port [0-9]+: server busy" "$TMP/authchatd.log"
	exec 8>&-
	wait_for [ "$(count_children)" -eq 0 ]
	run chat "after busy"
	assert_success
	assert_line "after busy"
}

@test "raw mode echoes bytes for nc" {
	start_daemon -m raw
	run bash -c "printf 'Hi!' | nc -q1 127.0.0.1 $PORT"
	assert_success
	assert_output "Hi!"
	run bash -c "printf 'line one\nline two\n' | nc -q1 127.0.0.1 $PORT"
	assert_output "line one
line two"
}

@test "idle timeout closes a silent client with a message" {
	echo "idle_timeout 1s" >"$TMP/c.conf"
	start_daemon -f "$TMP/c.conf"
	run "$TPEER" -p "$PORT" drain
	assert_success
	assert_line --index 1 "421 idle timeout, closing"
	wait_for log_has "idle timeout"
}
