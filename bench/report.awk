# SPDX-License-Identifier: BSD-2-Clause
#
# report.awk - turn bench/run.sh's key=value lines into Markdown tables
# and a verdict on each target of issue 6.
#
# Input: one line per measurement, "part=... backend=... milter=... " and
# then rgbench -k's keys. Every ratio compares redgrey with the null milter
# measured in the same run at the same connection count: "null -m"
# negotiates exactly like redgrey and runs the same workload's steps (the
# like-for-like floor, used for the targets); "naive null" takes every
# step and every macro.

function f(x, d) { return sprintf("%." d "f", x) }
function pct(a, b) { return b > 0 ? f(100 * a / b, 0) "%" : "n/a" }
function mb(kb) { return f(kb / 1024, 1) }
function verdict(ok) { return ok ? "**met**" : "**missed**" }

{
    delete kv
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        if (eq > 0) {
            v = substr($i, eq + 1)
            if (v ~ /^-?[0-9]+(\.[0-9]+)?$/)
                v += 0                   # compare numbers as numbers
            kv[substr($i, 1, eq - 1)] = v
        }
    }
    part = kv["part"]
    if (part == "matrix" || part == "paced") {
        if (kv["status"] == "notyet") {
            notyet[part, kv["backend"]] = 1
            next
        }
        key = part SUBSEP kv["backend"] SUBSEP kv["conns"] SUBSEP kv["milter"]
        if (kv["milter"] != "null")
            key = key SUBSEP kv["workload"]
        for (k in kv)
            M[key, k] = kv[k]
        seen[key] = 1
    } else if (part == "sweep") {
        if (kv["status"] != "") {
            sweepstatus[kv["backend"], kv["size"]] = kv["status"]
            next
        }
        key = kv["backend"] SUBSEP kv["size"] SUBSEP kv["milter"]
        for (k in kv)
            S[key, k] = kv[k]
        sizes[kv["backend"], kv["size"]] = 1
    } else if (part == "memory") {
        nmem++
        memrow[nmem] = sprintf("| %s | %s | %s | %s | %s | %s |", kv["mix"], kv["size"],
            kv["added"], kv["keys"], kv["used_memory"], kv["bytes_per_triplet"])
        if (kv["bytes_per_triplet"] > worstmem) {
            worstmem = kv["bytes_per_triplet"]
            worstmix = kv["mix"]
        }
        if (kv["mix"] == "v6-20%")
            lastmem = kv["bytes_per_triplet"]
        permix[kv["mix"]] = kv["bytes_per_triplet"]  # the last fill of each mix
    } else if (part == "socket") {
        key = kv["milter"] SUBSEP kv["socket"]
        for (k in kv)
            K[key, k] = kv[k]
    } else if (part == "log") {
        for (k in kv)
            L[kv["level"], kv["round"], k] = kv[k]
    } else if (part == "loglines") {
        loglines[kv["level"], kv["round"]] = kv["lines"]
    }
}

# matrix_row - one redgrey cell next to its floors
function matrix_row(part, b, c, w,    key, ref, naive) {
    key = part SUBSEP b SUBSEP c SUBSEP "redgrey" SUBSEP w
    ref = part SUBSEP b SUBSEP c SUBSEP "nullm" SUBSEP w
    naive = part SUBSEP b SUBSEP c SUBSEP "null"
    if (!(key in seen))
        return
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %s | %s | %s | %s | %s | %s/%s | %s/%s |\n",
        b, c, w, f(M[key, "msgs_per_s"], 0), f(M[ref, "msgs_per_s"], 0),
        pct(M[key, "msgs_per_s"], M[ref, "msgs_per_s"]),
        (naive in seen) ? f(M[naive, "msgs_per_s"], 0) : "",
        (naive in seen) ? pct(M[key, "msgs_per_s"], M[naive, "msgs_per_s"]) : "",
        f(M[key, "rcpt_p50_us"], 0), f(M[ref, "rcpt_p50_us"], 0),
        f(M[key, "rcpt_p99_us"], 0), f(M[ref, "rcpt_p99_us"], 0),
        f(M[key, "milter_us_per_dec"], 1), f(M[ref, "milter_us_per_dec"], 1),
        f(M[key, "milter_us_per_dec"] - M[ref, "milter_us_per_dec"], 1),
        b == "redis" ? f(M[key, "aux_us_per_dec"], 1) : "",
        f(M[key, "driver_us_per_dec"], 1),
        mb(M[key, "milter_hwm_kb"]), mb(M[key, "milter_anon_kb"]),
        M[key, "errors"], M[key, "unexpected"]
}

function matrix_head() {
    print "| backend | conns | workload | redgrey msgs/s | null -m msgs/s | vs null -m | naive null msgs/s | vs naive | RCPT p50 us rg/null | RCPT p99 us rg/null | rg CPU us/dec | null -m CPU us/dec | above null -m | Redis CPU us/dec | driver CPU us/dec | rg RSS peak/own MB | errors/unexpected |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}

END {
    nb = split("lmdb redis redis-cluster", backends, " ")
    ncn = split("1 8 16 64", conns, " ")
    nw = split("new retry awl mixed", works, " ")

    print "### Matrix: backend x connections x workload (closed loop)"
    print ""
    print "One SMTP session (one milter connection) per message, 1 recipient each; every"
    print "connection sends its next message as soon as the last is done, so the two cores"
    print "are saturated and latencies are mostly queueing. CPU is the filter process's"
    print "utime+stime per RCPT decision; \"above\" subtracts the null -m filter's figure for"
    print "the same workload and connection count. Redis CPU is redis-server's; driver CPU"
    print "is rgbench's own."
    print ""
    matrix_head()
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        if (("matrix", b) in notyet) {
            printf "| %s | | not yet (redgrey cannot open this backend) | | | | | | | | | | | | | | |\n", b
            continue
        }
        for (j = 1; j <= ncn; j++)
            for (w = 1; w <= nw; w++)
                matrix_row("matrix", b, conns[j], works[w])
    }
    print ""

    print "### Latency below saturation (mixed, paced)"
    print ""
    for (k in M) {
        split(k, p, SUBSEP)
        if (p[1] == "paced" && p[6] == "rate") { rate = M[k]; break }
    }
    printf "The measured messages are paced at %s msgs/s in all (rgbench -L), 40%% of the\n", rate
    print "null -m filter's closed-loop rate at 64 connections."
    print ""
    matrix_head()
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        if (("paced", b) in notyet) {
            printf "| %s | | not yet | | | | | | | | | | | | | | |\n", b
            continue
        }
        matrix_row("paced", b, 8, "mixed")
        matrix_row("paced", b, 64, "mixed")
    }
    print ""

    print "### Store-size sweep (mixed, 8 connections)"
    print ""
    print "| backend | stored triplets | msgs/s | vs null -m | RCPT p50 us | RCPT p99 us | rg CPU us/dec | null -m CPU us/dec | rg / null -m | Redis CPU us/dec | rg RSS peak MB | rg own (RssAnon) MB |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|"
    ns = split("0 10000 20000 100000 1000000", sz, " ")
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        for (j = 1; j <= ns; j++) {
            s = sz[j]
            if ((b, s) in sweepstatus) {
                printf "| %s | %s | %s | | | | | | | | | |\n", b, s,
                    sweepstatus[b, s] == "notyet" ? "not yet" : sweepstatus[b, s]
                continue
            }
            if (!((b, s) in sizes))
                continue
            r = b SUBSEP s SUBSEP "redgrey"
            z = b SUBSEP s SUBSEP "nullm"
            norm = S[z, "milter_us_per_dec"] > 0 ? S[r, "milter_us_per_dec"] / S[z, "milter_us_per_dec"] : 0
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                b, s, f(S[r, "msgs_per_s"], 0), pct(S[r, "msgs_per_s"], S[z, "msgs_per_s"]),
                f(S[r, "rcpt_p50_us"], 0), f(S[r, "rcpt_p99_us"], 0),
                f(S[r, "milter_us_per_dec"], 1), f(S[z, "milter_us_per_dec"], 1), f(norm, 2),
                b == "redis" ? f(S[r, "aux_us_per_dec"], 1) : "",
                mb(S[r, "milter_hwm_kb"]), mb(S[r, "milter_anon_kb"])
            if (S[r, "milter_anon_kb"] > maxanon[b])
                maxanon[b] = S[r, "milter_anon_kb"]
            if (S[r, "milter_hwm_kb"] > maxrss[b])
                maxrss[b] = S[r, "milter_hwm_kb"]
            if (!(b in firstsize)) {
                firstsize[b] = s; firstnorm[b] = norm; firstraw[b] = S[r, "milter_us_per_dec"]
            }
            lastsize[b] = s; lastnorm[b] = norm; lastraw[b] = S[r, "milter_us_per_dec"]
        }
    }
    print ""

    print "### Redis memory per stored triplet"
    print ""
    print "used_memory (INFO memory) after a fill through the store API, minus before, divided by"
    print "the triplets added (each a pending grey entry with its TTL)."
    print ""
    print "| client nets | stored triplets after | added by this fill | keys in the database | used_memory | bytes per added triplet |"
    print "|---|---|---|---|---|---|"
    for (j = 1; j <= nmem; j++)
        print memrow[j]
    print ""

    print "### inet against unix socket: a message that passes after the delay (header added), 1 connection"
    print ""
    print "| filter | socket | msgs/s | EOM p50 us | EOM p99 us | EOM max us | headers added |"
    print "|---|---|---|---|---|---|---|"
    split("nullh inet,nullh unix,nullh nodelay,redgrey inet,redgrey unix", rows, ",")
    for (i = 1; i <= 5; i++) {
        split(rows[i], p, " ")
        key = p[1] SUBSEP p[2]
        if (!((key, "msgs_per_s") in K))
            continue
        printf "| %s | %s | %s | %s | %s | %s | %s |\n",
            p[1] == "nullh" ? "null milter -m -H" (p[2] == "nodelay" ? " -N (TCP_NODELAY)" : "") : "redgrey retry",
            p[2] == "nodelay" ? "inet" : p[2],
            f(K[key, "msgs_per_s"], 0), f(K[key, "eom_p50_us"], 0), f(K[key, "eom_p99_us"], 0),
            f(K[key, "eom_max_us"], 0), K[key, "headers"]
    }
    print ""

    if (("warning", 1, "msgs_per_s") in L) {
        print "### log_level (redis, mixed, 64 connections, log on stderr to a file)"
        print ""
        print "| round | log_level | msgs/s | rg CPU us/dec | RCPT p99 us | log lines |"
        print "|---|---|---|---|---|---|"
        split("warning info", lv, " ")
        for (r = 1; r <= 2; r++)
            for (i = 1; i <= 2; i++)
                if ((lv[i], r, "msgs_per_s") in L)
                    printf "| %d | %s | %s | %s | %s | %s |\n", r, lv[i], f(L[lv[i], r, "msgs_per_s"], 0),
                        f(L[lv[i], r, "milter_us_per_dec"], 1), f(L[lv[i], r, "rcpt_p99_us"], 0),
                        loglines[lv[i], r]
        print ""
    }

    print "### Targets (judged against null -m, the like-for-like floor)"
    print ""
    print "| target | measured | verdict |"
    print "|---|---|---|"
    split("redis 85,lmdb 50", tg, ",")
    for (i = 1; i <= 2; i++) {
        split(tg[i], p, " ")
        key = "matrix" SUBSEP p[1] SUBSEP 64 SUBSEP "redgrey" SUBSEP "mixed"
        ref = "matrix" SUBSEP p[1] SUBSEP 64 SUBSEP "nullm" SUBSEP "mixed"
        naive = "matrix" SUBSEP p[1] SUBSEP 64 SUBSEP "null"
        if (!(key in seen)) {
            printf "| %s, 64 connections, mixed: >= %s%% of null msgs/s | not measured | not yet |\n", p[1], p[2]
            continue
        }
        r = 100 * M[key, "msgs_per_s"] / M[ref, "msgs_per_s"]
        printf "| %s, 64 connections, mixed: >= %s%% of null msgs/s | %s%% of null -m (%s%% of naive null) | %s |\n",
            p[1], p[2], f(r, 0), f(100 * M[key, "msgs_per_s"] / M[naive, "msgs_per_s"], 0),
            verdict(r >= p[2])
    }
    # redis-cluster against single redis, same run, mixed (issue 12: within 10%)
    for (j = 1; j <= ncn; j++) {
        key = "matrix" SUBSEP "redis-cluster" SUBSEP conns[j] SUBSEP "redgrey" SUBSEP "mixed"
        ref = "matrix" SUBSEP "redis" SUBSEP conns[j] SUBSEP "redgrey" SUBSEP "mixed"
        if (!(key in seen) || !(ref in seen) || M[ref, "msgs_per_s"] <= 0)
            continue
        r = 100 * M[key, "msgs_per_s"] / M[ref, "msgs_per_s"]
        printf "| redis-cluster, %s connections, mixed: within 10%% of redis msgs/s | %s%% of redis (%s vs %s msgs/s) | %s |\n",
            conns[j], f(r, 0), f(M[key, "msgs_per_s"], 0), f(M[ref, "msgs_per_s"], 0),
            verdict(r >= 90)
    }
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        worst = -1e9; where = ""; sum = 0; cnt = 0
        for (j = 1; j <= ncn; j++)
            for (w = 1; w <= nw; w++) {
                key = "matrix" SUBSEP b SUBSEP conns[j] SUBSEP "redgrey" SUBSEP works[w]
                ref = "matrix" SUBSEP b SUBSEP conns[j] SUBSEP "nullm" SUBSEP works[w]
                if (!(key in seen))
                    continue
                d = M[key, "milter_us_per_dec"] - M[ref, "milter_us_per_dec"]
                sum += d; cnt++
                if (d > worst) { worst = d; where = works[w] " at " conns[j] }
            }
        if (where != "")
            printf "| %s: CPU <= 30 us/decision above null (mean of the matrix cells) | mean %s us over %d cells; worst cell %s us (%s) | %s |\n",
                b, f(sum / cnt, 1), cnt, f(worst, 1), where, verdict(sum / cnt <= 30)
    }
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        worst = -1e9; where = ""
        for (c = 8; c <= 64; c += 56) {
            key = "paced" SUBSEP b SUBSEP c SUBSEP "redgrey" SUBSEP "mixed"
            ref = "paced" SUBSEP b SUBSEP c SUBSEP "nullm" SUBSEP "mixed"
            if (!(key in seen))
                continue
            d = M[key, "rcpt_p99_us"] - M[ref, "rcpt_p99_us"]
            if (d > worst) { worst = d; where = c " connections" }
        }
        if (where != "")
            printf "| %s: RCPT p99 within 1 ms of null p99 (paced) | worst %s%s us (%s) | %s |\n",
                b, (worst >= 0 ? "+" : ""), f(worst, 0), where, verdict(worst <= 1000)
    }
    for (i = 1; i <= nb; i++) {
        b = backends[i]
        if (!(b in firstsize) || lastsize[b] == firstsize[b])
            continue
        d = firstraw[b] > 0 ? 100 * (lastraw[b] - firstraw[b]) / firstraw[b] : 0
        printf "| %s: CPU/decision at %s stored within 10%% of %s | %s -> %s us (%s%s%%); rg/null-m %s -> %s | %s |\n",
            b, lastsize[b], firstsize[b], f(firstraw[b], 1), f(lastraw[b], 1), (d >= 0 ? "+" : ""),
            f(d, 0), f(firstnorm[b], 2), f(lastnorm[b], 2), verdict(d <= 10)
    }
    if (lastmem != "")
        printf "| Redis memory <= 120 bytes per triplet | %s bytes with 20%% IPv6 nets; worst %s (%s) | %s |\n",
            lastmem, worstmem, worstmix, verdict(worstmem <= 120)
    if ("v6-0%" in permix)
        printf "| Redis memory <= 120 bytes per triplet, IPv4 client nets only | %s bytes | %s |\n",
            permix["v6-0%"], verdict(permix["v6-0%"] <= 120)
    if ("v6-100%" in permix)
        printf "| Redis memory <= 120 bytes per triplet, IPv6 client nets only | %s bytes | %s |\n",
            permix["v6-100%"], verdict(permix["v6-100%"] <= 120)
    for (i = 1; i <= nb; i++)
        if (backends[i] in maxanon)
            printf "| %s: redgrey RSS <= 20 MB at any store size | own memory (RssAnon) peak %s MB; VmRSS peak %s MB | %s |\n",
                backends[i], mb(maxanon[backends[i]]), mb(maxrss[backends[i]]),
                verdict(maxanon[backends[i]] <= 20 * 1024)
}
