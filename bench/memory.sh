#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# memory.sh - Redis memory per stored triplet, IPv4 and IPv6 client nets
# apart, printed as the Markdown table and target lines of BENCHMARKS.md.
#
# Starts its own redis-server (loopback, a free port, no persistence) and,
# for IPv4 /24 client nets only, then IPv6 /64 only (then, with -m, the
# run.sh mix of 20% IPv6), empties it, fills COUNT first sightings through
# the store API with bench/rgfill (each a pending grey entry with its TTL,
# written by the backend's own code) and reports INFO used_memory after
# minus before, divided by the triplets added, against the target of at
# most 120 bytes (issue 15). The new-triplet counter is off
# (max_new_per_client = 0): it is one key per client net and hour, not per
# triplet, and rgfill gives nearly every IPv6 triplet its own /64, which
# would count a counter per triplet. A memory figure has no null milter to stand
# beside: it is the store's alone. Every fill is bounded by -d seconds;
# every process it starts is stopped by its PID on exit.
#
# usage: bench/memory.sh [-B BUILDDIR] [-n COUNT] [-c THREADS] [-d SECONDS] [-m] [-o FILE.md]
#   -B  the build directory (holds bench/rgfill); as run.sh's default
#   -n  triplets per fill (default 1000000)
#   -c  rgfill threads (default 4)
#   -d  the time cap of each fill (default 300 s)
#   -m  also the 20%-IPv6 mix of run.sh's sweep
#   -o  also write the Markdown to FILE.md
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=
count=1000000
threads=4
cap=300
mix=no
out=
while getopts "B:n:c:d:mo:" opt; do
    case $opt in
    B) build=$OPTARG ;;
    n) count=$OPTARG ;;
    c) threads=$OPTARG ;;
    d) cap=$OPTARG ;;
    m) mix=yes ;;
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-B BUILDDIR] [-n COUNT] [-c THREADS] [-d SECONDS] [-m] [-o FILE.md]" >&2; exit 2 ;;
    esac
done
if [ -z "$build" ]; then
    if [ -x ./bench/rgfill ]; then build=$(pwd); else build=$srcdir; fi
fi
rgfill=$build/bench/rgfill
[ -x "$rgfill" ] || { echo "memory.sh: $rgfill not built (make in $build)" >&2; exit 1; }
redis_server=$(command -v redis-server) || { echo "memory.sh: redis-server not found" >&2; exit 1; }
redis_cli=$(command -v redis-cli) || { echo "memory.sh: redis-cli not found" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rgmem.XXXXXX") || exit 1
redis_pid=
cleanup() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "memory.sh: interrupted" >&2; exit 1' INT TERM HUP
say() { echo "memory.sh: $*" >&2; }
start_time=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# A free loopback port below the ephemeral range, as run.sh picks them.
eph_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port=
for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % (eph_low - 10000)))
    if ! ss -ltnH "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || { say "no free port"; exit 1; }
"$redis_server" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$tmp" --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!
rc() { "$redis_cli" -h 127.0.0.1 -p "$port" "$@"; }
for _ in $(seq 100); do
    rc ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
rc ping 2>/dev/null | grep -q PONG || { say "redis-server did not start"; exit 1; }
used_memory() { rc info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

cat > "$tmp/fill.conf" <<EOF
socket = unix:$tmp/unused.sock
store = redis://127.0.0.1:$port
delay = 1s
retry_window = 1h
trusted_networks =
user =
pidfile =
log_level = warning
key_prefix = rg:
spf_keying = no
max_new_per_client = 0
EOF

# One line per fill: mix, filled, keys, before, after, key length, rate.
: > "$tmp/rows"
mixes="0 100"
[ $mix = yes ] && mixes="0 100 20"
for v6 in $mixes; do
    rc flushall > /dev/null
    mem0=$(used_memory)
    fill=$(timeout $((cap + 30)) "$rgfill" -f "$tmp/fill.conf" -n "$count" -c "$threads" \
        -s $((v6 + 77)) -6 "$v6" -d "$cap" 2>"$tmp/rgfill.err")
    # Until used_memory settles (an incremental rehash may still hold two tables): 4 s at most.
    mem1=$(used_memory)
    for _ in $(seq 20); do
        sleep 0.2
        m=$(used_memory)
        [ "$m" = "$mem1" ] && break
        mem1=$m
    done
    keys=$(rc dbsize)
    sample=$(rc randomkey)
    say "fill v6=$v6%: $fill (keys $keys, e.g. $sample)"
    if ! echo "$fill" | grep -q "filled=$count errors=0"; then
        say "fill failed: $(head -3 "$tmp/rgfill.err")"
        echo "$v6 failed" >> "$tmp/rows"
        continue
    fi
    rate=$(echo "$fill" | sed -n 's/.*per_s=\([0-9]*\).*/\1/p')
    echo "$v6 ok $count $keys $mem0 $mem1 ${#sample} $rate" >> "$tmp/rows"
done
rc flushall > /dev/null

report() {
    echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
        "Linux $(uname -r), $("$redis_server" --version | cut -d' ' -f3,6); $(date -u '+%Y-%m-%d %H:%M UTC');" \
        "load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
        "$threads fill threads; the whole run took $(( $(date +%s) - start_time )) s."
    echo
    echo "### Redis memory per stored triplet, IPv4 and IPv6 client nets"
    echo
    echo "used_memory (INFO memory) after a fill of an empty server through the store API"
    echo "(bench/rgfill: each triplet a pending grey entry with its TTL, key prefix \`rg:\`,"
    echo "max_new_per_client = 0: its counter is one key per client net and hour, not per triplet),"
    echo "minus before, divided by the triplets added. Command: \`bench/memory.sh -n $count\`."
    echo
    awk -v count="$count" '
        function label(v6) { return v6 == 0 ? "IPv4 /24" : v6 == 100 ? "IPv6 /64" : "mix, " v6 "% IPv6" }
        $2 == "failed" { printf "| %s | fill failed | | | | | |\n", label($1); fail[NR] = $1; next }
        {
            per[NR] = int(($6 - $5) / $3); mixof[NR] = $1
            printf "| %s | %d | %d | %d | %d | %d | %d | %d |\n", label($1), $3, $4, $5, $6, $7, $8, per[NR]
        }
        BEGIN {
            print "| client nets | triplets added | keys | used_memory before | after | grey key bytes (sample) | fill per s | bytes per triplet |"
            print "|---|---|---|---|---|---|---|---|"
        }
        END {
            print ""
            print "| target | measured | verdict |"
            print "|---|---|---|"
            for (i = 1; i <= NR; i++) {
                if (i in fail)
                    printf "| Redis memory <= 120 bytes per triplet, %s clients | fill failed | **missed** |\n", label(fail[i])
                else if (i in per)
                    printf "| Redis memory <= 120 bytes per triplet, %s clients | %d bytes | %s |\n",
                        label(mixof[i]), per[i], per[i] <= 120 ? "**met**" : "**missed**"
            }
        }' "$tmp/rows"
}
if [ -n "$out" ]; then report | tee "$out"; else report; fi
