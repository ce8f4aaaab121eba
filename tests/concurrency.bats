#!/usr/bin/env bats
# concurrency.bats: many children writing the user database at once lose
# nothing and never tear it.

load helpers

# users_file_ok: every line a complete record, no duplicates.
users_file_ok() {
	awk 'NF != 5 || $2 !~ /^\$y\$[.\/0-9A-Za-z]+\$[.\/0-9A-Za-z]+\$[.\/0-9A-Za-z]+$/ ||
	    split($2, h, "$") != 5 || length(h[5]) != 43 ||
	    $3 !~ /^[0-9]+$/ || $4 !~ /^[0-9]+$/ || $5 !~ /^[01]$/ { bad++ }
	    seen[$1]++ == 1 { bad++ }
	    END { exit bad > 0 }' "$STATE/users"
	[ -z "$(tail -c1 "$STATE/users")" ]
}

@test "50 registrations from 10 parallel clients: all 50 present, file parses" {
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
	[ "$(wc -l <"$STATE/users")" -eq 50 ]
	for c in $(seq 0 9); do for i in $(seq 1 5); do
		grep -q "^u${c}_$i " "$STATE/users"
	done; done
	users_file_ok
	[ "$(wc -l <"$STATE/sessions")" -eq 50 ]
	run "$AUTHCHATD" -n -f "$TMP/auth.conf"
	assert_success
}

@test "kill -9 of the daemon and its children mid-storm leaves no torn line" {
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
	wait_for eval '[ "$(cat "$STATE/users" 2>/dev/null | wc -l)" -ge 15 ]'
	kids=$(children_of "$DAEMON_PID")
	kill -9 "$DAEMON_PID" $kids
	DAEMON_PID=
	wait
	n=$(wc -l <"$STATE/users")
	[ "$n" -ge 15 ]
	users_file_ok
}
