#!/usr/bin/env python3
"""mkcorpus.py: write the seed inputs of tests/fuzz/corpus/TARGET/seed-*.

The seeds follow each target's input format (see the comment at the top of
fuzz_TARGET.c).  Run it again after changing a format; it rewrites the
seed-* files only, never inputs that fuzzing added or crash-* regressions.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEP, RAW, LINE = b"\xff", b"\xfe", b"\xfd"


def frame(b):
    return b"%010d" % len(b) + b


def script(*segs):
    """Segments for the server and client targets, split on 0xff."""
    return SEP.join(s.encode() if isinstance(s, str) else s for s in segs)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# frame: max index, chunk index, flags, seed; then the stream.
MAX_DEFAULT, MAX_ONE, MAX_TEN = 11, 1, 4
def fr(name, stream, mx=MAX_DEFAULT, chunk=12, flags=0, seed=1):
    write("frame", name, bytes([mx, chunk, flags, seed]) + stream)

fr("hello", frame(b"hello") + frame("wörld".encode()))
fr("hello-bytewise", frame(b"hello") + frame(b"again"), chunk=0)
fr("empty-message", frame(b""))
fr("bad-header", b"00000000x5hello")
fr("bad-header-sign", b"+000000005hello")
fr("overlong-length", b"9999999999")
fr("too-big", frame(b"hi"), mx=MAX_ONE)
fr("max-exact", frame(b"0123456789"), mx=MAX_TEN)
fr("nul", frame(b"a\0b") + frame(b"after"))
fr("utf8-overlong", frame(b"\xc0\xaf") + frame(b"ok"))
fr("utf8-surrogate", frame(b"\xed\xa0\x80"))
fr("utf8-4byte", frame("😀 ∑ é".encode()))
fr("utf8-above-max", frame(b"\xf4\x90\x80\x80"))
fr("utf8-cut", frame(b"ab\xe2\x82"))
fr("truncated-payload", b"0000000010abc")
fr("truncated-header", b"00000")
fr("timeout-mid-message", b"0000000010abc", flags=1)
fr("timeout-between", frame(b"one") + frame(b"two"), flags=1)
fr("deadline-past", frame(b"x") + b"0000", flags=2, seed=3)
fr("interrupt", frame(b"one") + frame(b"two") + frame(b"three"),
   chunk=2, flags=3, seed=2)
fr("raw-mixed", frame(b"framed") + b"raw bytes" + frame(b"again"),
   flags=2 << 2)
fr("raw-every-op", b"just bytes, no frames at all", flags=1 << 2)
fr("round-trip", frame(b"back and forth") + frame("ünïcödé".encode()),
   flags=1 << 5)
fr("many-small", b"".join(frame(b"m%d" % i) for i in range(50)), chunk=4)
fr("large", frame(b"L" * 5000) + frame(b"tail"), chunk=13)
fr("client-max", b"0001048576" + b"x" * 100, mx=14)
fr("pipe", frame(b"through a pipe") + b"raw" + frame(b"x" * 5000)
   + frame(b"tail"), flags=0x40 | 0x20 | 2 << 2, seed=5)
fr("pipe-timeout", frame(b"through a pipe") + b"0000", chunk=0,
   flags=0x40 | 1, seed=5)

# server: flags (mode | addr << 2 | 0x20 no registration | 0x40 max 64 |
# 0x80 min_password 1); then the script.
ECHO, RAWM, IDENT, AUTH = 0, 1, 2, 3
TOK = {n: str(n) * 64 for n in (1, 2, 3, 4)}
def sv(name, flags, *segs):
    write("server", name, bytes([flags]) + script(*segs))

sv("echo-commands", ECHO, "hello", "/help", "/time", "/whoami", "/nope",
   "", "/quit")
sv("echo-exit", ECHO, "/exit")
sv("echo-eof", ECHO, "no quit, just EOF")
sv("echo-unknown-long", ECHO, "/" + "é" * 40)
sv("echo-garbage", ECHO, "hi", RAW + b"xyz")
sv("echo-bad-utf8", ECHO, b"\xc3\x28")
sv("echo-nul", ECHO, b"a\0b")
sv("echo-too-big", ECHO | 0x40, "x" * 100)
sv("echo-half-frame", ECHO, "one", RAW + b"0000000100abc")
sv("echo-v6", ECHO | 2 << 2, "/whoami", "/quit")
sv("echo-unix", ECHO | 5 << 2, "/whoami")
sv("raw", RAWM, RAW + b"any bytes\n\x00\x01", "framed too")
sv("ident-known", IDENT, "hello", "/whoami", "/quit")
sv("ident-known-v6", IDENT | 2 << 2, "/whoami", "/quit")
sv("ident-v4mapped", IDENT | 3 << 2, "/whoami", "/quit")
sv("ident-new", IDENT | 1 << 2, "newname", "/whoami", "/quit")
sv("ident-bad-names", IDENT | 1 << 2, "", "-x", "123", "a b")
sv("ident-bad-then-good", IDENT | 4 << 2, "bad name", "good.name", "/help")
sv("ident-unknown-addr", IDENT | 5 << 2, "name")
sv("auth-register", AUTH | 1 << 2 | 0x80, "", "newuser", "password1",
   "password1", "hello", "/whoami", "/help", "/logout")
sv("auth-register-mismatch", AUTH | 1 << 2, "", "newuser", "aaaaaaaa",
   "bbbbbbbb", "newuser2", "short", "short", "other", "password1",
   "password1")
sv("auth-register-taken", AUTH, "", "alice", "wrong")
sv("auth-register-long", AUTH, "", "longpw", "x" * 1100, "x" * 1100)
sv("auth-login", AUTH, "", "alice", "correct horse", "/whoami", "/quit")
sv("auth-passwd", AUTH, "", "alice", "correct horse", "/passwd",
   "correct horse", "new password", "new password", "/logout")
sv("auth-passwd-wrong", AUTH, "", "alice", "correct horse", "/passwd",
   "wrong", "/quit")
sv("auth-passwd-mismatch", AUTH, "", "alice", "correct horse", "/passwd",
   "correct horse", "a1234567", "b1234567", "/quit")
sv("auth-wrong-thrice", AUTH, "", "alice", "nope", "alice", "nope",
   "alice", "nope")
sv("auth-token", AUTH, TOK[1], "/whoami", "/logout")
sv("auth-token-expired", AUTH, TOK[2], "alice", "correct horse", "/quit")
sv("auth-token-locked", AUTH, TOK[3], "bob", "correct horse")
sv("auth-token-ghost", AUTH, TOK[4], "ghost", "pw")
sv("auth-token-malformed", AUTH, "xyz", "carol", "correct horse", "/quit")
sv("auth-rehash", AUTH, "", "carol", "correct horse", "/quit")
sv("auth-star", AUTH, "", "dave", "*", "dave", "")
sv("auth-noreg", AUTH | 0x20, "", "zed", "pw", "bad name\n", "pw")
sv("auth-bad-name", AUTH, "", "-bad", "", "1234")
sv("auth-too-big", AUTH | 0x40, "", "x" * 100)
sv("auth-unknown-addr", AUTH | 5 << 2, TOK[1], "/whoami")
sv("auth-garbage", AUTH, "", RAW + b"zzzzzzzzzz")

# client: flags (token file kind | host << 3); then the script of server
# messages, with 0xfd lines for stdin.
GREET = "220 authchat/1 authchatd ready, mode echo; /help for commands"
GREET_D = "220-authchat/1 authchatd ready, mode auth; /help for commands"
def cl(name, flags, *segs):
    write("client", name, bytes([flags]) + script(*segs))

cl("echo", 0, GREET, "250 hello", "221 Goodbye", LINE + b"hello",
   LINE + b"/quit")
cl("echo-stdin-eof", 0, GREET, "250 x", "221 Goodbye")
cl("echo-exit-word", 0, GREET, "250 x", "221 Goodbye", LINE + b"exit")
cl("echo-bad-input", 0, GREET, "250 x", "250 y", "221 Goodbye",
   LINE + b"\xc3\x28", LINE + b"fine", LINE + b"x" * 70000)
cl("auth", 1, GREET_D, "332 Session token?", "330 Name:", "331 Password:",
   "235-" + TOK[1], "250 Welcome, alice", "250 hi", "236-Session revoked",
   "221 Logged out, goodbye", LINE + b"alice", LINE + b"correct horse",
   LINE + b"hi", LINE + b"/logout")
cl("auth-register", 0 | 1 << 3, GREET_D, "332 Session token?",
   "330 Name:", "250-New user bob: choose a password of at least 8 bytes",
   "331 New password:", "331 Repeat New password:", "550-Passwords do not"
   " match", "330 Name:", LINE + b"bob", LINE + b"a", LINE + b"b")
cl("token-refused", 2, GREET_D, "332 Session token?",
   "535-Session expired or revoked; please log in", "330 Name:")
cl("token-long", 3, GREET_D, "332 Session token?", "330 Name:")
cl("token-dir", 4, GREET_D, "235-" + TOK[2], "332 Session token?")
cl("token-symlink", 5, GREET_D, "235-" + TOK[2], "236-gone", "221 bye")
cl("token-empty", 6, GREET_D, "332 Session token?", "421 closing")
cl("token-slash-host", 1 | 2 << 3, GREET_D, "235-" + TOK[3],
   "332 Session token?", "221 x")
cl("token-long-host", 0 | 3 << 3, GREET_D, "235-" + TOK[3],
   "332 Session token?", "221 x")
cl("prompt-eof", 0, GREET_D, "330 Name:")
cl("secret-prompt", 0, GREET_D, "331 Password:", LINE + b"secret",
   "250 ok", "221 bye")
cl("greeting-bad-name", 0, "220 notauthchat/1 hi")
cl("greeting-bad-version", 0, "220 authchat/2 hi")
cl("greeting-no-version", 0, "220 authchat/x")
cl("greeting-no-slash", 0, "220 authchat")
cl("greeting-busy", 0, "421 too many connections, closing")
cl("malformed", 0, GREET, "hello")
cl("short-codes", 0, GREET, "250", "2500", "99", "600 x")
cl("errors", 0, GREET, "500 unknown command", "501-Bad name: empty",
   "530-Login incorrect", "421 closing")
cl("garbage", 0, GREET, RAW + b"00000000zz")
cl("bad-utf8", 0, GREET, b"250 \xc3\x28")

# conf: the file as is.
def cf(name, text):
    write("conf", name, text.encode() if isinstance(text, str) else text)

cf("every-key", """# every key, valid
port 9090
listen 127.0.0.1 ::1
listen localhost
mode auth
log_file /var/log/authchatd.log
syslog_facility local3
pid_file /run/authchatd.pid
state_dir /var/lib/authchatd
max_children 64
max_message 65536
idle_timeout 5m
login_grace_time 60s
registration no
min_password 12
session_idle 30m
session_lifetime 7d
hash_cost 5
fail_delay 1
user authchatd
max_startups 10:30:100
max_per_source 10
source_netmask 24:48
penalties authfail:5s invaliduser:1m noauth:1 grace-exceeded:10s min:15s max:1h
penalty_exempt 127.0.0.1 10.0.0.0/8 ::1 fe80::/10
""")
cf("none-paths", "log_file none\npid_file none\npenalties no\n"
   "penalty_exempt none\n")
cf("comments-blanks", "\n   \n# only a comment\n\tmode echo   # trailing\n")
cf("crlf", "port 9091\r\nmode raw\r\n")
cf("bad-values", "port 0\nport 65536\nport -1\nmode chat\nmax_children 0\n"
   "max_message 16777217\nidle_timeout 0\nidle_timeout 366d\n"
   "registration maybe\nhash_cost 12\nsyslog_facility kern\n"
   "fail_delay -1\nmin_password 0\nmax_startups 10:0:5\n"
   "source_netmask 33:129\npenalties min:1h max:1m\n"
   "penalty_exempt 10.0.0.0/33\nuser -root\n")
cf("unknown-key", "colour blue\nport\n")
cf("long-line", "state_dir /" + "x" * 2000 + "\n")
cf("nul", b"port 90\x0090\n")
cf("many-listen", "listen " + " ".join("10.0.0.%d" % i for i in range(17))
   + "\n")
cf("many-exempt", "penalty_exempt " +
   " ".join("10.%d.0.0/16" % i for i in range(33)) + "\n")
cf("durations", "idle_timeout 1\nidle_timeout 59s\nidle_timeout 1440m\n"
   "idle_timeout 8760h\nidle_timeout 365d\nsession_idle 0001s\n"
   "fail_delay 0\n")
cf("no-newline", "mode ident")

# db: flags (ops bits 0-6 | 0x80 variant); then record files split on
# 0xff, each a header byte (directory | name << 2 | kind << 5 | 0x80 old
# mtime) and the content.  Names 0-6 are fixed per directory (see names[]
# in fuzz_db.c), 7 takes the content's first field.
U, I, S, L = 0, 1, 2, 3
FILE, LINK, DIR, FIFO = 0, 1, 2, 3
OWN = 7
ALL, VARIANT = 0x7f, 0x80
HASH = "$y$j9T$abcdefghijklmnopqrstu.$0123456789abcdefghijklmnopqrstuvwxyzABCDE"
D1, D2, D3 = "ab" * 32, "0123456789abcdef" * 4, "feedface" * 8
def rf(d, name, content="", kind=FILE, old=False):
    """One record file: directory, name index, content."""
    if isinstance(content, str):
        content = content.encode()
    return bytes([d | name << 2 | kind << 5 | (0x80 if old else 0)]) + content
def db(name, flags, *files):
    write("db", name, bytes([flags]) + SEP.join(files))

CLEAN = (rf(U, 0, "alice %s 1700000000 0\n" % HASH),
         rf(U, 1, "bob %s 1700000000 1\n" % HASH),
         rf(L, 0, old=True),
         rf(I, 0, "127.0.0.1 alice 1700000000\n"),
         rf(I, 1, "::1 bob 5\n"),
         rf(S, 0, "%s alice 1700000000\n" % D1),
         rf(S, 1, "%s bob 1\n" % D2, old=True))
db("clean-reads", 0, *CLEAN)
for n, op in enumerate(("add", "update", "login", "ident", "session",
                        "sweep", "delete")):
    db("clean-" + op, 1 << n, *CLEAN)
    db("clean-" + op + "-variant", 1 << n | VARIANT, *CLEAN)
db("clean-all", ALL, *CLEAN)
db("clean-all-variant", ALL | VARIANT, *CLEAN)
write("db", "no-files", bytes([ALL]))
db("bad-users-fields", ALL | VARIANT,
   rf(U, OWN, "carol h 1\n"), rf(U, OWN, "dave h 1 0 0\n"),
   rf(U, OWN, "erin  h 1 0\n"), rf(U, OWN, "frank h:x 1 0\n"),
   rf(U, OWN, "gina h +1 0\n"), rf(U, OWN, "hank h 1 2\n"),
   rf(U, OWN, "ivan h 99999999999999999999 0\n"),
   rf(U, OWN, "joe h 9223372036854775808 0\n"),
   rf(U, OWN, "kim h 0007 1\n"), rf(U, OWN, "lee h 9223372036854775807 0\n"),
   rf(U, OWN, "max h 00000000000000000001 0\n"),
   rf(U, OWN, "mia h 1 0 \n"), rf(U, OWN, "nick h 1 0\r\n"),
   rf(U, 3, "123 h 1 0\n"), rf(U, 4, "-x h 1 0\n"),
   rf(U, OWN, "n" * 33 + " h 1 0\n"), rf(U, OWN, "olga " + "h" * 256 + " 1 0\n"))
db("bad-users-files", ALL,
   rf(U, 0, "bob %s 1 0\n" % HASH), rf(U, 1, ""),
   rf(U, 2, "fuzzuser h 1 0"), rf(U, 6, "Zed h 1 0\nZed h 1 0\n"),
   rf(U, OWN, b"pat h\0 1 0\n"), rf(U, OWN, "quinn " + "h" * 1014 + " 1 0\n"),
   rf(U, OWN, "ross " + "h" * 1016 + " 1 0\n"), rf(L, 0), rf(L, 6, old=True))
db("bad-kinds", ALL | VARIANT,
   rf(U, 0, kind=LINK), rf(U, 1, kind=DIR), rf(U, 2, kind=FIFO),
   rf(U, 6, "Zed %s 1 0\n" % HASH), rf(L, 6, kind=DIR), rf(L, 0, kind=LINK),
   rf(I, 0, kind=DIR), rf(I, 1, kind=FIFO), rf(S, 0, kind=DIR),
   rf(S, 1, kind=LINK, old=True), rf(S, 2, kind=FIFO))
db("bad-kinds-delete", 0x40 | 0x10,
   rf(U, 0, "alice %s 1 0\n" % HASH), rf(L, 0, kind=DIR),
   rf(U, 1, kind=DIR), rf(S, 0, "%s bob 1\n" % D1), rf(S, 1, kind=DIR),
   rf(I, 0, kind=DIR), rf(I, 1, kind=LINK))
db("bad-idents", ALL,
   rf(I, 3, "1.2.3 alice 1\n"), rf(I, 4, "2001:DB8::1 alice 1\n"),
   rf(I, 0, "127.0.0.1 al@ce 1\n"), rf(I, 1, "::1 alice 1 2\n"),
   rf(I, OWN, "127.000.0.1 alice 1\n"), rf(I, OWN, "10.0.0.1 alice 1\n"),
   rf(I, 6, "::ffff:1.2.3.4 bob 1\n"), rf(I, OWN, "::0:1 x 1\n"))
db("bad-sessions", ALL | VARIANT,
   rf(U, 0, "alice %s 1 0\n" % HASH),
   rf(S, 4, "%s alice 1\n" % D1.upper()), rf(S, 3, "short alice 1\n"),
   rf(S, 6, "%s0 alice 1\n" % D1), rf(S, 0, "%s alice 1 2\n" % D1),
   rf(S, 1, "%s alice -2\n" % D2), rf(S, 2, "%s Zed 1\n" % D3),
   rf(S, OWN, "%s alice 1\n" % ("cd" * 32), old=True))
db("temp-files", ALL,
   rf(U, 0, "alice %s 1 0\n" % HASH), rf(U, 5, "garbage"),
   rf(I, 5, "half a rec"), rf(S, 5, "%s alice 1\n" % D1),
   rf(S, OWN, ".%s.XyZ12345 junk\n" % D2), rf(U, OWN, ".hidden\n"))
db("own-names", ALL | VARIANT,
   rf(U, OWN, "carol %s 5 0\n" % HASH), rf(L, OWN, "carol", old=True),
   rf(U, OWN, "x" * 40 + " h 1 0\n"), rf(U, OWN, "\xe9t\xe9 h 1 0\n"),
   rf(I, OWN, "10.1.2.3 carol 9\n"), rf(I, OWN, "fe80::1 carol 9\n"),
   rf(S, OWN, "%s carol 9\n" % D3))
db("refuse-malformed", 0x0f | VARIANT,
   rf(U, 0, "alice %s 1\n" % HASH), rf(U, 1, "bob %s 1 0\n" % HASH),
   rf(I, 0, "127.0.0.1 alice\n"), rf(I, 1, "::1 bob 5\n"))
db("expire", 0x20,
   rf(U, 0, "alice %s 1 0\n" % HASH),
   rf(S, 0, "%s alice 1700000000\n" % D1),
   rf(S, 1, "%s alice 1700000000\n" % D2, old=True),
   rf(S, 2, "%s bob 1\n" % D3))
db("expire-created", 0x20 | VARIANT,
   rf(S, 0, "%s alice 1700000000\n" % D1),
   rf(S, 1, "%s alice 1700000001\n" % D2), rf(S, 2, "%s bob 0\n" % D3))
db("login-locked", 0x04 | VARIANT,
   rf(U, 0, "alice %s 7 1\n" % HASH), rf(U, 1, "bob wrong:hash 7 0\n"),
   rf(U, 2, "fuzzuser %s 1 0\n" % HASH), rf(L, 2, kind=FIFO))
for flags in (0x10, 0x10 | VARIANT):
    db("sessions-no-user-%x" % flags, flags,
       rf(U, 3, "123 h 1 0\n"), rf(U, 4, kind=DIR), rf(U, 1, kind=LINK),
       rf(U, 5, "garbage"))
