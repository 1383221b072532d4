/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rgbench.c - the load driver: many MTA connections speaking the milter
 * protocol to one filter, and what that cost.
 *
 * Each connection is a thread that runs one milter session per SMTP
 * session, as Postfix does: connect to the filter, negotiate, connection
 * info, HELO, MAIL, N x RCPT, then DATA, headers, body and end of message
 * when a recipient was accepted (or ABORT when none was), then QUIT. Steps
 * the filter negotiated away are not sent (miltc honours SMFIP_NO* and
 * SMFIP_NR_*). Client addresses come from 10.0.0.0/8 and 2001:db8::/32 and
 * exist only inside the protocol: no packet is ever sent to them.
 *
 * Workloads. Message k of thread t has a category and an identity (client
 * /24 or /64, host, sender, recipients), both pure functions of (seed, t,
 * k), so a preload phase and the measured phase agree without sharing
 * any state.
 *   new    every triplet is unknown: each RCPT is greylisted (4xx).
 *   retry  preload pass 1 sends every message once (greylisted), the
 *          driver waits delay + 1.1 s, then the measured phase replays the
 *          same messages: each RCPT passes as a retry (the filter adds
 *          X-Greylist at end of message).
 *   awl    preload pass 1 as for retry, wait, preload pass 2 replays them
 *          (a pass, which with awl_threshold = 1 whitelists the pair
 *          (client net, sender domain)); the measured phase then sends new
 *          triplets from each whitelisted pair: another host of the same
 *          net, another sender at the same domain, new recipients. Every
 *          RCPT passes through the AWL.
 *   mixed  a fixed cycle of 20 messages: 5 new, 2 retry, 13 awl (25% first
 *          sightings, 10% retries after the delay, 65% known senders),
 *          interleaved; each thread starts the cycle at its own offset.
 * Against the null milter (-X) nothing is preloaded and nothing expected:
 * every step continues, so every session runs to end of message.
 *
 * Measurements: per-decision latency is the time from sending RCPT to
 * reading its answer; each thread keeps its own arrays, merged and sorted
 * after the run (no locks, no allocation in the loop). CPU comes from
 * /proc/PID/stat (utime + stime, every thread of the process) sampled
 * around the measured phase, RSS from /proc/PID/status, the driver's own
 * CPU from getrusage(). Every phase is bounded by the message count and
 * by the duration cap. By default each connection sends its next message
 * as soon as the last one is done (closed loop: the throughput test);
 * with -L the measured messages are paced at a fixed total rate (open
 * loop: the latency test, below saturation).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "miltc.h"
#include "rgbench.h"

#define RGB_CONNS_MAX    1024
#define RGB_MSGS_MAX     10000000ULL
#define RGB_SECS_MAX     3600
#define RGB_HEADERS      8              /* headers of a message, when sent */
#define RGB_BODY_MAX     65535          /* one body chunk */
#define RGB_ERRORS_SHOWN 3              /* protocol errors printed per thread */

/* What a phase does with each message. */
enum rgb_phase {
    RGB_PRELOAD_FIRST,                   /* first sighting of retry/awl messages */
    RGB_PRELOAD_PASS,                    /* the retry that whitelists awl pairs */
    RGB_MEASURE,                         /* the measured messages */
};

/* One connection's thread: its client, counters and latency arrays. */
struct rgb_worker {
    pthread_t tid;                       /* the thread */
    int     index;                       /* thread number */
    uint64_t nmsgs;                      /* messages this thread sends */
    struct miltc client;                 /* one milter connection at a time */
    struct rgb_tally tally;              /* counters and latencies */
    int     errors_shown;                /* protocol errors printed so far */
};

/* Settings, fixed before the threads start. */
static struct rgb_options rgb_opt;
static pthread_barrier_t rgb_barrier;    /* workers + main, between phases */
static struct timespec rgb_phase_start;  /* written by main between barriers */
static struct timespec rgb_phase_deadline; /* likewise */
static char rgb_body[RGB_BODY_MAX + 1];  /* the message body, when sent */

/* rgb_ns - b - a in nanoseconds */
static int64_t
rgb_ns(struct timespec a, struct timespec b)
{
    return (int64_t) (b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}

/* rgb_past - whether the deadline has passed */
static int
rgb_past(struct timespec deadline)
{
    return rgb_ns(deadline, clock_mono_ts()) >= 0;
}

/* rgb_clamp_ns - a latency for a uint32_t slot (saturates at about 4.3 s) */
static uint32_t
rgb_clamp_ns(int64_t ns)
{
    if (ns < 0)
        return 0;
    return ns > (int64_t) UINT32_MAX ? UINT32_MAX : (uint32_t) ns;
}

/*
 * rgb_macro_value - the value Postfix would give a macro for message m,
 * or NULL when it would leave it undefined (no TLS, no SASL login).
 */
static const char *
rgb_macro_value(const char *name, const struct rgb_message *m, int rcpt)
{
    if (strcmp(name, "j") == 0)
        return "mx.bench.test";
    if (strcmp(name, "{daemon_name}") == 0)
        return "smtpd";
    if (strcmp(name, "{daemon_addr}") == 0)
        return "127.0.0.1";
    if (strcmp(name, "v") == 0)
        return "Postfix 3.7.11";
    if (strcmp(name, "_") == 0 || strcmp(name, "{client_name}") == 0
        || strcmp(name, "{client_ptr}") == 0)
        return m->host;
    if (strcmp(name, "{client_addr}") == 0)
        return m->addr;
    if (strcmp(name, "i") == 0)
        return m->queue_id;
    if (strcmp(name, "{mail_addr}") == 0)
        return m->sender_addr;
    if (strcmp(name, "{mail_mailer}") == 0)
        return "smtp";
    if (strcmp(name, "{rcpt_addr}") == 0)
        return rcpt >= 0 ? m->rcpt_addr[rcpt] : NULL;
    if (strcmp(name, "{rcpt_mailer}") == 0)
        return "local";
    return NULL;
}

/*
 * rgb_macros - send the macros of one stage before its step, as Postfix
 * does: the list the filter asked for (smfi_setsymlist), else Postfix's
 * default list for the stage. Nothing is sent for a step the filter
 * negotiated away (no_bit). Returns 0 or MILTC_ERROR.
 */
static int
rgb_macros(struct miltc *c, int stage, char cmd, uint32_t no_bit,
           const struct rgb_message *m, int rcpt)
{
    static const char *const defaults[MILTC_STAGES] = {
        "j {daemon_name} {daemon_addr} v _",   /* SMFIM_CONNECT */
        "",                                     /* SMFIM_HELO: TLS only */
        "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
        "{rcpt_addr} {rcpt_host} {rcpt_mailer}",
        "i",                                    /* SMFIM_DATA */
        "i",                                    /* SMFIM_EOM */
        "i",                                    /* SMFIM_EOH */
    };
    const char *nv[2 * 16];
    char    names[MILTC_MACROS_MAX];
    const char *list;
    size_t  n = 0;
    char   *save = NULL;

    if (no_bit != 0 && (c->protocol & no_bit) != 0)
        return 0;
    list = c->macros[stage][0] != '\0' ? c->macros[stage] : defaults[stage];
    snprintf(names, sizeof(names), "%s", list);
    for (char *name = strtok_r(names, " ", &save); name != NULL && n + 2 <= 32;
         name = strtok_r(NULL, " ", &save)) {
        const char *value = rgb_macro_value(name, m, rcpt);

        if (value != NULL) {
            nv[n++] = name;
            nv[n++] = value;
        }
    }
    if (n == 0)
        return 0;
    return miltc_macro(c, cmd, nv, n);
}

/* rgb_count_reply - count one RCPT answer; returns 1 if it accepted the recipient */
static int
rgb_count_reply(struct rgb_counts *k, const struct miltc *c, int r)
{
    switch (r) {
    case SMFIR_CONTINUE:
        k->reply[RGB_REPLY_CONTINUE]++;
        return 1;
    case SMFIR_ACCEPT:
        k->reply[RGB_REPLY_ACCEPT]++;
        return 1;
    case MILTC_NOREPLY:
        k->reply[RGB_REPLY_NOREPLY]++;
        return 1;
    case SMFIR_TEMPFAIL:
        k->reply[RGB_REPLY_TEMPFAIL]++;
        return 0;
    case SMFIR_REJECT:
        k->reply[RGB_REPLY_REJECT]++;
        return 0;
    case SMFIR_DISCARD:
        k->reply[RGB_REPLY_DISCARD]++;
        return 0;
    case SMFIR_REPLYCODE:
        if (c->reply[0] >= '1' && c->reply[0] <= '5' && c->reply[1] >= '0'
            && c->reply[1] <= '9' && c->reply[2] >= '0' && c->reply[2] <= '9') {
            int     code = (c->reply[0] - '0') * 100 + (c->reply[1] - '0') * 10
                + (c->reply[2] - '0');

            k->code[code]++;
            return code < 400;
        }
        k->reply[RGB_REPLY_OTHER]++;
        return 0;
    default:
        k->reply[RGB_REPLY_OTHER]++;
        return 0;
    }
}

/*
 * rgb_expected - whether answer r is what the workload expects: greylisted
 * (tempfail or a 4xx reply) for a first sighting, "continue" otherwise.
 */
static int
rgb_expected(const struct miltc *c, int r, int greylisted)
{
    if (greylisted)
        return r == SMFIR_TEMPFAIL || (r == SMFIR_REPLYCODE && c->reply[0] == '4');
    return r == SMFIR_CONTINUE;
}

/* rgb_error - count a protocol error, print the first few; returns -1 */
static int
rgb_error(struct rgb_worker *w, struct rgb_counts *k, const char *step)
{
    k->errors++;
    if (w->errors_shown < RGB_ERRORS_SHOWN) {
        w->errors_shown++;
        fprintf(stderr, "rgbench: thread %d: %s: %s\n", w->index, step, w->client.err);
    }
    miltc_close(&w->client);
    return -1;
}

/* rgb_content - headers, end of headers and body, for a filter that wants them */
static int
rgb_content(struct rgb_worker *w, struct rgb_counts *k, const struct rgb_message *m)
{
    static const char *const names[RGB_HEADERS] = {
        "Received", "From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
        "Content-Type",
    };
    static const char *const values[RGB_HEADERS] = {
        "from mx.example.net (mx.example.net [192.0.2.1]) by mx.bench.test",
        "Sender <sender@example.org>", "Recipient <rcpt@example.net>",
        "benchmark message", "Thu, 1 Jan 2026 00:00:00 +0000",
        "<bench@example.org>", "1.0", "text/plain; charset=us-ascii",
    };
    struct miltc *c = &w->client;

    for (int i = 0; i < RGB_HEADERS; i++)
        if (miltc_header(c, names[i], values[i]) == MILTC_ERROR)
            return rgb_error(w, k, "header");
    if (rgb_macros(c, SMFIM_EOH, SMFIC_EOH, SMFIP_NOEOH, m, -1) != 0
        || miltc_eoh(c) == MILTC_ERROR)
        return rgb_error(w, k, "eoh");
    if (rgb_opt.body_bytes > 0 && miltc_body(c, rgb_body, rgb_opt.body_bytes) == MILTC_ERROR)
        return rgb_error(w, k, "body");
    return 0;
}

/*
 * rgb_session - one SMTP session's milter dialogue for message m. With
 * measure, latencies go into the thread's arrays. Returns 0, or -1 after
 * a protocol error (counted; the connection is closed).
 */
static int
rgb_session(struct rgb_worker *w, struct rgb_counts *k, const struct rgb_message *m,
            int measure)
{
    struct miltc *c = &w->client;
    struct timespec t0, t1;
    int     accepted = 0;
    int     r;

    if (miltc_open(c, rgb_opt.spec, rgb_opt.timeout_ms) != 0)
        return rgb_error(w, k, "open");
    if (miltc_negotiate(c, 0, 0) != 0)
        return rgb_error(w, k, "negotiate");
    if (rgb_macros(c, SMFIM_CONNECT, SMFIC_CONNECT, SMFIP_NOCONNECT, m, -1) != 0
        || (r = miltc_connect(c, m->host, m->family, m->port, m->addr)) == MILTC_ERROR)
        return rgb_error(w, k, "connect");
    if (rgb_macros(c, SMFIM_HELO, SMFIC_HELO, SMFIP_NOHELO, m, -1) != 0
        || (r = miltc_helo(c, m->host)) == MILTC_ERROR)
        return rgb_error(w, k, "helo");
    if (rgb_macros(c, SMFIM_ENVFROM, SMFIC_MAIL, SMFIP_NOMAIL, m, -1) != 0
        || (r = miltc_mail(c, m->sender)) == MILTC_ERROR)
        return rgb_error(w, k, "mail");

    for (int i = 0; i < m->nrcpts; i++) {
        if (rgb_macros(c, SMFIM_ENVRCPT, SMFIC_RCPT, SMFIP_NORCPT, m, i) != 0)
            return rgb_error(w, k, "rcpt macros");
        t0 = clock_mono_ts();
        r = miltc_rcpt(c, m->rcpt[i]);
        t1 = clock_mono_ts();
        if (r == MILTC_ERROR)
            return rgb_error(w, k, "rcpt");
        k->decisions++;
        if (measure)
            w->tally.rcpt_ns[w->tally.nrcpt_ns++] = rgb_clamp_ns(rgb_ns(t0, t1));
        accepted += rgb_count_reply(k, c, r);
        if (m->expect != RGB_EXPECT_NOTHING
            && !rgb_expected(c, r, m->expect == RGB_EXPECT_GREYLIST))
            k->unexpected++;
    }

    /*
     * No recipient left: the MTA aborts the transaction. Against the null
     * milter (which accepts everything) a first sighting takes the path
     * redgrey's answer would give it, so the floor does the same steps.
     */
    if (accepted == 0 || (rgb_opt.floor && m->category == RGB_CAT_NEW)) {
        if (miltc_abort(c) != 0)
            return rgb_error(w, k, "abort");
    } else {
        if (rgb_macros(c, SMFIM_DATA, SMFIC_DATA, SMFIP_NODATA, m, -1) != 0
            || miltc_data(c) == MILTC_ERROR)
            return rgb_error(w, k, "data");
        if (rgb_content(w, k, m) != 0)
            return -1;
        if (rgb_macros(c, SMFIM_EOM, SMFIC_BODYEOB, 0, m, -1) != 0)
            return rgb_error(w, k, "eom macros");
        t0 = clock_mono_ts();
        r = miltc_eom(c);
        t1 = clock_mono_ts();
        if (r == MILTC_ERROR)
            return rgb_error(w, k, "eom");
        if (measure)
            w->tally.eom_ns[w->tally.neom_ns++] = rgb_clamp_ns(rgb_ns(t0, t1));
        k->eoms++;
        k->headers += (uint64_t) c->nheaders;
    }
    if (miltc_quit(c) != 0)
        return rgb_error(w, k, "quit");
    k->msgs++;
    return 0;
}

/*
 * rgb_pace - with a rate (-L), wait until message i of thread t is due:
 * the threads' messages interleave evenly at the total rate. A thread
 * that is behind sends at once (latency counts from the send, not from
 * the schedule).
 */
static void
rgb_pace(int t, uint64_t i)
{
    struct timespec due = rgb_phase_start;
    double  at;

    if (rgb_opt.rate <= 0)
        return;
    at = (double) (i * (uint64_t) rgb_opt.conns + (uint64_t) t) / rgb_opt.rate;
    due.tv_sec += (time_t) at;
    due.tv_nsec += (long) ((at - (double) (time_t) at) * 1e9);
    if (due.tv_nsec >= 1000000000L) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
        continue;
}

/* rgb_run_phase - one phase of one thread, bounded by count and deadline */
static void
rgb_run_phase(struct rgb_worker *w, enum rgb_phase phase)
{
    struct rgb_message m;

    for (uint64_t i = 0; i < w->nmsgs && !rgb_past(rgb_phase_deadline); i++) {
        enum rgb_category cat = rgb_category(&rgb_opt, w->index, i);

        switch (phase) {
        case RGB_PRELOAD_FIRST:
            if (cat == RGB_CAT_NEW)
                continue;
            rgb_message_make(&rgb_opt, w->index, i, cat, RGB_VARIANT_PRELOAD, &m);
            m.expect = RGB_EXPECT_GREYLIST;
            (void) rgb_session(w, &w->tally.preload, &m, 0);
            break;
        case RGB_PRELOAD_PASS:
            if (cat != RGB_CAT_AWL)
                continue;
            rgb_message_make(&rgb_opt, w->index, i, cat, RGB_VARIANT_PRELOAD, &m);
            m.expect = RGB_EXPECT_PASS;
            (void) rgb_session(w, &w->tally.preload, &m, 0);
            break;
        case RGB_MEASURE:
            rgb_pace(w->index, i);
            rgb_message_make(&rgb_opt, w->index, i, cat, RGB_VARIANT_MEASURE, &m);
            if (rgb_opt.floor)
                m.expect = RGB_EXPECT_NOTHING;
            w->tally.counts.cat[cat]++;
            (void) rgb_session(w, &w->tally.counts, &m, 1);
            break;
        }
    }
}

/* rgb_worker_main - a thread: the preload phases, then the measured one */
static void *
rgb_worker_main(void *arg)
{
    struct rgb_worker *w = arg;

    if (!rgb_opt.floor) {
        pthread_barrier_wait(&rgb_barrier);  /* go */
        rgb_run_phase(w, RGB_PRELOAD_FIRST);
        pthread_barrier_wait(&rgb_barrier);  /* done */
        pthread_barrier_wait(&rgb_barrier);  /* go, after the delay */
        rgb_run_phase(w, RGB_PRELOAD_PASS);
        pthread_barrier_wait(&rgb_barrier);  /* done */
    }
    pthread_barrier_wait(&rgb_barrier);      /* go */
    rgb_run_phase(w, RGB_MEASURE);
    return NULL;
}

/* rgb_set_deadline - the start and end of the phase about to start */
static void
rgb_set_deadline(void)
{
    rgb_phase_start = clock_mono_ts();
    rgb_phase_deadline = rgb_phase_start;
    rgb_phase_deadline.tv_sec += rgb_opt.seconds;
}

/* rgb_sleep_ms - sleep, bounded, resuming after signals */
static void
rgb_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/* rgb_driver_cpu - this process's CPU seconds so far */
static double
rgb_driver_cpu(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
        + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* rgb_usage - the options, on stderr */
static void
rgb_usage(void)
{
    fprintf(stderr,
            "usage: rgbench -p SOCKETSPEC [-w new|retry|awl|mixed] [-c CONNS] [-n MSGS]\n"
            "               [-d SECONDS] [-r RCPTS] [-6 PERCENT] [-s SEED] [-D DELAY]\n"
            "               [-b BODYBYTES] [-t TIMEOUT_MS] [-P MILTERPID] [-R AUXPID]\n"
            "               [-L RATE] [-l LABEL] [-S DOMAINFILE] [-I CLIENTS] [-X] [-k]\n"
            "  -S  sender domains from a file; clients lie in ranges derived from each\n"
            "  -I  clients are CLIENTS repeating IPv4 addresses of 10.200.0.0/16\n"
            "  -L  pace the measured messages at RATE msgs/s in all (default: closed loop)\n"
            "  -X  floor mode (null milter): no preload, no expected answers\n"
            "  -k  one key=value line on stdout instead of the report\n");
}

/* rgb_number - parse a bounded unsigned number option; exits on junk */
static unsigned long long
rgb_number(const char *opt, const char *s, unsigned long long lo, unsigned long long hi)
{
    char   *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] == '-' || end == s || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "rgbench: -%s: want a number from %llu to %llu, got \"%s\"\n",
                opt, lo, hi, s);
        exit(2);
    }
    return v;
}

/* rgb_parse_options - fill rgb_opt from argv; exits with usage on error */
static void
rgb_parse_options(int argc, char **argv)
{
    int     ch;

    rgb_opt.workload = RGB_WORKLOAD_NEW;
    rgb_opt.conns = 1;
    rgb_opt.msgs = 10000;
    rgb_opt.seconds = 30;
    rgb_opt.rcpts = 1;
    rgb_opt.v6_percent = 20;
    rgb_opt.seed = 1;
    rgb_opt.delay = 1;
    rgb_opt.body_bytes = 2048;
    rgb_opt.timeout_ms = 5000;
    rgb_opt.label = "-";
    while ((ch = getopt(argc, argv, "6:b:c:d:D:I:kl:L:n:p:P:r:R:s:S:t:w:X")) != -1) {
        switch (ch) {
        case '6':
            rgb_opt.v6_percent = (int) rgb_number("6", optarg, 0, 100);
            break;
        case 'b':
            rgb_opt.body_bytes = (size_t) rgb_number("b", optarg, 0, RGB_BODY_MAX);
            break;
        case 'c':
            rgb_opt.conns = (int) rgb_number("c", optarg, 1, RGB_CONNS_MAX);
            break;
        case 'd':
            rgb_opt.seconds = (int) rgb_number("d", optarg, 1, RGB_SECS_MAX);
            break;
        case 'D':
            rgb_opt.delay = (int) rgb_number("D", optarg, 1, 600);
            break;
        case 'I':
            rgb_opt.clients = rgb_number("I", optarg, 1, 254 * 256);
            break;
        case 'S':
            if (rgb_domains_load(&rgb_opt, optarg) != 0)
                exit(2);
            break;
        case 'k':
            rgb_opt.kv = 1;
            break;
        case 'l':
            rgb_opt.label = optarg;
            break;
        case 'L':
            rgb_opt.rate = (double) rgb_number("L", optarg, 1, 1000000);
            break;
        case 'n':
            rgb_opt.msgs = rgb_number("n", optarg, 1, RGB_MSGS_MAX);
            break;
        case 'p':
            rgb_opt.spec = optarg;
            break;
        case 'P':
            rgb_opt.milter_pid = (int) rgb_number("P", optarg, 1, INT_MAX);
            break;
        case 'r':
            rgb_opt.rcpts = (int) rgb_number("r", optarg, 1, RGB_RCPTS_MAX);
            break;
        case 'R':
            rgb_opt.aux_pid = (int) rgb_number("R", optarg, 1, INT_MAX);
            break;
        case 's':
            rgb_opt.seed = rgb_number("s", optarg, 0, ULLONG_MAX);
            break;
        case 't':
            rgb_opt.timeout_ms = (int) rgb_number("t", optarg, 10, 600000);
            break;
        case 'w':
            if (rgb_workload_parse(optarg, &rgb_opt.workload) != 0) {
                fprintf(stderr, "rgbench: -w: want new, retry, awl or mixed, got \"%s\"\n",
                        optarg);
                exit(2);
            }
            break;
        case 'X':
            rgb_opt.floor = 1;
            break;
        default:
            rgb_usage();
            exit(2);
        }
    }
    if (rgb_opt.spec == NULL || optind != argc) {
        rgb_usage();
        exit(2);
    }
}

/* rgb_workers_free - release what rgb_workers_new made; NULL is a no-op */
static void
rgb_workers_free(struct rgb_worker *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < rgb_opt.conns; i++) {
        free(w[i].tally.rcpt_ns);
        free(w[i].tally.eom_ns);
    }
    free(w);
}

/* rgb_workers_new - the threads' state, arrays sized for their share */
static struct rgb_worker *
rgb_workers_new(void)
{
    struct rgb_worker *w = calloc((size_t) rgb_opt.conns, sizeof(*w));

    if (w == NULL)
        return NULL;
    for (int i = 0; i < rgb_opt.conns; i++) {
        w[i].index = i;
        w[i].nmsgs = rgb_opt.msgs / (uint64_t) rgb_opt.conns
            + ((uint64_t) i < rgb_opt.msgs % (uint64_t) rgb_opt.conns);
        miltc_init(&w[i].client);
        w[i].tally.rcpt_ns = calloc(w[i].nmsgs * (uint64_t) rgb_opt.rcpts + 1, sizeof(uint32_t));
        w[i].tally.eom_ns = calloc(w[i].nmsgs + 1, sizeof(uint32_t));
        if (w[i].tally.rcpt_ns == NULL || w[i].tally.eom_ns == NULL) {
            rgb_workers_free(w);
            return NULL;
        }
    }
    return w;
}

/*
 * rgb_run - run the phases with the threads, sampling the processes
 * around the measured one into *res.
 */
static int
rgb_run(struct rgb_worker *w, struct rgb_result *res)
{
    struct timespec t0, t1;
    int     started = 0;
    int     rc = 0;

    if (pthread_barrier_init(&rgb_barrier, NULL, (unsigned) rgb_opt.conns + 1) != 0) {
        fprintf(stderr, "rgbench: pthread_barrier_init failed\n");
        return -1;
    }
    for (; started < rgb_opt.conns; started++) {
        if (pthread_create(&w[started].tid, NULL, rgb_worker_main, &w[started]) != 0) {
            fprintf(stderr, "rgbench: cannot start thread %d\n", started);
            exit(1);                     /* threads wait on a barrier: no clean way back */
        }
    }
    if (!rgb_opt.floor) {
        t0 = clock_mono_ts();
        rgb_set_deadline();
        pthread_barrier_wait(&rgb_barrier);
        pthread_barrier_wait(&rgb_barrier);
        t1 = clock_mono_ts();
        res->preload_seconds = (double) rgb_ns(t0, t1) / 1e9;

        /* Stored times are whole seconds: wait one more than the delay. */
        rgb_sleep_ms(rgb_opt.delay * 1000L + 1100);
        rgb_set_deadline();
        pthread_barrier_wait(&rgb_barrier);
        pthread_barrier_wait(&rgb_barrier);
        res->preload_seconds += (double) rgb_ns(t1, clock_mono_ts()) / 1e9;
    }

    if (rgb_opt.milter_pid > 0)
        rgb_proc_sample(rgb_opt.milter_pid, &res->milter_before);
    if (rgb_opt.aux_pid > 0)
        rgb_proc_sample(rgb_opt.aux_pid, &res->aux_before);
    res->driver_cpu = rgb_driver_cpu();
    rgb_set_deadline();
    t0 = clock_mono_ts();
    pthread_barrier_wait(&rgb_barrier);
    for (int i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    t1 = clock_mono_ts();
    res->driver_cpu = rgb_driver_cpu() - res->driver_cpu;
    if (rgb_opt.milter_pid > 0 && rgb_proc_sample(rgb_opt.milter_pid, &res->milter_after) != 0)
        rc = -1;
    if (rgb_opt.aux_pid > 0 && rgb_proc_sample(rgb_opt.aux_pid, &res->aux_after) != 0)
        rc = -1;
    res->seconds = (double) rgb_ns(t0, t1) / 1e9;
    pthread_barrier_destroy(&rgb_barrier);
    return rc;
}

/* rgb_fill_body - the body chunk: text lines of at most 76 characters */
static void
rgb_fill_body(void)
{
    for (size_t i = 0; i < rgb_opt.body_bytes; i++)
        rgb_body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char) ('a' + i % 26);
}

int
main(int argc, char **argv)
{
    struct rgb_worker *w;
    struct rgb_tally **tallies;
    struct rgb_result res;
    struct rgb_stats stats;

    rgb_parse_options(argc, argv);
    rgb_fill_body();
    if ((w = rgb_workers_new()) == NULL) {
        fprintf(stderr, "rgbench: out of memory for %d connections\n", rgb_opt.conns);
        return 1;
    }
    memset(&res, 0, sizeof(res));
    if (rgb_run(w, &res) != 0)
        fprintf(stderr, "rgbench: could not sample a process in /proc (gone?)\n");
    if ((tallies = calloc((size_t) rgb_opt.conns, sizeof(*tallies))) == NULL) {
        fprintf(stderr, "rgbench: out of memory merging the latencies\n");
        rgb_workers_free(w);
        return 1;
    }
    for (int i = 0; i < rgb_opt.conns; i++)
        tallies[i] = &w[i].tally;
    if (rgb_stats_merge(tallies, rgb_opt.conns, &stats) != 0) {
        fprintf(stderr, "rgbench: out of memory merging the latencies\n");
        free(tallies);
        rgb_workers_free(w);
        return 1;
    }
    rgb_report(&rgb_opt, &res, &stats, stdout);
    free(tallies);
    rgb_workers_free(w);
    return stats.measured.msgs > 0 ? 0 : 1;
}
