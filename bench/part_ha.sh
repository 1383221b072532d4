# SPDX-License-Identifier: BSD-2-Clause
#
# part_ha.sh - bench/run.sh's HA part (issue 12): redis://, redis-sentinel://
# and redis-cluster:// side by side in one run, sourced by run.sh after its
# shared functions (free_port, stop, store_url, start_redgrey, bench,
# cluster_start) and run when -b names redis-sentinel.
#
# It owns the Sentinel set (one primary, one replica, three redis-sentinel
# on free loopback ports, master name "rgbench"), the interleaved cells
# (rounds x C x {null -m, redis, redis-sentinel, redis-cluster}: drift on a
# shared machine hits every backend alike) and the CPU the Redis servers
# spend per decision, summed over the processes of each backend (single
# Redis: 1; Sentinel: primary + replica; Cluster: 3 primaries), read from
# /proc before and after each cell. A fourth row, redis-cluster-ob0, is the
# cluster with outbound_ttl = 0: on a cluster, outbound pairs on (the
# default, 90d) cost each decision one EXISTS on the pair's own node before
# the EVALSHA (store_redis.c), so this row prices that round trip.
# Its lines are "part=ha ..."; its
# Markdown comes from bench/report_ha.awk.
# Quick (-q): one round; otherwise two. Cells are capped at $secs each:
# the full part takes about 2 minutes, the quick one under one.

ha_sentinel_ports=""
ha_primary_port=
ha_replica_port=
ha_master=rgbench
ha_backends="redis redis-sentinel redis-cluster redis-cluster-ob0"

# ha_wait_pong PORT - until redis on PORT answers PING (5 s at most)
ha_wait_pong() {
    local n=0
    until "$redis_cli" -p "$1" ping 2>/dev/null | grep -q PONG; do
        n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.05
    done
}

# ha_sentinel_start - primary, replica, three sentinels; 0 once the
# replica is in sync and every sentinel names the primary
ha_sentinel_start() {
    local s n
    ha_primary_port=$(free_port) || return 1
    mkdir -p "$tmp/sn-primary" "$tmp/sn-replica"
    "$redis_server" --bind 127.0.0.1 --port "$ha_primary_port" --save '' --appendonly no \
        --dir "$tmp/sn-primary" --daemonize no --logfile "$tmp/sn-primary/redis.log" &
    pids="$pids $!"
    ha_wait_pong "$ha_primary_port" || return 1
    ha_replica_port=$(free_port) || return 1
    "$redis_server" --bind 127.0.0.1 --port "$ha_replica_port" --save '' --appendonly no \
        --dir "$tmp/sn-replica" --daemonize no --logfile "$tmp/sn-replica/redis.log" \
        --replicaof 127.0.0.1 "$ha_primary_port" &
    pids="$pids $!"
    ha_wait_pong "$ha_replica_port" || return 1
    for _ in 1 2 3; do
        s=$(free_port) || return 1
        mkdir -p "$tmp/sn-$s"
        printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\n' \
            "$s" "$tmp/sn-$s" "$ha_master" "$ha_primary_port" "$ha_master" "$ha_master" \
            > "$tmp/sn-$s/sentinel.conf"
        redis-sentinel "$tmp/sn-$s/sentinel.conf" > "$tmp/sn-$s/log" 2>&1 &
        pids="$pids $!"
        ha_sentinel_ports="$ha_sentinel_ports $s"
    done
    for s in $ha_sentinel_ports; do
        ha_wait_pong "$s" || return 1
    done
    for n in $(seq 200); do
        "$redis_cli" -p "$ha_replica_port" info replication | tr -d '\r' \
            | grep -q '^master_link_status:up' && return 0
        sleep 0.05
    done
    return 1
}

# ha_pid_of PORT - the PID listening on loopback PORT
ha_pid_of() {
    ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# ha_ticks PIDS... - utime + stime of the PIDS, summed, in clock ticks
ha_ticks() {
    local p t=0 u s
    for p in "$@"; do
        # fields 14 and 15, counted after the ")" that ends the command name
        read -r u s < <(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12, $13 }')
        t=$((t + u + s))
    done
    echo $t
}

# ha_url BACKEND - a fresh, empty store of BACKEND
ha_url() {
    local s seeds=""
    case $1 in
    redis-sentinel)
        "$redis_cli" -p "$ha_primary_port" flushall > /dev/null
        "$redis_cli" -p "$ha_primary_port" wait 1 1000 > /dev/null
        for s in $ha_sentinel_ports; do seeds="$seeds,127.0.0.1:$s"; done
        echo "redis-sentinel://${seeds#,}/$ha_master" ;;
    redis-cluster-ob0)
        store_url redis-cluster ;;
    *)  store_url "$1" ;;
    esac
}

part_ha() {
    local rounds=2 round c b port url srvpids t0 t1 hz nocluster=no ok
    local -A ha_spec ha_pid ha_srv
    [ $quick = yes ] && rounds=1
    hz=$(getconf CLK_TCK)
    if [ -z "$cluster_ports" ]; then
        cluster_start || say "ha: the cluster did not start"
    fi
    ok=0                                 # a node that did not start: no cluster rows
    for port in $cluster_ports; do
        "$redis_cli" -p "$port" cluster info 2>/dev/null | grep -q cluster_state:ok && ok=$((ok + 1))
    done
    [ $ok -eq 3 ] || nocluster=yes
    ha_sentinel_start || say "ha: the sentinel set did not start"
    ha_srv[redis]="$redis_pid"
    ha_srv[redis-sentinel]="$(ha_pid_of "$ha_primary_port") $(ha_pid_of "$ha_replica_port")"
    srvpids=""
    for port in $cluster_ports; do srvpids="$srvpids $(ha_pid_of "$port")"; done
    ha_srv[redis-cluster]=$srvpids
    ha_srv[redis-cluster-ob0]=$srvpids
    for b in $ha_backends; do
        case $b in
        redis-cluster*) if [ $nocluster = yes ]; then
                            say "ha: $b: the cluster did not start"
                            echo "part=ha backend=$b status=notyet" >> "$kv"
                            continue
                        fi ;;
        esac
        url=$(ha_url $b)
        if [ $b = redis-cluster-ob0 ]; then
            # start_redgrey, with outbound pairs off
            rg_spec=inet:$(free_port)@127.0.0.1
            rg_conf=$tmp/redgrey-ha-$b.conf
            write_conf "$rg_conf" "$rg_spec" "$url" warning
            echo "outbound_ttl = 0" >> "$rg_conf"
            rg_pid=
            start "redgrey-ha-$b" "$rg_spec" "$redgrey" -f -c "$rg_conf" && rg_pid=$started_pid
        else
            start_redgrey "redgrey-ha-$b" "$url" warning
        fi
        if [ -n "$rg_pid" ]; then
            ha_spec[$b]=$rg_spec
            ha_pid[$b]=$rg_pid
        else
            say "ha: $b: redgrey does not start"
            echo "part=ha backend=$b status=notyet" >> "$kv"
        fi
    done
    for round in $(seq $rounds); do
        for c in 16 64; do
            bench "part=ha round=$round backend=any milter=nullm" \
                -p "$nullm_spec" -X -c "$c" -n $msgs -w mixed -P "$nullm_pid"
            for b in $ha_backends; do
                [ -n "${ha_pid[$b]:-}" ] || continue
                ha_url $b > /dev/null           # empty store: each cell starts alike
                # shellcheck disable=SC2086
                t0=$(ha_ticks ${ha_srv[$b]})
                bench "part=ha round=$round backend=$b milter=redgrey" \
                    -p "${ha_spec[$b]}" -c "$c" -n $msgs -w mixed -P "${ha_pid[$b]}"
                # shellcheck disable=SC2086
                t1=$(ha_ticks ${ha_srv[$b]})
                sed -i "\$ s/\$/ srv_procs=$(echo ${ha_srv[$b]} | wc -w) srv_cpu_s=$(awk -v d=$((t1 - t0)) -v h="$hz" 'BEGIN { printf "%.2f", d / h }')/" "$kv"
            done
        done
    done
    for b in $ha_backends; do
        [ -n "${ha_pid[$b]:-}" ] && stop "${ha_pid[$b]}"
    done
    say "ha part done at $(( $(date +%s) - start_time )) s"
}
