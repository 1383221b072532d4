/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refresh.h - keeping the big-sender set current: expand the SPF records
 * of spf_domains into the store, and load the stored set into memory.
 *
 * refresh_expand() is one expansion: redgreyctl spf-refresh runs it once,
 * and the daemon's refresh thread runs it when the stored set is older
 * than spf_refresh. The thread also polls the store for a new version
 * (one small read every REFRESH_POLL_MS, jittered) and installs it with
 * bigsender_install(), so every node of a cluster follows the same set.
 *
 * Test knob: the environment variable REDGREY_REFRESH_POLL_MS (10 to
 * 3600000) replaces the poll interval, so that a test sees a new version
 * within a fraction of a second. redgrey(8) documents it.
 *
 * Thread-safety: refresh_start() and refresh_stop() from the main thread;
 * refresh_expand() from one thread at a time per process.
 */
#ifndef REDGREY_REFRESH_H
#define REDGREY_REFRESH_H

#include <stddef.h>

#include "cfg.h"
#include "spf_expand.h"
#include "store.h"

#define REFRESH_POLL_MS     60000        /* store poll interval, +-10 % jitter */
#define REFRESH_RETRY_MAX   3600         /* seconds before a failed expansion is retried */

/* What one expansion found and did. */
struct refresh_outcome {
    struct spf_expand_result result;     /* status, new set (NULL once stored), report */
    size_t  ndomains;                    /* domains in the list file */
    int     stopped;                     /* 1: cut short by refresh_stop() */
    int     have_old;                    /* a readable set was in the store */
    struct store_blob_meta old;          /* its version and time */
    size_t  old_ranges;                  /* its merged ranges */
    enum spf_expand_decision decision;   /* spf_expand_decide's answer */
    int     stored;                      /* 1: the new set was written */
    struct store_blob_meta meta;         /* the written version and time */
    size_t  ranges;                      /* merged ranges of the new set */
    struct netset *set;                  /* the written set (owned), for installing */
};

/*
 * refresh_check - load cfg's spf_domains list now and drop it, so that a
 * bad list stops the daemon at start (and fails redgrey -t) instead of
 * being found by the first expansion hours later. No list ("") is fine.
 * Returns 0, or -1 with "FILE:LINE: reason" in err.
 */
int     refresh_check(const struct cfg *cfg, char *err, size_t errlen);

/*
 * refresh_expand - read cfg's spf_domains list, expand it through the
 * resolver cfg names (dns_servers, dns_timeout per query), read the
 * stored set, and store the new one if spf_expand_decide() says so: a
 * failed or partial expansion never replaces a good set. Returns 0 with
 * *out filled (out->stored says whether anything was written), or -1 with
 * a reason in err when it could not try (no list, bad list, resolver,
 * store read or write). Release out with refresh_outcome_fini().
 */
int     refresh_expand(const struct cfg *cfg, struct store *st, struct refresh_outcome *out,
                       char *err, size_t errlen);

/* refresh_outcome_fini - free what out holds; NULL is a no-op */
void    refresh_outcome_fini(struct refresh_outcome *out);

/*
 * refresh_start - load the stored set (if any) into memory now, before
 * the daemon serves, then start the refresh thread. cfg and st must
 * outlive refresh_stop(). Returns 0, or -1 with a reason in err if the
 * thread cannot start; a store without a set, or one that cannot be read
 * now, is logged and retried by the thread.
 */
int     refresh_start(const struct cfg *cfg, struct store *st, char *err, size_t errlen);

/*
 * refresh_stop - stop the thread and wait for it (an expansion in progress
 * stops after the domain it is on), then drop the in-memory set.
 * Idempotent; a no-op if refresh_start() was not called.
 */
void    refresh_stop(void);

/*
 * refresh_stop_within - refresh_stop(), bounded: the thread is asked to
 * stop and given ms to finish (an expansion stops after the domain it is
 * on, which may take long on slow DNS). Returns 0 once it is stopped as by
 * refresh_stop(), or -1 if it is still running: then cfg and st must stay
 * (the daemon exits without freeing them).
 */
int     refresh_stop_within(long ms);

#endif
