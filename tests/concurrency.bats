#!/usr/bin/env bats
# concurrency.bats: many children writing the user database at once lose
# nothing and never tear a record.

load helpers

# users_ok: every file in users/ is one whole record: a regular file of
# one line ending in a newline, NAME HASH CREATED LOCKED with one space
# between, a yescrypt hash, NAME equal to the file's name.  Temp files
# (".NAME.XXXXXXXX") are not records and are checked by the callers.
users_ok() {
	local f name bad=0
	for name in $(records users); do
		f="$STATE/users/$name"
		if [ ! -f "$f" ] || [ -L "$f" ] || [ -n "$(tail -c1 "$f")" ] ||
		    ! awk -v key="$name" '
			NR > 1 || NF != 4 || $0 != $1 " " $2 " " $3 " " $4 || $1 != key ||
			    $2 !~ /^\$y\$[.\/0-9A-Za-z]+\$[.\/0-9A-Za-z]+\$[.\/0-9A-Za-z]+$/ ||
			    split($2, h, "$") != 5 || length(h[5]) != 43 ||
			    $3 !~ /^[0-9]+$/ || $4 !~ /^[01]$/ { bad = 1 }
			END { exit bad || NR != 1 }' "$f"; then
			echo "torn or bad record: users/$name: $(cat -A "$f")" >&2
			bad=$((bad + 1))
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "50 registrations from 10 parallel clients: all 50 present, every record parses" {
	start_auth auth "hash_cost 1"
	for c in $(seq 0 9); do
		(
			for i in $(seq 1 5); do
				printf 'u%s_%s\npassword%s\npassword%s\n/quit\n' "$c" "$i" "$i" "$i" |
				    XDG_STATE_HOME="$TMP/xdg$c.$i" "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" >"$TMP/out.$c.$i" 2>&1 ||
				    echo "client $c $i failed" >>"$TMP/fail"
			done
		) &
	done
	wait
	[ ! -e "$TMP/fail" ]
	[ "$(records users | wc -l)" -eq 50 ]
	for c in $(seq 0 9); do for i in $(seq 1 5); do
		[ -f "$STATE/users/u${c}_$i" ]
		[ -f "$STATE/lastlog/u${c}_$i" ]
	done; done
	users_ok
	[ -z "$(temp_files)" ]
	[ "$(records sessions | wc -l)" -eq 50 ]
	[ "$(records lastlog | wc -l)" -eq 50 ]
	run "$BUILDDIR/authchatctl" -f "$TMP/auth.conf" check
	assert_success
	assert_output "ok"
	run "$AUTHCHATD" -n -f "$TMP/auth.conf"
	assert_success
}

@test "kill -9 of the daemon and its children mid-storm leaves no torn record" {
	start_auth auth "hash_cost 1"
	for c in $(seq 0 9); do
		(
			for i in $(seq 1 20); do
				printf 'k%s_%s\npassword1\npassword1\n/quit\n' "$c" "$i" |
				    XDG_STATE_HOME="$TMP/xdg$c.$i" "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 || true
			done
		) &
		EXTRA_PIDS+=($!)
	done
	wait_for eval '[ "$(records users | wc -l)" -ge 15 ]'
	kids=$(children_of "$DAEMON_PID")
	kill -9 "$DAEMON_PID" $kids
	DAEMON_PID=
	wait
	n=$(records users | wc -l)
	[ "$n" -ge 15 ]
	users_ok
	# a change killed before its rename may leave its temp file; it is
	# never taken for a record: every table still reads clean
	echo "# $n users, temp files left: $(temp_files | wc -l)" >&3
	run "$BUILDDIR/authchatctl" -f "$TMP/auth.conf" check
	assert_success
	assert_output "ok"
}
