/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_screen.c - the guard layer's screen of TXT answers (bad SPF
 * records become a stand-in that libspf2 refuses), its fixed
 * explanation, and the rate-limited log of what it rejected.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "logesc.h"
#include "spf_record.h"
#include "spf_screen.h"

#define SCREEN_DOMAIN_SHOWN 80           /* bytes of the domain quoted */
#define SCREEN_TEXT_SHOWN   32           /* bytes of the record quoted, from the fault */

static atomic_ulong screen_total;        /* records replaced, ever */

/* The log limiter: one line per interval, then a count of the rest. */
static struct {
    pthread_mutex_t lock;
    int     logged;                      /* a line was written */
    time_t  last;                        /* when (monotonic seconds) */
    unsigned long quiet;                 /* rejections not logged since */
} screen_log = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};

/* screen_log_due - 1 if a line may be written now; *quiet gets the count skipped */
static int
screen_log_due(unsigned long *quiet)
{
    time_t  now = clock_mono_s();
    int     due;

    pthread_mutex_lock(&screen_log.lock);
    due = !screen_log.logged || now - screen_log.last >= SPF_SCREEN_LOG_INTERVAL;
    if (due) {
        *quiet = screen_log.quiet;
        screen_log.quiet = 0;
        screen_log.logged = 1;
        screen_log.last = now;
    } else {
        screen_log.quiet++;
    }
    pthread_mutex_unlock(&screen_log.lock);
    return due;
}

/* screen_report - log the rejection of txt[0..len) for domain, rate limited */
static void
screen_report(const char *domain, const char *txt, size_t len, const struct spf_record_error *e)
{
    char    dom[LOGESC_QUOTE_SIZE(SCREEN_DOMAIN_SHOWN)], near[LOGESC_QUOTE_SIZE(SCREEN_TEXT_SHOWN)];
    unsigned long quiet;
    size_t  at = e->offset < len ? e->offset : len;

    if (!screen_log_due(&quiet))
        return;
    logesc_quote(domain, SCREEN_DOMAIN_SHOWN, dom, sizeof(dom));
    logesc_quote(txt + at, SCREEN_TEXT_SHOWN, near, sizeof(near));
    if (quiet > 0)
        log_warn("spf: rejected the SPF record of %s: %s at byte %zu, near %s "
                 "(permerror; %lu more rejected records not logged)", dom, e->reason,
                 e->offset, near, quiet);
    else
        log_warn("spf: rejected the SPF record of %s: %s at byte %zu, near %s "
                 "(permerror)", dom, e->reason, e->offset, near);
}

/* spf_screen_answer - replace each SPF record that fails the check */
int
spf_screen_answer(SPF_dns_rr_t *rr, const char *domain)
{
    struct spf_record_error e;
    int     i, replaced = 0;

    if (rr == NULL || rr->rr_type != ns_t_txt)
        return 0;
    for (i = 0; i < rr->num_rr; i++) {
        const char *txt = rr->rr[i]->txt;
        size_t  len = strlen(txt);

        if (!spf_record_is_spf(txt, len) || spf_record_check(txt, len, &e) == 0)
            continue;
        screen_report(domain ? domain : "", txt, len, &e);
        atomic_fetch_add(&screen_total, 1);
        replaced++;
        if (SPF_dns_rr_buf_realloc(rr, i, sizeof(SPF_SCREEN_STANDIN)) != SPF_E_SUCCESS) {
            rr->num_rr = 0;              /* nothing unchecked may stay */
            rr->herrno = TRY_AGAIN;
            return replaced;
        }
        memcpy(rr->rr[i]->txt, SPF_SCREEN_STANDIN, sizeof(SPF_SCREEN_STANDIN));
    }
    return replaced;
}

/* spf_screen_rejected - the process-wide count */
unsigned long
spf_screen_rejected(void)
{
    return atomic_load(&screen_total);
}

/* spf_screen_get_exp - the fixed explanation, no DNS */
SPF_errcode_t
spf_screen_get_exp(SPF_server_t *server, const char *domain, char **buf, size_t *buflen)
{
    (void) server;
    (void) domain;
    if (*buf == NULL || *buflen < sizeof(SPF_SCREEN_EXPLANATION)) {
        char   *grown = realloc(*buf, sizeof(SPF_SCREEN_EXPLANATION));

        if (grown == NULL)
            return SPF_E_NO_MEMORY;
        *buf = grown;
        *buflen = sizeof(SPF_SCREEN_EXPLANATION);
    }
    memcpy(*buf, SPF_SCREEN_EXPLANATION, sizeof(SPF_SCREEN_EXPLANATION));
    return SPF_E_SUCCESS;
}
