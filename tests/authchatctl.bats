#!/usr/bin/env bats
# authchatctl.bats: the admin tool changes the state database while the
# daemon runs, and the daemon and the real client see every change.

load helpers

AUTHCHATCTL="$BUILDDIR/authchatctl"

# ctl ARGS...: authchatctl on the test daemon's configuration.
ctl() {
	"$AUTHCHATCTL" -f "$TMP/auth.conf" "$@"
}

# add NAME PASSWORD: a user made by authchatctl, password on stdin.
add() {
	printf '%s\n' "$2" | ctl user add --stdin "$1"
}

@test "user add --stdin: the client logs in with that password; user list shows it" {
	start_auth auth "registration no" "hash_cost 1"
	run add ivan secret123
	assert_success
	assert_output ""
	rm -f "$(token_file)"
	run chat ivan secret123 /whoami
	assert_success
	assert_line "Welcome, ivan"
	assert_line --regexp "^You are ivan, from 127\.0\.0\.1 port"
	run ctl user list
	assert_success
	assert_line --index 0 --regexp '^NAME +CREATED +LAST LOGIN +LOCKED +SESSIONS$'
	assert_line --regexp '^ivan +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{4} +[0-9]{4}-[0-9-]{5}T[0-9:]{8}[+-][0-9]{4} +no +1$'
}

@test "user add refuses a bad name, a short or long password, a taken name" {
	start_auth auth "hash_cost 1"
	run add 12345 secret123
	assert_failure 1
	assert_output 'authchatctl: bad name "12345": name may not be all digits'
	run add "a b" secret123
	assert_failure 1
	assert_output --partial "name may contain only letters, digits"
	run add ivan short
	assert_failure 1
	assert_output "authchatctl: password too short (at least 8 bytes)"
	run add ivan "$(head -c 512 /dev/zero | tr '\0' x)"
	assert_failure 1
	assert_output "authchatctl: password too long (at most 511 bytes)"
	run ctl user add --stdin ivan </dev/null
	assert_failure 1
	assert_output "authchatctl: no password on standard input"
	# no controlling terminal, so readpassphrase(3) cannot open /dev/tty
	run setsid -w "$AUTHCHATCTL" -f "$TMP/auth.conf" user add ivan </dev/null
	assert_failure 1
	assert_output --partial "cannot read the password from a terminal"
	[ -z "$(records users)" ]
	add ivan secret123
	cp -p "$STATE/users/ivan" "$TMP/ivan.before"
	run add ivan other1234
	assert_failure 1
	assert_output "authchatctl: user ivan already exists"
	assert_equal "$(records users)" ivan
	cmp "$STATE/users/ivan" "$TMP/ivan.before"
	[ -z "$(temp_files)" ]
}

@test "on a terminal: asked twice without echo; a mismatch is refused" {
	start_auth auth "hash_cost 1"
	c="'$AUTHCHATCTL' -f '$TMP/auth.conf' user add ivan"
	tmux_start "$c; echo EXIT1=\$?; $c; echo EXIT2=\$?; sleep 60"
	wait_for screen_has "Password:"
	type_keys "hidden-pw-1" Enter
	wait_for screen_has "Repeat password:"
	type_keys "hidden-pw-2" Enter
	wait_for screen_has "EXIT1=1" || { screen; false; }
	run screen
	assert_output --partial "authchatctl: passwords do not match"
	type_keys "hidden-pw-3" Enter
	wait_for eval '[ "$(screen | grep -c "Repeat password:")" -eq 2 ]'
	type_keys "hidden-pw-3" Enter
	wait_for screen_has "EXIT2=0" || { screen; false; }
	run screen
	refute_output --partial "hidden-pw"
	rm -f "$(token_file)"
	run chat ivan hidden-pw-3 /quit
	assert_line "Welcome, ivan"
}

@test "min_password comes from the configuration" {
	start_auth auth "hash_cost 1" "min_password 12"
	run add ivan secret12345
	assert_failure 1
	assert_output "authchatctl: password too short (at least 12 bytes)"
	run add ivan secret123456
	assert_success
}

@test "bad usage exits 2 with the usage text" {
	for args in "" "-h" "user" "user add" "user frob x" "user del a b" \
	    "user list x" "session revoke" "check x" "user add --all x" \
	    "session list --stdin"; do
		run "$AUTHCHATCTL" $args
		assert_failure 2
		assert_line "usage: authchatctl [-f file] user add [--stdin] NAME"
		assert_line "       authchatctl [-f file] session revoke NAME | --all"
		assert_line "       authchatctl [-f file] check"
	done
	run "$AUTHCHATCTL" -f "$TMP/missing.conf" check
	assert_failure 1
	assert_line "authchatctl: cannot load the configuration $TMP/missing.conf"
}

@test "the usage is the SYNOPSIS of authchatctl(8)" {
	run "$AUTHCHATCTL" -h
	assert_failure 2
	usage=$(sed -e 's/^usage: //' -e 's/^ *//' <<<"$output")
	synopsis=$(mandoc -Tascii "$SRCDIR/man/authchatctl.8" | col -b |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed -e '1d' -e '$d' -e 's/^ *//' -e '/^$/d')
	assert_equal "$usage" "$synopsis"
}

@test "user add while 5 clients register at once: nothing lost" {
	start_auth auth "hash_cost 1"
	for c in 1 2 3 4 5; do
		printf 'c%s\npassword%s\npassword%s\n/quit\n' "$c" "$c" "$c" |
		    XDG_STATE_HOME="$TMP/xdg$c" "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" \
		    >"$TMP/out.$c" 2>&1 || echo "client $c" >>"$TMP/fail" &
	done
	for a in 1 2 3 4 5; do
		add "a$a" "password$a" || echo "ctl $a" >>"$TMP/fail" &
	done
	wait
	[ ! -e "$TMP/fail" ]
	assert_equal "$(records users | tr '\n' ' ')" "a1 a2 a3 a4 a5 c1 c2 c3 c4 c5 "
	for n in c1 c2 c3 c4 c5 a1 a2 a3 a4 a5; do
		run cat "$STATE/users/$n"
		assert_output --regexp "^$n "'\$y\$[^ ]+ [0-9]+ 0$'
	done
	[ -z "$(temp_files)" ]
	run ctl check
	assert_success
	assert_output "ok"
}

@test "user lock: no password login, no session; unlock: login works again" {
	start_auth auth "hash_cost 1"
	register ivan secret123
	run ctl user lock ivan
	assert_success
	run cat "$STATE/users/ivan"
	assert_output --regexp '^ivan \$y\$[^ ]+ [0-9]+ 1$'
	# locking ends the user's sessions
	[ "$(sessions_of ivan)" -eq 0 ]
	run ctl user list
	assert_line --regexp '^ivan .* yes +0$'
	run chat ivan secret123
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "authchat: Login incorrect"
	refute_line "Welcome, ivan"
	refute_line "Welcome back, ivan"
	run ctl user unlock ivan
	assert_success
	run cat "$STATE/users/ivan"
	assert_output --regexp '^ivan \$y\$[^ ]+ [0-9]+ 0$'
	rm -f "$(token_file)"
	run chat ivan secret123 /quit
	assert_success
	assert_line "Welcome, ivan"
	run ctl user lock nobody
	assert_failure 1
	assert_output "authchatctl: no such user nobody"
}

@test "session list and revoke NAME: the kept token is refused, the password asked" {
	start_auth auth "hash_cost 1" "session_idle 1h" "session_lifetime 1d"
	register ivan secret123
	run ctl session list
	assert_success
	assert_line --index 0 --regexp '^SESSION +USER +CREATED +LAST USED +EXPIRES$'
	assert_line --index 1 --regexp '^[0-9a-f]{16} +ivan +[0-9T:+-]{24} +[0-9T:+-]{24} +[0-9T:+-]{24}$'
	digest=$(printf '%s' "$(cat "$(token_file)")" | sha256sum | cut -c1-16)
	assert_line --index 1 --partial "$digest ivan"
	run ctl session list olga
	assert_success
	assert_equal "${#lines[@]}" 1
	run ctl session revoke ivan
	assert_success
	assert_output "1 session revoked"
	run chat ivan secret123 /quit
	assert_success
	assert_line "authchat: Session expired or revoked; please log in"
	assert_line "Password:"
	assert_line "Welcome, ivan"
}

@test "session revoke --all removes every session; a temp file in sessions/ is skipped and left alone" {
	start_auth auth "hash_cost 1"
	register ivan secret123
	rm "$(token_file)"
	register olga secret123
	rm "$(token_file)"
	chat ivan secret123 /quit
	[ "$(records sessions | wc -l)" -eq 3 ]
	# what a change killed before its rename leaves: ".KEY.XXXXXXXX"
	d=$(token_digest)
	cp -p "$STATE/sessions/$d" "$STATE/sessions/.$d.Ab3dE5gH"
	cp -p "$STATE/sessions/$d" "$TMP/temp.before"
	run ctl session list
	assert_success
	assert_equal "${#lines[@]}" 4
	run ctl check
	assert_success
	assert_output "ok"
	run ctl session revoke --all
	assert_success
	assert_output "3 sessions revoked"
	[ -z "$(records sessions)" ]
	cmp "$STATE/sessions/.$d.Ab3dE5gH" "$TMP/temp.before"
	run ctl session list
	assert_success
	assert_equal "${#lines[@]}" 1
	run ctl session revoke --all
	assert_output "0 sessions revoked"
	# the temp file is no session: its token does not resume
	run chat /quit
	assert_line "authchat: Session expired or revoked; please log in"
	[ -e "$STATE/sessions/.$d.Ab3dE5gH" ]
}

@test "user passwd --stdin: the old password fails, the new one works" {
	start_auth auth "hash_cost 1"
	register ivan secret123
	[ "$(sessions_of ivan)" -eq 1 ]
	cp "$STATE/users/ivan" "$TMP/ivan.before"
	run ctl user passwd --stdin ivan <<<"newsecret1"
	assert_success
	[ "$(sessions_of ivan)" -eq 0 ]
	run cmp -s "$STATE/users/ivan" "$TMP/ivan.before"
	assert_failure
	# only the hash changed
	assert_equal "$(cut -d' ' -f1,3,4 "$STATE/users/ivan")" "$(cut -d' ' -f1,3,4 "$TMP/ivan.before")"
	rm -f "$(token_file)"
	run chat ivan secret123
	assert_line "authchat: Login incorrect"
	run chat ivan newsecret1 /quit
	assert_success
	assert_line "Welcome, ivan"
	run ctl user passwd --stdin olga <<<"newsecret1"
	assert_failure 1
	assert_output "authchatctl: no such user olga"
}

@test "user del: no login with registration off; a missing user is an error" {
	start_auth auth "hash_cost 1" "registration no"
	add ivan secret123
	run chat ivan secret123 /quit
	assert_line "Welcome, ivan"
	[ -e "$STATE/users/ivan" ]
	[ -e "$STATE/lastlog/ivan" ]
	[ "$(sessions_of ivan)" -eq 1 ]
	run ctl user del ivan
	assert_success
	[ ! -e "$STATE/users/ivan" ]
	[ ! -e "$STATE/lastlog/ivan" ]
	[ "$(sessions_of ivan)" -eq 0 ]
	[ -z "$(records sessions)" ]
	rm -f "$(token_file)"
	run chat ivan secret123
	assert_line "authchat: Login incorrect"
	refute_line "Welcome, ivan"
	run ctl user del ivan
	assert_failure 1
	assert_output "authchatctl: no such user ivan"
}

@test "ident list and forget: the ident daemon asks the name again" {
	start_auth ident
	run chat Ivan /quit
	assert_line "Hello, Ivan!"
	run ctl ident list
	assert_success
	assert_line --index 0 --regexp '^ADDRESS +NAME +CREATED$'
	assert_line --index 1 --regexp '^127\.0\.0\.1 +Ivan +[0-9T:+-]{24}$'
	[ -e "$STATE/idents/127.0.0.1" ]
	run ctl ident forget 127.0.0.1
	assert_success
	[ ! -e "$STATE/idents/127.0.0.1" ]
	run chat Anna /quit
	assert_line "What is your name?"
	assert_line "Hello, Anna!"
	run cat "$STATE/idents/127.0.0.1"
	assert_output --regexp '^127\.0\.0\.1 Anna [0-9]+$'
	run ctl ident forget 192.0.2.1
	assert_failure 1
	assert_output "authchatctl: no such ident 192.0.2.1"
}

@test "check: ok when clean; a malformed record file is named, never replaced, other users still change" {
	start_auth auth "hash_cost 1"
	register ivan secret123
	run ctl check
	assert_success
	assert_output "ok"
	printf 'olga bad\n' >"$STATE/users/olga"
	chmod 600 "$STATE/users/olga"
	cp -p "$STATE/users/olga" "$TMP/olga.before"
	rm "$(token_file)"
	run ctl check
	assert_failure 1
	assert_output --partial "$STATE/users/olga: a users record has 4 fields"
	assert_line "authchatctl: $STATE: 1 malformed file"
	# olga cannot log in, nor be registered or changed over it
	run chat olga password1 password1
	assert_failure 1
	assert_line "authchat: internal error: the user database could not be used, closing"
	run add olga password1
	assert_failure 1
	assert_output --partial "$STATE/users/olga: a users record has 4 fields"
	assert_line "authchatctl: cannot change user olga"
	run ctl user passwd --stdin olga <<<"password1"
	assert_failure 1
	assert_line "authchatctl: cannot change user olga"
	run ctl user lock olga
	assert_failure 1
	assert_line "authchatctl: cannot change user olga"
	cmp "$STATE/users/olga" "$TMP/olga.before"
	[ "$(stat -c %Y "$STATE/users/olga")" = "$(stat -c %Y "$TMP/olga.before")" ]
	# the other users are not affected
	rm -f "$(token_file)"
	run chat anna password1 password1 /quit
	assert_success
	assert_line "Welcome, anna"
	run add boris password1
	assert_success
	run ctl user lock ivan
	assert_success
	run ctl user list
	assert_success
	assert_line --regexp '^anna '
	assert_line --regexp '^boris '
	assert_line --regexp '^ivan .* yes +0$'
	refute_line --regexp '^olga '
	cmp "$STATE/users/olga" "$TMP/olga.before"
	run ctl check
	assert_failure 1
	assert_line "authchatctl: $STATE: 1 malformed file"
	# deleting works on a malformed record
	run ctl user del olga
	assert_success
	[ ! -e "$STATE/users/olga" ]
	run ctl check
	assert_success
	assert_output "ok"
}

@test "run by root, it works as the owner of state_dir" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	start_auth auth "hash_cost 1"
	register ivan secret123
	chown -R nobody: "$STATE"
	chmod o+x "$TMP" "$BATS_RUN_TMPDIR"
	run add olga secret123
	assert_success
	[ "$(stat -c %U "$STATE/users")" = nobody ]
	[ "$(stat -c %U "$STATE/users/olga")" = nobody ]
	run ctl session revoke ivan
	assert_success
	assert_output "1 session revoked"
	[ -z "$(records sessions)" ]
	[ "$(stat -c %U "$STATE/sessions")" = nobody ]
	# nothing in the state is root's: no record, lock or temp file
	run find "$STATE" ! -user nobody
	assert_output ""
}

@test "a lock made while a login waits for its password wins" {
	start_auth auth
	register ivan secret123
	rm -f "$(token_file)"
	touch -d @1700000000 "$STATE/lastlog/ivan"
	mkfifo "$TMP/gate"
	"$TPEER" -p "$PORT" recvn:2 send: recv send:ivan recv wait \
	    send:secret123 drain <"$TMP/gate" >"$TMP/peer.out" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/gate"
	wait_for grep -q '^331 Password:' "$TMP/peer.out"
	run ctl user lock ivan
	assert_success
	exec 8>&-
	wait_for grep -q 'Login incorrect' "$TMP/peer.out"
	run grep -c "Welcome" "$TMP/peer.out"
	assert_output 0
	run cat "$STATE/users/ivan"
	assert_output --regexp '^ivan \$y\$[^ ]+ [0-9]+ 1$'
	# the refused login is not recorded as the last one
	[ "$(stat -c %Y "$STATE/lastlog/ivan")" -eq 1700000000 ]
}

@test "a record gone malformed while a login waits for its password refuses it" {
	start_auth auth
	register ivan secret123
	rm -f "$(token_file)"
	nsess=$(records sessions | wc -l)
	mkfifo "$TMP/gate"
	"$TPEER" -p "$PORT" recvn:2 send: recv send:ivan recv wait \
	    send:secret123 drain <"$TMP/gate" >"$TMP/peer.out" &
	EXTRA_PIDS+=($!)
	exec 8>"$TMP/gate"
	wait_for grep -q '^331 Password:' "$TMP/peer.out"
	printf 'ivan bad\n' >"$STATE/users/ivan"
	exec 8>&-
	wait_for grep -q 'Login incorrect' "$TMP/peer.out"
	run grep -c "Welcome" "$TMP/peer.out"
	assert_output 0
	assert_equal "$(records sessions | wc -l)" "$nsess"
	assert_equal "$(cat "$STATE/users/ivan")" "ivan bad"
	log_has "users/ivan: a users record has 4 fields"
}
