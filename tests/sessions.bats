#!/usr/bin/env bats
# sessions.bats: tokens like cookies: resume, /logout, expiry, revocation,
# a token file others can read, no token in clear on the server.

load helpers

@test "a returning client skips the password" {
	start_auth auth
	register ivan secret123
	run chat /whoami
	assert_success
	assert_line "Welcome back, ivan"
	refute_line "Name:"
	assert_line --regexp "^You are ivan, from 127\.0\.0\.1 port"
	wait_for log_has "Accepted token for ivan from 127.0.0.1 port"
}

@test "/logout revokes the session on both sides; next time asks the password" {
	start_auth auth
	register ivan secret123
	digest=$(token_digest)
	[ -f "$STATE/sessions/$digest" ]
	run chat /logout
	assert_success
	assert_line "Session revoked"
	assert_line "Logged out, goodbye"
	[ ! -e "$(token_file)" ]
	[ ! -e "$STATE/sessions/$digest" ]
	[ -z "$(records sessions)" ]
	[ -z "$(temp_files)" ]
	run chat ivan secret123 /quit
	assert_line "Password:"
	assert_line "Welcome, ivan"
}

@test "an expired session falls back to the password and is forgotten" {
	start_auth auth "session_lifetime 1s"
	register ivan secret123
	[ -e "$(token_file)" ]
	digest=$(token_digest)
	[ -f "$STATE/sessions/$digest" ]
	# let the one-second lifetime run out
	sleep 2.1
	run chat ivan secret123 /quit
	assert_success
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Welcome, ivan"
	log_has "Refused token from 127.0.0.1"
	[ ! -e "$STATE/sessions/$digest" ]
	assert_equal "$(records sessions)" "$(token_digest)"
}

@test "a session's last use is its file's mtime: use moves it, idle past session_idle expires it" {
	start_auth auth "session_idle 1h" "session_lifetime 1d"
	register ivan secret123
	digest=$(token_digest)
	f="$STATE/sessions/$digest"
	cp "$f" "$TMP/session.before"
	# last used 30 minutes ago: still good, and the use is recorded
	touch -d "@$(( $(date +%s) - 1800 ))" "$f"
	t0=$(date +%s)
	run chat /quit
	assert_success
	assert_line "Welcome back, ivan"
	[ "$(stat -c %Y "$f")" -ge "$t0" ]
	cmp "$f" "$TMP/session.before"
	run "$BUILDDIR/authchatctl" -f "$TMP/auth.conf" session list
	assert_line --index 1 --partial "${digest:0:16} ivan"
	# last used two hours ago: idle too long, refused and removed
	touch -d "@$(( $(date +%s) - 7200 ))" "$f"
	run chat ivan secret123 /quit
	assert_success
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Welcome, ivan"
	[ ! -e "$f" ]
	assert_equal "$(records sessions)" "$(token_digest)"
}

@test "a revoked token is refused and the client forgets it" {
	start_auth auth
	register ivan secret123
	old=$(cat "$(token_file)")
	rm "$STATE/sessions/$(token_digest)"
	[ -z "$(records sessions)" ]
	run chat ivan secret123 /quit
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Welcome, ivan"
	[ "$(cat "$(token_file)")" != "$old" ]
	assert_equal "$(records sessions)" "$(token_digest)"
}

@test "a token file that others can read is refused" {
	start_auth auth
	register ivan secret123
	chmod 644 "$(token_file)"
	run chat ivan secret123 /quit
	assert_success
	assert_line --partial "not using token file $(token_file): it is readable by others (mode 0644)"
	assert_line "Password:"
}

@test "the server keeps only a digest of the token" {
	start_auth auth
	register ivan secret123
	tok=$(cat "$(token_file)")
	[[ "$tok" =~ ^[0-9a-f]{64}$ ]]
	run grep -r "$tok" "$STATE" "$TMP/authchatd.log"
	assert_failure
	digest=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
	# sessions/DIGEST holds "DIGEST USER CREATED"
	assert_equal "$(records sessions)" "$digest"
	run cat "$STATE/sessions/$digest"
	assert_output --regexp "^$digest ivan [0-9]+\$"
	[ -z "$(tail -c1 "$STATE/sessions/$digest")" ]
	[ "$(stat -c %a "$STATE/sessions/$digest")" = 600 ]
	[ "$(stat -c %a "$STATE/sessions")" = 700 ]
}

@test "a password change revokes the user's other sessions" {
	start_auth auth
	register ivan secret123
	other=$(cat "$(token_file)")
	cp "$(token_file)" "$TMP/other-token"
	rm "$(token_file)"
	run chat ivan secret123 /passwd secret123 newsecret1 newsecret1 /quit
	assert_line "Password changed; other sessions revoked"
	mine=$(cat "$(token_file)")
	run chat /quit
	assert_line "Welcome back, ivan"
	[ "$other" != "$mine" ]
	# only this client's session was kept
	other_digest=$(printf '%s' "$other" | sha256sum | cut -d' ' -f1)
	[ ! -e "$STATE/sessions/$other_digest" ]
	assert_equal "$(records sessions)" "$(token_digest)"
	cp "$TMP/other-token" "$(token_file)"
	run chat ivan newsecret1 /quit
	assert_line "authchat: Session expired or revoked; please log in"
}

@test "expired sessions never presented again are swept when the daemon starts" {
	start_auth auth "hash_cost 1" "session_idle 3600" "session_lifetime 86400"
	register ivan secret123
	XDG_STATE_HOME=$TMP/xdg2 register olga secret123
	idle=$(records sessions | head -1)
	old=$(records sessions | tail -1)
	fresh=$(printf '%064d' 7)
	echo "$fresh ivan $(date +%s)" >"$STATE/sessions/$fresh"
	chmod 600 "$STATE/sessions/$fresh"
	touch -d "@$(($(date +%s) - 7200))" "$STATE/sessions/$idle"
	sed -i "s/ [0-9]*\$/ $(($(date +%s) - 90000))/" "$STATE/sessions/$old"
	stop_daemon
	start_daemon -f "$TMP/auth.conf"
	wait_for log_has "removed 2 expired sessions"
	assert_equal "$(records sessions)" "$fresh"
	run "$BUILDDIR/authchatctl" -f "$TMP/auth.conf" check
	assert_output ok
}

@test "a stop ends the session sweep and leaves the port free at once" {
	start_auth auth "hash_cost 1"
	register ivan secret123
	stop_daemon
	# enough live sessions (read, none removed) that the sweep outlasts
	# the stop
	seq 1 30000 | awk -v dir="$STATE/sessions" -v now="$(date +%s)" '{
	    d = sprintf("%064x", $1); f = dir "/" d
	    print d " ivan " now > f; close(f) }'
	start_daemon -f "$TMP/auth.conf"
	# only the parent holds the listening socket, not the sweeping child
	run ss -Htlnp "sport = :$PORT"
	assert_output --partial "pid=$DAEMON_PID,"
	refute_output --regexp "pid=[0-9]+,.*pid=[0-9]+,"
	stop_daemon
	# the same port again: no sweeping child may still hold it
	run "$AUTHCHATD" -u root -f "$TMP/auth.conf" -b 127.0.0.1 -p "$PORT" \
	    -l "$TMP/authchatd.log" -P "$TMP/authchatd.pid"
	assert_success
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	run chat /quit
	assert_success
}
