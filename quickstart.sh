#!/bin/sh
# quickstart.sh: install what is missing, build, and either start the
# daemon on embedded defaults with the client on it ("run"), or run the
# whole test suite ("test").  Meant for a fresh Debian 12 clone, as root.
set -eu
cd "$(dirname "$0")"

DEPS="build-essential autoconf automake pkgconf libcrypt-dev libbsd-dev
 libmd-dev bats bats-support bats-assert tmux netcat-openbsd socat mandoc
 clang clang-tidy cppcheck fail2ban procps iproute2 devscripts valgrind
 libclang-rt-14-dev"

install_deps() {
	missing=""
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {
	[ -x configure ] || autoreconf -fi
	[ -f Makefile ] || ./configure --enable-werror ${CONFIGURE_FLAGS:-}
	make -j"$(nproc)"
}

case "${1:-run}" in
run)
	install_deps
	build
	mkdir -p run/state
	chmod 700 run/state
	./authchatd -f etc/quickstart.conf
	echo "authchatd is running on localhost port 9090 (log: run/authchatd.log)"
	status=0
	./authchat -H localhost -p 9090 || status=$?
	kill "$(cat run/authchatd.pid)"
	exit "$status"
	;;
test)
	install_deps
	build
	make check
	;;
*)
	echo "usage: quickstart.sh [run | test]" >&2
	exit 2
	;;
esac
