#!/usr/bin/env bats
# ident.bats: mode ident: clients are known by their address.

load helpers

@test "first visit asks the name and stores it; the second greets by name" {
	start_auth ident
	run chat Ivan /whoami
	assert_success
	assert_line "What is your name?"
	assert_line "Hello, Ivan!"
	assert_line --regexp "^You are Ivan, from 127\.0\.0\.1 port"
	# one record file per address: ADDRESS NAME CREATED
	assert_equal "$(records idents)" 127.0.0.1
	run cat "$STATE/idents/127.0.0.1"
	assert_output --regexp '^127\.0\.0\.1 Ivan [0-9]+$'
	[ -z "$(tail -c1 "$STATE/idents/127.0.0.1")" ]
	[ "$(stat -c %a "$STATE/idents/127.0.0.1")" = 600 ]
	[ "$(stat -c %a "$STATE/idents")" = 700 ]
	[ -z "$(temp_files)" ]
	run chat /whoami
	assert_success
	refute_line "What is your name?"
	assert_line "Hello, Ivan!"
}

@test "a bad name is refused with the reason and asked again" {
	start_auth ident
	run chat "" "-x" "12345" "Ivan Petrov" Ivan
	assert_failure 1
	assert_line "authchat: Bad name: name is empty"
	assert_line "authchat: Bad name: name may not start with '-'"
	assert_line "authchat: Bad name: name may not be all digits"
	assert_line "authchat: Too many bad names, closing"
	run chat "Ivan Petrov" Ivan_Petrov
	assert_line "authchat: Bad name: name may contain only letters, digits, '.', '_' and '-'"
	assert_line "Hello, Ivan_Petrov!"
}

@test "IPv6 clients are identified by their address" {
	BIND=::1 start_auth ident
	run bash -c "printf 'Anna\n/whoami\n' | '$AUTHCHAT' -H ::1 -p $PORT"
	assert_success
	assert_line "Hello, Anna!"
	assert_equal "$(records idents)" ::1
	run cat "$STATE/idents/::1"
	assert_output --regexp '^::1 Anna [0-9]+$'
}

@test "a stalled dialogue is closed at the grace time" {
	start_auth ident "login_grace_time 1"
	run "$TPEER" -p "$PORT" drain
	assert_success
	assert_line --index 2 "421 Login grace time exceeded, closing"
	wait_for log_has "Login grace time exceeded for 127.0.0.1 port"
}
