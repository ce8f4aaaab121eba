#!/usr/bin/env bats
# manpages.bats: every page is clean mdoc, every option a program accepts
# is in its page, every configuration key is in authchatd.conf(5).

load helpers

MAN="$SRCDIR/man"

@test "mandoc -Tlint finds nothing in any page" {
	for p in "$MAN"/*.[1-8]; do
		run mandoc -Tlint -W warning "$p"
		assert_output ""
	done
}

# options_of PROGRAM: the option letters its usage lists.
options_of() {
	"$1" -h 2>&1 | tr -d '\n' | grep -o '\[-[A-Za-z]\+\]\|\[-[A-Za-z] ' |
	    sed 's/[][ -]//g' | fold -w1 | sort -u
}

@test "every option of authchatd and authchat is in its man page" {
	for o in $(options_of "$AUTHCHATD"); do
		grep -q "^\.It Fl $o\( \|$\)" "$MAN/authchatd.8" || {
			echo "authchatd -$o missing from authchatd.8"; false; }
	done
	for o in $(options_of "$AUTHCHAT"); do
		grep -q "^\.It Fl $o\( \|$\)" "$MAN/authchat.1" || {
			echo "authchat -$o missing from authchat.1"; false; }
	done
	[ "$(options_of "$AUTHCHATD" | wc -l)" -ge 12 ]
}

@test "every configuration key is in authchatd.conf(5)" {
	keys=$("$AUTHCHATD" -T -f /dev/null | cut -d' ' -f1 | sort -u)
	[ "$(wc -l <<<"$keys")" -ge 18 ]
	for k in $keys; do
		grep -q "^\.It Ic $k\( \|$\)" "$MAN/authchatd.conf.5" || {
			echo "key $k missing from authchatd.conf.5"; false; }
	done
}

@test "usage lines match the SYNOPSIS options" {
	run "$AUTHCHATD" -h
	assert_failure 2
	assert_output --partial "usage: authchatd"
	run "$AUTHCHAT" -h
	assert_failure 2
	assert_output --partial "usage: authchat"
}
