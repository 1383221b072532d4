/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rgbench_stats.c - what the load driver measured, added up and printed.
 *
 * The threads' counters are summed and their latency arrays merged and
 * sorted once, after the run; percentiles are read from the sorted array
 * (nearest rank). Processes are sampled from /proc: utime + stime of the
 * whole process (every thread, live or exited) from /proc/PID/stat, in
 * clock ticks (usually 10 ms, so a phase should last seconds, not
 * milliseconds), and VmRSS, VmHWM and RssAnon from /proc/PID/status
 * (VmRSS counts the pages of mapped files too, e.g. an LMDB map that is
 * page cache; RssAnon is the process's own memory).
 *
 * The report is either a few lines for people or one line of key=value
 * pairs (-k) for bench/run.sh; both carry the same numbers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rgbench.h"

/* rgb_proc_sample - CPU seconds and memory of pid */
int
rgb_proc_sample(pid_t pid, struct rgb_proc *out)
{
    char    path[64];
    char    buf[1024];
    FILE   *fp;
    const char *p;
    unsigned long long utime, stime;
    long    ticks = sysconf(_SC_CLK_TCK);
    size_t  n;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';

    /*
     * The command name may hold spaces and parentheses: fields count from
     * the last ')'. After it come state (field 3) ... utime (14), stime (15).
     */
    if ((p = strrchr(buf, ')')) == NULL
        || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                  &utime, &stime) != 2)
        return -1;
    out->cpu = (double) (utime + stime) / (double) (ticks > 0 ? ticks : 100);

    snprintf(path, sizeof(path), "/proc/%ld/status", (long) pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        if (strncmp(buf, "VmRSS:", 6) == 0)
            out->rss_kb = strtol(buf + 6, NULL, 10);
        else if (strncmp(buf, "VmHWM:", 6) == 0)
            out->hwm_kb = strtol(buf + 6, NULL, 10);
        else if (strncmp(buf, "RssAnon:", 8) == 0)
            out->anon_kb = strtol(buf + 8, NULL, 10);
    }
    fclose(fp);
    return 0;
}

/* rgb_counts_add - to += from */
static void
rgb_counts_add(struct rgb_counts *to, const struct rgb_counts *from)
{
    to->msgs += from->msgs;
    to->decisions += from->decisions;
    to->eoms += from->eoms;
    to->headers += from->headers;
    to->unexpected += from->unexpected;
    to->errors += from->errors;
    for (int i = 0; i < RGB_REPLY_MAX; i++)
        to->reply[i] += from->reply[i];
    for (int i = 0; i < 1000; i++)
        to->code[i] += from->code[i];
    for (int i = 0; i < RGB_CAT_MAX; i++)
        to->cat[i] += from->cat[i];
}

/* rgb_cmp_u32 - qsort order for latencies */
static int
rgb_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}

/* rgb_rank - the nearest-rank q-quantile of a sorted array of n > 0 */
static uint32_t
rgb_rank(const uint32_t *v, size_t n, double q)
{
    size_t  i = (size_t) (q * (double) n + 0.999999);

    if (i == 0)
        i = 1;
    return v[(i > n ? n : i) - 1];
}

/*
 * rgb_latency_merge - concatenate the arrays that member off of each tally
 * points to, sort, and summarise. 0, or -1 out of memory.
 */
static int
rgb_latency_merge(struct rgb_tally *const *t, int n, int eom, struct rgb_latency *out)
{
    size_t  total = 0, at = 0;
    uint32_t *all;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n; i++)
        total += eom ? t[i]->neom_ns : t[i]->nrcpt_ns;
    if (total == 0)
        return 0;
    if ((all = malloc(total * sizeof(*all))) == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        size_t  k = eom ? t[i]->neom_ns : t[i]->nrcpt_ns;

        memcpy(all + at, eom ? t[i]->eom_ns : t[i]->rcpt_ns, k * sizeof(*all));
        at += k;
    }
    qsort(all, total, sizeof(*all), rgb_cmp_u32);
    out->n = total;
    out->p50 = rgb_rank(all, total, 0.50);
    out->p99 = rgb_rank(all, total, 0.99);
    out->max = all[total - 1];
    free(all);
    return 0;
}

/* rgb_stats_merge - the run's totals and distributions */
int
rgb_stats_merge(struct rgb_tally *const *tallies, int n, struct rgb_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n; i++) {
        rgb_counts_add(&out->measured, &tallies[i]->counts);
        rgb_counts_add(&out->preload, &tallies[i]->preload);
    }
    if (rgb_latency_merge(tallies, n, 0, &out->rcpt) != 0
        || rgb_latency_merge(tallies, n, 1, &out->eom) != 0)
        return -1;
    return 0;
}

/* rgb_per - a/b, or 0 when b is 0 */
static double
rgb_per(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* rgb_replies - the RCPT answers as "continue=N 451=N ..." */
static void
rgb_replies(const struct rgb_counts *k, const char *prefix, FILE *fp)
{
    static const char *const names[RGB_REPLY_MAX] = {
        "continue", "tempfail", "reject", "accept", "discard", "noreply", "other",
    };
    int     first = 1;

    for (int i = 0; i < RGB_REPLY_MAX; i++) {
        if (k->reply[i] > 0) {
            fprintf(fp, "%s%s%s=%" PRIu64, first ? "" : " ", prefix, names[i], k->reply[i]);
            first = 0;
        }
    }
    for (int i = 0; i < 1000; i++) {
        if (k->code[i] > 0) {
            fprintf(fp, "%s%s%d=%" PRIu64, first ? "" : " ", prefix, i, k->code[i]);
            first = 0;
        }
    }
}

/* rgb_report_kv - one line of key=value pairs */
static void
rgb_report_kv(const struct rgb_options *o, const struct rgb_result *res,
              const struct rgb_stats *st, FILE *fp)
{
    const struct rgb_counts *m = &st->measured;
    double  mcpu = res->milter_after.cpu - res->milter_before.cpu;
    double  acpu = res->aux_after.cpu - res->aux_before.cpu;
    double  dec = (double) m->decisions;

    fprintf(fp, "label=%s workload=%s conns=%d rcpts=%d v6=%d seed=%" PRIu64 " floor=%d rate=%.0f"
            " msgs=%" PRIu64 " decisions=%" PRIu64 " eoms=%" PRIu64 " seconds=%.3f"
            " msgs_per_s=%.1f decisions_per_s=%.1f",
            o->label, rgb_workload_name(o->workload), o->conns, o->rcpts, o->v6_percent,
            o->seed, o->floor, o->rate, m->msgs, m->decisions, m->eoms, res->seconds,
            rgb_per((double) m->msgs, res->seconds), rgb_per(dec, res->seconds));
    fprintf(fp, " rcpt_p50_us=%.1f rcpt_p99_us=%.1f rcpt_max_us=%.1f"
            " eom_p50_us=%.1f eom_p99_us=%.1f eom_max_us=%.1f",
            st->rcpt.p50 / 1e3, st->rcpt.p99 / 1e3, st->rcpt.max / 1e3,
            st->eom.p50 / 1e3, st->eom.p99 / 1e3, st->eom.max / 1e3);
    fprintf(fp, " errors=%" PRIu64 " unexpected=%" PRIu64 " headers=%" PRIu64
            " preload_msgs=%" PRIu64 " preload_errors=%" PRIu64 " preload_unexpected=%" PRIu64
            " preload_s=%.2f ",
            m->errors, m->unexpected, m->headers, st->preload.msgs, st->preload.errors,
            st->preload.unexpected, res->preload_seconds);
    rgb_replies(m, "r_", fp);
    fprintf(fp, " milter_cpu_s=%.2f milter_us_per_dec=%.1f milter_us_per_msg=%.1f"
            " milter_rss_kb=%ld milter_hwm_kb=%ld milter_anon_kb=%ld aux_cpu_s=%.2f aux_us_per_dec=%.1f"
            " driver_cpu_s=%.2f driver_us_per_dec=%.1f\n",
            mcpu, rgb_per(mcpu * 1e6, dec), rgb_per(mcpu * 1e6, (double) m->msgs),
            res->milter_after.rss_kb, res->milter_after.hwm_kb, res->milter_after.anon_kb,
            acpu, rgb_per(acpu * 1e6, dec), res->driver_cpu,
            rgb_per(res->driver_cpu * 1e6, dec));
}

/* rgb_report - print what was measured */
void
rgb_report(const struct rgb_options *o, const struct rgb_result *res,
           const struct rgb_stats *st, FILE *fp)
{
    const struct rgb_counts *m = &st->measured;
    double  mcpu = res->milter_after.cpu - res->milter_before.cpu;
    double  acpu = res->aux_after.cpu - res->aux_before.cpu;
    double  dec = (double) m->decisions;

    if (o->kv) {
        rgb_report_kv(o, res, st, fp);
        return;
    }
    fprintf(fp, "rgbench %s: workload %s%s, %d connections, %d recipient(s)/message,"
            " %d%% IPv6, seed %" PRIu64 ", filter %s",
            o->label, rgb_workload_name(o->workload), o->floor ? " (floor mode)" : "",
            o->conns, o->rcpts, o->v6_percent, o->seed, o->spec);
    if (o->rate > 0)
        fprintf(fp, ", paced at %.0f msgs/s", o->rate);
    fputc('\n', fp);
    if (!o->floor)
        fprintf(fp, "  preload:    %" PRIu64 " sessions in %.2f s (+ the delay),"
                " %" PRIu64 " errors, %" PRIu64 " unexpected answers\n",
                st->preload.msgs, res->preload_seconds, st->preload.errors,
                st->preload.unexpected);
    fprintf(fp, "  measured:   %" PRIu64 " messages in %.3f s = %.0f msgs/s;"
            " %" PRIu64 " decisions = %.0f/s\n",
            m->msgs, res->seconds, rgb_per((double) m->msgs, res->seconds),
            m->decisions, rgb_per(dec, res->seconds));
    fprintf(fp, "  categories: new %" PRIu64 ", retry %" PRIu64 ", awl %" PRIu64 "\n",
            m->cat[RGB_CAT_NEW], m->cat[RGB_CAT_RETRY], m->cat[RGB_CAT_AWL]);
    fprintf(fp, "  RCPT:       p50 %.1f us, p99 %.1f us, max %.1f us (%zu decisions)\n",
            st->rcpt.p50 / 1e3, st->rcpt.p99 / 1e3, st->rcpt.max / 1e3, st->rcpt.n);
    fprintf(fp, "  EOM:        p50 %.1f us, p99 %.1f us, max %.1f us (%zu messages)\n",
            st->eom.p50 / 1e3, st->eom.p99 / 1e3, st->eom.max / 1e3, st->eom.n);
    fprintf(fp, "  answers:    ");
    rgb_replies(m, "", fp);
    fprintf(fp, "; headers added %" PRIu64 "; unexpected %" PRIu64 "; errors %" PRIu64 "\n",
            m->headers, m->unexpected, m->errors);
    if (o->milter_pid > 0)
        fprintf(fp, "  milter:     pid %ld, CPU %.2f s = %.1f us/decision, %.1f us/message;"
                " RSS %ld kB (peak %ld kB, own %ld kB)\n",
                (long) o->milter_pid, mcpu, rgb_per(mcpu * 1e6, dec),
                rgb_per(mcpu * 1e6, (double) m->msgs), res->milter_after.rss_kb,
                res->milter_after.hwm_kb, res->milter_after.anon_kb);
    if (o->aux_pid > 0)
        fprintf(fp, "  aux:        pid %ld, CPU %.2f s = %.1f us/decision; RSS %ld kB\n",
                (long) o->aux_pid, acpu, rgb_per(acpu * 1e6, dec), res->aux_after.rss_kb);
    fprintf(fp, "  driver:     CPU %.2f s = %.1f us/decision (%.0f%% of one core)\n",
            res->driver_cpu, rgb_per(res->driver_cpu * 1e6, dec),
            rgb_per(res->driver_cpu * 100, res->seconds));
}
