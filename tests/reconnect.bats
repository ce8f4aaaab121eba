#!/usr/bin/env bats
# reconnect.bats: whatever a client does, the daemon keeps serving and
# leaves no zombie.

load helpers

@test "50 clients ending in 5 ways, then one more is served, no zombies" {
	start_daemon
	for i in $(seq 1 50); do
		case $((i % 5)) in
		0)	run chat "q$i" /quit; assert_success ;;
		1)	run "$TPEER" -p "$PORT" recv "send:eof$i" recv close
			assert_success; assert_line "250 eof$i" ;;
		2)	run "$TPEER" -p "$PORT" recv "send:rst$i" recv rst
			assert_success ;;
		3)	run "$TPEER" -p "$PORT" recv "raw:00000000" close
			assert_success ;;
		4)	mkfifo "$TMP/f$i"
			"$AUTHCHAT" -H 127.0.0.1 -p "$PORT" <"$TMP/f$i" >"$TMP/o$i" &
			cpid=$!
			exec 8>"$TMP/f$i"
			wait_for grep -q ready "$TMP/o$i"
			kill -9 "$cpid"
			wait "$cpid" || true
			exec 8>&- ;;
		esac
	done
	run chat "last one"
	assert_success
	assert_line "last one"
	# every child has ended and was reaped
	wait_for [ "$(children_of "$DAEMON_PID" | wc -l)" -eq 0 ]
	[ -z "$(children_of "$DAEMON_PID" Z)" ]
	[ "$(grep -c 'disconnected 127.0.0.1' "$TMP/authchatd.log")" -ge 51 ]
	run grep -E 'connection reset|closed mid-message' "$TMP/authchatd.log"
	assert_success
	refute [ -n "$(grep 'killed by signal' "$TMP/authchatd.log")" ]
}
