#!/usr/bin/env bats
# timing.bats: no user enumeration through time: a wrong password for a
# known user and any password for an unknown user cost the same.

load helpers

# ms_of CMD...: wall time of a command in milliseconds.
ms_of() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'
}

@test "wrong password and unknown user take the same time (medians of 10 within 25%)" {
	start_auth auth "registration no"
	mkdir -p "$STATE"
	# a real user, hashed by the daemon's own code path: register it
	# through a second daemon that allows registration, same state dir
	port1=$PORT pid1=$DAEMON_PID
	echo "registration yes" >>"$TMP/auth.conf"
	start_daemon -f "$TMP/auth.conf"
	register ivan secret123
	stop_daemon
	PORT=$port1 DAEMON_PID=$pid1
	rm -f "$(token_file)"
	known=() unknown=()
	for i in $(seq 1 10); do
		known+=("$(ms_of chat ivan "wrong$i-pw")")
		unknown+=("$(ms_of chat "nobody$i" "wrong$i-pw")")
	done
	k=$(printf '%s\n' "${known[@]}" | median)
	u=$(printf '%s\n' "${unknown[@]}" | median)
	echo "# median known=$k ms unknown=$u ms" >&3
	awk -v k="$k" -v u="$u" 'BEGIN { r = k / u; exit !(r >= 0.8 && r <= 1.25) }'
	[ "$(grep -c 'Failed password for ivan' "$TMP/authchatd.log")" -eq 10 ]
	[ "$(grep -c 'Failed password for invalid user nobody' "$TMP/authchatd.log")" -eq 10 ]
}
