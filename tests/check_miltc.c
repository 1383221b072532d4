/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_miltc.c - the milter-protocol client against a fake filter.
 *
 * miltc reads what a filter sends, so it gets the bad-input treatment
 * too: a thread plays the filter on a loopback or unix socket and answers
 * with canned bytes -- good answers, answers split across writes, and
 * junk (bad lengths, missing NULs, a closed or silent peer). Every row
 * must give its defined result, within the client's timeout. The socket
 * spec parser has its own rows, good and bad.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "miltc.h"

#define NR_STEPS (SMFIP_NR_CONN | SMFIP_NR_MAIL)
#define FAKE_READ_MS 10000               /* the fake's bound on one packet from the client */

/* What the fake filter does with the one step under test ('R' or 'E'). */
struct fake {
    int     lfd;                         /* listening socket */
    uint32_t protocol;                   /* announced in the negotiation */
    const char *answer;                  /* raw bytes for the step under test */
    size_t  answer_len;
    size_t  split;                       /* > 0: send the first split bytes, pause, the rest */
    int     close_instead;               /* close instead of answering */
    int     silent;                      /* answer nothing at all */
    int     content_seen;                /* header, EOH and body packets received */
};

/* put_packet - one well-formed packet */
static void
put_packet(int fd, char cmd, const void *data, size_t len)
{
    unsigned char buf[512];
    uint32_t nlen = htonl((uint32_t) len + 1);

    memcpy(buf, &nlen, 4);
    buf[4] = (unsigned char) cmd;
    memcpy(buf + 5, data, len);
    if (write(fd, buf, len + 5) != (ssize_t) (len + 5))
        return;
}

/*
 * fake_run - accept one client and play the filter: negotiate (version
 * 6, actions ADDHDRS|SETSYMLIST, f->protocol, macro lists for connect and
 * rcpt), continue at every step not under test, and the canned answer at
 * RCPT and end of message.
 */
static void *
fake_run(void *arg)
{
    struct fake *f = arg;
    unsigned char hdr[5], body[70000];
    int     fd = accept(f->lfd, NULL, NULL);

    if (fd < 0)
        return NULL;
    while (daemon_read_full(fd, hdr, 5, FAKE_READ_MS) == 0) {
        uint32_t len;

        memcpy(&len, hdr, 4);
        len = ntohl(len);
        if (len == 0 || len - 1 > sizeof(body)
            || daemon_read_full(fd, body, len - 1, FAKE_READ_MS) != 0)
            break;
        switch (hdr[4]) {
        case SMFIC_OPTNEG:{
                unsigned char opt[64];
                uint32_t v[3] = {htonl(6), htonl(SMFIF_ADDHDRS | SMFIF_SETSYMLIST), htonl(f->protocol)};
                uint32_t stage0 = htonl(0), stage3 = htonl(3);
                size_t  off = 12;

                memcpy(opt, v, 12);
                memcpy(opt + off, &stage0, 4);
                memcpy(opt + off + 4, "j {client_addr}", 16);
                off += 20;
                memcpy(opt + off, &stage3, 4);
                memcpy(opt + off + 4, "i", 2);
                off += 6;
                put_packet(fd, SMFIC_OPTNEG, opt, off);
                break;
            }
        case SMFIC_CONNECT:
        case SMFIC_MAIL:
            if (!(f->protocol & (hdr[4] == SMFIC_CONNECT ? SMFIP_NR_CONN : SMFIP_NR_MAIL)))
                put_packet(fd, SMFIR_CONTINUE, "", 0);
            break;
        case SMFIC_HELO:
        case SMFIC_DATA:
            put_packet(fd, SMFIR_CONTINUE, "", 0);
            break;
        case SMFIC_RCPT:
        case SMFIC_BODYEOB:
            if (f->close_instead)
                goto out;
            if (f->silent) {
                struct timespec ts = {0, 400 * 1000000L};

                nanosleep(&ts, NULL);
                goto out;
            }
            if (f->split > 0) {
                struct timespec ts = {0, 50 * 1000000L};

                if (write(fd, f->answer, f->split) != (ssize_t) f->split)
                    goto out;
                nanosleep(&ts, NULL);
                if (write(fd, f->answer + f->split, f->answer_len - f->split) < 0)
                    goto out;
            } else if (write(fd, f->answer, f->answer_len) != (ssize_t) f->answer_len) {
                goto out;
            }
            break;
        case SMFIC_HEADER:
        case SMFIC_EOH:
        case SMFIC_BODY:{
                uint32_t nr = hdr[4] == SMFIC_HEADER ? SMFIP_NR_HDR
                    : hdr[4] == SMFIC_EOH ? SMFIP_NR_EOH : SMFIP_NR_BODY;

                f->content_seen++;
                if (!(f->protocol & nr))
                    put_packet(fd, SMFIR_CONTINUE, "", 0);
                break;
            }
        case SMFIC_QUIT:
            goto out;
        default:                         /* macros, abort: no answer */
            break;
        }
    }
out:
    close(fd);
    return NULL;
}

/* listen_unix - a listening unix socket at a fresh path; fd or -1 */
static int
listen_unix(char *path, size_t pathlen)
{
    static int seq;
    struct sockaddr_un sun;
    char    name[32];
    int     fd;

    snprintf(name, sizeof(name), "miltc-%d.sock", seq++);
    daemon_scratch_path(path, pathlen, name);
    unlink(path);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
        return -1;
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* listen_inet - a listening loopback socket (family AF_INET/AF_INET6); fd, port in *port */
static int
listen_inet(int family, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int     fd = socket(family, SOCK_STREAM, 0);

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        len = sizeof(*s6);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *) &ss, len) != 0 || listen(fd, 4) != 0
        || getsockname(fd, (struct sockaddr *) &ss, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                  : ((struct sockaddr_in6 *) &ss)->sin6_port);
    return fd;
}

/* ------------------------------------------------------------ socket specs */

/* Good specs, per transport: before, the port or unix path, after. */
static const struct spec_case {
    const char *label;
    int     family;                      /* AF_INET, AF_INET6, AF_UNIX */
    const char *before;
    const char *after;
} spec_cases[] = {
    {"libmilter inet", AF_INET, "inet:", "@127.0.0.1"},
    {"inet without host", AF_INET, "inet:", ""},
    {"postfix inet", AF_INET, "inet:127.0.0.1:", ""},
    {"inet6 bracketed", AF_INET6, "inet6:", "@[::1]"},
    {"inet6 bare", AF_INET6, "inet6:", "@::1"},
    {"postfix inet6", AF_INET6, "inet:[::1]:", ""},
    {"unix", AF_UNIX, "unix:", ""},
    {"local", AF_UNIX, "local:", ""},
};

/*
 * test_spec - each good spec connects, negotiates (macro lists parsed),
 * skips the reply of an NR step and reads a reply code.
 */
START_TEST(test_spec)
{
    const struct spec_case *k = &spec_cases[_i];
    static const char answer[] = "\0\0\0\x10y451 4.7.1 grey";
    struct fake f = {-1, NR_STEPS, answer, sizeof(answer), 0, 0, 0, 0};
    struct miltc *c = malloc(sizeof(*c));
    char    spec[300], path[256];
    pthread_t tid;
    int     port = 0, r;

    ck_assert_ptr_nonnull(c);
    f.lfd = k->family == AF_UNIX ? listen_unix(path, sizeof(path)) : listen_inet(k->family, &port);
    ck_assert_msg(f.lfd >= 0, "%s: cannot listen: %s", k->label, strerror(errno));
    if (k->family != AF_UNIX)
        snprintf(path, sizeof(path), "%d", port);
    snprintf(spec, sizeof(spec), "%s%s%s", k->before, path, k->after);
    ck_assert_int_eq(pthread_create(&tid, NULL, fake_run, &f), 0);

    miltc_init(c);
    r = miltc_open(c, spec, 2000);
    ck_assert_msg(r == 0, "%s: open %s: %s", k->label, spec, c->err);
    r = miltc_negotiate(c, 0, 0);
    ck_assert_msg(r == 0, "%s: negotiate: %s", k->label, c->err);
    ck_assert_msg(c->version == 6 && c->protocol == NR_STEPS, "%s: got version %u protocol 0x%x",
                  k->label, c->version, c->protocol);
    ck_assert_msg(strcmp(c->macros[0], "j {client_addr}") == 0 && strcmp(c->macros[3], "i") == 0,
                  "%s: macro lists: got \"%s\" and \"%s\"", k->label, c->macros[0], c->macros[3]);
    r = miltc_connect(c, "client", '4', 25, "192.0.2.1");
    ck_assert_msg(r == MILTC_NOREPLY, "%s: connect under NR_CONN: got %d (%s)", k->label, r, c->err);
    r = miltc_helo(c, "client.example");
    ck_assert_msg(r == SMFIR_CONTINUE, "%s: helo: got %d (%s)", k->label, r, c->err);
    r = miltc_mail(c, "<a@b.example>");
    ck_assert_msg(r == MILTC_NOREPLY, "%s: mail under NR_MAIL: got %d (%s)", k->label, r, c->err);
    r = miltc_rcpt(c, "<c@d.example>");
    ck_assert_msg(r == SMFIR_REPLYCODE && strcmp(c->reply, "451 4.7.1 grey") == 0,
                  "%s: rcpt: got %d \"%s\" (%s)", k->label, r, c->reply, c->err);
    miltc_quit(c);
    pthread_join(tid, NULL);
    close(f.lfd);
    if (k->family == AF_UNIX)
        unlink(path);
    free(c);
}
END_TEST

/* Specs that must fail at once, without a connection. */
static const struct bad_spec_case {
    const char *label;
    const char *spec;
} bad_spec_cases[] = {
    {"empty", ""},
    {"unknown scheme", "tcp:10025@127.0.0.1"},
    {"no port", "inet:@127.0.0.1"},
    {"port zero", "inet:0@127.0.0.1"},
    {"port too big", "inet:70000@127.0.0.1"},
    {"port not a number", "inet:smtp@127.0.0.1"},
    {"empty unix path", "unix:"},
    {"unix path too long", "unix:/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock"},
    {"bad ipv6", "inet6:10025@[::1::2]"},
};

/* test_bad_spec - a bad spec fails at once, with a reason and no socket */
START_TEST(test_bad_spec)
{
    const struct bad_spec_case *k = &bad_spec_cases[_i];
    struct miltc *c = malloc(sizeof(*c));
    int     r;

    ck_assert_ptr_nonnull(c);
    miltc_init(c);
    r = miltc_open(c, k->spec, 500);
    ck_assert_msg(r == MILTC_ERROR, "%s: got %d, want an error", k->label, r);
    ck_assert_msg(c->err[0] != '\0' && c->fd == -1, "%s: want a reason and no socket", k->label);
    free(c);
}
END_TEST

/* ------------------------------------------------------------ the answers */

#define P(s) s, sizeof(s) - 1

/* The filter's answer at RCPT or end of message, and what the client makes of it. */
static const struct answer_case {
    const char *label;
    int     eom;                         /* 1: at end of message, else at RCPT */
    const char *bytes;
    size_t  len;
    size_t  split;
    int     close_instead, silent;
    int     want;                        /* answer, or MILTC_ERROR */
    const char *want_reply;              /* for 'y' */
    int     want_headers, want_mods;     /* at eom */
} answer_cases[] = {
    {"continue", 0, P("\0\0\0\x01" "c"), 0, 0, 0, SMFIR_CONTINUE, NULL, 0, 0},
    {"progress then tempfail", 0, P("\0\0\0\x01p\0\0\0\x01t"), 0, 0, 0, SMFIR_TEMPFAIL, NULL, 0, 0},
    {"reply code", 0, P("\0\0\0\x10y451 4.7.1 grey\0"), 0, 0, 0, SMFIR_REPLYCODE, "451 4.7.1 grey", 0, 0},
    {"reply split mid-length", 0, P("\0\0\0\x10y451 4.7.1 grey\0"), 2, 0, 0, SMFIR_REPLYCODE,
     "451 4.7.1 grey", 0, 0},
    {"reply split mid-text", 0, P("\0\0\0\x10y451 4.7.1 grey\0"), 9, 0, 0, SMFIR_REPLYCODE,
     "451 4.7.1 grey", 0, 0},
    {"reply without NUL", 0, P("\0\0\0\x0fy451 4.7.1 grey"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"zero length", 0, P("\0\0\0\0c"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"huge length", 0, P("\xff\xff\xff\xff" "c"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"unknown answer", 0, P("\0\0\0\x01Z"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"header outside eom", 0, P("\0\0\0\x05hX\0y\0"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"peer closes", 0, NULL, 0, 0, 1, 0, MILTC_ERROR, NULL, 0, 0},
    {"peer silent", 0, NULL, 0, 0, 0, 1, MILTC_ERROR, NULL, 0, 0},
    {"eom two headers", 1, P("\0\0\0\x10hX-Greylist\0d 2\0" "\0\0\0\x07hX-A\0b\0" "\0\0\0\x01" "c"),
     0, 0, 0, SMFIR_CONTINUE, NULL, 2, 0},
    {"eom other change", 1, P("\0\0\0\x0cm\0\0\0\x01Subj\0x\0" "\0\0\0\x01" "a"), 0, 0, 0,
     SMFIR_ACCEPT, NULL, 0, 1},
    {"eom header without value", 1, P("\0\0\0\x03hX\0"), 0, 0, 0, MILTC_ERROR, NULL, 0, 0},
    {"eom reply code", 1, P("\0\0\0\x0by451 4.7.1\0"), 0, 0, 0, SMFIR_REPLYCODE, "451 4.7.1", 0, 0},
};

/* test_answer - one canned answer per row, at RCPT or end of message */
START_TEST(test_answer)
{
    const struct answer_case *k = &answer_cases[_i];
    struct fake f = {-1, 0, k->bytes, k->len, k->split, k->close_instead, k->silent, 0};
    struct miltc *c = malloc(sizeof(*c));
    char    path[256], spec[300];
    pthread_t tid;
    int64_t t0;
    int     r;

    ck_assert_ptr_nonnull(c);
    ck_assert_int_ge(f.lfd = listen_unix(path, sizeof(path)), 0);
    snprintf(spec, sizeof(spec), "unix:%s", path);
    ck_assert_int_eq(pthread_create(&tid, NULL, fake_run, &f), 0);
    miltc_init(c);
    ck_assert_msg(miltc_open(c, spec, 200) == 0 && miltc_negotiate(c, 0, 0) == 0, "%s: %s",
                  k->label, c->err);
    ck_assert_int_eq(miltc_connect(c, "client", 'U', 0, NULL), SMFIR_CONTINUE);
    ck_assert_int_eq(miltc_mail(c, "<a@b.example>"), SMFIR_CONTINUE);
    t0 = daemon_now_ms();
    if (k->eom) {
        ck_assert_int_eq(miltc_data(c), SMFIR_CONTINUE);
        r = miltc_eom(c);
    } else {
        r = miltc_rcpt(c, "<c@d.example>");
    }
    ck_assert_msg(r == k->want, "%s: got %d (%s), want %d", k->label, r, c->err, k->want);
    ck_assert_msg(daemon_now_ms() - t0 < 1000, "%s: took %lld ms, want < 1000 (timeout 200)", k->label,
                  daemon_now_ms() - t0);
    if (r == MILTC_ERROR)
        ck_assert_msg(c->err[0] != '\0', "%s: an error without a reason", k->label);
    if (k->want_reply != NULL)
        ck_assert_msg(strcmp(c->reply, k->want_reply) == 0, "%s: reply: got \"%s\", want \"%s\"",
                      k->label, c->reply, k->want_reply);
    if (k->eom && r != MILTC_ERROR) {
        ck_assert_msg(c->nheaders == k->want_headers && c->nmods == k->want_mods,
                      "%s: got %d headers %d changes, want %d and %d", k->label, c->nheaders,
                      c->nmods, k->want_headers, k->want_mods);
        if (k->want_headers > 0)
            ck_assert_msg(miltc_header_find(c, "x-greylist") != NULL
                          && strcmp(miltc_header_find(c, "x-greylist"), "d 2") == 0,
                          "%s: X-Greylist not found by name", k->label);
    }
    miltc_close(c);
    pthread_join(tid, NULL);
    close(f.lfd);
    unlink(path);
    free(c);
}
END_TEST

/* Headers, end of headers and body as the filter negotiated them. */
static const struct content_case {
    const char *label;
    uint32_t protocol;                   /* the fake filter's step flags */
    int     want;                        /* each of the three steps' result */
    int     want_seen;                   /* packets the filter received */
} content_cases[] = {
    {"every step wanted", 0, SMFIR_CONTINUE, 3},
    {"no headers, eoh or body", SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY, MILTC_NOREPLY, 0},
    {"no replies", SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY, MILTC_NOREPLY, 3},
};

/* test_content - header, eoh and body are sent and answered as negotiated */
START_TEST(test_content)
{
    const struct content_case *k = &content_cases[_i];
    struct fake f = {-1, k->protocol, P("\0\0\0\x01" "c"), 0, 0, 0, 0};
    struct miltc *c = malloc(sizeof(*c));
    char    path[256], spec[300];
    pthread_t tid;
    int     r[3];

    ck_assert_ptr_nonnull(c);
    ck_assert_int_ge(f.lfd = listen_unix(path, sizeof(path)), 0);
    snprintf(spec, sizeof(spec), "unix:%s", path);
    ck_assert_int_eq(pthread_create(&tid, NULL, fake_run, &f), 0);
    miltc_init(c);
    ck_assert_msg(miltc_open(c, spec, 200) == 0 && miltc_negotiate(c, 0, 0) == 0, "%s: %s",
                  k->label, c->err);
    r[0] = miltc_header(c, "Subject", "hello");
    r[1] = miltc_eoh(c);
    r[2] = miltc_body(c, "line\r\n", 6);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(r[i] == k->want, "%s: step %d: got %d (%s), want %d", k->label, i, r[i],
                      c->err, k->want);

    /* The answer at end of message comes after every packet sent before it. */
    ck_assert_msg(miltc_eom(c) == SMFIR_CONTINUE, "%s: eom: %s", k->label, c->err);
    miltc_quit(c);
    pthread_join(tid, NULL);
    ck_assert_msg(f.content_seen == k->want_seen, "%s: filter got %d packets, want %d", k->label,
                  f.content_seen, k->want_seen);
    close(f.lfd);
    unlink(path);
    free(c);
}
END_TEST

/* test_closed - every step on a closed client is an error, never a crash */
START_TEST(test_closed)
{
    struct miltc *c = malloc(sizeof(*c));

    ck_assert_ptr_nonnull(c);
    miltc_init(c);
    ck_assert_int_eq(miltc_negotiate(c, 0, 0), MILTC_ERROR);
    ck_assert_int_eq(miltc_rcpt(c, "<a@b>"), MILTC_ERROR);
    ck_assert_int_eq(miltc_eom(c), MILTC_ERROR);
    ck_assert_int_eq(miltc_header(c, "Subject", "x"), MILTC_ERROR);
    ck_assert_int_eq(miltc_eoh(c), MILTC_ERROR);
    ck_assert_int_eq(miltc_body(c, "x", 1), MILTC_ERROR);
    ck_assert_int_eq(miltc_body(c, c->in, sizeof(c->out)), MILTC_ERROR);
    ck_assert_msg(strstr(c->err, "too long") != NULL, "oversized body: got \"%s\"", c->err);
    ck_assert_int_eq(miltc_quit(c), MILTC_ERROR);
    miltc_close(c);
    ck_assert_int_eq(c->fd, -1);
    free(c);
}
END_TEST

static Suite *
miltc_suite(void)
{
    Suite  *s = suite_create("miltc");
    TCase  *tc = tcase_create("spec");

    tcase_add_loop_test(tc, test_spec, 0, sizeof(spec_cases) / sizeof(spec_cases[0]));
    tcase_add_loop_test(tc, test_bad_spec, 0, sizeof(bad_spec_cases) / sizeof(bad_spec_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("answers");
    tcase_add_loop_test(tc, test_answer, 0, sizeof(answer_cases) / sizeof(answer_cases[0]));
    tcase_add_loop_test(tc, test_content, 0, sizeof(content_cases) / sizeof(content_cases[0]));
    tcase_add_test(tc, test_closed);
    suite_add_tcase(s, tc);
    return s;
}

/* main - run the suite */
int
main(void)
{
    return daemon_run_suites(miltc_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
