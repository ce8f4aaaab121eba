# helpers.bash: shared set-up for the bats suite.  Every test gets its own
# temp dir and its own daemon on a free loopback port; teardown kills only
# the PIDs the test started.

bats_load_library bats-support
bats_load_library bats-assert

: "${BUILDDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
AUTHCHATD="$BUILDDIR/authchatd"
AUTHCHAT="$BUILDDIR/authchat"
TPEER="$BUILDDIR/tpeer"

setup() {
	TMP=$(mktemp -d "${BATS_RUN_TMPDIR:-/tmp}/t.XXXXXX")
	DAEMON_PID=
	EXTRA_PIDS=()
}

teardown() {
	local p
	for p in "${EXTRA_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	[ -n "$DAEMON_PID" ] && stop_daemon
	if [ -n "${TMUX_SOCK:-}" ]; then
		tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	fi
	return 0
}

# start_daemon [ARGS...]: detached daemon on a free loopback port.  It
# exits 0 only once it listens and wrote its pidfile: that is readiness.
start_daemon() {
	local tries
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		PORT=$((20000 + RANDOM % 12000))
		if "$AUTHCHATD" -u root -f /dev/null -b "${BIND:-127.0.0.1}" -p "$PORT" \
		    -l "$TMP/authchatd.log" -P "$TMP/authchatd.pid" "$@" \
		    2>"$TMP/start.err"; then
			DAEMON_PID=$(cat "$TMP/authchatd.pid")
			return 0
		fi
		grep -q 'Address already in use' "$TMP/start.err" || break
	done
	cat "$TMP/start.err" >&2
	return 1
}

# stop_daemon: SIGTERM, then wait (bounded) until the process is gone.
stop_daemon() {
	local i
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	for i in $(seq 1 100); do
		[ -e "/proc/$DAEMON_PID" ] || break
		sleep 0.05
	done
	if [ -e "/proc/$DAEMON_PID" ]; then
		kill -9 "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
		return 1
	fi
	DAEMON_PID=
}

# children_of PID [STATE]: the PIDs whose parent is PID (in STATE, e.g. Z).
children_of() {
	ps -o pid=,stat= --ppid "$1" 2>/dev/null |
	    awk -v st="${2:-}" 'st == "" || substr($2, 1, 1) == st { print $1 }'
}

# wait_for COMMAND...: retry a condition for up to 10 s (readiness poll).
wait_for() {
	local i
	for i in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

log_has() {
	grep -qF -- "$1" "$TMP/authchatd.log"
}

# count_children: how many children the daemon has right now.
count_children() {
	children_of "$DAEMON_PID" | wc -l
}

# chat TEXT...: run the real client with stdin from a pipe.
chat() {
	printf '%s\n' "$@" | "$AUTHCHAT" -H 127.0.0.1 -p "$PORT"
}

# tmux_start NAME CMD: a program in a pty under a private tmux server.
tmux_start() {
	TMUX_SOCK="$TMP/tmux.sock"
	tmux -S "$TMUX_SOCK" new-session -d -s t -x 200 -y 50 "$1"
}

screen_has() {
	tmux -S "$TMUX_SOCK" capture-pane -p -t t | grep -qF -- "$1"
}

screen() {
	tmux -S "$TMUX_SOCK" capture-pane -p -t t
}

type_keys() {
	tmux -S "$TMUX_SOCK" send-keys -t t "$@"
}

# start_auth MODE [CONF LINES...]: a daemon in ident or auth mode with a
# private state dir; failures are not delayed unless a line says so.
start_auth() {
	auth_conf "$@"
	start_daemon -f "$TMP/auth.conf"
}

# auth_conf MODE [CONF LINES...]: write $TMP/auth.conf for start_auth.
auth_conf() {
	local mode=$1 l
	shift
	STATE="$TMP/state"
	export XDG_STATE_HOME="$TMP/xdg"
	{
		echo "mode $mode"
		echo "state_dir $STATE"
		echo "fail_delay 0"
		echo "penalties no"
		# many clients from one address at once: the suite is one
		# source, and a slow machine keeps children alive longer
		echo "max_per_source 1000"
		echo "max_startups 1000:100:1000"
		for l in "$@"; do echo "$l"; done
	} >"$TMP/auth.conf"
}

# token_file: where the client keeps its token for this daemon.
token_file() {
	echo "$XDG_STATE_HOME/authchat/127.0.0.1,$PORT"
}

# register NAME PASSWORD: a new user through the real client.
register() {
	chat "$1" "$2" "$2" /quit >/dev/null
}

# hold N STEP PATTERN: N peers that ran STEP (recv or recvn:K), saw a line
# matching PATTERN, and stay connected until "exec 8>&-" releases them.
hold() {
	local i
	mkfifo "$TMP/hold"
	for i in $(seq 1 "$1"); do
		"$TPEER" -p "$PORT" "$2" wait <"$TMP/hold" >"$TMP/held.$i" &
		EXTRA_PIDS+=($!)
	done
	exec 8>"$TMP/hold"
	for i in $(seq 1 "$1"); do
		wait_for grep -q "$3" "$TMP/held.$i"
	done
}

# records DIR: the record files in $STATE/DIR (users, lastlog, idents,
# sessions), one name a line in name order; temp files (".KEY.XXXXXXXX")
# are not records and are left out.
records() {
	[ -d "$STATE/$1" ] || return 0
	find "$STATE/$1" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' |
	    LC_ALL=C sort
}

# temp_files: dot files anywhere in the state directory, that is temp
# files a change left behind; a finished change leaves none.
temp_files() {
	find "$STATE" -mindepth 1 -name '.*' -printf '%P\n' | LC_ALL=C sort
}

# state_snapshot: the whole state database as text, to compare before
# and after: every entry but temp files in path order with its type and
# mode, and for a file its mtime (a last login or last use) and content
# (cat -A: a missing final newline or a NUL byte shows).
state_snapshot() {
	local f
	(cd "$STATE" && find . -mindepth 1 -name '.*' -prune -o -printf '%P\n') |
	    LC_ALL=C sort |
	while IFS= read -r f; do
		if [ -f "$STATE/$f" ] && [ ! -L "$STATE/$f" ]; then
			echo "$f: $(stat -c '%F %a %Y' "$STATE/$f")"
			printf '%s\n' "$(cat -A "$STATE/$f")"
		else
			echo "$f: $(stat -c '%F %a' "$STATE/$f")"
		fi
	done
}

# sessions_of NAME: how many session records belong to NAME.
sessions_of() {
	local d n=0
	for d in $(records sessions); do
		[ "$(cut -d' ' -f2 "$STATE/sessions/$d")" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}

# token_digest: the SHA-256 of the client's token, as the server keeps it.
token_digest() {
	printf '%s' "$(cat "$(token_file)")" | sha256sum | cut -d' ' -f1
}
