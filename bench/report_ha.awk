# SPDX-License-Identifier: BSD-2-Clause
#
# report_ha.awk - the Markdown of bench/part_ha.sh's "part=ha" lines:
# redis / redis-sentinel / redis-cluster, mixed, at C=16 and C=64, each
# beside the null milter -m of the same rounds, the mean of the rounds,
# the ratio to single Redis, the CPU per decision of redgrey and of the
# Redis servers (summed over a backend's processes), and a met/missed line
# per target of issue 12. Other lines are ignored.

function f(x, d) { return sprintf("%." d "f", x) }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
function mean(k) { return N[k] > 0 ? S[k] / N[k] : 0 }

{
    delete kv
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        if (eq > 0)
            kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    if (kv["part"] != "ha")
        next
    if (kv["status"] == "notyet") {
        notyet[kv["backend"]] = 1
        next
    }
    any = 1
    b = kv["milter"] == "nullm" ? "nullm" : kv["backend"]
    c = kv["conns"]
    if (kv["errors"] == -1) {
        failed[b, c]++
        next
    }
    rounds[kv["round"]] = 1
    cs[c] = 1
    split("msgs_per_s decisions_per_s rcpt_p50_us rcpt_p99_us milter_us_per_dec errors unexpected", ks, " ")
    for (j in ks) {
        S[b, c, ks[j]] += kv[ks[j]]
        N[b, c, ks[j]]++
    }
    if (kv["srv_cpu_s"] != "" && kv["decisions"] > 0) {
        S[b, c, "srv_us"] += kv["srv_cpu_s"] * 1e6 / kv["decisions"]
        N[b, c, "srv_us"]++
        procs[b] = kv["srv_procs"]
    }
}

END {
    if (!any)
        exit
    nr = 0
    for (r in rounds) nr++
    nb = split("redis redis-sentinel redis-cluster redis-cluster-ob0", B, " ")
    nc = 0
    for (c in cs) C[++nc] = c + 0
    for (i = 1; i <= nc; i++)            # sort the connection counts
        for (j = i + 1; j <= nc; j++)
            if (C[j] < C[i]) { t = C[i]; C[i] = C[j]; C[j] = t }
    print "### Redis, Redis Sentinel and Redis Cluster (mixed workload)"
    print ""
    print "Cells interleaved (null -m, redis, redis-sentinel, redis-cluster at C=16, then at C=64), " \
        nr " round" (nr == 1 ? "" : "s") "; each figure is the mean of the rounds. " \
        "Server CPU is summed over the backend's redis-server processes " \
        "(redis: 1; sentinel: primary + replica; cluster: 3 primaries). " \
        "redis-cluster-ob0 is the cluster with outbound_ttl = 0: no EXISTS of the outbound " \
        "pair before the EVALSHA (with outbound pairs on, the default, a cluster decision is " \
        "two round trips)."
    print ""
    print "| backend | C | msgs/s | null -m msgs/s | of null -m | of redis | rcpt p50 ms | rcpt p99 ms | redgrey CPU us/decision | server CPU us/decision (procs) | errors |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nc; i++) {
        c = C[i]
        nm = mean("nullm" SUBSEP c SUBSEP "msgs_per_s")
        rm = mean("redis" SUBSEP c SUBSEP "msgs_per_s")
        for (j = 1; j <= nb; j++) {
            b = B[j]
            if (notyet[b]) {
                print "| " b " | " c " | not yet (its servers or redgrey did not start) | | | | | | | | |"
                continue
            }
            k = b SUBSEP c SUBSEP
            if (N[k "msgs_per_s"] == 0) {
                print "| " b " | " c " | " (failed[b, c] ? "failed (" failed[b, c] " cells)" : "not measured") " | | | | | | | | |"
                continue
            }
            m = mean(k "msgs_per_s")
            ratio[b, c] = rm > 0 ? m / rm : 0
            print "| " b " | " c " | " f(m, 0) " | " f(nm, 0) " | " \
                (nm > 0 ? f(100 * m / nm, 0) "%" : "n/a") " | " \
                (rm > 0 ? f(100 * m / rm, 0) "%" : "n/a") " | " \
                f(mean(k "rcpt_p50_us") / 1000, 2) " | " f(mean(k "rcpt_p99_us") / 1000, 2) " | " \
                f(mean(k "milter_us_per_dec"), 0) " | " \
                (N[k "srv_us"] ? f(mean(k "srv_us"), 0) " (" procs[b] ")" : "n/a") " | " \
                S[k "errors"] + S[k "unexpected"] + failed[b, c] " |"
        }
    }
    print ""
    for (j = 2; j <= 3; j++) {
        b = B[j]
        want = b == "redis-cluster" ? 0.90 : 0.95
        line = "- Target: " b " within " (b == "redis-cluster" ? "10" : "5") "% of single Redis (msgs/s, mixed):"
        ok = 1; have = 0
        for (i = 1; i <= nc; i++) {
            c = C[i]
            if ((b, c) in ratio) {
                have = 1
                line = line " C=" c " " f(100 * ratio[b, c], 0) "%;"
                if (ratio[b, c] < want || S[b, c, "errors"] + S[b, c, "unexpected"] > 0 ||
                    S["redis", c, "errors"] + S["redis", c, "unexpected"] > 0) ok = 0
            } else {
                ok = 0
                line = line " C=" c " no figure;"
            }
        }
        print line " " verdict(ok && have)
    }
    # redgrey's own cost against the servers': what moves with the backend
    for (i = 1; i <= nc; i++) {
        c = C[i]
        r = mean("redis" SUBSEP c SUBSEP "milter_us_per_dec")
        k = "redis-cluster" SUBSEP c SUBSEP
        if (r > 0 && N[k "milter_us_per_dec"] > 0)
            print "- C=" c ": redgrey CPU per decision, cluster against redis: " \
                f(100 * mean(k "milter_us_per_dec") / r, 0) "%; server CPU per decision, cluster (3 processes) against redis: " \
                (mean("redis" SUBSEP c SUBSEP "srv_us") > 0 ? f(100 * mean(k "srv_us") / mean("redis" SUBSEP c SUBSEP "srv_us"), 0) "%" : "n/a") "."
    }
    for (i = 1; i <= nc; i++) {
        c = C[i]
        if ((("redis-cluster", c) in ratio) && (("redis-cluster-ob0", c) in ratio))
            print "- C=" c ": the outbound EXISTS round trip: redis-cluster " \
                f(100 * ratio["redis-cluster", c], 0) "% of redis with it, " \
                f(100 * ratio["redis-cluster-ob0", c], 0) "% without it (outbound_ttl = 0)."
    }
    print ""
}
