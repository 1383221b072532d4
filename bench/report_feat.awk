# SPDX-License-Identifier: BSD-2-Clause
#
# report_feat.awk - bench/run.sh -F's key=value lines (part=feat and
# part=dnsbl, see part_feat.sh) as Markdown tables, with a met/missed line
# per target of issue 15 (features on) and issue 14's DNS-list cost.
#
# Every redgrey figure is beside the null milter -m of the same run with
# the same rgbench arguments. Server CPU per message is redgrey's own
# (utime + stime, all threads) plus the store's (redis-server; LMDB lives
# inside redgrey); nsd's CPU is shown apart. DNS figures come from
# redgrey's metrics (differences around the measured phase): SPF lookups
# and their summed wait, DNS-list checks that asked DNS (2 zones each) or
# the cache, and their summed wait. Those counters cover every session
# of the cell (its preload too), so they are divided by redgrey's own
# message count over the same interval (d_msgs); CPU and msgs/s are the
# measured phase's.

function f(x, d) { return sprintf("%." d "f", x) }
function per(a, b) { return b > 0 ? a / b : 0 }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
# nsd_us KEY M - nsd's CPU per message, us: all its processes if sampled, else rgbench's aux
function nsd_us(key, m) { return per((V[key, "nsd_cpu_s"] != "" ? V[key, "nsd_cpu_s"] : V[key, "aux_cpu_s"]) * 1e6, m) }

{
    delete kv
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        if (eq > 0)
            kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    if (kv["part"] == "feat") {
        if (kv["status"] != "") { fstatus = fstatus " " kv["backend"] "/C=" kv["conns"] ": " kv["status"]; next }
        key = kv["backend"] SUBSEP kv["conns"] SUBSEP kv["cache"] SUBSEP kv["milter"]
        if (!((kv["backend"] SUBSEP kv["conns"] SUBSEP kv["cache"]) in cellseen)) {
            cellseen[kv["backend"] SUBSEP kv["conns"] SUBSEP kv["cache"]] = 1
            cells[++ncells] = kv["backend"] SUBSEP kv["conns"] SUBSEP kv["cache"]
        }
    } else if (kv["part"] == "dnsbl") {
        key = "dnsbl" SUBSEP kv["clients"] SUBSEP (kv["milter"] == "nullm" ? "null" : kv["dnsbl"])
        if (!(kv["clients"] in dseen)) { dseen[kv["clients"]] = 1; dcl[++nd] = kv["clients"] }
    } else
        next
    for (k in kv)
        V[key, k] = kv[k]
    have[key] = 1
}

# cpu_msg KEY - server CPU per message, us: redgrey (or the null milter) plus the store
function cpu_msg(key) {
    return per((V[key, "milter_cpu_s"] + V[key, "store_cpu_s"]) * 1e6, V[key, "msgs"])
}

END {
    if (ncells > 0 || fstatus != "") {
        print "### Features on: SPF keying, big senders, whitelists, DNS lists"
        print ""
        print "| backend | C | cache | null -m msgs/s | redgrey msgs/s | ratio | redgrey CPU us/msg (+ store) | null -m CPU us/msg | nsd CPU us/msg | SPF lookups/msg | SPF DNS wait ms/msg | DNSBL checks/msg: DNS / cache | DNSBL wait ms/msg | DNS wait share of session | RCPT p50 / p99 us | big-sender ranges | greylisted / passed | errors |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= ncells; i++) {
            split(cells[i], c, SUBSEP)
            r = cells[i] SUBSEP "redgrey"; n = cells[i] SUBSEP "nullm"
            if (!(r in have) || !(n in have)) {
                printf "| %s | %s | %s | not measured |||||||||||||||\n", c[1], c[2], c[3]
                continue
            }
            m = V[r, "msgs"] + 0
            mm = V[r, "d_msgs"] > 0 ? V[r, "d_msgs"] : m
            ratio[i] = per(V[r, "msgs_per_s"], V[n, "msgs_per_s"])
            dnswait = per((V[r, "d_spf_sum"] + V[r, "d_bl_sum"]) * 1000, mm)
            share[i] = per(dnswait / 1000 * V[r, "msgs_per_s"], c[2])
            # Each connection's time per message, less its DNS wait, against the null milter's.
            nodns[i] = per(1, per(c[2], V[r, "msgs_per_s"]) - dnswait / 1000)
            nodns[i] = nodns[i] > 0 ? per(nodns[i] * c[2], V[n, "msgs_per_s"]) : 99
            tf = V[r, "r_tempfail"] + V[r, "r_451"]; ct = V[r, "r_continue"] + 0
            printf "| %s | %s | %s | %s | %s | %s× | %s | %s | %s | %s | %s | %s / %s | %s | %s%% | %s / %s | %s | %s / %s | %s |\n",
                c[1], c[2], c[3], f(V[n, "msgs_per_s"], 0), f(V[r, "msgs_per_s"], 0), f(ratio[i], 2),
                f(cpu_msg(r), 0), f(per(V[n, "milter_cpu_s"] * 1e6, V[n, "msgs"]), 0),
                f(nsd_us(r, m), 0),
                f(per(V[r, "d_spf_dns"], mm), 2), f(per(V[r, "d_spf_sum"] * 1000, mm), 2),
                f(per(V[r, "d_bl_dns"], mm), 2), f(per(V[r, "d_bl_cache"], mm), 2),
                f(per(V[r, "d_bl_sum"] * 1000, mm), 2), f(100 * share[i], 0),
                V[r, "rcpt_p50_us"], V[r, "rcpt_p99_us"], V[r, "big"],
                tf, ct, V[r, "errors"] + 0
        }
        if (fstatus != "")
            print "\nNot measured:" fstatus
        print ""
        for (i = 1; i <= ncells; i++) {
            split(cells[i], c, SUBSEP)
            if (!((cells[i] SUBSEP "redgrey") in have) || !((cells[i] SUBSEP "nullm") in have)) {
                printf "- %s C=%s %s: not measured — **missed**\n", c[1], c[2], c[3]
                continue
            }
            r = cells[i] SUBSEP "redgrey"
            if (c[3] == "warm")
                printf "- warm ≥ 0.9× null -m, %s C=%s: %s× — %s\n", c[1], c[2], f(ratio[i], 2),
                    verdict(ratio[i] >= 0.9 && V[r, "errors"] + 0 == 0)
            else
                printf "- cold bounded by DNS, not by redgrey, %s C=%s: %s× null -m, DNS wait %s%% of each session; without it %s× — %s\n",
                    c[1], c[2], f(ratio[i], 2), f(100 * share[i], 0), f(nodns[i], 2),
                    verdict(nodns[i] >= 0.9 && V[r, "errors"] + 0 == 0)
        }
        print ""
        print "(cold: a fresh daemon and store, workload new, so every client address, SPF"
        print "record and DNS-list answer is seen for the first time; warm: a warm-up pass of the"
        print "mixed workload first on the same daemon. DNS wait share = (SPF + DNS-list wait per"
        print "message) × msgs/s ÷ C, the part of each connection's time spent waiting for DNS;"
        print "the cold target counts as met when, that wait taken out of each connection's time"
        print "per message, redgrey would run at ≥ 0.9× the null milter -m (\"without it\")."
        print "\"greylisted / passed\" counts RCPT answers: with SPF keying and the auto-whitelist"
        print "keyed on spf:DOMAIN, mail of a domain that passed SPF once is not greylisted again,"
        print "so the blend differs from the plain matrix's.)"
        print ""
    }
    if (nd > 0) {
        print "### The cost of a DNS-list check per message (redis, C=16, SPF keying off)"
        print ""
        print "| clients | null -m msgs/s | dnsbl off msgs/s | dnsbl on msgs/s | on / off | on / null -m | added CPU us/msg (redgrey) | added RCPT p50 us | DNS-list checks/msg: DNS / cache | DNS queries/msg | wait ms per DNS check | nsd CPU us/msg |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= nd; i++) {
            cl = dcl[i]
            n = "dnsbl" SUBSEP cl SUBSEP "null"; a = "dnsbl" SUBSEP cl SUBSEP "no"; b = "dnsbl" SUBSEP cl SUBSEP "yes"
            if (!(a in have) || !(b in have) || !(n in have)) { printf "| %s | not measured |||||||||||\n", cl; continue }
            m = V[b, "msgs"] + 0
            mm = V[b, "d_msgs"] > 0 ? V[b, "d_msgs"] : m
            addcpu[i] = per(V[b, "milter_cpu_s"] * 1e6, m) - per(V[a, "milter_cpu_s"] * 1e6, V[a, "msgs"])
            printf "| %s | %s | %s | %s | %s× | %s× | %s | %s | %s / %s | %s | %s | %s |\n",
                cl, f(V[n, "msgs_per_s"], 0), f(V[a, "msgs_per_s"], 0), f(V[b, "msgs_per_s"], 0),
                f(per(V[b, "msgs_per_s"], V[a, "msgs_per_s"]), 2), f(per(V[b, "msgs_per_s"], V[n, "msgs_per_s"]), 2),
                f(addcpu[i], 0), f(V[b, "rcpt_p50_us"] - V[a, "rcpt_p50_us"], 0),
                f(per(V[b, "d_bl_dns"], mm), 2), f(per(V[b, "d_bl_cache"], mm), 2),
                f(per(2 * V[b, "d_bl_dns"], mm), 2), f(per(V[b, "d_bl_sum"] * 1000, V[b, "d_bl_dns"]), 2),
                f(nsd_us(b, m), 0)
        }
        print ""
        print "(uncached: every message from a new client address; cached: 200 repeated addresses,"
        print "answers cached for their TTL (300 s). Two lists: bl.bench*2 and wl.bench*-3; a check"
        print "that asks DNS sends one query per zone, in parallel.)"
        print ""
    }
}
