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
	tok=$(cat "$(token_file)")
	run chat /logout
	assert_success
	assert_line "Session revoked"
	assert_line "Logged out, goodbye"
	[ ! -e "$(token_file)" ]
	digest=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
	run grep -c "$digest" "$STATE/sessions"
	assert_output 0
	run chat ivan secret123 /quit
	assert_line "Password:"
	assert_line "Welcome, ivan"
}

@test "an expired session falls back to the password and is forgotten" {
	start_auth auth "session_lifetime 1s"
	register ivan secret123
	[ -e "$(token_file)" ]
	# let the one-second lifetime run out
	sleep 2.1
	run chat ivan secret123 /quit
	assert_success
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Welcome, ivan"
	log_has "Refused token from 127.0.0.1"
}

@test "a revoked token is refused and the client forgets it" {
	start_auth auth
	register ivan secret123
	old=$(cat "$(token_file)")
	: >"$STATE/sessions"
	run chat ivan secret123 /quit
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Welcome, ivan"
	[ "$(cat "$(token_file)")" != "$old" ]
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
	run grep -c "^$digest ivan " "$STATE/sessions"
	assert_output 1
	[ "$(stat -c %a "$STATE/sessions")" = 600 ]
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
	cp "$TMP/other-token" "$(token_file)"
	run chat ivan newsecret1 /quit
	assert_line "authchat: Session expired or revoked; please log in"
	[ "$other" != "$mine" ]
}
