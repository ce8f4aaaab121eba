#!/usr/bin/env bats
# install.bats: make install into a DESTDIR puts every file where it
# belongs with the right mode, keeps an existing config, and uninstall
# takes back what install added; the systemd units verify.

load helpers

destdir_install() {
	make -C "$BUILDDIR" install DESTDIR="$TMP/dest" >"$TMP/install.log" 2>&1
}

prefix_of() {
	sed -n "s/^$1 = //p" "$BUILDDIR/Makefile" | head -1
}

@test "make install DESTDIR: every file where it belongs, modes right" {
	destdir_install
	sbindir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^sbindir=//p')
	bindir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^bindir=//p')
	sysconfdir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^sysconfdir=//p')
	mandir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^mandir=//p')
	unitdir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^unitdir=//p')
	d="$TMP/dest"
	for f in "$sbindir/authchatd" "$sbindir/authchatctl" "$bindir/authchat"; do
		[ "$(stat -c %a "$d$f")" = 755 ]
	done
	[ "$(stat -c %a "$d$sysconfdir/authchatd/authchatd.conf")" = 644 ]
	grep -q '^user authchatd$' "$d$sysconfdir/authchatd/authchatd.conf"
	for m in man1/authchat.1 man5/authchatd.conf.5 man5/authchatd-users.5 \
	    man7/authchat-protocol.7 man8/authchatd.8 man8/authchatctl.8; do
		[ "$(stat -c %a "$d$mandir/$m")" = 644 ]
	done
	[ -f "$d$sysconfdir/fail2ban/filter.d/authchatd.conf" ]
	[ -f "$d$sysconfdir/logrotate.d/authchatd" ]
	grep -q "ExecStart=$sbindir/authchatd -D" "$d$unitdir/authchatd.service"
	[ -f "$d$unitdir/authchatd.socket" ]
	run find "$d" -path '*sysusers.d/authchatd.conf'
	assert_output --partial sysusers.d
	run find "$d" -path '*tmpfiles.d/authchatd.conf'
	assert_output --partial tmpfiles.d
}

@test "install keeps an existing config; uninstall removes what it added" {
	destdir_install
	conf=$(find "$TMP/dest" -path '*/authchatd/authchatd.conf')
	echo "port 7777" >>"$conf"
	destdir_install
	grep -q '^port 7777$' "$conf"
	make -C "$BUILDDIR" uninstall DESTDIR="$TMP/dest" >/dev/null 2>&1
	# only the changed config remains
	run find "$TMP/dest" -type f
	assert_output "$conf"
}

@test "systemd units pass systemd-analyze verify; exposure is OK" {
	command -v systemd-analyze
	destdir_install
	unitdir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^unitdir=//p')
	sbindir=$(make -s -C "$BUILDDIR" print-dirs | sed -n 's/^sbindir=//p')
	sed "s|$sbindir/authchatd|$TMP/dest$sbindir/authchatd|g" \
	    "$TMP/dest$unitdir/authchatd.service" >"$TMP/authchatd.service"
	cp "$TMP/dest$unitdir/authchatd.socket" "$TMP/"
	run systemd-analyze verify --man=no "$TMP/authchatd.service" "$TMP/authchatd.socket"
	assert_success
	assert_output ""
	run systemd-analyze security --offline=yes "$TMP/authchatd.service"
	score=$(sed -n 's/.*Overall exposure level for authchatd.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "# exposure $score" >&3
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
}
