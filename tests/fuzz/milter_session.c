/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milter_session.c - a milter-session fuzzer against a running redgrey:
 * generated sessions of malformed packets, odd command orders, lying and
 * huge lengths, hostile addresses and macros, each bounded in time, with
 * a well-formed probe session after each that must still get a sane
 * verdict (continue, tempfail, accept or a 4xx reply; never a reject).
 *
 *   milter_session -s SPEC [-t SECONDS] [-S SEED] [-n SESSIONS] [-M]
 *                  [-p PIDFILE] [-x RESTART-COMMAND] [-1 SESSION-SEED] [-v]
 *
 * SPEC is the daemon's socket (inet:PORT@HOST, unix:PATH). -M includes the
 * MACRO packet with an odd number of strings that makes libmilter 8.17
 * read past its macro array (redgrey(8), BUGS); it is left out by default
 * so that the run looks for redgrey's own bugs. A daemon that stops
 * answering is a crash when its process is gone (-p, the pidfile redgrey
 * writes) and a hang otherwise; a crash of a daemon that has been sent
 * the odd MACRO shape since it started is counted apart as the known
 * libmilter bug. With -x the command restarts the daemon and the run goes
 * on; without it the run ends at the first crash. Every finding prints the session seed:
 * "-1 SEED" replays exactly that session (then one probe).
 *
 * Output: one line per finding, then "sessions N (hostile steps N) probes N
 * crashes N (odd-macro N) hangs N rejects N". Exit 0 when nothing was
 * found, 1 on a finding, 2 on a usage or setup error.
 *
 * The protocol client is tests/miltc.c (the end-to-end tests' MTA).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfdef.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "miltc.h"

#define STEP_MS 300                      /* bound on one wait of a hostile session */
#define SESSION_MS 3000                  /* bound on one hostile session */
#define PROBE_MS 3000                    /* bound on one wait of a probe */
#define PROBE_TRIES 3                    /* a probe that fails is tried this often */
#define RESTART_MS 15000                 /* the restarted daemon answers within this */
#define GONE_MS 3000                     /* a crashed daemon's process is gone within this */
#define STEPS_MAX 24
#define JUNK_MAX 1200

/* The run's options and counters. */
static struct {
    const char *spec, *pidfile, *restart;
    int     seconds, odd_macro, verbose;
    unsigned long max_sessions;
    int     odd_since_start;             /* a session sent the shape to this daemon */
    unsigned long sessions, steps, probes, crashes, crashes_macro, hangs, rejects;
} run = {NULL, NULL, NULL, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* What one session did. */
struct session {
    uint64_t rng;
    int     sent_odd_macro;              /* it sent the libmilter-bug shape */
    char    junk[JUNK_MAX + 64];         /* the last generated string */
};

/* ------------------------------------------------------------ generation */

/* rnd - the next 64 random bits of s (xorshift64*) */
static uint64_t
rnd(struct session *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

/* below - a random number in [0, n) */
static unsigned
below(struct session *s, unsigned n)
{
    return n == 0 ? 0 : (unsigned) (rnd(s) % n);
}

/* mix - a session seed from the run seed and the session number (splitmix64) */
static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x != 0 ? x : 1;
}

/* junk_bytes - n random bytes into out; printable only if printable */
static void
junk_bytes(struct session *s, char *out, size_t n, int printable)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b = below(s, 256);

        out[i] = (char) (printable ? 33 + b % 94 : (b == 0 ? 1 : b));
    }
    out[n] = '\0';
}

static const char *const addr_shapes[] = {
    "<>", "", "<", ">", "<<>>", "<user@example.org>", "user@example.org",
    "<\"quoted local\"@example.org>", "<\"a@b\\\"c\"@example.org>", "<\"\"@example.org>",
    "<user>", "<user@>", "<@example.org>", "<@a.example,@b.example:user@example.org>",
    "<user@[192.0.2.1]>", "<user@[IPv6:2001:db8::1]>", "<user@[999.1.1.1]>",
    "<user@example.org> SIZE=100 BODY=8BITMIME", "<user@@example.org>",
    "<us er@exa mple.org>", "<user@.example.org>", "<user@example..org>",
    "<postmaster>", "<\xc3\xa9l\xc3\xa8ve@\xc3\xa9" "cole.example>", "<user@-example.org>",
    "<user+tag=x@example.org>", "<SRS0=abc=12=example.org=user@fwd.example>",
    "<prvs=1234abcd=user@example.org>", "<user\t@example.org>", "<user@example.org.>",
};

/* address - a hostile address (or HELO name) into s->junk */
static const char *
address(struct session *s)
{
    size_t  n;

    switch (below(s, 6)) {
    case 0:                              /* 1000 bytes of junk */
        junk_bytes(s, s->junk, 1000, below(s, 2));
        return s->junk;
    case 1:                              /* a long local part */
        n = 60 + below(s, 900);
        s->junk[0] = '<';
        memset(s->junk + 1, 'a' + (int) below(s, 26), n);
        memcpy(s->junk + 1 + n, "@example.org>", 14);
        return s->junk;
    case 2:                              /* a short random string */
        junk_bytes(s, s->junk, below(s, 40), below(s, 2));
        return s->junk;
    default:
        return addr_shapes[below(s, sizeof(addr_shapes) / sizeof(addr_shapes[0]))];
    }
}

static const char *const macro_names[] = {
    "j", "{client_addr}", "{client_name}", "{client_resolve}", "{auth_authen}", "i",
    "{daemon_name}", "{mail_addr}", "{rcpt_addr}", "_", "{", "}", "{}", "",
    "{client_addr", "client_name}", "{auth_type}", "{if_addr}",
};

/* macro_stage - a stage byte for a MACRO packet, mostly a real one */
static char
macro_stage(struct session *s)
{
    static const char stages[] = "CHMRTEN";

    return below(s, 8) == 0 ? (char) below(s, 256) : stages[below(s, 7)];
}

/*
 * send_macros - a MACRO packet of name/value pairs for stage (0: a random
 * one); an odd number of strings only if the run includes that shape
 */
static int
send_macros(struct miltc *c, struct session *s, char stage)
{
    static unsigned char pkt[MILTC_BUFSIZE];
    unsigned nstr = 2 * (1 + below(s, 4)), i;
    size_t  off = 1;

    if (run.odd_macro && below(s, 3) == 0) {
        nstr--;                          /* a name without a value */
        s->sent_odd_macro = 1;
    }
    pkt[0] = (unsigned char) (stage != 0 ? stage : macro_stage(s));
    for (i = 0; i < nstr; i++) {         /* 7 strings of <= JUNK_MAX bytes: always room */
        const char *str = i % 2 == 0 && below(s, 3) != 0
            ? macro_names[below(s, sizeof(macro_names) / sizeof(macro_names[0]))] : address(s);
        size_t  len = strlen(str) + 1;

        memcpy(pkt + off, str, len);
        off += len;
    }
    return miltc_packet(c, SMFIC_MACRO, pkt, off);
}

/* send_addr_raw - MAIL or RCPT with a NUL inside the address, and ESMTP arguments */
static int
send_addr_raw(struct miltc *c, struct session *s, char cmd)
{
    char    pkt[256];
    int     n = snprintf(pkt, sizeof(pkt), "<us%cer@example.org>", '\0');

    n += 1;
    n += snprintf(pkt + n, sizeof(pkt) - (size_t) n, "%s", below(s, 2) ? "SIZE=1" : "");
    return miltc_packet(c, cmd, pkt, (size_t) n + (below(s, 2) ? 1 : 0));
}

/*
 * send_lie - a packet header claiming a length that is not there: zero,
 * tiny, over libmilter's limit, or huge; then fewer bytes than it claims,
 * so that nothing after it can be read as a packet of its own (such
 * junk could be a MACRO packet with an odd number of strings). With the
 * odd-MACRO shape included, also a MACRO header and bytes past the
 * claimed length, and the session counts as having sent the shape.
 */
static int
send_lie(struct miltc *c, struct session *s)
{
    static const uint32_t lens[] = {0, 1, 2, 5, 65535, 65536, 1u << 20, 0x7fffffffu,
        0xffffffffu};
    static const char cmds[] = "OCHMRTLNAQBEKX";
    unsigned char buf[64];
    uint32_t len = lens[below(s, sizeof(lens) / sizeof(lens[0]))], nlen = htonl(len);
    size_t  extra = below(s, 40);

    memcpy(buf, &nlen, 4);
    buf[4] = (unsigned char) cmds[below(s, sizeof(cmds) - 1)];
    if (run.odd_macro && below(s, 2)) {
        if (below(s, 2))
            buf[4] = SMFIC_MACRO;
        s->sent_odd_macro = 1;           /* may have made one */
    } else if (len < 2) {
        extra = 0;
    } else if (extra >= len - 1) {
        extra = len - 2;                 /* short of the claim: never complete */
    }
    for (size_t i = 0; i < extra; i++)
        buf[5 + i] = (unsigned char) below(s, 256);
    return miltc_raw(c, buf, len < 1 ? 4 : 5 + extra);
}

/* send_random - a well-framed packet of a random command and random bytes (no MACRO) */
static int
send_random(struct miltc *c, struct session *s)
{
    static const char cmds[] = "OCHMRTLNABEKQXU\x01\xff";
    char    data[512];
    size_t  n = below(s, sizeof(data));
    char    cmd = cmds[below(s, sizeof(cmds) - 1)];

    for (size_t i = 0; i < n; i++)
        data[i] = (char) below(s, 256);
    return miltc_packet(c, cmd, data, n);
}

/* drain - read and drop what the daemon sends within ms; 0, or -1 once it has closed */
static int
drain(struct miltc *c, int ms)
{
    unsigned char buf[4096];
    struct pollfd pfd = {c->fd, POLLIN, 0};

    while (poll(&pfd, 1, ms) == 1) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        ms = 20;
    }
    return 0;
}

/* sane - 1 if answer r is one a well-behaved redgrey may give (never a reject) */
static int
sane(const struct miltc *c, int r)
{
    if (r == SMFIR_REPLYCODE)
        return c->reply[0] == '4';
    return r != SMFIR_REJECT && r != SMFIR_DISCARD;
}

/* monotonic milliseconds */
static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The steps a session is made of. */
enum step {
    K_CONNECT, K_HELO, K_MAIL, K_RCPT, K_MACRO, K_DATA, K_HEADER, K_EOH, K_BODY, K_EOM,
    K_ABORT, K_RAW_ADDR, K_LIE, K_RANDOM, K_COUNT
};

static const char *const step_names[K_COUNT] = {
    "connect", "helo", "mail", "rcpt", "macro", "data", "header", "eoh", "body", "eom",
    "abort", "raw-addr", "lie", "random"
};

/* The order an MTA sends them in, with the macro stage before each. */
static const struct {
    enum step kind;
    char    stage;                       /* a MACRO packet for it first, sometimes */
} mta_order[] = {
    {K_CONNECT, SMFIC_CONNECT}, {K_HELO, SMFIC_HELO}, {K_MAIL, SMFIC_MAIL},
    {K_RCPT, SMFIC_RCPT}, {K_RCPT, SMFIC_RCPT}, {K_DATA, SMFIC_DATA}, {K_HEADER, 0},
    {K_HEADER, 0}, {K_EOH, SMFIC_EOH}, {K_BODY, 0}, {K_EOM, SMFIC_BODYEOB}, {K_ABORT, 0},
};

/*
 * hostile_step - one step of kind k (hostile arguments); its answer
 * (MILTC_NOREPLY for packets without one, MILTC_ERROR when the
 * connection is done with, MILTC_ERROR - 1 after a raw packet)
 */
static int
hostile_step(struct miltc *c, struct session *s, enum step k)
{
    char    body[2048];
    int     r;

    switch (k) {
    case K_CONNECT:
        return miltc_connect(c, address(s), "46LU?"[below(s, 5)], (uint16_t) below(s, 65536),
                             below(s, 2) ? "192.0.2.1" : address(s));
    case K_HELO:
        return miltc_helo(c, address(s));
    case K_MAIL:
        return miltc_mail(c, address(s));
    case K_RCPT:
        return miltc_rcpt(c, address(s));
    case K_MACRO:
        return send_macros(c, s, 0) != 0 ? MILTC_ERROR : MILTC_NOREPLY;
    case K_DATA:
        return miltc_data(c);
    case K_HEADER:
        return miltc_header(c, below(s, 2) ? "Subject" : address(s), address(s));
    case K_EOH:
        return miltc_eoh(c);
    case K_BODY:
        junk_bytes(s, body, below(s, sizeof(body) - 1), 0);
        return miltc_body(c, body, strlen(body));
    case K_EOM:
        return miltc_eom(c);
    case K_ABORT:
        return miltc_abort(c) != 0 ? MILTC_ERROR : MILTC_NOREPLY;
    case K_RAW_ADDR:
        r = send_addr_raw(c, s, below(s, 2) ? SMFIC_MAIL : SMFIC_RCPT);
        break;
    case K_LIE:
        r = send_lie(c, s);
        (void) drain(c, 50);
        return MILTC_ERROR;              /* the stream is out of step now */
    default:
        r = send_random(c, s);
        break;
    }
    if (r != 0 || drain(c, 30) != 0)
        return MILTC_ERROR;
    return MILTC_ERROR - 1;              /* raw packet: answers, if any, were drained */
}

/* one_step - run step k, counting it and any insane answer; 1 to go on, 0 to stop */
static int
one_step(struct miltc *c, struct session *s, enum step k)
{
    int     r;

    run.steps++;
    r = hostile_step(c, s, k);
    if (run.verbose)
        printf("  step %s: %d\n", step_names[k], r);
    if (r >= 0 && r != MILTC_NOREPLY && !sane(c, r)) {
        run.rejects++;
        printf("reject: answer '%c' (%s) to a hostile step\n", r, c->reply);
    }
    return r != MILTC_ERROR;
}

/*
 * hostile_session - one generated session: half of them in an MTA's
 * order (each step sometimes preceded by its stage's MACRO packet,
 * sometimes replaced or preceded by a random step), half in random
 * order. 0, or -1 if it could not connect.
 */
static int
hostile_session(struct session *s, struct miltc *c)
{
    long long until = now_ms() + SESSION_MS;
    unsigned steps = 1 + below(s, STEPS_MAX), i;
    int     ordered = below(s, 2), go = 1;

    if (miltc_open(c, run.spec, STEP_MS) != 0)
        return -1;
    switch (below(s, 8)) {
    case 0:                              /* no negotiation at all */
        break;
    case 1:                              /* a short, malformed negotiation */
        (void) miltc_packet(c, SMFIC_OPTNEG, "\0\0\0\2", 4);
        (void) drain(c, 50);
        break;
    case 2:                              /* a random subset of steps and actions */
        if (miltc_negotiate(c, (uint32_t) rnd(s) & MILTC_ACTIONS,
                            (uint32_t) rnd(s) & MILTC_PROTOCOL) != 0)
            goto out;
        break;
    default:
        if (miltc_negotiate(c, 0, 0) != 0)
            goto out;
        if (!ordered && below(s, 2)) {
            struct miltc_client_info ci = {"mx.fuzz", "46LU"[below(s, 4)], "192.0.2.7",
                address(s), "unknown", NULL};

            if (miltc_client(c, &ci) != 0)
                goto out;
        }
        break;
    }
    if (ordered) {
        for (i = 0; go && i < sizeof(mta_order) / sizeof(mta_order[0]) && now_ms() < until; i++) {
            if (below(s, 5) == 0)
                go = one_step(c, s, (enum step) below(s, K_COUNT));
            if (go && mta_order[i].stage != 0 && below(s, 2)) {
                run.steps++;
                go = send_macros(c, s, mta_order[i].stage) == 0;
                if (run.verbose)
                    printf("  step macro '%c'\n", mta_order[i].stage);
            }
            if (go)
                go = one_step(c, s, below(s, 6) == 0 ? (enum step) below(s, K_COUNT)
                              : mta_order[i].kind);
        }
    } else {
        for (i = 0; go && i < steps && now_ms() < until; i++)
            go = one_step(c, s, (enum step) below(s, K_COUNT));
    }
    if (go && below(s, 2))
        (void) miltc_quit(c);
out:
    miltc_close(c);
    return 0;
}

/* ----------------------------------------------------------- the probe */

/*
 * probe - a well-formed session, as Postfix sends it, for a new triplet:
 * 0 with a sane RCPT answer, 1 with an insane one (a reject), -1 with no
 * answer (why in c->err)
 */
static int
probe(struct miltc *c, unsigned long n)
{
    struct miltc_client_info ci = {"mx.fuzz", '4', "192.0.2.200", "probe.example", "unknown",
        NULL};
    char    rcpt[80];
    int     r;

    snprintf(rcpt, sizeof(rcpt), "<probe%lu@example.net>", n);
    if (miltc_open(c, run.spec, PROBE_MS) != 0 || miltc_negotiate(c, 0, 0) != 0
        || miltc_client(c, &ci) != 0)
        goto fail;
    r = miltc_mail(c, "<sender@example.org>");
    if (r == MILTC_ERROR)
        goto fail;
    if (r == MILTC_NOREPLY || r == SMFIR_CONTINUE)
        r = miltc_rcpt(c, rcpt);
    if (r == MILTC_ERROR)
        goto fail;
    (void) miltc_abort(c);
    (void) miltc_quit(c);
    return sane(c, r) ? 0 : 1;
fail:
    miltc_close(c);
    return -1;
}

/* daemon_gone - 1 if the pidfile names no live process (none, or a zombie) */
static int
daemon_gone(void)
{
    char    path[64], stat[256];
    FILE   *fp;
    long    pid = 0;
    int     zombie = 0;

    if (run.pidfile == NULL || (fp = fopen(run.pidfile, "r")) == NULL)
        return run.pidfile != NULL;
    if (fscanf(fp, "%ld", &pid) != 1)
        pid = 0;
    fclose(fp);
    if (pid <= 0 || (kill((pid_t) pid, 0) != 0 && errno == ESRCH))
        return 1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((fp = fopen(path, "r")) != NULL) {
        if (fgets(stat, sizeof(stat), fp) != NULL && strstr(stat, ") Z") != NULL)
            zombie = 1;
        fclose(fp);
    }
    return zombie;
}

/* daemon_dies - 1 if the daemon is gone within GONE_MS (a sanitizer report takes a while) */
static int
daemon_dies(void)
{
    long long until = now_ms() + GONE_MS;

    while (!daemon_gone()) {
        if (now_ms() >= until)
            return 0;
        usleep(100000);
    }
    return 1;
}

/*
 * check_daemon - probe until it answers (PROBE_TRIES); 0 if it is well,
 * 1 if it is gone or hangs, after counting and reporting it
 */
static int
check_daemon(struct miltc *c, const struct session *s, uint64_t seed)
{
    int     odd, r = -1, t;

    /*
     * A crash is laid to the libmilter shape when any session since the
     * daemon's start sent it: libmilter may run a closed session's last
     * callbacks after the next one has started, and a daemon that read
     * past the array once has been seen to fall a few sessions later.
     */
    run.odd_since_start |= s->sent_odd_macro;
    odd = run.odd_since_start;

    for (t = 0; t < PROBE_TRIES && r < 0; t++) {
        run.probes++;
        if ((r = probe(c, run.probes)) < 0 && daemon_gone())
            break;
    }
    if (r == 0)
        return 0;
    if (r == 1) {
        run.rejects++;
        printf("reject: the probe after session %#llx got '%s'\n", (unsigned long long) seed,
               c->reply);
        return 0;
    }
    if (run.pidfile == NULL || daemon_dies()) {
        run.crashes++;
        if (odd)
            run.crashes_macro++;
        printf("crash%s: the daemon %s after session %#llx (%s)\n",
               odd ? " (libmilter 8.17 odd-MACRO shape, known)" : "",
               run.pidfile != NULL ? "is gone" : "stopped answering", (unsigned long long) seed,
               c->err);
    } else {
        run.hangs++;
        printf("hang: the daemon is alive but does not answer after session %#llx (%s)\n",
               (unsigned long long) seed, c->err);
    }
    fflush(stdout);
    return 1;
}

/* restart - run the restart command and wait for an answer; 0 or -1 */
static int
restart(struct miltc *c)
{
    long long until = now_ms() + RESTART_MS;

    if (run.restart == NULL || system(run.restart) != 0)
        return -1;
    run.odd_since_start = 0;
    while (now_ms() < until) {
        if (probe(c, ++run.probes) == 0)
            return 0;
        usleep(200000);
    }
    return -1;
}

/* ------------------------------------------------------------------ main */

/* usage - the synopsis on stderr; exit 2 */
static void
usage(void)
{
    fprintf(stderr, "usage: milter_session -s SPEC [-t SECONDS] [-S SEED] [-n SESSIONS] [-M]"
            " [-p PIDFILE] [-x RESTART-COMMAND] [-1 SESSION-SEED] [-v]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static struct miltc c;               /* two 64 KB buffers: not on the stack */
    uint64_t seed = (uint64_t) time(NULL), one = 0;
    long long until;
    int     opt, found = 0;

    while ((opt = getopt(argc, argv, "s:t:S:n:Mp:x:1:v")) != -1) {
        switch (opt) {
        case 's': run.spec = optarg; break;
        case 't': run.seconds = atoi(optarg); break;
        case 'S': seed = strtoull(optarg, NULL, 0); break;
        case 'n': run.max_sessions = strtoul(optarg, NULL, 0); break;
        case 'M': run.odd_macro = 1; break;
        case 'p': run.pidfile = optarg; break;
        case 'x': run.restart = optarg; break;
        case '1': one = strtoull(optarg, NULL, 0); break;
        case 'v': run.verbose = 1; break;
        default: usage();
        }
    }
    if (run.spec == NULL || run.seconds <= 0 || optind != argc)
        usage();
    signal(SIGPIPE, SIG_IGN);
    miltc_init(&c);
    if (probe(&c, 0) != 0) {
        fprintf(stderr, "milter_session: %s does not answer a well-formed session: %s\n",
                run.spec, c.err);
        return 2;
    }
    printf("milter_session: %s, seed %#llx, %d s, odd-MACRO shape %s\n", run.spec,
           (unsigned long long) seed, run.seconds, run.odd_macro ? "included" : "excluded");
    until = now_ms() + (long long) run.seconds * 1000;
    while (now_ms() < until && (run.max_sessions == 0 || run.sessions < run.max_sessions)) {
        struct session s;
        uint64_t sseed = one != 0 ? one : mix(mix(seed) + run.sessions);

        memset(&s, 0, sizeof(s));
        s.rng = sseed;
        run.sessions++;
        if (run.verbose)
            printf("session %lu: seed %#llx\n", run.sessions, (unsigned long long) sseed);
        (void) hostile_session(&s, &c);
        if (run.verbose && s.sent_odd_macro)
            printf("session %lu: sent the odd-MACRO shape\n", run.sessions);
        if (check_daemon(&c, &s, sseed) != 0) {
            found = 1;
            if (restart(&c) != 0)
                break;
        }
        if (one != 0)
            break;
    }
    if (run.rejects > 0)
        found = 1;
    printf("sessions %lu (hostile steps %lu) probes %lu crashes %lu (odd-macro %lu) hangs %lu"
           " rejects %lu\n", run.sessions, run.steps, run.probes, run.crashes, run.crashes_macro,
           run.hangs, run.rejects);
    return found ? 1 : 0;
}
