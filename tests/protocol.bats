#!/usr/bin/env bats
# protocol.bats: every framing error gets its own answer and the daemon
# keeps serving everybody else.

load helpers

still_serving() {
	run chat "still here"
	assert_success
	assert_line "still here"
}

@test "greeting names the protocol and version; zero-length message is legal" {
	start_daemon
	run "$TPEER" -p "$PORT" recv "send:" recv close
	assert_success
	assert_line --index 0 --regexp "^220 authchat/1 "
	assert_line --index 1 "250 "
}

@test "message split in pieces, several in one write" {
	start_daemon
	run "$TPEER" -p "$PORT" recv "raw:000" sleep:50 "raw:0000005he" sleep:50 \
	    "raw:llo0000000003abc0000000002de" recvn:3 close
	assert_success
	assert_line --index 1 "250 hello"
	assert_line --index 2 "250 abc"
	assert_line --index 3 "250 de"
}

@test "bad header" {
	start_daemon
	run "$TPEER" -p "$PORT" recv "raw:00000x0005hello" drain
	assert_success
	assert_line --index 1 "421 protocol error: bad header, closing"
	wait_for log_has "protocol error from 127.0.0.1 port"
	still_serving
}

@test "message too large, refused from its header" {
	start_daemon
	run "$TPEER" -p "$PORT" recv "raw:0000065537" drain
	assert_success
	assert_line --index 1 "421 protocol error: message too large, closing"
	still_serving
}

@test "max_message is configurable" {
	echo "max_message 16" >"$TMP/c.conf"
	start_daemon -f "$TMP/c.conf"
	run "$TPEER" -p "$PORT" recv "send:0123456789abcdef" recv "send:0123456789abcdefg" drain
	assert_success
	assert_line --index 1 "250 0123456789abcdef"
	assert_line --index 2 "421 protocol error: message too large, closing"
}

@test "invalid UTF-8 and NUL are refused" {
	start_daemon
	run "$TPEER" -p "$PORT" recv 'raw:0000000002\xc3\x28' drain
	assert_line --index 1 "421 protocol error: invalid UTF-8, closing"
	run "$TPEER" -p "$PORT" recv 'raw:0000000003a\x00b' drain
	assert_line --index 1 "421 protocol error: NUL byte in message, closing"
	run "$TPEER" -p "$PORT" recv 'raw:0000000004\xed\xa0\x80x' drain
	assert_line --index 1 "421 protocol error: invalid UTF-8, closing"
	still_serving
}

@test "closed mid-message is logged and nobody else notices" {
	start_daemon
	run "$TPEER" -p "$PORT" recv "raw:0000000010abc" close
	assert_success
	wait_for log_has "connection closed mid-message"
	still_serving
}

@test "the client refuses a server that is not authchat" {
	PORT=$((20000 + RANDOM % 12000))
	printf '#!/bin/sh\nprintf "0000000013220 smtp/1 hi"\n' >"$TMP/fake"
	chmod +x "$TMP/fake"
	socat TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork EXEC:"$TMP/fake" &
	EXTRA_PIDS+=($!)
	wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
	run bash -c "echo | '$AUTHCHAT' -H 127.0.0.1 -p $PORT"
	assert_failure 1
	assert_output "authchat: not an authchat server"
}
