# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# part_feat.sh - bench/run.sh -F: redgrey with every feature on, and the
# cost of a DNS-list check per message. Sourced by run.sh after its
# machinery (free_port, start, stop, write_conf, store_url, bench, $kv,
# $tmp, $pids, the null milter -m at $nullm_spec); defines part_feat.
#
# It starts nsd (loopback, a free port) serving zones it generates:
#   spf.bench  300 sender domains s0..s299 whose SPF records have the
#              shapes seen in the wild (ip4/ip6, include, nested include,
#              a, mx, redirect, ~all/-all, a fail, no record); domain i
#              authorises 10.(i%256).0.0/16 and 2001:db8:i::/48, where
#              rgbench -S puts the clients of domain i: SPF passes for 5
#              domains of 8 (plus a softfail-terminated pass), fails or is
#              none for the rest;
#   big.bench  13 big-sender domains, 10 includes each, 40 ranges per
#              include: 5,200 ranges (172.16.0.0/12 and 2001:db8:8000::/33,
#              no benchmark client is one);
#   bl.bench   a blocklist listing about 10% of the benchmark's IPv4
#              clients (wildcards per 10.K.0.0/16) and 1 in 5 of the
#              repeated clients of -I; delay_listed = delay, so a listed
#              client's retry still passes when the workload expects it;
#   wl.bench   an allowlist (entries outside the benchmark's clients).
# and whitelists of 1,000 entries (clients, client names, recipients,
# sender domains), none of which the workload's messages match.
#
# Cells (each next to the null milter -m of the same run, same rgbench
# arguments): backends redis and lmdb x C = 16, 64:
#   cold  a fresh daemon and store, workload "new" (no preload, so no
#         cache is warmed before the measured messages);
#   warm  a warm-up pass of the mixed workload first, then the measured
#         mixed workload, on the same daemon.
# Then the DNS-list cost: redis, C = 16, SPF keying off, no other lists,
# dnsbl_sites on and off, for "uncached" (every message from a new client
# address) and "cached" (-I 200: 200 repeated addresses).
# redgrey's own counters (metrics_listen) give the DNS work per message;
# rgbench samples nsd as the aux process (its CPU per message).

feat_dir=
redgreyctl=$build/milter/redgreyctl
feat_nsd_pid=
feat_nsd_port=

# feat_soa ZONE - the zone file's head
feat_soa() {
    printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
        "$1" "$1" "$1" "$1"
}

# feat_zones - the zone files, the whitelists and the lists into $feat_dir
feat_zones() {
    local i k
    {
        feat_soa spf.bench
        awk 'BEGIN {
            for (i = 0; i < 300; i++) {
                k = i % 256; d = "s" i
                v4 = "ip4:10." k ".0.0/16"; v6 = sprintf("ip6:2001:db8:%x::/48", i)
                s = i % 8
                if (s == 0) printf "%s IN TXT \"v=spf1 %s %s -all\"\n", d, v4, v6
                else if (s == 1) { printf "%s IN TXT \"v=spf1 include:_spf.%s.spf.bench ~all\"\n", d, d
                    printf "_spf.%s IN TXT \"v=spf1 %s %s -all\"\n", d, v4, v6 }
                else if (s == 2) { printf "%s IN TXT \"v=spf1 a/16//48 -all\"\n", d
                    printf "%s IN A 10.%d.0.1\n%s IN AAAA 2001:db8:%x::1\n", d, k, d, i }
                else if (s == 3) { printf "%s IN TXT \"v=spf1 mx/16//48 ~all\"\n", d
                    printf "%s IN MX 10 mx.%s\nmx.%s IN A 10.%d.0.25\nmx.%s IN AAAA 2001:db8:%x::25\n", d, d, d, k, d, i }
                else if (s == 4) { printf "%s IN TXT \"v=spf1 redirect=_spf.%s.spf.bench\"\n", d, d
                    printf "_spf.%s IN TXT \"v=spf1 ip4:192.0.2.0/24 include:_nb.%s.spf.bench -all\"\n", d, d
                    printf "_nb.%s IN TXT \"v=spf1 %s %s ~all\"\n", d, v4, v6 }
                else if (s == 5) { printf "%s IN TXT \"v=spf1 include:_a.%s.spf.bench include:_b.%s.spf.bench ~all\"\n", d, d, d
                    printf "_a.%s IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n", d
                    printf "_b.%s IN TXT \"v=spf1 %s %s -all\"\n", d, v4, v6 }
                else if (s == 6) printf "%s IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n", d
                else printf "%s IN A 192.0.2.7\n", d
            } }'
    } > "$feat_dir/spf.bench.zone"
    awk 'BEGIN { for (i = 0; i < 300; i++) print "s" i ".spf.bench" }' > "$feat_dir/domains"
    {
        feat_soa big.bench
        awk 'BEGIN {
            for (n = 0; n < 13; n++) {
                line = "big" n " IN TXT \"v=spf1"
                # two strings: one TXT string holds at most 255 bytes
                for (m = 0; m < 10; m++) line = line (m == 5 ? "\" \"" : "") " include:p" m ".big" n ".big.bench"
                print line " -all\""
                for (m = 0; m < 10; m++) {
                    line = "p" m ".big" n " IN TXT \"v=spf1"; len = 6
                    for (r = 0; r < 40; r++) {
                        if (r % 5 == 4) t = sprintf("ip6:2001:db8:%x::/48", 32768 + n * 400 + m * 40 + r)
                        else t = sprintf("ip4:172.%d.%d.%d/26", 16 + n, m * 25 + r % 25, int(r / 25) * 128)  # /26: no two merge
                        if (len + length(t) + 1 > 250) { line = line "\" \""; len = 0 }
                        line = line " " t; len += length(t) + 1
                    }
                    print line " -all\""
                }
            } }'
    } > "$feat_dir/big.bench.zone"
    awk 'BEGIN { for (n = 0; n < 13; n++) print "big" n ".big.bench" }' > "$feat_dir/bigsenders"
    {
        feat_soa bl.bench
        # About 10% of the /16s rgbench -S uses, and 1 in 5 repeated clients.
        for k in $(seq 3 10 253); do echo "*.$k.10 IN A 127.0.0.2"; done
        for i in $(seq 5 5 254); do echo "$i.0.200.10 IN A 127.0.0.2"; done
        for i in $(seq 1 200); do echo "$i.$((i % 250)).51.198 IN A 127.0.0.2"; done
    } > "$feat_dir/bl.bench.zone"
    {
        feat_soa wl.bench
        for i in $(seq 1 200); do echo "$i.$((i % 250)).18.198 IN A 127.0.10.2"; done
    } > "$feat_dir/wl.bench.zone"
    # 1,000 whitelist entries, none matching the workload.
    awk 'BEGIN { for (i = 0; i < 500; i++) printf "198.%d.%d.0/24\n", 18 + int(i / 250), i % 250
                 for (i = 0; i < 100; i++) printf "2001:db8:ffff:%x::/64\n", i }' > "$feat_dir/wl_clients"
    awk 'BEGIN { for (i = 0; i < 100; i++) printf "mx%d.friend%d.test\n", i % 3, i }' > "$feat_dir/wl_names"
    awk 'BEGIN { for (i = 0; i < 150; i++) printf "role%d@example.net\n", i }' > "$feat_dir/wl_rcpts"
    awk 'BEGIN { for (i = 0; i < 150; i++) printf "partner%d.test\n", i }' > "$feat_dir/wl_senders"
    for i in spf big bl wl; do
        printf 'zone:\n    name: %s.bench\n    zonefile: "%s.bench.zone"\n' $i $i
    done > "$feat_dir/zones.conf"
}

# feat_nsd_start - nsd on a free loopback port; sets feat_nsd_pid, feat_nsd_port
feat_nsd_start() {
    local n
    for _ in 1 2 3; do
        feat_nsd_port=$(free_port) || return 1
        cat > "$feat_dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $feat_nsd_port
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$feat_dir"
    database: ""
    zonelistfile: "$feat_dir/zone.list"
    pidfile: "$feat_dir/nsd.pid"
    xfrdfile: "$feat_dir/xfrd.state"
    xfrdir: "$feat_dir"
    verbosity: 1
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
EOF
        cat "$feat_dir/zones.conf" >> "$feat_dir/nsd.conf"
        /usr/sbin/nsd -d -c "$feat_dir/nsd.conf" > "$feat_dir/nsd.log" 2>&1 &
        feat_nsd_pid=$!
        pids="$pids $feat_nsd_pid"
        n=0
        while [ $n -lt 100 ] && kill -0 "$feat_nsd_pid" 2>/dev/null; do
            if ss -lunH "sport = :$feat_nsd_port" | grep -q . \
                && grep -q "zonefile.*read with success\|zone.*read with success\|nsd started" "$feat_dir/nsd.log" 2>/dev/null; then
                return 0
            fi
            if ss -lunH "sport = :$feat_nsd_port" | grep -q . && [ $n -gt 20 ]; then return 0; fi
            sleep 0.1; n=$((n + 1))
        done
        say "nsd did not start on port $feat_nsd_port:"; sed 's/^/    /' "$feat_dir/nsd.log" >&2
        stop "$feat_nsd_pid"
        feat_nsd_pid=
    done
    return 1
}

# feat_metrics PORT - redgrey's counters, as "name=value" words
feat_metrics() {
    curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk '
        /^redgrey_messages_total / { msgs = $2 }
        /^redgrey_dnsbl_checks_total\{source="dns"\}/ { bdns = $2 }
        /^redgrey_dnsbl_checks_total\{source="cache"\}/ { bcache = $2 }
        /^redgrey_dnsbl_duration_seconds_sum/ { bsum = $2 }
        /^redgrey_dns_duration_seconds_count/ { sdns = $2 }
        /^redgrey_dns_duration_seconds_sum/ { ssum = $2 }
        /^redgrey_spf_results_total/ { n = $1; sub(/.*result="/, "", n); sub(/".*/, "", n); spf[n] = $2 }
        /^redgrey_bigsender_ranges/ { big += $2 }
        END { printf "m_msgs=%d m_bl_dns=%d m_bl_cache=%d m_bl_sum=%f m_spf_dns=%d m_spf_sum=%f m_big=%d",
                  msgs, bdns, bcache, bsum, sdns, ssum, big
              for (n in spf) printf " m_spf_%s=%d", n, spf[n]
              printf "\n" }'
}

# feat_delta BEFORE AFTER - the counters' differences, prefixed d_
feat_delta() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); v[kv[1]] = kv[2] }
        n = split(b, y, " "); out = ""
        for (i = 1; i <= n; i++) { split(y[i], kv, "="); k = kv[1]; if (k == "m_big") continue
            out = out " d_" substr(k, 3) "=" (kv[2] - v[k]) }
        print substr(out, 2) }'
}

# feat_cpu PID - utime + stime of PID in seconds
feat_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# feat_nsd_cpu - CPU seconds of nsd and its children (the server answers in a child)
feat_nsd_cpu() {
    local p t=0
    for p in $feat_nsd_pid $(pgrep -P "$feat_nsd_pid") $(pgrep -P "$(pgrep -P "$feat_nsd_pid" | tr '\n' ',' | sed 's/,$//')" 2>/dev/null); do
        t=$(awk -v a="$t" -v b="$(feat_cpu "$p")" 'BEGIN { print a + b }')
    done
    echo "$t"
}

# feat_redgrey NAME BACKEND SPF DNSBL LISTS - start redgrey with the features
# asked for; sets rg_pid, rg_spec, feat_mport. 0, or 1 (not started).
feat_redgrey() {
    local name=$1 backend=$2 spf=$3 dnsbl=$4 lists=$5 url n
    url=$(store_url "$backend")
    rg_spec=inet:$(free_port)@127.0.0.1
    feat_mport=$(free_port)
    rg_conf=$tmp/$name.conf
    write_conf "$rg_conf" "$rg_spec" "$url" warning
    sed -i '/^spf_keying/d' "$rg_conf"
    {
        echo "spf_keying = $spf"
        echo "dns_servers = 127.0.0.1:$feat_nsd_port"
        echo "dns_timeout = 2s"
        echo "spf_budget = 2s"
        echo "metrics_listen = 127.0.0.1:$feat_mport"
        echo "dynamic_patterns = \"\""
        [ "$lists" = yes ] || echo "whitelist_recipients = \"\""
        if [ "$lists" = yes ]; then
            echo "spf_domains = $feat_dir/bigsenders"
            echo "whitelist_clients = $feat_dir/wl_clients"
            echo "whitelist_client_names = $feat_dir/wl_names"
            echo "whitelist_recipients = $feat_dir/wl_rcpts"
            echo "whitelist_sender_domains = $feat_dir/wl_senders"
        fi
        # The DNS-list cells measure the lists alone: no new-triplet cap
        # (their 200 repeated clients share one /24).
        [ "$lists" = yes ] || echo "max_new_per_client = 0"
        if [ "$dnsbl" = yes ]; then
            echo "dnsbl_sites = bl.bench*2, wl.bench=127.0.10.[1..255]*-3"
            echo "delay_listed = ${delay}s"
        fi
    } >> "$rg_conf"
    if [ "$lists" = yes ]; then
        # The big-sender set: expanded from nsd into the store, as an
        # operator does with redgreyctl spf-refresh; the daemon loads it.
        timeout 60 "$redgreyctl" -c "$rg_conf" spf-refresh > "$tmp/$name.refresh" 2>&1 \
            || say "$name: spf-refresh: $(head -3 "$tmp/$name.refresh")"
    fi
    rg_pid=
    start "$name" "$rg_spec" "$redgrey" -f -c "$rg_conf" || return 1
    rg_pid=$started_pid
    if [ "$lists" = yes ]; then
        # Until the daemon has loaded the stored set (10 s at most).
        n=0
        while [ $n -lt 100 ]; do
            feat_big=$(feat_metrics "$feat_mport" | sed -n 's/.*m_big=\([0-9]*\).*/\1/p')
            [ "${feat_big:-0}" -ge 5000 ] && break
            sleep 0.1; n=$((n + 1))
        done
        say "$name: big-sender set in memory: ${feat_big:-0} ranges"
    fi
    return 0
}

# feat_cell TAGS RGBENCH-ARGS... - bench() plus redgrey's counters and the
# store's CPU, appended to the cell's line
feat_cell() {
    local tags=$1 m0 m1 c0 c1 n0 n1 extra
    shift
    n0=$(feat_nsd_cpu)
    m0=$(feat_metrics "$feat_mport")
    c0=0; [ -n "$feat_store_pid" ] && c0=$(feat_cpu "$feat_store_pid")
    bench "$tags" "$@"
    m1=$(feat_metrics "$feat_mport")
    n1=$(feat_nsd_cpu)
    c1=0; [ -n "$feat_store_pid" ] && c1=$(feat_cpu "$feat_store_pid")
    extra="$(feat_delta "$m0" "$m1") store_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') nsd_cpu_s=$(awk -v a="$n0" -v b="$n1" 'BEGIN { printf "%.2f", b - a }') big=${feat_big:-0}"
    sed -i "\$ s|\$| $extra|" "$kv"
}

# part_feat - the cells; every line goes to $kv as part=feat or part=dnsbl
part_feat() {
    local fmsgs=$msgs fsecs=$secs backend c w args warm_n
    feat_dir=$tmp/feat
    mkdir -p "$feat_dir"
    feat_zones
    if ! feat_nsd_start; then
        echo "part=feat status=nonsd" >> "$kv"
        return 0
    fi
    dom="-S $feat_dir/domains"
    # nsd -d answers in its server child: that is the process to sample.
    feat_nsd_srv=$(pgrep -P "$feat_nsd_pid" | head -1)
    [ -n "$feat_nsd_srv" ] || feat_nsd_srv=$feat_nsd_pid
    warm_n=$((fmsgs / 2))
    for backend in redis lmdb; do
        feat_store_pid=
        [ "$backend" = redis ] && feat_store_pid=$redis_pid
        for c in 16 64; do
            # cold: a fresh daemon and store, first sightings only
            if feat_redgrey "feat-cold-$backend-$c" "$backend" yes yes yes; then
                bench "part=feat backend=$backend conns=$c cache=cold milter=nullm" \
                    -p "$nullm_spec" -X -c "$c" -n "$fmsgs" -w new $dom -P "$nullm_pid" -R "$feat_nsd_srv"
                feat_cell "part=feat backend=$backend conns=$c cache=cold milter=redgrey" \
                    -p "$rg_spec" -c "$c" -n "$fmsgs" -w new $dom -P "$rg_pid" -R "$feat_nsd_srv"
                # warm: a warm-up pass, then the measured mixed workload
                "$rgbench" -k -s 77 -d "$fsecs" -D $delay -p "$rg_spec" -c "$c" -n "$warm_n" \
                    -w mixed $dom > /dev/null 2>&1
                bench "part=feat backend=$backend conns=$c cache=warm milter=nullm" \
                    -p "$nullm_spec" -X -c "$c" -n "$fmsgs" -w mixed $dom -P "$nullm_pid" -R "$feat_nsd_srv"
                feat_cell "part=feat backend=$backend conns=$c cache=warm milter=redgrey" \
                    -p "$rg_spec" -c "$c" -n "$fmsgs" -w mixed $dom -P "$rg_pid" -R "$feat_nsd_srv"
                stop "$rg_pid"
            else
                echo "part=feat backend=$backend conns=$c status=notyet" >> "$kv"
            fi
        done
    done
    say "feat cells done at $(( $(date +%s) - start_time )) s"

    # The DNS-list cost: on against off, new clients against repeated ones.
    feat_store_pid=$redis_pid
    for clients in uncached cached; do
        args=""
        [ $clients = cached ] && args="-I 200"
        # shellcheck disable=SC2086
        bench "part=dnsbl clients=$clients milter=nullm" \
            -p "$nullm_spec" -X -c 16 -n "$fmsgs" -w mixed $args -P "$nullm_pid" -R "$feat_nsd_srv"
        for on in no yes; do
            if feat_redgrey "dnsbl-$clients-$on" redis no "$on" no; then
                # shellcheck disable=SC2086
                feat_cell "part=dnsbl clients=$clients dnsbl=$on milter=redgrey" \
                    -p "$rg_spec" -c 16 -n "$fmsgs" -w mixed $args -P "$rg_pid" -R "$feat_nsd_srv"
                stop "$rg_pid"
            fi
        done
    done
    stop "$feat_nsd_pid"
    say "dnsbl cells done at $(( $(date +%s) - start_time )) s"
}

# part_feat_run - run.sh -F: the cells, then the Markdown (also into $out)
part_feat_run() {
    local load_end
    part_feat
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    {
        echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
            "Linux $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); load average $load_start at the" \
            "start, $load_end at the end; $msgs messages per cell (cap $secs s per phase), 1 recipient" \
            "per message, 20% IPv6 clients, delay ${delay}s; the part took $(( $(date +%s) - start_time )) s."
        echo
        awk -f "$srcdir/bench/report_feat.awk" "$kv"
    } > "$tmp/feat.md"
    if [ -n "$out" ]; then tee "$out" < "$tmp/feat.md"; else cat "$tmp/feat.md"; fi
}
