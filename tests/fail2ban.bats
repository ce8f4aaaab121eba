#!/usr/bin/env bats
# fail2ban.bats: etc/fail2ban/filter.d/authchatd.conf bans the hosts that
# fail to authenticate, in both log formats (syslog and authchatd's own log
# file), never a host that logged in, never an address smuggled in through
# the user name.  Needs fail2ban-regex (Debian: apt-get install fail2ban).

bats_load_library bats-support
bats_load_library bats-assert

: "${SRCDIR:=$BATS_TEST_DIRNAME/..}"
FILTER_SRC="$SRCDIR/etc/fail2ban/filter.d/authchatd.conf"
JAIL_SRC="$SRCDIR/etc/fail2ban/jail.d/authchatd.conf"
F2B_ETC=/etc/fail2ban

setup() {
	TMP=$(mktemp -d "${BATS_RUN_TMPDIR:-/tmp}/f2b.XXXXXX")
	command -v fail2ban-regex >/dev/null ||
	    fail "fail2ban-regex not found: apt-get install fail2ban"
	[ -f "$F2B_ETC/filter.d/common.conf" ] ||
	    fail "$F2B_ETC/filter.d/common.conf not found: apt-get install fail2ban"
	[ -f "$FILTER_SRC" ] || fail "no filter at $FILTER_SRC (set SRCDIR)"
	# The filter includes common.conf, which fail2ban looks for next to
	# it: give it a filter.d of its own, as an installed copy would have.
	mkdir -p "$TMP/fail2ban/filter.d"
	cp "$F2B_ETC/filter.d/common.conf" "$FILTER_SRC" "$TMP/fail2ban/filter.d/"
	FILTER="$TMP/fail2ban/filter.d/authchatd.conf"
	LOG="$TMP/test.log"
}

# regex: run fail2ban-regex -v on $LOG with the filter, in UTC so that the
# dates it prints are predictable.
regex() {
	run env TZ=UTC fail2ban-regex -v "$LOG" "$FILTER"
	assert_success
	refute_output --partial "Traceback"
	refute_output --partial "ERROR"
	REGEX_OUT=$output
}

# matched: from the last regex() output, one line per match, "HOST  DATE", as
# listed under "Failregex: N total".
matched() {
	printf '%s\n' "$REGEX_OUT" | awk '
		/^Failregex:/ { f = 1; next }
		/^Ignoreregex:/ { f = 0 }
		f && /^\|      [^ ]/ { sub(/^\|      /, ""); print }'
}

# hosts: the sorted matched hosts, one a line.
hosts() {
	matched | awk '{ print $1 }' | sort
}

@test "syslog format: every failure kind, IPv4 and IPv6, both date styles" {
	cat >"$LOG" <<'EOF'
Mar 15 06:01:02 myhost authchatd[1234]: Failed password for ivan from 192.0.2.7 port 51234
Mar 15 06:01:03 myhost authchatd[1234]: Failed password for invalid user mallory from 2001:db8::7 port 51235
Mar 15 06:01:04 myhost authchatd[1234]: Login grace time exceeded for 192.0.2.8 port 51236
Mar 15 06:01:05 myhost authchatd[1234]: Too many authentication failures from 2001:db8::8 port 51237
2024-03-15T06:01:06.123456+00:00 myhost authchatd[1234]: Failed password for ivan from 2001:db8::9 port 51238
2024-03-15T06:01:07.123456+00:00 myhost authchatd[1234]: Failed password for invalid user bad\040name from 192.0.2.9 port 51239
2024-03-15T06:01:08.123456+00:00 myhost authchatd[1234]: Login grace time exceeded for 2001:db8::a port 51240
2024-03-15T06:01:09.123456+00:00 myhost authchatd[1234]: Too many authentication failures from 192.0.2.10 port 51241
Mar 15 06:02:00 myhost authchatd[1234]: Accepted password for ivan from 192.0.2.7 port 51300
Mar 15 06:02:01 myhost authchatd[1234]: Accepted token for ivan from 2001:db8::7 port 51301
2024-03-15T06:02:02.000001+00:00 myhost authchatd[1234]: Accepted password for ivan from 192.0.2.7 port 51302
2024-03-15T06:02:03.000001+00:00 myhost authchatd[1234]: Accepted token for ivan from 2001:db8::7 port 51303
Mar 15 06:02:04 myhost authchatd[1234]: connection from 192.0.2.7 port 51304
Mar 15 06:02:05 myhost sshd[999]: Failed password for ivan from 192.0.2.66 port 22 ssh2
Mar 15 06:02:06 myhost otherd[998]: Failed password for ivan from 192.0.2.67 port 22
Mar 15 06:02:07 myhost otherd[998]: Too many authentication failures from 192.0.2.68 port 22
EOF
	regex
	assert_output --partial "Lines: 16 lines, 0 ignored, 8 matched, 8 missed"
	assert_output --partial "Failregex: 8 total"
	run hosts
	assert_output "$(printf '%s\n' 192.0.2.10 192.0.2.7 192.0.2.8 192.0.2.9 \
	    2001:db8::7 2001:db8::8 2001:db8::9 2001:db8::a | sort)"
	# Both date styles were read, not replaced by "now".
	run matched
	assert_line --regexp '^192\.0\.2\.7  ... Mar 15 06:01:02 [0-9]{4}$'
	assert_line --regexp '^2001:db8::8  ... Mar 15 06:01:05 [0-9]{4}$'
	assert_line '2001:db8::9  Fri Mar 15 06:01:06 2024'
	assert_line '192.0.2.10  Fri Mar 15 06:01:09 2024'
}

@test "log file format: every failure kind, IPv4 and IPv6, numeric offsets" {
	cat >"$LOG" <<'EOF'
2024-03-15T06:00:00.001+00:00 authchatd[77]: info: authchatd 0.1.0 starting, mode echo
2024-03-15T06:00:00.002+00:00 authchatd[77]: info: listening on 0.0.0.0 port 9090
2024-03-15T06:01:02.123+00:00 authchatd[77]: warning: Failed password for ivan from 192.0.2.17 port 40001
2024-03-15T07:01:03.456+01:00 authchatd[77]: warning: Failed password for invalid user root from 2001:db8::17 port 40002
2024-03-15T01:01:04.789-05:00 authchatd[77]: warning: Login grace time exceeded for 192.0.2.18 port 40003
2024-03-15T06:01:05.000+00:00 authchatd[77]: warning: Too many authentication failures from 2001:db8::18 port 40004
2024-03-15T06:01:06.000+00:00 authchatd[77]: warning: Failed password for ivan from 2001:db8::19 port 40005
2024-03-15T06:01:07.000+00:00 authchatd[77]: warning: Failed password for invalid user bad\040name from 192.0.2.19 port 40006
2024-03-15T06:01:08.000+00:00 authchatd[77]: warning: Login grace time exceeded for 2001:db8:0:1::20 port 40007
2024-03-15T06:01:09.000+00:00 authchatd[77]: warning: Too many authentication failures from 192.0.2.20 port 40008
2024-03-15T06:02:00.000+00:00 authchatd[77]: info: connection from 192.0.2.17 port 40100
2024-03-15T06:02:01.000+00:00 authchatd[77]: info: Accepted password for ivan from 192.0.2.17 port 40100
2024-03-15T06:02:02.000+00:00 authchatd[77]: info: Accepted token for ivan from 2001:db8::17 port 40101
2024-03-15T06:02:03.000+00:00 authchatd[77]: info: disconnected 192.0.2.17 port 40100: client quit (2 messages)
EOF
	regex
	assert_output --partial "Lines: 14 lines, 0 ignored, 8 matched, 6 missed"
	assert_output --partial "Failregex: 8 total"
	run hosts
	assert_output "$(printf '%s\n' 192.0.2.17 192.0.2.18 192.0.2.19 \
	    192.0.2.20 2001:db8::17 2001:db8::18 2001:db8::19 \
	    2001:db8:0:1::20 | sort)"
	# The offset is honoured: all three are 06:01:0x UTC.
	run matched
	assert_line '192.0.2.17  Fri Mar 15 06:01:02 2024'
	assert_line '2001:db8::17  Fri Mar 15 06:01:03 2024'
	assert_line '192.0.2.18  Fri Mar 15 06:01:04 2024'
}

@test "successful logins never match, in either format" {
	cat >"$LOG" <<'EOF'
Mar 15 06:02:00 myhost authchatd[1234]: Accepted password for ivan from 192.0.2.7 port 51300
Mar 15 06:02:01 myhost authchatd[1234]: Accepted token for ivan from 2001:db8::7 port 51301
2024-03-15T06:02:02.000001+00:00 myhost authchatd[1234]: Accepted password for ivan from 192.0.2.7 port 51302
2024-03-15T06:02:03.000+00:00 authchatd[77]: info: Accepted password for ivan from 192.0.2.7 port 40100
2024-03-15T06:02:04.000+00:00 authchatd[77]: info: Accepted token for Failed\040password from 2001:db8::7 port 40101
EOF
	regex
	assert_output --partial "Lines: 5 lines, 0 ignored, 0 matched, 5 missed"
	assert_output --partial "Failregex: 0 total"
}

@test "a user name cannot make another address the banned host" {
	cat >"$LOG" <<'EOF'
2024-03-15T06:03:00.000+00:00 authchatd[77]: warning: Failed password for x\040from\0401.2.3.4\040port\0401 from 192.0.2.50 port 40000
2024-03-15T06:03:01.000+00:00 authchatd[77]: warning: Failed password for invalid user x\040from\0401.2.3.4\040port\0401 from 2001:db8::50 port 40001
2024-03-15T06:03:02.000+00:00 authchatd[77]: warning: Failed password for x\nFAKE from 192.0.2.51 port 40002
2024-03-15T06:03:03.000+00:00 authchatd[77]: warning: Failed password for x from 1.2.3.4 port 1 from 192.0.2.52 port 40003
2024-03-15T06:03:04.000+00:00 authchatd[77]: warning: Failed password for invalid user x from 1.2.3.4 port 1 from 2001:db8::52 port 40004
Mar 15 06:03:05 myhost authchatd[1234]: Failed password for x from 1.2.3.4 port 1 from 192.0.2.53 port 40005
Mar 15 06:03:06 myhost authchatd[1234]: Failed password for invalid user x\040from\0401.2.3.4\040port\0401 from 192.0.2.54 port 40006
EOF
	regex
	assert_output --partial "Lines: 7 lines, 0 ignored, 7 matched, 0 missed"
	run hosts
	assert_output "$(printf '%s\n' 192.0.2.50 192.0.2.51 192.0.2.52 \
	    192.0.2.53 192.0.2.54 2001:db8::50 2001:db8::52 | sort)"
	refute_output --partial "1.2.3.4"
}

@test "the example jail loads with the filter" {
	[ -f "$JAIL_SRC" ] || fail "no jail at $JAIL_SRC (set SRCDIR)"
	[ -f "$F2B_ETC/jail.conf" ] ||
	    fail "$F2B_ETC/jail.conf not found: apt-get install fail2ban"
	# A private copy of the stock configuration, with only this jail.
	cp -r "$F2B_ETC/." "$TMP/fail2ban/"
	rm -f "$TMP/fail2ban/jail.local" "$TMP/fail2ban/jail.d/"*
	cp "$FILTER_SRC" "$TMP/fail2ban/filter.d/"
	: >"$LOG"
	sed -e 's/^enabled[ 	]*=.*/enabled = true/' \
	    -e "s|^logpath[ 	]*=.*|logpath = $LOG|" \
	    "$JAIL_SRC" >"$TMP/fail2ban/jail.d/authchatd.conf"
	run fail2ban-client -c "$TMP/fail2ban" -d
	assert_success
	assert_line "['add', 'authchatd', 'auto']"
	assert_line --partial "['set', 'authchatd', 'addlogpath', '$LOG'"
	assert_output --partial "Failed password for (?:invalid user )?"
	assert_output --partial "--dports 9090 "
}

@test "the filter matches the real daemon's failure lines, IPv4 and IPv6" {
	BUILDDIR=${BUILDDIR:-$SRCDIR}
	load helpers
	setup_f2b_filter=$FILTER
	STATE="$TMP/state"
	PORT=$((20000 + RANDOM % 12000))
	printf 'mode auth\nstate_dir %s\nfail_delay 0\npenalties no\nregistration no\nhash_cost 1\n' "$STATE" >"$TMP/auth.conf"
	"$AUTHCHATD" -u root -f "$TMP/auth.conf" -b 127.0.0.1 -b ::1 -p "$PORT" \
	    -l "$TMP/authchatd.log" -P "$TMP/authchatd.pid"
	DAEMON_PID=$(cat "$TMP/authchatd.pid")
	export XDG_STATE_HOME="$TMP/xdg"
	printf 'nobody\nx\n' | "$AUTHCHAT" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 || true
	printf 'ghost\nx\n' | "$AUTHCHAT" -H ::1 -p "$PORT" >/dev/null 2>&1 || true
	stop_daemon
	LOG="$TMP/authchatd.log"
	FILTER=$setup_f2b_filter
	regex
	run hosts
	assert_output "127.0.0.1
::1"
}
