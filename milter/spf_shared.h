/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_shared.h - the daemon's one SPF checker, built from the
 * configuration (dns_servers, dns_timeout, spf_probe) and shared by every
 * session.
 *
 * The checker itself (common/spf_check.h) is safe to use from any number
 * of threads; this module only builds it from a cfg, keeps the one the
 * daemon uses, and frees it at exit.
 *
 * Thread-safety: spf_shared_init() and spf_shared_fini() in the main
 * thread, before the sessions start and after they are over;
 * spf_shared_get() from any thread in between; spf_shared_check() from
 * any thread.
 */
#ifndef REDGREY_SPF_SHARED_H
#define REDGREY_SPF_SHARED_H

#include <stddef.h>

#include "cfg.h"
#include "spf_check.h"

/*
 * spf_shared_check - build a checker from c and drop it: what redgrey -t
 * checks. Returns 0, or -1 with a reason in err.
 */
int     spf_shared_check(const struct cfg *c, char *err, size_t errlen);

/*
 * spf_shared_init - build the shared checker from c. Returns 0, or -1
 * with a reason in err (a bad spf_probe, a resolver that cannot start).
 */
int     spf_shared_init(const struct cfg *c, char *err, size_t errlen);

/* spf_shared_get - the shared checker, or NULL outside init..fini; never waits */
struct spf_check *spf_shared_get(void);

/* spf_shared_fini - free the shared checker; only once no session uses it; idempotent */
void    spf_shared_fini(void);

#endif
