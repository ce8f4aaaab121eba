#!/usr/bin/env bats
# valgrind.bats: memcheck on the client and on a daemon child through a
# whole auth session: registration, resume, /passwd, /logout.

load helpers

vg() {
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	    --show-leak-kinds=definite --log-file="$TMP/vg.%p" "$@"
}

@test "no memcheck error or leak in the client and a daemon child" {
	command -v valgrind || { echo "apt-get install valgrind"; false; }
	if grep -qa __asan_init "$AUTHCHATD"; then skip "sanitizer build"; fi
	auth_conf auth "hash_cost 1"
	PORT=$((20000 + RANDOM % 12000))
	vg "$AUTHCHATD" -u root -d -f "$TMP/auth.conf" -b 127.0.0.1 -p "$PORT" \
	    -l "$TMP/authchatd.log" -P "$TMP/authchatd.pid" &
	EXTRA_PIDS+=($!)
	wait_for test -s "$TMP/authchatd.pid"
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	run vg "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" < <(printf 'ivan\nsecret123\nsecret123\n/whoami\n')
	assert_line "Welcome, ivan"
	run vg "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" < <(printf '/passwd\nsecret123\nnewsecret1\nnewsecret1\n/logout\n')
	assert_line "Welcome back, ivan"
	assert_line "Password changed; other sessions revoked"
	run vg "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" < <(printf 'ivan\nnewsecret1\n/quit\n')
	assert_line "Welcome, ivan"
	stop_daemon
	ls "$TMP"/vg.* >/dev/null
	# -q prints nothing unless there is an error or a definite leak
	run cat "$TMP"/vg.*
	assert_output ""
	[ "$(ls "$TMP"/vg.* | wc -l)" -ge 7 ]
}
