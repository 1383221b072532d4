/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_lists.c - milter/lists.c: readers of the current whitelists while
 * reloads replace them.
 *
 * NREADERS threads take and drop references to the current whitelists
 * (lists_wlist, one lookup, wlist_unref) without pause, while the main
 * thread rewrites the client list and asks for a reload (lists_reconfigure),
 * NRELOADS times, waiting each time until the new list is the current
 * one. The readers take no lock, so the test is about reclamation: a list
 * freed under a reader is a use after free, which the suite's ASan build
 * reports. The readers also check what they see: every list they get has
 * one of the two sizes written, never anything else. A last test covers
 * milter/spf_shared.c, the other state the sessions share.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "ipaddr.h"
#include "lists.h"
#include "log.h"
#include "spf_shared.h"

#define NREADERS 4
#define NRELOADS 150
#define WAIT_MS  3000                    /* bound on one reload */

/* The two versions of the client list: 1 and 2 blocks. */
static const char *const list_text[2] = {
    "198.51.100.0/24\n",
    "198.51.100.0/24\n2001:db8:9::/48\n",
};

static atomic_int readers_stop;          /* set when the reloads are done */

/* What one reader saw. */
struct reader {
    pthread_t tid;
    unsigned long rounds;                /* references taken and dropped */
    unsigned long seen[3];               /* lists of 0, 1 and 2 blocks */
    unsigned long odd;                   /* lists of any other size, or NULL */
    unsigned long misses;                /* 198.51.100.7 not whitelisted */
};

/* reader_run - take, look up, drop, until told to stop */
static void *
reader_run(void *arg)
{
    struct reader *r = arg;
    struct ipaddr ip;

    ipaddr_parse("198.51.100.7", &ip);
    while (!atomic_load(&readers_stop)) {
        struct wlist *w = lists_wlist();
        size_t  n = w != NULL ? wlist_size(w, WLIST_CLIENTS) : 99;

        if (n <= 2)
            r->seen[n]++;
        else
            r->odd++;
        if (w != NULL && !wlist_client_addr(w, &ip))
            r->misses++;
        wlist_unref(w);
        r->rounds++;
    }
    return NULL;
}

/* current_size - client blocks of the current whitelists */
static size_t
current_size(void)
{
    struct wlist *w = lists_wlist();
    size_t  n = wlist_size(w, WLIST_CLIENTS);

    wlist_unref(w);
    return n;
}

/* test_reload_under_readers - NRELOADS swaps while NREADERS threads read */
START_TEST(test_reload_under_readers)
{
    const char *tmp = getenv("REDGREY_TEST_TMP");
    struct reader rd[NREADERS];
    char    list[600], conf[600], text[800], err[CFG_ERRLEN];
    struct cfg *c;
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    unsigned long total = 0;

    ck_assert_msg(tmp != NULL, "REDGREY_TEST_TMP unset: run under with-redis.sh");
    snprintf(list, sizeof(list), "%s/lists-clients", tmp);
    snprintf(conf, sizeof(conf), "%s/lists.conf", tmp);
    /* whitelist_recipients: its default names the installed file, not there in tests. */
    snprintf(text, sizeof(text), "whitelist_clients = %s\ndns_servers = 127.0.0.1\n"
             "whitelist_recipients = \"\"\n", list);
    ck_assert_int_eq(daemon_write_file(list, list_text[0]), 0);
    ck_assert_int_eq(daemon_write_file(conf, text), 0);
    c = cfg_load(conf, err, sizeof(err));
    ck_assert_msg(c != NULL, "cfg_load: %s", err);
    ck_assert_msg(lists_init(c, err, sizeof(err)) == 0, "lists_init: %s", err);
    ck_assert_uint_eq(current_size(), 1);

    memset(rd, 0, sizeof(rd));
    atomic_store(&readers_stop, 0);
    for (int i = 0; i < NREADERS; i++)
        ck_assert_int_eq(pthread_create(&rd[i].tid, NULL, reader_run, &rd[i]), 0);

    for (int k = 1; k <= NRELOADS; k++) {
        size_t  want = (size_t) (k % 2 + 1);
        int     waited = 0;

        ck_assert_int_eq(daemon_write_file(list, list_text[k % 2]), 0);
        ck_assert_int_eq(lists_reconfigure(c, "test", err, sizeof(err)), 0);
        while (current_size() != want && waited < WAIT_MS) {
            nanosleep(&ms10, NULL);
            waited += 10;
        }
        ck_assert_msg(current_size() == want, "reload %d: got %zu blocks, want %zu within %d ms",
                      k, current_size(), want, WAIT_MS);
    }
    atomic_store(&readers_stop, 1);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i].tid, NULL);
    lists_fini();
    cfg_free(c);

    for (int i = 0; i < NREADERS; i++) {
        ck_assert_msg(rd[i].odd == 0 && rd[i].seen[0] == 0, "reader %d: got %lu lists of a size "
                      "never written and %lu empty ones, want none", i, rd[i].odd, rd[i].seen[0]);
        ck_assert_msg(rd[i].misses == 0, "reader %d: 198.51.100.7 missed %lu times", i,
                      rd[i].misses);
        total += rd[i].rounds;
    }
    ck_assert_msg(total >= NRELOADS, "readers: got %lu rounds in all, want them busy", total);
}
END_TEST

/* test_fini_idempotent - lists_fini twice, and lists_wlist after it, are safe */
START_TEST(test_fini_idempotent)
{
    lists_fini();
    lists_fini();
    ck_assert_ptr_null(lists_wlist());
}
END_TEST

/*
 * test_spf_shared - the shared SPF checker: none before init, one after,
 * a bad spf_probe refused (keeping the checker in use), none after fini
 */
START_TEST(test_spf_shared)
{
    char    err[CFG_ERRLEN] = "";
    struct cfg *c = cfg_defaults();
    struct spf_check *chk;

    ck_assert_int_eq(cfg_set(c, "dns_servers", "127.0.0.1", err, sizeof(err)), 0);
    ck_assert_ptr_null(spf_shared_get());
    ck_assert_msg(spf_shared_check(c, err, sizeof(err)) == 0, "spf_shared_check: %s", err);
    ck_assert_ptr_null(spf_shared_get());
    ck_assert_msg(spf_shared_init(c, err, sizeof(err)) == 0, "spf_shared_init: %s", err);
    ck_assert_ptr_nonnull(chk = spf_shared_get());

    /* cfg_set refuses a bad address; the field is set directly. */
    free(c->spf_probe);
    c->spf_probe = strdup("not-an-address");
    ck_assert_int_eq(spf_shared_check(c, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "spf_probe") != NULL, "err: %s", err);
    ck_assert_int_eq(spf_shared_init(c, err, sizeof(err)), -1);
    ck_assert_ptr_eq(spf_shared_get(), chk);

    spf_shared_fini();
    ck_assert_ptr_null(spf_shared_get());
    spf_shared_fini();
    ck_assert_ptr_null(spf_shared_get());
    cfg_free(c);
}
END_TEST

static Suite *
lists_suite(void)
{
    Suite  *s = suite_create("lists");
    TCase  *tc = tcase_create("reload");

    tcase_add_test(tc, test_reload_under_readers);
    tcase_add_test(tc, test_fini_idempotent);
    tcase_add_test(tc, test_spf_shared);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    log_init("check_lists", LOG_MAIL, LOG_ERR, 1);
    return daemon_run_suites(lists_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
