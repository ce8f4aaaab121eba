#!/bin/bash
# boot-test.sh: boot the authchatd units under a real systemd and use them.
#
# A minimal Debian 12 root (debootstrap, cached in $ROOT_CACHE) gets a
# build of this tree installed with --prefix=/usr --sysconfdir=/etc
# --localstatedir=/var, then boots with systemd-nspawn --boot (its own
# network namespace, so port 9090 never meets the host's).  The host has
# no systemd as PID 1, so the container is not registered with machined:
# every command inside runs through nsenter into the container's PID 1.
#
# Checked: sysusers/tmpfiles made the user and /var/lib/authchatd; the
# units pass systemd-analyze verify; systemctl start (Type=notify) returns
# with the daemon running as User=authchatd under its sandbox;
# registration, token and password logins with the real client;
# systemctl reload keeps the PID and re-reads the configuration (and the
# journal says so); journalctl -u authchatd has the connection lines;
# systemctl stop leaves no process; log_file at the path the installed
# logrotate snippet names works, and logrotate -f makes the daemon reopen
# it; authchatd.socket starts the service on the first connection; the
# container powers off and leaves nothing behind on the host.
#
# Usage: tests/systemd/boot-test.sh   (as root; about 1 min with a cached
# root, 3 to 4 more to debootstrap it the first time; needs network then)
# Environment: SRCDIR (the tree to test: this one), ROOT_CACHE
# (/var/tmp/authchatd-systemd-root; delete it to start afresh), MIRROR
# (default: the bookworm mirror apt uses here), VERBOSE=1 shows every
# check's output, KEEP=1 keeps the work dir (logs, upper layer),
# BOOT_TEST_TIMEOUT (900 s for the whole run).
# Exit: 0 all passed, 1 a check failed, 77 cannot run here (not root).

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$SCRIPT_DIR/../.." && pwd)}"
: "${ROOT_CACHE:=/var/tmp/authchatd-systemd-root}"
: "${BOOT_TEST_TIMEOUT:=900}"
: "${KEEP:=0}"
: "${VERBOSE:=0}"
PORT=9090			# authchatd.socket's ListenStream
TOKEN=/root/xdg/authchat/127.0.0.1,$PORT	# the client's token, in the container
MACHINE=authchatd-test-$$
# logrotate: the installed /etc/logrotate.d/authchatd is run for real
INCLUDE=systemd,systemd-sysv,dbus,libcrypt1,libbsd0,libssl3,procps,logrotate

FAILS=0
NSPAWN_PID=
LEADER=
CT_PIDNS=
WATCHDOG_PID=
W=

log() { printf '%s\n' "$*"; }

# step NAME COMMAND...: run a check, print PASS/FAIL, show output on FAIL.
step() {
	local name=$1 rc t0
	shift
	t0=$(date +%s)
	"$@" >"$W/step.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		log "PASS: $name [$(( $(date +%s) - t0 )) s]"
		[ "$VERBOSE" = 1 ] && sed -e 's/^/    | /' "$W/step.out"
	else
		log "FAIL: $name (exit $rc) [$(( $(date +%s) - t0 )) s]"
		sed -e 's/^/    | /' "$W/step.out" | tail -n 40
		FAILS=$((FAILS + 1))
	fi
	return "$rc"
}

# ct COMMAND...: run a command in the container (all its namespaces, its
# root), with a clean environment and a time bound.
ct() {
	timeout -k 5 "${CT_TIMEOUT:-60}" nsenter -t "$LEADER" -a -r -w \
	    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	    TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# chat ARGS...: the real client inside the container, one line per
# argument on its stdin, its token kept under /root/xdg.
chat() {
	printf '%s\n' "$@" | ct sh -c \
	    "XDG_STATE_HOME=/root/xdg exec authchat -H 127.0.0.1 -p $PORT"
}

# retry SECONDS COMMAND...: poll a condition (journald and the daemon's
# log writes are asynchronous), quietly until the last try.
retry() {
	local n=$(( $1 * 5 )) i
	shift
	for i in $(seq 2 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@"
}

# journal_has TEXT: journalctl -u authchatd has a line containing TEXT
journal_has() {
	ct journalctl -u authchatd --no-pager -o cat | grep -F -- "$1"
}

# log_has TEXT: the daemon's own log file has a line containing TEXT
log_has() {
	ct cat "$LOGPATH" | grep -F -- "$1"
}

# expect_in TEXT FILE: FILE has a line containing TEXT, else show FILE.
expect_in() {
	grep -qF -- "$1" "$2" && return 0
	echo "expected \"$1\" in:"
	cat "$2"
	return 1
}

# PIDs of the processes left in the container: in its PID namespace, or
# with their root directory in the container's root
procs_in_root() {
	local ns
	# "pid:[4026532181]": brackets quoted for find's pattern
	ns=$(printf '%s' "$CT_PIDNS" | sed 's/[][*?\\]/\\&/g')
	{
		[ -n "$ns" ] && find /proc -mindepth 3 -maxdepth 3 \
		    -path '/proc/[0-9]*/ns/pid' -lname "$ns" 2>/dev/null
		find /proc -mindepth 2 -maxdepth 2 -path '/proc/[0-9]*/root' \
		    \( -lname "$W/root" -o -lname "$W/root/*" \) 2>/dev/null
	} | cut -d/ -f3 | sort -un
}

cleanup() {
	local i p
	trap - EXIT INT TERM HUP
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# a clean poweroff first, then nspawn's own halt, then KILL
		[ -n "$LEADER" ] && CT_TIMEOUT=10 ct systemctl --no-block poweroff \
		    >/dev/null 2>&1
		for i in $(seq 1 150); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			[ "$i" = 100 ] && kill -TERM "$NSPAWN_PID" 2>/dev/null
			sleep 0.2
		done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			log "cleanup: container did not stop in 30 s, killing it"
			kill -KILL "$NSPAWN_PID" 2>/dev/null
			[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	if [ -n "$W" ] && [ -d "$W/root" ]; then
		for p in $(procs_in_root); do
			log "cleanup: killing leftover process $p"
			kill -KILL "$p" 2>/dev/null
		done
	fi
	[ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null &&
	    wait "$WATCHDOG_PID" 2>/dev/null
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
	if [ -n "$W" ] && mountpoint -q "$W/root"; then
		umount "$W/root" || umount -l "$W/root"
	fi
	if [ -n "$W" ]; then
		if [ "$KEEP" = 1 ]; then
			log "kept $W"
		else
			rm -rf "$W"
		fi
	fi
}

# The bookworm mirror apt uses here (one-line and deb822 sources).
find_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { l = $0; sub(/\[[^]]*\]/, "", l); split(l, a)
		    if (a[3] == "bookworm") { print a[2]; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		    { t = u = s = ""
		      for (i = 1; i <= NF; i++) {
			if ($i ~ /^Types:/) t = $i
			if ($i ~ /^URIs:/) u = $i
			if ($i ~ /^Suites:/) s = $i
		      }
		      if (t ~ /[ \t]deb([ \t]|$)/ && s ~ /[ \t]bookworm([ \t]|$)/) {
			sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/)
			print a[1]; exit
		      } }' "$f"
	done
}

# ---------------------------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	log "SKIP: must run as root (debootstrap, systemd-nspawn)"
	exit 77
fi
# a private mount namespace: the overlay mount below goes away with us
if [ -z "${BOOT_TEST_UNSHARED:-}" ] && command -v unshare >/dev/null &&
    unshare --mount --propagation private true 2>/dev/null; then
	export BOOT_TEST_UNSHARED=1
	exec unshare --mount --propagation private -- bash "$0" "$@"
fi
W=$(mktemp -d /var/tmp/authchatd-boot-test.XXXXXX) || exit 1
trap cleanup EXIT
trap 'log "interrupted"; exit 1' INT TERM HUP
T0=$(date +%s)
# the whole run is bounded: the watchdog interrupts us, the trap cleans up
( trap 'kill "$s" 2>/dev/null; wait "$s"; exit 0' TERM
  sleep "$BOOT_TEST_TIMEOUT" & s=$!; wait "$s" || exit 0
  echo "boot-test: timed out after $BOOT_TEST_TIMEOUT s" >&2; kill -TERM $$ ) &
WATCHDOG_PID=$!

log "work dir $W, source $SRCDIR"

# 1. host tools
host_tools() {
	command -v systemd-nspawn && command -v debootstrap &&
	    command -v nsenter && return 0
	DEBIAN_FRONTEND=noninteractive timeout 300 \
	    apt-get install -y -q systemd-container debootstrap
}
step "host tools (systemd-nspawn, debootstrap, nsenter)" host_tools || exit 1

# 2. the cached Debian 12 root
make_root() {
	local tmp
	# the cache is reused while it was made with the same package list
	if [ -x "$ROOT_CACHE/usr/lib/systemd/systemd" ] &&
	    [ "$(cat "$ROOT_CACHE/.boot-test-include" 2>/dev/null)" = "$INCLUDE" ]; then
		echo "using cached $ROOT_CACHE"
		return 0
	fi
	: "${MIRROR:=$(find_mirror | head -n 1)}"
	: "${MIRROR:=http://deb.debian.org/debian}"
	echo "debootstrap bookworm from $MIRROR"
	tmp=$ROOT_CACHE.tmp.$$
	rm -rf "$tmp"
	if ! timeout 600 debootstrap --variant=minbase --include="$INCLUDE" \
	    bookworm "$tmp" "$MIRROR" >"$W/debootstrap.log" 2>&1; then
		tail -n 30 "$W/debootstrap.log"
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp/var/cache/apt/archives/"*.deb
	echo "$INCLUDE" >"$tmp/.boot-test-include"
	rm -rf "$ROOT_CACHE" && mv "$tmp" "$ROOT_CACHE"
}
step "Debian 12 root in $ROOT_CACHE" make_root || exit 1

# the cached root stays pristine: an overlay (or a copy) on top of it
copy_root() {
	mkdir -p "$W/upper" "$W/ovl-work" "$W/root" || return 1
	if mount -t overlay overlay -o "lowerdir=$ROOT_CACHE,upperdir=$W/upper,workdir=$W/ovl-work" \
	    "$W/root"; then
		echo "overlay on $ROOT_CACHE"
	else
		echo "no overlayfs, copying $ROOT_CACHE"
		cp -a "$ROOT_CACHE/." "$W/root" || return 1
	fi
	echo "$MACHINE" >"$W/root/etc/hostname" &&
	    rm -f "$W/root/etc/machine-id" &&
	    systemd-id128 new >"$W/root/etc/machine-id"
}
step "private overlay (or copy) of the root" copy_root || exit 1

# 3. build this tree out of tree and install it into the root
build_install() {
	local f
	mkdir -p "$W/src" "$W/build" || return 1
	if git -C "$SRCDIR" rev-parse --show-toplevel >/dev/null 2>&1; then
		# tracked and new files, not the in-tree build products
		(cd "$SRCDIR" && git ls-files -z -co --exclude-standard |
		    tar --null --ignore-failed-read -T - -cf -) |
		    tar -xf - -C "$W/src" || return 1
		(cd "$W/src" && timeout 300 autoreconf -fi) >"$W/autoreconf.log" 2>&1 ||
		    { tail -n 30 "$W/autoreconf.log"; return 1; }
	elif [ -x "$SRCDIR/configure" ] && [ ! -e "$SRCDIR/config.status" ]; then
		# an unpacked tarball, not configured: build from it (VPATH)
		rmdir "$W/src" && ln -s "$SRCDIR" "$W/src"
	elif [ -e "$SRCDIR/config.status" ] && [ -e "$SRCDIR/Makefile" ]; then
		# configured in place: its distribution, unpacked in $W/src
		timeout 300 make -C "$SRCDIR" distdir distdir="$W/src" \
		    >"$W/distdir.log" 2>&1 ||
		    { tail -n 30 "$W/distdir.log"; return 1; }
	else
		echo "$SRCDIR: not a git checkout nor an unpacked tarball"
		return 1
	fi
	(cd "$W/build" && timeout 300 "$W/src/configure" --prefix=/usr \
	    --sysconfdir=/etc --localstatedir=/var \
	    --with-systemdsystemunitdir=/usr/lib/systemd/system \
	    >"$W/configure.log" 2>&1) ||
	    { tail -n 30 "$W/configure.log"; return 1; }
	timeout 600 make -C "$W/build" -j"$(nproc)" >"$W/make.log" 2>&1 ||
	    { tail -n 30 "$W/make.log"; return 1; }
	timeout 120 make -C "$W/build" install DESTDIR="$W/root" \
	    >"$W/install.log" 2>&1 || { tail -n 30 "$W/install.log"; return 1; }
	for f in usr/sbin/authchatd usr/sbin/authchatctl usr/bin/authchat \
	    usr/lib/systemd/system/authchatd.service \
	    usr/lib/systemd/system/authchatd.socket \
	    usr/lib/sysusers.d/authchatd.conf usr/lib/tmpfiles.d/authchatd.conf \
	    etc/authchatd/authchatd.conf; do
		[ -e "$W/root/$f" ] || { echo "not installed: /$f"; return 1; }
	done
	grep -E '^Exec' "$W/root/usr/lib/systemd/system/authchatd.service"
}
step "configure --prefix=/usr, make, make install DESTDIR=root" build_install ||
    exit 1

write_conf() {
	cat >"$W/root/etc/authchatd/authchatd.conf" <<EOF
# written by tests/systemd/boot-test.sh
mode auth
port $PORT
listen 127.0.0.1
user authchatd
fail_delay 0
penalties no
EOF
}
step "test configuration /etc/authchatd/authchatd.conf" write_conf || exit 1

# 4. boot
boot() {
	local i state
	systemd-nspawn -q -D "$W/root" -M "$MACHINE" --boot --register=no \
	    --keep-unit --private-network --console=read-only \
	    </dev/null >"$W/boot.log" 2>&1 &
	NSPAWN_PID=$!
	for i in $(seq 1 150); do
		LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
		[ -n "$LEADER" ] && break
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.2
	done
	if [ -z "$LEADER" ]; then
		echo "no container PID 1 after 30 s"
		cat "$W/boot.log"
		return 1
	fi
	echo "nspawn PID $NSPAWN_PID, container PID 1 is host PID $LEADER"
	CT_PIDNS=$(readlink "/proc/$LEADER/ns/pid")
	echo "$(procs_in_root | wc -l) processes in the container, $CT_PIDNS"
	# wait for the boot to finish (the journal socket etc. come up first)
	for i in $(seq 1 60); do
		ct test -S /run/systemd/private >/dev/null 2>&1 && break
		sleep 0.5
	done
	state=$(CT_TIMEOUT=90 ct systemctl is-system-running --wait)
	echo "system state: $state"
	if [ "$state" != running ]; then
		ct systemctl --failed --no-legend
		tail -n 40 "$W/boot.log"
		return 1
	fi
}
step "systemd-nspawn --boot: system running" boot || exit 1

# sysusers and tmpfiles ran at boot
users_dirs() {
	ct getent passwd authchatd || return 1
	ct stat -c '%U:%G %a %n' /var/lib/authchatd
	[ "$(ct stat -c '%U:%G %a' /var/lib/authchatd)" = "authchatd:authchatd 700" ]
}
step "sysusers.d/tmpfiles.d: user authchatd, /var/lib/authchatd 0700" users_dirs

verify_units() {
	# --man=no: the minimal root has no man(1) to check Documentation=
	local out
	out=$(ct systemd-analyze verify --man=no authchatd.service \
	    authchatd.socket 2>&1)
	echo "$out"
	[ -z "$out" ]
}
step "systemd-analyze verify authchatd.service authchatd.socket (no warnings)" \
    verify_units

# 5. the service
start_service() {
	local t0 t1
	t0=$(date +%s%N)
	# Type=notify: start returns once READY=1 came; without it systemd
	# would wait out TimeoutStartSec (90 s), so 30 s is plenty
	CT_TIMEOUT=30 ct systemctl start authchatd || {
		ct systemctl status --no-pager authchatd
		ct journalctl -u authchatd --no-pager -n 30
		return 1
	}
	t1=$(date +%s%N)
	echo "systemctl start took $(( (t1 - t0) / 1000000 )) ms"
	ct systemctl show -p ActiveState -p SubState -p MainPID -p Type \
	    -p NRestarts authchatd | tee "$W/show"
	grep -qx ActiveState=active "$W/show" &&
	    grep -qx SubState=running "$W/show"
}
step "systemctl start authchatd (Type=notify): active/running" start_service

runs_as_user() {
	local users
	ct ps -o pid=,user=,args= -C authchatd
	users=$(ct ps -o user= -C authchatd | sort -u)
	[ "$users" = authchatd ]
}
step "the daemon runs as user authchatd" runs_as_user

sandboxed() {
	local pid st
	pid=$(ct systemctl show -p MainPID --value authchatd)
	st=$(ct cat "/proc/$pid/status") || return 1
	grep -E '^(Uid|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' <<<"$st"
	grep -qE '^Seccomp:[[:space:]]+2$' <<<"$st" &&
	    grep -qE '^NoNewPrivs:[[:space:]]+1$' <<<"$st" &&
	    grep -qE '^CapBnd:[[:space:]]+0000000000000400$' <<<"$st" || return 1
	# PrivateTmp= and friends: its own mount namespace
	[ "$(ct readlink "/proc/$pid/ns/mnt")" != "$(ct readlink /proc/1/ns/mnt)" ] ||
	    { echo "same mount namespace as PID 1"; return 1; }
	ct systemd-analyze security --no-pager authchatd.service | tail -n 1
}
step "sandboxing applied (seccomp, no_new_privs, bounding set, own mounts)" \
    sandboxed

listening() {
	retry 10 journal_has "listening on 127.0.0.1 port $PORT"
}
step "journal: listening on 127.0.0.1 port $PORT" listening

register() {
	chat ivan secret123 secret123 /whoami /quit >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	expect_in "Welcome, ivan" "$W/chat.out" &&
	    expect_in "You are ivan, from 127.0.0.1" "$W/chat.out" &&
	    ct test -s "$TOKEN"
}
step "client registers ivan (and keeps a token)" register

token_login() {
	chat /whoami /quit >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	expect_in "Welcome back, ivan" "$W/chat.out"
}
step "client logs in again with its token" token_login

password_login() {
	ct rm -f "$TOKEN"
	chat ivan secret123 /whoami /quit >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	expect_in "Password:" "$W/chat.out" &&
	    expect_in "Welcome, ivan" "$W/chat.out"
}
step "client logs in with the password" password_login

state_files() {
	ct ls -la /var/lib/authchatd
	[ "$(ct stat -c '%U %a' /var/lib/authchatd/users)" = "authchatd 600" ]
}
step "state written by the service: /var/lib/authchatd/users authchatd 0600" \
    state_files

# reload: turn registration off; the same process must apply it
reload() {
	local pid0 pid1
	pid0=$(ct systemctl show -p MainPID --value authchatd)
	echo "registration no" >>"$W/root/etc/authchatd/authchatd.conf"
	CT_TIMEOUT=100 ct systemctl reload authchatd || return 1
	pid1=$(ct systemctl show -p MainPID --value authchatd)
	echo "MainPID before $pid0, after $pid1"
	[ "$pid0" = "$pid1" ] && [ "$pid0" != 0 ] || return 1
	[ "$(ct systemctl is-active authchatd)" = active ] || return 1
	retry 10 journal_has 'configuration reloaded'
}
step "systemctl reload authchatd: same MainPID, journal says configuration reloaded" \
    reload

reload_applied() {
	ct rm -f "$TOKEN"
	chat olga secret123 >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	! grep -qF "New user olga" "$W/chat.out" &&
	    expect_in "Login incorrect" "$W/chat.out" || return 1
	chat ivan secret123 /quit >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	expect_in "Welcome, ivan" "$W/chat.out"
}
step "after reload: registration off applied, ivan still logs in" reload_applied

journal_lines() {
	retry 10 journal_has "Failed password for invalid user olga" || return 1
	ct journalctl -u authchatd --no-pager -o short >"$W/journal" || return 1
	cat "$W/journal"
	expect_in "connection from 127.0.0.1 port" "$W/journal" &&
	    expect_in "Registered new user ivan from 127.0.0.1 port" "$W/journal" &&
	    expect_in "Accepted token for ivan from 127.0.0.1 port" "$W/journal" &&
	    expect_in "Accepted password for ivan from 127.0.0.1 port" "$W/journal" &&
	    expect_in "Failed password for invalid user olga" "$W/journal"
}
step "journalctl -u authchatd: connection, registration and login lines" \
    journal_lines

stop_service() {
	local i
	CT_TIMEOUT=100 ct systemctl stop authchatd || return 1
	ct systemctl show -p ActiveState -p Result authchatd | tee "$W/show"
	grep -qx ActiveState=inactive "$W/show" || return 1
	grep -qx Result=success "$W/show" || return 1
	for i in $(seq 1 50); do
		ct pgrep -x authchatd >/dev/null || break
		sleep 0.1
	done
	if ct pgrep -x authchatd >/dev/null; then
		ct ps -o pid=,user=,args= -C authchatd
		return 1
	fi
	retry 10 journal_has stopped
}
step "systemctl stop authchatd: inactive, Result=success, no authchatd left" \
    stop_service

# log_file under the unit, rotated by the installed logrotate snippet:
# reload (its postrotate) must make the daemon reopen the file
LOGPATH=
log_file_start() {
	LOGPATH=$(awk '/^\/[^ ]+ *\{/ { print $1; exit }' \
	    "$W/root/etc/logrotate.d/authchatd")
	echo "log file named by /etc/logrotate.d/authchatd: $LOGPATH"
	[ -n "$LOGPATH" ] || return 1
	echo "log_file $LOGPATH" >>"$W/root/etc/authchatd/authchatd.conf"
	CT_TIMEOUT=30 ct systemctl start authchatd || {
		ct journalctl -u authchatd --no-pager -o cat -n 8
		return 1
	}
	ct rm -f "$TOKEN"
	chat ivan secret123 /quit >"$W/chat.out" 2>&1
	expect_in "Welcome, ivan" "$W/chat.out" || return 1
	ct ls -l "$LOGPATH" && retry 10 log_has "Accepted password for ivan"
}
step "log_file (the logrotate snippet's path) works under the unit" \
    log_file_start

log_file_rotate() {
	[ -n "$LOGPATH" ] && [ "$(ct systemctl is-active authchatd)" = active ] ||
	    { echo "authchatd.service with log_file is not running"; return 1; }
	ct logrotate -v -f /etc/logrotate.d/authchatd 2>&1 | tail -n 12
	ct test -s "$LOGPATH.1" || { echo "not rotated to $LOGPATH.1"; return 1; }
	ct rm -f "$TOKEN"
	chat ivan secret123 /quit >"$W/chat.out" 2>&1
	expect_in "Welcome, ivan" "$W/chat.out" || return 1
	retry 10 log_has "Accepted password for ivan" || return 1
	ct ls -l "$LOGPATH" "$LOGPATH.1"
	ct cat "$LOGPATH" >"$W/log"
	cat "$W/log"
	expect_in "configuration reloaded" "$W/log"
}
step "logrotate -f: reload reopens the log file, new lines in the new file" \
    log_file_rotate

log_file_stop() {
	sed -i '/^log_file /d' "$W/root/etc/authchatd/authchatd.conf"
	CT_TIMEOUT=100 ct systemctl stop authchatd
	ct systemctl reset-failed authchatd 2>/dev/null
	! ct pgrep -a -x authchatd
}
step "log_file test cleaned up (service stopped, log_file removed)" \
    log_file_stop

# 6. socket activation
socket_start() {
	CT_TIMEOUT=100 ct systemctl start authchatd.socket || return 1
	[ "$(ct systemctl is-active authchatd.socket)" = active ] || return 1
	[ "$(ct systemctl is-active authchatd.service)" = inactive ] || return 1
	ct ss -ltnp 2>/dev/null || true
	! ct pgrep -x authchatd
}
step "systemctl start authchatd.socket: listening, service not started yet" \
    socket_start

socket_activation() {
	local i
	ct rm -f "$TOKEN"
	chat ivan secret123 /whoami /quit >"$W/chat.out" 2>&1
	cat "$W/chat.out"
	expect_in "Welcome, ivan" "$W/chat.out" || {
		ct systemctl status --no-pager authchatd.socket authchatd.service
		return 1
	}
	for i in $(seq 1 50); do
		[ "$(ct systemctl is-active authchatd.service)" = active ] && break
		sleep 0.1
	done
	ct systemctl show -p ActiveState -p TriggeredBy authchatd.service
	[ "$(ct systemctl is-active authchatd.service)" = active ] || return 1
	[ "$(ct ps -o user= -C authchatd | sort -u)" = authchatd ]
}
step "a client connection starts authchatd.service through the socket" \
    socket_activation

socket_journal() {
	# systemd passed its socket ([::]:9090, dual stack): the daemon
	# announces it instead of the configured 127.0.0.1
	retry 10 journal_has "listening on :: port $PORT" || {
		ct journalctl -u authchatd --no-pager -o cat -n 20
		return 1
	}
	[ "$(ct systemctl show -p NRestarts --value authchatd.service)" = 0 ]
}
step "socket-activated daemon uses the passed socket" socket_journal

socket_stop() {
	local i
	CT_TIMEOUT=100 ct systemctl stop authchatd.socket authchatd.service ||
	    return 1
	for i in $(seq 1 50); do
		ct pgrep -x authchatd >/dev/null || break
		sleep 0.1
	done
	! ct pgrep -a -x authchatd &&
	    [ "$(ct systemctl is-active authchatd.socket)" = inactive ] &&
	    [ "$(ct systemctl is-active authchatd.service)" = inactive ]
}
step "stop socket and service: nothing left" socket_stop

no_warnings() {
	# anything the units logged at warning or worse that we did not cause
	ct journalctl -u authchatd -u authchatd.socket --no-pager -p warning \
	    -o short | grep -v -e 'Failed password for invalid user olga' \
	    -e '^-- ' | tee "$W/warn"
	[ ! -s "$W/warn" ]
}
step "no unexpected warnings from the units in the journal" no_warnings

# 7. shut down and check the host
shutdown_ct() {
	local i rc left
	CT_TIMEOUT=10 ct systemctl --no-block poweroff || return 1
	for i in $(seq 1 300); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		echo "container still running 30 s after poweroff"
		return 1
	fi
	wait "$NSPAWN_PID"
	rc=$?
	NSPAWN_PID=
	tail -n 5 "$W/boot.log"
	echo "systemd-nspawn exit status $rc"
	left=$(procs_in_root)
	if [ -n "$left" ]; then
		echo "processes left in the container root: $left"
		ps -o pid=,args= -p "$(echo "$left" | paste -sd, -)"
		return 1
	fi
	return "$rc"
}
step "poweroff: container gone, no process left on the host" shutdown_ct

log "took $(( $(date +%s) - T0 )) s"
if [ "$FAILS" -eq 0 ]; then
	log "ALL PASSED"
	exit 0
fi
log "$FAILS check(s) FAILED"
exit 1
