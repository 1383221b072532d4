#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# t-postfix.sh - redgrey behind real Postfix instances on loopback.
#
# Users trust what they see through their MTA, so this test shows the
# promises of issue 5 the way a postmaster would: swaks talks SMTP to
# private Postfix instances (tests/e2e/postfix-start.sh) that hand each
# session to redgrey daemons, and every scenario asserts on the RCPT reply
# lines, on the mailbox (did the message arrive, does it carry X-Greylist)
# and on redgrey's own log. Four instances: MX0 alone with the embedded
# LMDB store (scenarios 1, 2, 4, 5, 6, 8), MX1 + MX2 sharing the Redis
# server of with-redis.sh (scenarios 3 and 7), and MX3 laid out as Debian
# ships Postfix: smtpd chrooted in the queue directory, redgrey on the
# default unix socket path relative to it (scenario 9, which also finds
# Postfix's queue id in redgrey's summary line). Ports are drawn free; every
# process is stopped by PID or `postfix stop` from a trap, and a watchdog
# bounds the whole run.
#
# Runs under with-redis.sh (REDGREY_TEST_REDIS...), as root. Environment:
# REDGREY (the daemon, default ../milter/redgrey from the build's tests/),
# E2E_KEEP=1 keeps the work directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcroot=$(cd "$here/.." && pwd)
. "$here/e2e/lib.sh"

REDGREY=${REDGREY:-$PWD/../milter/redgrey}
DELAY=2                                  # redgrey's delay, in seconds
RUN_LIMIT=130                            # seconds before the watchdog fires

passed=0
failed=0
errs=""                                  # the current scenario's failures
rg_pids=""                               # redgrey daemons still to stop
mx_bases=""                              # Postfix instances to stop
watchdog=

# ---- reporting ------------------------------------------------------------

# bad - record one failed expectation of the current scenario
bad() {
    errs="$errs    $*
"
}

# verdict - print PASS or FAIL for scenario N with its story, reset errs
verdict() {
    local n=$1 story=$2
    if [ -z "$errs" ]; then
        echo "PASS $n: $story"
        passed=$((passed + 1))
    else
        echo "FAIL $n: $story"
        printf '%s' "$errs"
        failed=$((failed + 1))
    fi
    errs=""
}

# setup_fail - a broken precondition: nothing can be tested
setup_fail() {
    echo "FAIL setup: $*"
    failed=$((failed + 1))
    echo "$passed passed, $failed failed"
    exit 1
}

# interrupted - a signal (or the watchdog) ends the run: say so, clean up
interrupted() {
    echo "FAIL interrupted: a signal stopped the run"
    failed=$((failed + 1))
    echo "$passed passed, $failed failed"
    exit 1
}

# ---- processes ------------------------------------------------------------

# rg_wait_unix - wait up to 15 s for redgrey (PID) to serve the unix
# socket PATH: the socket exists and the daemon logged that it started
rg_wait_unix() {
    local path=$1 pid=$2 log=$3 n=0
    while [ $n -lt 300 ]; do
        [ -S "$path" ] && grep -q 'starting redgrey' "$log" && return 0
        e2e_pid_alive "$pid" || return 1
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# rg_start - start redgrey NAME listening on SOCKET (TCP port PORT, or the
# path of a unix socket) with STORE; more config lines may follow as a
# fifth argument
rg_start() {
    local name=$1 socket=$2 store=$3 port=$4 more=${5:-} dir=$work/$1 pid
    mkdir -p "$dir"
    cat > "$dir/redgrey.conf" <<EOF
# $name: written by t-postfix.sh
socket = $socket
store = $store
delay = ${DELAY}s
retry_window = 1h
netmask_v4 = 24
netmask_v6 = 64
trusted_networks =
on_store_error = accept
user =
pidfile =
header = yes
key_prefix = rg:
# SPF would query the resolver of /etc/resolv.conf, off loopback: these
# scenarios are about netblock keys (check_milter_spf covers SPF keying).
spf_keying = no
# The shipped list: postmaster@ and abuse@.
whitelist_recipients = $srcroot/contrib/whitelist_recipients
$more
EOF
    if ! "$REDGREY" -t -c "$dir/redgrey.conf" > "$dir/check.out" 2>&1; then
        cat "$dir/check.out"
        setup_fail "redgrey -t rejects $dir/redgrey.conf"
    fi
    "$REDGREY" -f -c "$dir/redgrey.conf" 2> "$dir/log" &
    pid=$!
    echo "$pid" > "$dir/pid"
    rg_pids="$rg_pids $pid"
    case $port in
    /*) rg_wait_unix "$port" "$pid" "$dir/log" ;;
    *) e2e_wait_listen "$port" 15 "$pid" ;;
    esac || {
        cat "$dir/log"
        setup_fail "redgrey $name does not listen on $port within 15 s"
    }
}

# rg_stop - send NAME SIGTERM; with WAIT, also wait (15 s at most) and
# reap it, leaving its exit status in $dir/status
rg_stop() {
    local dir=$work/$1 pid st
    pid=$(cat "$dir/pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null
    [ "${2:-}" = wait ] || return 0
    if ! e2e_wait_gone "$pid" 15; then
        echo "    redgrey $1 ($pid) still runs 15 s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    st=$?
    echo "$st" > "$dir/status"
    rg_pids=$(echo "$rg_pids" | sed "s/ $pid\b//")
}

# mx_start - start Postfix instance NAME on PORT (more settings in env)
mx_start() {
    local name=$1 port=$2
    mx_bases="$mx_bases $work/$name"
    if ! SMTP_PORT=$port MX_NAME=$name.e2e.test "$here/e2e/postfix-start.sh" "$work/$name"; then
        setup_fail "Postfix $name did not start"
    fi
}

# cleanup - stop everything this run started, also after a failure
cleanup() {
    local pid b
    trap - EXIT INT TERM HUP
    [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
    for pid in $rg_pids; do kill -TERM "$pid" 2>/dev/null; done
    for b in $mx_bases; do "$here/e2e/postfix-stop.sh" "$b"; done
    # libmilter notices SIGTERM at its next poll, up to ~5 s later.
    for pid in $rg_pids; do
        e2e_wait_gone "$pid" 15 || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$failed" -gt 0 ]; then
        dump_logs
    fi
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}

# dump_logs - the tail of every log, for a failed run's test log
dump_logs() {
    local f
    for f in "$work"/*/log "$work"/*/maillog; do
        [ -f "$f" ] || continue
        echo "---- ${f#$work/} (last 25 lines)"
        tail -n 25 "$f"
    done
}

# ---- SMTP and mailbox -----------------------------------------------------

# send - swaks from a client address to one instance; the transcript goes
# to $work/swaks/ID.out; ID tags the message (X-E2E-Id) for the mailbox.
# Usage: send ID SERVER PORT CLIENT FROM TO [swaks options...]
send() {
    local id=$1 server=$2 port=$3 client=$4 from=$5 to=$6
    shift 6
    swaks --server "$server" --port "$port" --local-interface "$client" \
        --helo "client.e2e-sender.example" --from "$from" --to "$to" \
        --add-header "X-E2E-Id: $id" --timeout 15 "$@" \
        > "$work/swaks/$id.out" 2>&1
}

# rcpt_reply - the server's reply to RCPT TO:<ADDR> in transcript ID
# (swaks marks replies "<-  " and error replies "<** ")
rcpt_reply() {
    awk -v cmd=" -> RCPT TO:<$2>" '
        $0 == cmd { want = 1; next }
        want && /^<(- |\*\*) / { print substr($0, 5); exit }
    ' "$work/swaks/$1.out"
}

# expect_rcpt - the RCPT reply for ADDR in transcript ID matches REGEX
expect_rcpt() {
    local got
    got=$(rcpt_reply "$1" "$2")
    if ! printf '%s' "$got" | grep -Eq "$3"; then
        bad "$1: RCPT TO:<$2>: got '${got:-no reply}', want /$3/"
    fi
}

# expect_queued - transcript ID ends with the message queued (or, with
# "no", with no DATA at all)
expect_queued() {
    local n
    n=$(grep -c '^<-  250 2.0.0 Ok: queued as ' "$work/swaks/$1.out")
    if [ "${2:-yes}" = yes ] && [ "$n" != 1 ]; then
        bad "$1: no '250 2.0.0 Ok: queued as' in the transcript"
    elif [ "${2:-yes}" = no ] && grep -q '^ -> DATA' "$work/swaks/$1.out"; then
        bad "$1: DATA was sent, but no recipient should have been accepted"
    fi
}

# msg_headers - the header blocks of messages tagged ID in mailbox MX
msg_headers() {
    awk -v tag="X-E2E-Id: $2" '
        function flush() { if (hit) printf "%s--\n", hdr }
        /^From / { flush(); hdr = ""; inhdr = 1; hit = 0; next }
        inhdr && /^$/ { inhdr = 0; next }
        inhdr { hdr = hdr $0 "\n"; if ($0 == tag) hit = 1 }
        END { flush() }
    ' "$work/$1/mail/mbox" 2>/dev/null
}

# wait_delivered - wait (10 s at most) for a message tagged ID in MX's
# mailbox; print its headers. Delivery follows the 250 by ~50 ms.
wait_delivered() {
    local n=0 h
    while [ $n -lt 200 ]; do
        h=$(msg_headers "$1" "$2")
        if [ -n "$h" ]; then
            printf '%s\n' "$h"
            return 0
        fi
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# wait_header - wait (10 s at most) for a header line matching ERE in the
# messages tagged ID in MX's mailbox (one message may be delivered once
# per recipient, a few ms apart)
wait_header() {
    local n=0
    while [ $n -lt 200 ]; do
        msg_headers "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# expect_delivered - message ID arrived at MX; with "grey" it carries a
# well-formed X-Greylist saying it waited at least DELAY seconds, with
# "plain" it has none. The X-Greylist line is left in $xgrey.
expect_delivered() {
    local mx=$1 id=$2 kind=$3 h secs
    xgrey=""
    if ! h=$(wait_delivered "$mx" "$id"); then
        bad "$id: not in $mx's mailbox 10 s after it was queued"
        return
    fi
    xgrey=$(printf '%s\n' "$h" | grep '^X-Greylist:')
    case $kind in
    grey)
        if ! printf '%s' "$xgrey" | grep -Eq \
            '^X-Greylist: delayed [0-9]+ seconds by redgrey-[^ ]+ at [^ ;]+; .+$'; then
            bad "$id: X-Greylist: got '${xgrey:-none}', want 'delayed N seconds by redgrey-VERSION at HOST; DATE'"
            return
        fi
        secs=$(printf '%s' "$xgrey" | sed 's/^X-Greylist: delayed \([0-9]*\) .*/\1/')
        if [ "$secs" -lt "$DELAY" ]; then
            bad "$id: X-Greylist says delayed $secs seconds, want >= $DELAY"
        fi
        ;;
    plain)
        [ -z "$xgrey" ] || bad "$id: got '$xgrey', want no X-Greylist (never delayed)"
        ;;
    esac
}

# log_count - number of lines of redgrey NAME's log matching ERE
log_count() {
    grep -Ec -- "$2" "$work/$1/log"
}

# expect_log - redgrey NAME logged at least one line matching ERE
expect_log() {
    if [ "$(log_count "$1" "$2")" -lt 1 ]; then
        bad "$1's log: no line matching /$2/"
    fi
}

# decision - ERE for redgrey's decision line: ACTION CLIENT KEY FROM TO
decision() {
    local key=$3
    key=$(printf '%s' "$key" | sed 's/[.]/[.]/g')
    printf 'action=%s .*client=\\[%s\\] key=%s from=<%s> to=<%s>' \
        "$1" "$(printf '%s' "$2" | sed 's/[.]/[.]/g')" "$key" "$4" "$5"
}

# ---- preconditions --------------------------------------------------------

[ "$(id -u)" = 0 ] || setup_fail "must run as root: Postfix's master runs as root"
for prog in postfix postconf swaks saslpasswd2 script runuser redis-cli; do
    command -v "$prog" >/dev/null ||
        setup_fail "$prog not found: run contrib/debian-deps.sh"
done
perl -MIO::Socket::INET6 -e1 2>/dev/null ||
    setup_fail "swaks needs IO::Socket::INET6 for IPv6: install libio-socket-inet6-perl"
[ -x "$REDGREY" ] || setup_fail "no redgrey daemon at $REDGREY (set REDGREY=...)"
[ -n "${REDGREY_TEST_REDIS:-}" ] || setup_fail "REDGREY_TEST_REDIS unset: run under tests/with-redis.sh"
[ -n "${REDGREY_TEST_REDIS_PIDFILE:-}" ] && [ -n "${REDGREY_TEST_REDIS_START:-}" ] ||
    setup_fail "REDGREY_TEST_REDIS_PIDFILE/START unset: run under tests/with-redis.sh"
redis=redis://$REDGREY_TEST_REDIS

work=$(mktemp -d "${TMPDIR:-/tmp}/redgrey-e2e.XXXXXX") || setup_fail "mktemp failed"
# The Postfix daemons run as postfix and deliver as nobody: they must be
# able to traverse the work directory (mktemp makes it 0700).
chmod 755 "$work"
mkdir -p "$work/swaks"
trap cleanup EXIT
trap interrupted INT TERM HUP
# The watchdog sleeps in short steps, so that killing it leaves no sleeper.
(
    n=0
    while [ $n -lt $((RUN_LIMIT * 10)) ]; do sleep 0.1; n=$((n + 1)); done
    echo "FAIL watchdog: still running after $RUN_LIMIT s"
    kill -TERM $$
) &
watchdog=$!

E2E_PORTS_TAKEN=""
for v in smtp0 smtp1 smtp2 smtp3 rg0 rg1 rg2; do
    p=$(e2e_free_port) || setup_fail "no free TCP port found"
    E2E_PORTS_TAKEN="$E2E_PORTS_TAKEN $p"
    eval "port_$v=$p"
done

t0=$(date +%s)
echo "# redgrey: $REDGREY ($("$REDGREY" -V 2>&1 | head -n 1))"
echo "# Redis: $REDGREY_TEST_REDIS; work directory: $work"

# MX0: one MX, IPv6 and SMTP AUTH on, redgrey rg0 on 127.0.0.1 with the
# embedded store.
mkdir -p "$work/rg0/lmdb"
rg_start rg0 "inet:$port_rg0@127.0.0.1" "lmdb:$work/rg0/lmdb" "$port_rg0" "lmdb_mapsize = 64M"
IPV6=1 SASL_USER=user@e2e.test SASL_PASS=secret MILTER=inet:127.0.0.1:$port_rg0 \
    mx_start mx0 "$port_smtp0"
# MX1 and MX2: a cluster on one Redis. rg2 listens on IPv6, to cover that.
rg_start rg1 "inet:$port_rg1@127.0.0.1" "$redis" "$port_rg1"
rg_start rg2 "inet6:$port_rg2@[::1]" "$redis" "$port_rg2"
MILTER=inet:127.0.0.1:$port_rg1 mx_start mx1 "$port_smtp1"
IPV6=1 MILTER="inet:[::1]:$port_rg2" mx_start mx2 "$port_smtp2"
# MX3: Debian's layout. Its smtpd runs chrooted in the queue directory and
# reaches redgrey through the snippet's smtpd_milters (a path relative to
# the queue directory); the socket directory is what tmpfiles.d makes
# (2750, group postfix), and redgrey makes the socket 0660 for
# socket_group (its default, postfix).
mkdir -p "$work/mx3/queue/redgrey" "$work/rg3/lmdb"
chgrp postfix "$work/mx3/queue/redgrey" && chmod 2750 "$work/mx3/queue/redgrey" ||
    setup_fail "cannot make the socket directory as tmpfiles.d does"
sock3=$work/mx3/queue/redgrey/redgrey.sock
milter3=$(sed -n 's/^smtpd_milters = //p' "$srcroot/contrib/postfix/main.cf.snippet")
[ "$milter3" = unix:redgrey/redgrey.sock ] ||
    setup_fail "contrib/postfix/main.cf.snippet: smtpd_milters = '$milter3', want unix:redgrey/redgrey.sock"
rg_start rg3 "unix:$sock3" "lmdb:$work/rg3/lmdb" "$sock3" "lmdb_mapsize = 64M"
SMTPD_CHROOT=1 MILTER=$milter3 mx_start mx3 "$port_smtp3"
echo "# ready after $(($(date +%s) - t0)) s"
echo "# MX0 :$port_smtp0 -> rg0 :$port_rg0; MX1 :$port_smtp1 -> rg1 :$port_rg1;" \
    "MX2 :$port_smtp2 -> rg2 [::1]:$port_rg2; delay ${DELAY}s"

GREY='^451 4\.7\.1 Greylisted, please try again later$'
OK='^250 2\.1\.5 '

# ---- 1. one MX (LMDB): greylisted, early retry greylisted, later retry passes
send s1a 127.0.0.1 "$port_smtp0" 127.0.0.2 alice@s1.example bob@e2e.test
expect_rcpt s1a bob@e2e.test "$GREY"
expect_queued s1a no
send s1b 127.0.0.1 "$port_smtp0" 127.0.0.2 alice@s1.example bob@e2e.test
expect_rcpt s1b bob@e2e.test "$GREY"
expect_queued s1b no
sleep "$DELAY.5"
send s1c 127.0.0.1 "$port_smtp0" 127.0.0.2 alice@s1.example bob@e2e.test
expect_rcpt s1c bob@e2e.test "$OK"
expect_queued s1c
expect_delivered mx0 s1c grey
expect_log rg0 "$(decision greylist 127.0.0.2 127.0.0.0/24 alice@s1.example bob@e2e.test)"
[ "$(log_count rg0 "$(decision greylist 127.0.0.2 127.0.0.0/24 alice@s1.example bob@e2e.test)")" = 2 ] ||
    bad "rg0's log: want 2 greylist lines for alice@s1.example -> bob@e2e.test"
expect_log rg0 "$(decision pass 127.0.0.2 127.0.0.0/24 alice@s1.example bob@e2e.test)"
verdict 1 "one MX, LMDB store: 127.0.0.2 gets 451 4.7.1 at RCPT, 451 on an early retry, 250 after ${DELAY}s; delivered with ${xgrey:-no X-Greylist}"

# ---- 2. netblock: retry from another address of the same /24 --------------
send s2a 127.0.0.1 "$port_smtp0" 127.0.0.2 carol@s2.example dave@e2e.test
expect_rcpt s2a dave@e2e.test "$GREY"
sleep "$DELAY.5"
send s2b 127.0.0.1 "$port_smtp0" 127.0.1.2 carol@s2.example dave@e2e.test
expect_rcpt s2b dave@e2e.test "$GREY"
send s2c 127.0.0.1 "$port_smtp0" 127.0.0.3 carol@s2.example dave@e2e.test
expect_rcpt s2c dave@e2e.test "$OK"
expect_queued s2c
expect_delivered mx0 s2c grey
expect_log rg0 "$(decision pass 127.0.0.3 127.0.0.0/24 carol@s2.example dave@e2e.test)"
expect_log rg0 "$(decision greylist 127.0.1.2 127.0.1.0/24 carol@s2.example dave@e2e.test)"
verdict 2 "greylisted from 127.0.0.2, retry from 127.0.1.2 (other /24) 451, from 127.0.0.3 (same /24) 250"

# grey_then_pass - ID's first try at PORT1 is greylisted (logged by RG1),
# its retry after the delay at PORT2 passes (logged by RG2) and reaches
# MX2's mailbox with X-Greylist. Usage: grey_then_pass ID PORT1 RG1 PORT2
# RG2 MX2 CLIENT FROM TO (the client's /24 is 127.0.0.0/24)
grey_then_pass() {
    local id=$1 p1=$2 rg1=$3 p2=$4 rg2=$5 mx2=$6 client=$7 from=$8 to=$9
    send "${id}a" 127.0.0.1 "$p1" "$client" "$from" "$to"
    expect_rcpt "${id}a" "$to" "$GREY"
    sleep "$DELAY.5"
    send "${id}b" 127.0.0.1 "$p2" "$client" "$from" "$to"
    expect_rcpt "${id}b" "$to" "$OK"
    expect_queued "${id}b"
    expect_delivered "$mx2" "${id}b" grey
    expect_log "$rg1" "$(decision greylist "$client" 127.0.0.0/24 "$from" "$to")"
    expect_log "$rg2" "$(decision pass "$client" 127.0.0.0/24 "$from" "$to")"
}

# ---- 3. two MXes, one Redis: greylisted at MX1, passes at MX2 ---------------
grey_then_pass s3 "$port_smtp1" rg1 "$port_smtp2" rg2 mx2 127.0.0.6 jack@s3.example kate@e2e.test
verdict 3 "greylisted at MX1 (:$port_smtp1), accepted at MX2 (:$port_smtp2) on the first retry; ${xgrey:-no X-Greylist}"

# ---- 4. one transaction, three recipients decided apart -------------------
# postmaster@ is in the shipped whitelist_recipients; bob's triplet passed
# in scenario 1; newbie is new.
send s4 127.0.0.1 "$port_smtp0" 127.0.0.2 alice@s1.example \
    postmaster@e2e.test,bob@e2e.test,newbie@e2e.test
expect_rcpt s4 postmaster@e2e.test "$OK"
expect_rcpt s4 bob@e2e.test "$OK"
expect_rcpt s4 newbie@e2e.test "$GREY"
expect_queued s4
expect_delivered mx0 s4 any
for r in postmaster bob; do
    wait_header mx0 s4 "^Delivered-To: $r@e2e.test\$" || bad "s4: the message did not reach $r"
done
if msg_headers mx0 s4 | grep -q '^Delivered-To: newbie@e2e.test$'; then
    bad "s4: the message reached newbie, who was greylisted"
fi
expect_log rg0 "action=accept reason=whitelist-rcpt client=\\[127[.]0[.]0[.]2\\] .*to=<postmaster@e2e.test>"
expect_log rg0 "action=pass reason=known client=\\[127[.]0[.]0[.]2\\] .*to=<bob@e2e.test>"
expect_log rg0 "$(decision greylist 127.0.0.2 127.0.0.0/24 alice@s1.example newbie@e2e.test)"
verdict 4 "one transaction: postmaster@ (whitelisted) 250, known bob 250, new newbie 451 4.7.1; delivered to the first two only"

# ---- 5. SMTP AUTH: never greylisted ----------------------------------------
# Unauthenticated first: greylisted. The same triplet at once with AUTH
# can only pass because redgrey skips authenticated sessions.
send s5a 127.0.0.1 "$port_smtp0" 127.0.0.5 frank@s5.example gina@e2e.test
expect_rcpt s5a gina@e2e.test "$GREY"
send s5b 127.0.0.1 "$port_smtp0" 127.0.0.5 frank@s5.example gina@e2e.test \
    --auth PLAIN --auth-user user@e2e.test --auth-password secret
grep -q '^<-  235 ' "$work/swaks/s5b.out" || bad "s5b: AUTH PLAIN was not accepted (no 235)"
expect_rcpt s5b gina@e2e.test "$OK"
expect_queued s5b
expect_delivered mx0 s5b plain
expect_log rg0 "action=accept reason=auth client=\\[127[.]0[.]0[.]5\\] .*to=<gina@e2e.test>"
[ "$(log_count rg0 "action=(greylist|pass) .*to=<gina@e2e.test>")" = 1 ] ||
    bad "rg0's log: want exactly one greylist decision for gina (the unauthenticated try)"
verdict 5 "unauthenticated 451; authenticated (235) at once 250 and delivered without X-Greylist"

# ---- 6. IPv6 client on ::1, keyed by its /64 -------------------------------
send s6a ::1 "$port_smtp0" ::1 henry@s6.example ida@e2e.test
expect_rcpt s6a ida@e2e.test "$GREY"
sleep "$DELAY.5"
send s6b ::1 "$port_smtp0" ::1 henry@s6.example ida@e2e.test
expect_rcpt s6b ida@e2e.test "$OK"
expect_queued s6b
expect_delivered mx0 s6b grey
expect_log rg0 "$(decision greylist ::1 ::/64 henry@s6.example ida@e2e.test)"
expect_log rg0 "$(decision pass ::1 ::/64 henry@s6.example ida@e2e.test)"
verdict 6 "[::1]: 451 4.7.1, then 250 after ${DELAY}s with key ::/64; delivered with X-Greylist"

# ---- 9. Debian's chrooted smtpd, unix socket in the queue directory --------
st=$(stat -c '%a %G' "$sock3" 2>/dev/null)
[ "$st" = "660 postfix" ] || bad "$sock3: mode and group '$st', want '660 postfix'"
grey_then_pass s9 "$port_smtp3" rg3 "$port_smtp3" rg3 mx3 127.0.0.9 rita@s9.example sam@e2e.test
qid=$(sed -n 's/^<-  250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$work/swaks/s9b.out")
if [ -z "$qid" ]; then
    bad "s9b: no queue id in '250 2.0.0 Ok: queued as'"
else
    expect_log rg3 "^.* $qid: summary client=[^ ]*\\[127[.]0[.]0[.]9\\] .*from=<rita@s9.example> rcpts=1 greylist=0 pass=1 .*end=eom"
    grep -q "$qid: .*to=<sam@e2e.test>.*status=sent" "$work/mx3/maillog" ||
        bad "mx3's maillog: queue id $qid was not delivered"
fi
# The smtpd that handed the message over runs with the queue directory as its root.
chrooted=0
for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = smtpd ] || continue
    [ "$(readlink "$p/root" 2>/dev/null)" = "$work/mx3/queue" ] && chrooted=$((chrooted + 1))
done
[ "$chrooted" -ge 1 ] || bad "no smtpd process is chrooted in $work/mx3/queue"
verdict 9 "chrooted smtpd (Debian layout) via $milter3: 451 4.7.1, then 250 queued as ${qid:-?}; redgrey logged '${qid:-?}: summary ... pass=1'; socket 0660 group postfix"

# Scenario 8 needs rg0 gone; libmilter takes up to ~5 s to notice SIGTERM,
# so let that run during scenario 7.
rg_stop rg0

# ---- 7. Redis down: mail flows; Redis back: greylisting resumes -------------
redis_pid=$(cat "$REDGREY_TEST_REDIS_PIDFILE" 2>/dev/null)
if [ -z "$redis_pid" ]; then
    bad "no redis-server pid in $REDGREY_TEST_REDIS_PIDFILE"
else
    kill -TERM "$redis_pid" 2>/dev/null
    e2e_wait_gone "$redis_pid" 10 || bad "redis-server $redis_pid did not stop within 10 s"
fi
send s7a 127.0.0.1 "$port_smtp1" 127.0.0.7 liam@s7.example mia@e2e.test
send s7b 127.0.0.1 "$port_smtp1" 127.0.0.7 liam@s7.example noah@e2e.test
send s7c 127.0.0.1 "$port_smtp2" 127.0.0.7 liam@s7.example olga@e2e.test
for x in s7a:mia s7b:noah s7c:olga; do
    expect_rcpt "${x%:*}" "${x#*:}@e2e.test" "$OK"
    expect_queued "${x%:*}"
done
for x in rg1:mia rg1:noah rg2:olga; do
    expect_log "${x%:*}" "action=accept reason=store-error .*to=<${x#*:}@e2e.test>"
done
expect_delivered mx1 s7a plain
expect_delivered mx1 s7b plain
expect_delivered mx2 s7c plain
[ "$(log_count rg1 'store: outage')" = 1 ] ||
    bad "rg1's log: got $(log_count rg1 'store: outage') 'store: outage' lines for 2 messages, want 1"
[ "$(log_count rg2 'store: outage')" = 1 ] ||
    bad "rg2's log: got $(log_count rg2 'store: outage') 'store: outage' lines, want 1"
"$REDGREY_TEST_REDIS_START" > /dev/null 2>&1 || bad "could not start redis-server again"
n=0
while [ "$(redis-cli -u "$redis" ping 2>/dev/null)" != PONG ]; do
    if [ $n -ge 100 ]; then
        bad "redis-server does not answer PING 5 s after its restart"
        break
    fi
    sleep 0.05
    n=$((n + 1))
done
send s7d 127.0.0.1 "$port_smtp1" 127.0.0.7 liam@s7.example pia@e2e.test
expect_rcpt s7d pia@e2e.test "$GREY"
send s7e 127.0.0.1 "$port_smtp2" 127.0.0.7 liam@s7.example quinn@e2e.test
expect_rcpt s7e quinn@e2e.test "$GREY"
# The recovery is logged only after 10 s without a failure (check_milter
# waits for it); seconds after the outage it must not be there yet.
for rg in rg1 rg2; do
    [ "$(log_count $rg 'store: recovered')" = 0 ] ||
        bad "$rg's log: 'store: recovered' within seconds of the outage, want it after 10 s quiet"
done
verdict 7 "Redis stopped: 3 new triplets accepted at once on both MXes, one outage line each; Redis back: 451 again, no recovery line before 10 s quiet"

# ---- 8. redgrey stopped: Postfix applies milter_default_action = accept ----
rg_stop rg0 wait
action=$(postconf -c "$work/mx0/conf" -h milter_default_action)
[ "$action" = accept ] ||
    bad "mx0: milter_default_action is '$action', want accept (from contrib/postfix/main.cf.snippet)"
send s8 127.0.0.1 "$port_smtp0" 127.0.0.8 oscar@s8.example pat@e2e.test
expect_rcpt s8 pat@e2e.test "$OK"
expect_queued s8
expect_delivered mx0 s8 plain
grep -q "warning: connect to Milter service inet:127.0.0.1:$port_rg0: Connection refused" \
    "$work/mx0/maillog" || bad "mx0's maillog: no 'connect to Milter service ... Connection refused'"
verdict 8 "redgrey stopped: Postfix (milter_default_action = accept) answered '$(rcpt_reply s8 pat@e2e.test)' and delivered"

# ---- shutdown: the daemons stop on SIGTERM, cleanly ------------------------
# Signal both first: libmilter takes up to ~5 s to notice, so wait in parallel.
rg_stop rg1
rg_stop rg3
rg_stop rg2 wait
rg_stop rg1 wait
rg_stop rg3 wait
[ -e "$sock3" ] && bad "rg3 left its socket $sock3 behind"
for name in rg0 rg1 rg2 rg3; do
    st=$(cat "$work/$name/status" 2>/dev/null)
    [ "$st" = 0 ] || bad "$name exited with status ${st:-unknown}, want 0"
    if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$work/$name/log"; then
        bad "$name's log holds a sanitizer report"
    fi
done
verdict shutdown "all redgrey daemons exited 0 on SIGTERM, no sanitizer report"

echo "# $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && exit 0
exit 1
