#!/usr/bin/env bats
# auth.bats: mode auth: registration, login, failures, rehash, /passwd.

load helpers

@test "registration: new user, yescrypt hash stored in users/NAME, welcome, token kept 0600" {
	start_auth auth
	run chat ivan "secret123" "secret123" /whoami
	assert_success
	assert_line "Name:"
	assert_line "New user ivan: choose a password of at least 8 bytes"
	assert_line "New password:"
	assert_line "Repeat New password:"
	assert_line "Welcome, ivan"
	assert_line --regexp "^You are ivan, from 127\.0\.0\.1 port [0-9]+$"
	refute_output --partial "secret123"
	# one record file per user, NAME HASH CREATED LOCKED on one line
	assert_equal "$(records users)" ivan
	run cat "$STATE/users/ivan"
	assert_output --regexp '^ivan \$y\$[^ ]+ [0-9]+ 0$'
	[ -z "$(tail -c1 "$STATE/users/ivan")" ]
	created=$(cut -d' ' -f3 "$STATE/users/ivan")
	# registering is the first login: lastlog/ivan, empty, its mtime
	[ -f "$STATE/lastlog/ivan" ]
	[ ! -s "$STATE/lastlog/ivan" ]
	[ "$(stat -c %Y "$STATE/lastlog/ivan")" = "$created" ]
	assert_equal "$(records sessions)" "$(token_digest)"
	for f in lock users/ivan lastlog/ivan "sessions/$(token_digest)"; do
		[ "$(stat -c %a "$STATE/$f")" = 600 ]
	done
	for d in . users lastlog idents sessions; do
		[ "$(stat -c %a "$STATE/$d")" = 700 ]
	done
	[ -z "$(temp_files)" ]
	[ "$(stat -c %a "$(token_file)")" = 600 ]
	[ "$(stat -c %a "$XDG_STATE_HOME/authchat")" = 700 ]
	grep -q "Registered new user ivan from 127.0.0.1 port" "$TMP/authchatd.log"
}

@test "login with the right password: lastlog/NAME's mtime is set, users/NAME untouched" {
	start_auth auth
	register ivan secret123
	rm "$(token_file)"
	touch -d @1700000000 "$STATE/lastlog/ivan"
	cp -p "$STATE/users/ivan" "$TMP/ivan.before"
	inode=$(stat -c %i "$STATE/users/ivan")
	t0=$(date +%s)
	run chat ivan secret123 /whoami
	assert_success
	assert_line "Password:"
	refute_line "New password:"
	assert_line "Welcome, ivan"
	wait_for log_has "Accepted password for ivan from 127.0.0.1 port"
	[ "$(stat -c %Y "$STATE/lastlog/ivan")" -ge "$t0" ]
	[ ! -s "$STATE/lastlog/ivan" ]
	# no rehash, so the record is neither changed nor rewritten
	cmp "$STATE/users/ivan" "$TMP/ivan.before"
	[ "$(stat -c %i "$STATE/users/ivan")" = "$inode" ]
}

@test "wrong password three times: the server says why and closes" {
	start_auth auth
	register ivan secret123
	rm "$(token_file)"
	run chat ivan wrong1 ivan wrong2 ivan wrong3 ivan secret123
	assert_failure 1
	[ "$(grep -c 'Login incorrect' <<<"$output")" -eq 3 ]
	assert_line "authchat: Too many authentication failures, closing"
	refute_line "Welcome, ivan"
	wait_for log_has "Too many authentication failures from 127.0.0.1 port"
	[ "$(grep -c 'warning: Failed password for ivan from 127.0.0.1 port' "$TMP/authchatd.log")" -eq 3 ]
}

@test "failures are delayed by fail_delay (default 1s)" {
	start_auth auth "fail_delay 1"
	register ivan secret123
	rm "$(token_file)"
	t0=$(date +%s%N)
	run chat ivan wrong1
	t1=$(date +%s%N)
	assert_line --partial "Login incorrect"
	[ $(( (t1 - t0) / 1000000 )) -ge 1000 ]
}

@test "unknown user with registration off: same answer as a wrong password" {
	start_auth auth "registration no"
	run chat nobody whatever1
	assert_line "Password:"
	assert_line "authchat: Login incorrect"
	refute_line --partial "New user"
	wait_for log_has "Failed password for invalid user nobody from 127.0.0.1 port"
	[ -d "$STATE/users" ]
	[ -z "$(records users)" ]
	[ -z "$(records lastlog)" ]
	[ -z "$(temp_files)" ]
}

@test "registration refuses mismatch, too short, too long, bad names" {
	start_auth auth
	long=$(head -c 1025 /dev/zero | tr '\0' x)
	run chat ivan secret123 secret124 ivan short short "bad name" ivan "$long" "$long"
	assert_failure 1
	assert_line "authchat: Passwords do not match"
	assert_line "authchat: Password too short (at least 8 bytes)"
	assert_line "authchat: Bad name: name may contain only letters, digits, '.', '_' and '-'"
	run chat ivan "$long" "$long"
	assert_line "authchat: Password too long (at most 511 bytes)"
	[ ! -e "$STATE/users/ivan" ]
	[ ! -e "$STATE/lastlog/ivan" ]
	[ -z "$(records users)" ]
	[ -z "$(temp_files)" ]
}

@test "a \$6\$ hash is upgraded to yescrypt after a login" {
	start_auth auth
	# openssl passwd -6 -salt abcdefgh secret123
	echo 'olga $6$abcdefgh$L2RkWuRRaXbSPKE2h075RMaIsfsrCKiKdR4CAmWFZdxb7FD5ntuy3JlinIGZEpWPL2s7jolhp7uEtLBxC/4Xq1 1700000000 0' >"$STATE/users/olga"
	chmod 600 "$STATE/users/olga"
	[ ! -e "$STATE/lastlog/olga" ]
	run chat olga secret123 /quit
	assert_success
	assert_line "Welcome, olga"
	# the new hash replaced the old one; CREATED and LOCKED are kept
	run cat "$STATE/users/olga"
	assert_output --regexp '^olga \$y\$[^ ]+ 1700000000 0$'
	[ "$(stat -c %a "$STATE/users/olga")" = 600 ]
	[ -e "$STATE/lastlog/olga" ]
	[ -z "$(temp_files)" ]
	log_has "Rehashed password of olga"
	rm "$(token_file)"
	run chat olga secret123 /quit
	assert_line "Welcome, olga"
}

@test "/passwd: old password then new twice; the old one fails after" {
	start_auth auth
	register ivan secret123
	run chat /passwd secret123 newsecret1 newsecret1 /quit
	assert_success
	assert_line "Old password:"
	assert_line "Password changed; other sessions revoked"
	rm "$(token_file)"
	run chat ivan secret123
	assert_line "authchat: Login incorrect"
	run chat ivan newsecret1 /quit
	assert_success
	assert_line "Welcome, ivan"
}

@test "/passwd with a wrong old password changes nothing" {
	start_auth auth
	register ivan secret123
	cp "$STATE/users/ivan" "$TMP/ivan.before"
	run chat /passwd wrongwrong /quit
	assert_success
	assert_line "authchat: Wrong password, not changed"
	cmp "$STATE/users/ivan" "$TMP/ivan.before"
}

@test "/passwd refuses to replace users/NAME made malformed meanwhile; it stays as it is" {
	start_auth auth "hash_cost 1"
	register olga secret123
	tok=$(cat "$(token_file)")
	mkfifo "$TMP/gate"
	"$TPEER" -p "$PORT" recvn:2 "send:$tok" recv send:/passwd recv wait \
	    send:secret123 send:newsecret1 send:newsecret1 drain \
	    <"$TMP/gate" >"$TMP/peer.out" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/gate"
	# the daemon has read users/olga and asks the old password
	wait_for grep -q '^331 Old password:' "$TMP/peer.out"
	printf 'olga bad\n' >"$STATE/users/olga"
	cp -p "$STATE/users/olga" "$TMP/olga.bad"
	exec 8>&-
	wait_for grep -q 'internal error: the user database could not be used' "$TMP/peer.out"
	run grep -c "Password changed" "$TMP/peer.out"
	assert_output 0
	wait_for log_has "refusing to replace $STATE/users/olga: it is malformed"
	cmp "$STATE/users/olga" "$TMP/olga.bad"
	[ "$(stat -c %Y "$STATE/users/olga")" = "$(stat -c %Y "$TMP/olga.bad")" ]
	[ -z "$(temp_files)" ]
	# nothing went on to revoke the sessions either
	[ "$(sessions_of olga)" -eq 1 ]
}

@test "secret prompts are not echoed on a terminal" {
	start_auth auth
	tmux_start "XDG_STATE_HOME='$XDG_STATE_HOME' '$AUTHCHAT' -H 127.0.0.1 -p $PORT; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Name:"
	type_keys "ivan" Enter
	wait_for screen_has "New password:" || { screen; false; }
	type_keys "hidden-pw-1" Enter
	wait_for screen_has "Repeat New password:"
	type_keys "hidden-pw-1" Enter
	wait_for screen_has "Welcome, ivan"
	run screen
	refute_output --partial "hidden-pw-1"
	assert_output --partial "Name: ivan"
	type_keys "/quit" Enter
	wait_for screen_has "EXIT=0"
}
