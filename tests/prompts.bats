#!/usr/bin/env bats
# prompts.bats: the client's and the daemon's questions in a real pty.

load helpers

@test "client: empty answers take the defaults" {
	tmux_start "'$AUTHCHAT' 2>&1; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Host [localhost]:"
	type_keys Enter
	wait_for screen_has "Port [9090]:"
	type_keys Enter
	# nothing of ours listens on 9090 unless something else does: either
	# way the client must have used localhost port 9090
	wait_for screen_has "EXIT="
	run screen
	assert_output --regexp "cannot connect to localhost port 9090|authchat/1"
}

@test "client: bad answers are refused with the reason and asked again" {
	start_daemon
	tmux_start "'$AUTHCHAT' 2>&1; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Host [localhost]:"
	type_keys "no.such.host.invalid" Enter
	wait_for screen_has "cannot resolve no.such.host.invalid"
	type_keys "127.0.0.1" Enter
	wait_for screen_has "Port [9090]:"
	type_keys "http" Enter
	wait_for screen_has 'bad port "http": port must be a number from 1 to 65535'
	type_keys "65536" Enter
	wait_for screen_has 'bad port "65536"'
	type_keys "$PORT" Enter
	wait_for screen_has "authchat/1 authchatd ready"
	run screen
	[ "$(grep -c 'Port \[9090\]: ' <<<"$output")" -eq 3 ]
	[ "$(grep -c 'Host \[localhost\]: ' <<<"$output")" -eq 2 ]
	type_keys "hi there" Enter
	wait_for screen_has "> hi there"
	wait_for eval '[ "$(screen | grep -c "^hi there$")" -eq 1 ]'
	type_keys C-d
	wait_for screen_has "EXIT=0"
	screen_has "Goodbye"
}

@test "client: Ctrl-D at the host question exits cleanly" {
	tmux_start "'$AUTHCHAT'; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Host [localhost]:"
	type_keys C-d
	wait_for screen_has "EXIT=0"
}

@test "client: -p and -H skip the questions; bad -p is a usage error" {
	start_daemon
	run bash -c "echo hi | '$AUTHCHAT' -H 127.0.0.1 -p $PORT"
	assert_success
	refute_output --partial "Port ["
	run "$AUTHCHAT" -p 0
	assert_failure 2
	assert_output --partial 'bad port "0"'
}

@test "daemon: asks its port in the foreground on a terminal" {
	port=$((20000 + RANDOM % 12000))
	tmux_start "'$AUTHCHATD' -u root -d -f /dev/null -b 127.0.0.1 -l '$TMP/authchatd.log' -P '$TMP/authchatd.pid'; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Port [9090]:"
	type_keys "0" Enter
	wait_for screen_has 'bad port "0": port must be a number from 1 to 65535'
	type_keys "$port" Enter
	wait_for test -s "$TMP/authchatd.pid"
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	PORT=$port
	wait_for log_has "listening on 127.0.0.1 port $port"
	run chat "asked port"
	assert_success
	assert_line "asked port"
}

# The default port may be taken on this machine: then the daemon must say
# so about port 9090, which proves the default was used just as well.
daemon_default_port() {
	tmux_start "'$AUTHCHATD' -u root -d -f /dev/null -b 127.0.0.1 -l '$TMP/authchatd.log' -P '$TMP/authchatd.pid' 2>&1; echo EXIT=\$?; sleep 60"
	wait_for screen_has "Port [9090]:"
	type_keys "$@"
	wait_for eval 'test -s "$TMP/authchatd.pid" || screen_has EXIT='
	if [ -s "$TMP/authchatd.pid" ]; then
		DAEMON_PID=$(cat "$TMP/authchatd.pid")
		wait_for log_has "listening on 127.0.0.1 port 9090"
	else
		screen_has "cannot listen on 127.0.0.1 port 9090"
	fi
}

@test "daemon: an empty answer takes the default port 9090" {
	daemon_default_port Enter
}

@test "daemon: end of file at the question takes the default port 9090" {
	daemon_default_port C-d
}

@test "daemon: no question without a terminal or with a port configured" {
	run "$AUTHCHATD" -d -n -f /dev/null </dev/null
	assert_success
	refute_output --partial "Port ["
	PORT=$((20000 + RANDOM % 12000))
	tmux_start "'$AUTHCHATD' -u root -d -f /dev/null -b 127.0.0.1 -p $PORT -l '$TMP/authchatd.log' -P '$TMP/authchatd.pid'; echo EXIT=\$?; sleep 60"
	wait_for test -s "$TMP/authchatd.pid"
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	run screen_has "Port ["
	assert_failure
}
