#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# run.sh - the standard benchmark matrix, printed as Markdown.
#
# Starts its own redis-server (loopback, a free port, no persistence), the
# null milter (naive, and -m negotiating like redgrey) and redgrey, and runs
# bench/rgbench against them:
#   1. backends {lmdb, redis} x connections {1, 8, 64} x workloads {new,
#      retry, awl, mixed}, each next to the null milter -m running the same
#      workload's steps (the like-for-like floor), and the naive null milter
#      once per connection count; then mixed at 8 and 64 connections paced
#      below saturation, for latencies that are not just queueing;
#   2. the store-size sweep: mixed at 8 connections with 0, 100k and 1M
#      stored triplets (filled with bench/rgfill through the store API),
#      next to the null milter at each size, and Redis memory per triplet;
#   3. inet against unix socket for a message that passes after the delay
#      (redgrey adds X-Greylist at end of message: two packets), next to
#      the null milter adding a header (-H), and with TCP_NODELAY (-N);
#   4. the cost of log_level = info against warning.
# With -b, the matrix runs on other backends too: redis-cluster is a Redis
# Cluster of three primaries on loopback, started by this script (the
# report compares its mixed cells with redis's of the same run);
# redis-sentinel runs bench/part_ha.sh instead: redis, redis-sentinel
# (primary, replica, three sentinels) and redis-cluster, mixed, C=16 and
# C=64, interleaved over two rounds, with the servers' CPU per decision.
# With -F, only the features-on part runs (bench/part_feat.sh): SPF
# keying against a loopback nsd, big senders, whitelists, DNS lists, cold
# and warm, and the cost of a DNS-list check; it prints its own tables.
# Every process it starts is stopped by its PID on exit, also on failure.
# Every run is bounded by count and time; the whole matrix takes a few
# minutes. If a backend cannot start (not built yet), its rows say so.
#
# usage: bench/run.sh [-B BUILDDIR] [-o FILE.md] [-k FILE.kv] [-q]
#                     [-M] [-C "CONNS..."] [-W "WORKLOADS..."] [-b "BACKENDS..."] [-F]
#   -B  the build directory (holds bench/rgbench, milter/redgrey ...);
#       default: the current directory if it has them, else the source tree
#   -o  also write the Markdown to FILE.md
#   -k  keep the raw key=value lines in FILE.kv
#   -q  quick: fewer messages, for checking the script itself
#   -M  the matrix (part 1) only: no paced runs, sweep, sockets or log cost
#   -C  the matrix's connection counts (default "1 8 64")
#   -W  the matrix's workloads (default "new retry awl mixed")
#   -b  the matrix's backends (default "lmdb redis"; also redis-cluster;
#       redis-sentinel: the HA part, bench/part_ha.sh)
#   -F  features on (bench/part_feat.sh) instead of the matrix
# e.g. bench/run.sh -M -C 16 -W mixed: one cell per backend, beside the
# null milters, for a before/after comparison of a change; and
# bench/run.sh -M -C "16 64" -W mixed -b "redis redis-cluster": the
# cluster rows against single Redis; bench/run.sh -M -b redis-sentinel:
# the HA part alone (about 5 minutes; with -q about 1).
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=
out=
kvout=
quick=no
matrix_only=no
conns_list="1 8 64"
workloads="new retry awl mixed"
backends="lmdb redis"
feat=no
while getopts "B:o:k:qMC:W:b:F" opt; do
    case $opt in
    B) build=$OPTARG ;;
    o) out=$OPTARG ;;
    k) kvout=$OPTARG ;;
    q) quick=yes ;;
    M) matrix_only=yes ;;
    C) conns_list=$OPTARG ;;
    W) workloads=$OPTARG ;;
    b) backends=$OPTARG ;;
    F) feat=yes ;;
    *) echo "usage: $0 [-B BUILDDIR] [-o FILE.md] [-k FILE.kv] [-q] [-M] [-C CONNS] [-W WORKLOADS] [-b BACKENDS] [-F]" >&2; exit 2 ;;
    esac
done
if [ -z "$build" ]; then
    if [ -x ./bench/rgbench ]; then build=$(pwd); else build=$srcdir; fi
fi
rgbench=$build/bench/rgbench
nullmilter=$build/bench/nullmilter
rgfill=$build/bench/rgfill
redgrey=$build/milter/redgrey
for p in "$rgbench" "$nullmilter" "$rgfill" "$redgrey"; do
    [ -x "$p" ] || { echo "run.sh: $p not built (make in $build)" >&2; exit 1; }
done
redis_server=$(command -v redis-server) || { echo "run.sh: redis-server not found" >&2; exit 1; }
redis_cli=$(command -v redis-cli) || { echo "run.sh: redis-cli not found" >&2; exit 1; }

# Sizes. Each rgbench phase is also capped at $secs seconds.
msgs=6000
nagle_msgs=100
secs=8
sweep="0 100000 1000000"
memfill=100000
if [ $quick = yes ]; then
    msgs=600; nagle_msgs=20; secs=5; sweep="0 10000 20000"; memfill=10000
fi
delay=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rgbench.XXXXXX") || exit 1
kv=$tmp/results.kv
: > "$kv"
pids=""

# stop_pid - TERM, wait up to 5 s, then KILL; only our own PIDs
stop_pid() {
    local pid=$1 n=0
    kill "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
        sleep 0.05; n=$((n + 1))
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    for pid in $pids; do stop_pid "$pid"; done
    if [ -n "$kvout" ] && [ -s "$kv" ]; then cp "$kv" "$kvout"; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 1' INT TERM HUP

say() { echo "run.sh: $*" >&2; }

# free_port - a loopback TCP port nobody listens on, below the ephemeral
# range: thousands of short milter connections leave their client ports in
# TIME_WAIT there, and a listener cannot bind one of those.
eph_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
    local port
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % (eph_low - 10000)))
        if ! ss -ltnH "sport = :$port" | grep -q .; then echo $port; return 0; fi
    done
    return 1
}

# wait_listen SPEC PID - until SPEC accepts (10 s at most) and PID lives
wait_listen() {
    local spec=$1 pid=$2 n=0
    while [ $n -lt 200 ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        case $spec in
        inet:*) ss -ltnH "sport = :$(echo "$spec" | sed 's/^inet:\([0-9]*\)@.*/\1/')" | grep -q . && return 0 ;;
        unix:*) [ -S "${spec#unix:}" ] && return 0 ;;
        esac
        sleep 0.05; n=$((n + 1))
    done
    return 1
}

# start NAME SPEC CMD... - start a filter in the background; sets $started_pid
start() {
    local name=$1 spec=$2
    shift 2
    "$@" > "$tmp/$name.log" 2>&1 &
    started_pid=$!
    pids="$pids $started_pid"
    if ! wait_listen "$spec" "$started_pid"; then
        say "$name did not start listening on $spec:"
        sed 's/^/    /' "$tmp/$name.log" >&2
        stop_pid "$started_pid"
        started_pid=
        return 1
    fi
    return 0
}

# stop PID - stop one process we started and forget it
stop() {
    [ -n "$1" ] || return 0
    stop_pid "$1"
    pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# write_conf FILE SOCKET STORE LOGLEVEL - a redgrey configuration
write_conf() {
    cat > "$1" <<EOF
socket = $2
store = $3
delay = ${delay}s
retry_window = 1h
awl_threshold = 1
trusted_networks =
user =
pidfile =
log_level = $4
key_prefix = rg:
spf_keying = no
EOF
}

# redis_info FIELD - one field of INFO
redis_info() {
    "$redis_cli" -h 127.0.0.1 -p "$redis_port" info memory | tr -d '\r' \
        | sed -n "s/^$1://p"
}

seed=1000
# bench TAGS RGBENCH-ARGS... - one measured cell; appends its key=value line
bench() {
    local tags=$1 line
    shift
    seed=$((seed + 1))
    line=$(timeout $((4 * secs + 30)) "$rgbench" -k -s $seed -d $secs -D $delay "$@" 2>"$tmp/rgbench.err")
    if [ -z "$line" ]; then
        say "rgbench failed ($tags):"; sed 's/^/    /' "$tmp/rgbench.err" >&2
        line="errors=-1"
    fi
    echo "$tags $line" >> "$kv"
    say "$tags $(echo "$line" | tr ' ' '\n' | grep -E '^(msgs_per_s|rcpt_p99_us|milter_us_per_dec|errors|unexpected)=' | tr '\n' ' ')"
}

# --- the services -----------------------------------------------------------
redis_port=$(free_port) || { say "no free port"; exit 1; }
"$redis_server" --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$tmp" --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!
pids="$pids $redis_pid"
for _ in $(seq 100); do
    "$redis_cli" -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
"$redis_cli" -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG \
    || { say "redis-server did not start"; exit 1; }

null_spec=inet:$(free_port)@127.0.0.1
start null "$null_spec" "$nullmilter" -p "$null_spec" || exit 1
null_pid=$started_pid
nullm_spec=inet:$(free_port)@127.0.0.1
start nullm "$nullm_spec" "$nullmilter" -m -p "$nullm_spec" || exit 1
nullm_pid=$started_pid

# cluster_start - three cluster primaries on free ports (each with its bus
# port, +10000, free too), joined; sets $cluster_ports. 0 once all say ok.
cluster_ports=""
cluster_start() {
    local port addrs="" n ok
    for _ in 1 2 3; do
        port=
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            port=$(free_port) || return 1
            ss -ltnH "sport = :$((port + 10000))" | grep -q . || break
        done
        mkdir -p "$tmp/cluster-$port"
        "$redis_server" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --dir "$tmp/cluster-$port" --daemonize no --logfile "$tmp/cluster-$port/redis.log" \
            --cluster-enabled yes --cluster-config-file nodes.conf &
        pids="$pids $!"
        cluster_ports="$cluster_ports $port"
        addrs="$addrs 127.0.0.1:$port"
    done
    for port in $cluster_ports; do
        n=0
        until "$redis_cli" -p "$port" ping 2>/dev/null | grep -q PONG; do
            n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.05
        done
    done
    # shellcheck disable=SC2086
    "$redis_cli" --cluster create $addrs --cluster-yes > "$tmp/cluster-create.log" 2>&1 || return 1
    for n in $(seq 200); do
        ok=0
        for port in $cluster_ports; do
            "$redis_cli" -p "$port" cluster info | grep -q cluster_state:ok && ok=$((ok + 1))
        done
        [ $ok -eq 3 ] && return 0
        sleep 0.05
    done
    return 1
}

# store_url BACKEND - a fresh, empty store
store_url() {
    case $1 in
    redis) "$redis_cli" -h 127.0.0.1 -p "$redis_port" flushall > /dev/null
           echo "redis://127.0.0.1:$redis_port" ;;
    redis-cluster)
           local port seeds=""
           for port in $cluster_ports; do
               "$redis_cli" -p "$port" flushall > /dev/null
               seeds="$seeds,127.0.0.1:$port"
           done
           echo "redis-cluster://${seeds#,}" ;;
    lmdb)  rm -rf "$tmp/lmdb"; mkdir -p "$tmp/lmdb"; echo "lmdb:$tmp/lmdb" ;;
    esac
}

# start_redgrey NAME BACKEND-URL LOGLEVEL [SPEC] - sets $rg_pid, $rg_spec, $rg_conf
start_redgrey() {
    rg_spec=${4:-inet:$(free_port)@127.0.0.1}
    rg_conf=$tmp/$1.conf
    write_conf "$rg_conf" "$rg_spec" "$2" "$3"
    rg_pid=
    start "$1" "$rg_spec" "$redgrey" -f -c "$rg_conf" || return 1
    rg_pid=$started_pid
}

# the HA part (issue 12): part_ha, run by -b redis-sentinel
. "$srcdir/bench/part_ha.sh"

start_time=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
. "$srcdir/bench/part_feat.sh"
[ $feat = yes ] && { part_feat_run; exit 0; }

# --- 1. the matrix ----------------------------------------------------------
case " $backends " in
*" redis-cluster "*) cluster_start || say "redis-cluster: the cluster did not start" ;;
esac
case " $backends " in
*" redis-sentinel "*) backends=$(echo $backends | tr ' ' '\n' | grep -vx redis-sentinel | tr '\n' ' ')
                      part_ha ;;
esac
for backend in $backends; do
    url=$(store_url $backend)
    if ! start_redgrey "redgrey-$backend" "$url" warning; then
        say "$backend: redgrey does not start: its rows are marked not yet"
        echo "part=matrix backend=$backend status=notyet" >> "$kv"
        continue
    fi
    aux=""
    [ $backend = redis ] && aux="-R $redis_pid"
    for c in $conns_list; do
        bench "part=matrix backend=$backend milter=null" \
            -p "$null_spec" -X -c "$c" -n $msgs -w mixed -P "$null_pid"
        for w in $workloads; do
            bench "part=matrix backend=$backend milter=nullm" \
                -p "$nullm_spec" -X -c "$c" -n $msgs -w "$w" -P "$nullm_pid"
            bench "part=matrix backend=$backend milter=redgrey" \
                -p "$rg_spec" -c "$c" -n $msgs -w "$w" -P "$rg_pid" $aux
        done
    done
    stop "$rg_pid"
done
say "matrix done in $(( $(date +%s) - start_time )) s"

if [ $matrix_only = no ]; then

    # --- 1b. latency below saturation ---------------------------------------------
    # Closed-loop cells saturate the two cores, so their latencies are mostly
    # queueing. Here the measured messages are paced (rgbench -L) at 40% of
    # what the null milter -m managed at 64 connections in the matrix.
    rate=$(awk '/part=matrix/ && / milter=nullm / && / conns=64 / && / workload=mixed / {
        for (i = 1; i <= NF; i++) if ($i ~ /^msgs_per_s=/) { split($i, a, "="); r = a[2] } }
        END { r = int(r * 0.4 / 100) * 100; print (r < 200 ? 200 : r) }' "$kv")
    for backend in lmdb redis; do
        if ! start_redgrey "redgrey-paced-$backend" "$(store_url $backend)" warning; then
            echo "part=paced backend=$backend status=notyet" >> "$kv"
            continue
        fi
        aux=""
        [ $backend = redis ] && aux="-R $redis_pid"
        for c in 8 64; do
            bench "part=paced backend=$backend milter=nullm" \
                -p "$nullm_spec" -X -c $c -n $msgs -w mixed -L "$rate" -P "$nullm_pid"
            bench "part=paced backend=$backend milter=redgrey" \
                -p "$rg_spec" -c $c -n $msgs -w mixed -L "$rate" -P "$rg_pid" $aux
        done
        stop "$rg_pid"
    done
    say "paced runs done at $(( $(date +%s) - start_time )) s"

    # --- 2. the store-size sweep ------------------------------------------------
    for backend in lmdb redis; do
        url=$(store_url $backend)
        filled=0
        fseed=0
        for size in $sweep; do
            want=$((size - filled))
            if [ $want -gt 0 ]; then
                write_conf "$tmp/fill.conf" "unix:$tmp/unused.sock" "$url" warning
                mem0=0; [ $backend = redis ] && mem0=$(redis_info used_memory)
                fseed=$((fseed + 1))
                fill=$(timeout 300 "$rgfill" -f "$tmp/fill.conf" -n $want -c 4 -s $((fseed * 7919)) -d 240 2>"$tmp/rgfill.err")
                say "fill $backend +$want: $fill"
                if ! echo "$fill" | grep -q "filled=$want errors=0"; then
                    say "fill failed: $(cat "$tmp/rgfill.err")"
                    echo "part=sweep backend=$backend size=$size status=fillfailed" >> "$kv"
                    break
                fi
                filled=$size
                if [ $backend = redis ]; then
                    mem1=$(redis_info used_memory)
                    keys=$("$redis_cli" -h 127.0.0.1 -p "$redis_port" dbsize)
                    echo "part=memory mix=v6-20% size=$size added=$want keys=$keys used_memory=$mem1 bytes_per_triplet=$(( (mem1 - mem0) / want ))" >> "$kv"
                fi
            fi
            if ! start_redgrey "sweep-$backend" "$url" warning; then
                echo "part=sweep backend=$backend size=$size status=notyet" >> "$kv"
                break
            fi
            aux=""
            [ $backend = redis ] && aux="-R $redis_pid"
            bench "part=sweep backend=$backend size=$size milter=nullm" \
                -p "$nullm_spec" -X -c 8 -n $msgs -w mixed -P "$nullm_pid"
            bench "part=sweep backend=$backend size=$size milter=redgrey" \
                -p "$rg_spec" -c 8 -n $msgs -w mixed -P "$rg_pid" $aux
            stop "$rg_pid"
        done
    done
    say "sweep done at $(( $(date +%s) - start_time )) s"

    # --- 2b. Redis memory per triplet, IPv4 and IPv6 client keys apart ----------
    # In database 2, so that the sweep's keys do not count; 1M triplets each
    # (the quick run's memfill), the new-triplet counter off: it is one key per
    # client net, not per triplet, and rgfill gives each IPv6 triplet its own
    # /64. bench/memory.sh runs this part alone.
    memn=1000000; [ $quick = yes ] && memn=$memfill
    for v6 in 0 100; do
        "$redis_cli" -h 127.0.0.1 -p "$redis_port" -n 2 flushdb > /dev/null
        write_conf "$tmp/fill.conf" "unix:$tmp/unused.sock" "redis://127.0.0.1:$redis_port/2" warning
        echo "max_new_per_client = 0" >> "$tmp/fill.conf"
        mem0=$(redis_info used_memory)
        fill=$(timeout 330 "$rgfill" -f "$tmp/fill.conf" -n $memn -c 4 -s $((v6 + 77)) -6 $v6 -d 300 2>"$tmp/rgfill.err")
        mem1=$(redis_info used_memory)
        keys=$("$redis_cli" -h 127.0.0.1 -p "$redis_port" -n 2 dbsize)
        say "memory fill v6=$v6%: $fill"
        if echo "$fill" | grep -q "filled=$memn errors=0"; then
            echo "part=memory mix=v6-$v6% size=$memn added=$memn keys=$keys used_memory=$mem1 bytes_per_triplet=$(( (mem1 - mem0) / memn ))" >> "$kv"
        fi
        "$redis_cli" -h 127.0.0.1 -p "$redis_port" -n 2 flushdb > /dev/null
    done

    # --- 3. inet against unix, for a message that passes with a header --------
    for sock in inet unix nodelay; do
        case $sock in
        inet)    spec=inet:$(free_port)@127.0.0.1; flags="-m -H" ;;
        unix)    spec=unix:$tmp/nullh.sock; flags="-m -H" ;;
        nodelay) spec=inet:$(free_port)@127.0.0.1; flags="-m -H -N" ;;
        esac
        # shellcheck disable=SC2086
        if start "nullh-$sock" "$spec" "$nullmilter" $flags -p "$spec"; then
            bench "part=socket socket=$sock milter=nullh" \
                -p "$spec" -X -c 1 -n $nagle_msgs -w retry -P "$started_pid"
            stop "$started_pid"
        fi
    done
    for sock in inet unix; do
        case $sock in
        inet) spec=inet:$(free_port)@127.0.0.1 ;;
        unix) spec=unix:$tmp/redgrey.sock ;;
        esac
        if start_redgrey "redgrey-$sock" "$(store_url redis)" warning "$spec"; then
            bench "part=socket socket=$sock milter=redgrey" \
                -p "$rg_spec" -c 1 -n $nagle_msgs -w retry -P "$rg_pid" -R "$redis_pid"
            stop "$rg_pid"
        fi
    done

    # --- 4. what logging at info costs ------------------------------------------
    # Two rounds, alternating, because one cell on a shared machine is noisy.
    for round in 1 2; do
        for level in warning info; do
            if start_redgrey "redgrey-log-$level" "$(store_url redis)" "$level"; then
                bench "part=log level=$level round=$round milter=redgrey" \
                    -p "$rg_spec" -c 64 -n $msgs -w mixed -P "$rg_pid" -R "$redis_pid"
                stop "$rg_pid"
                echo "part=loglines level=$level round=$round lines=$(wc -l < "$tmp/redgrey-log-$level.log")" >> "$kv"
            fi
        done
    done
fi
say "all done in $(( $(date +%s) - start_time )) s"

# --- the report ---------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
report() {
    echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
        "Linux $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average $load_start at the" \
        "start, $load_end at the end; $msgs messages per cell, 1 recipient per message," \
        "20% IPv6 clients, delay ${delay}s; the whole run took $(( $(date +%s) - start_time )) s."
    echo
    awk -f "$srcdir/bench/report.awk" "$kv"
    awk -f "$srcdir/bench/report_ha.awk" "$kv"
}
if [ -n "$out" ]; then report | tee "$out"; else report; fi
