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
 * spf_shared_reconfigure() from one thread at a time (the reload) while
 * sessions run; spf_shared_check_client() from any thread (a bracket
 * of grace.h around the check: a reconfigure waits for the checks that
 * use the old checker, at most about dns_timeout); spf_shared_check()
 * from any thread.
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

/*
 * spf_shared_reconfigure - build a checker from c (the reloaded
 * configuration: dns_servers, dns_timeout, spf_probe, spf_key_max_v4/v6)
 * and swap it in, if one of those changed (else nothing happens); the
 * old one is freed once no check uses it (its caches go with it). On
 * failure the old one stays: -1 with a reason in err.
 */
int     spf_shared_reconfigure(const struct cfg *c, char *err, size_t errlen);

/*
 * spf_shared_get - the shared checker, or NULL outside init..fini; never
 * waits. Only for a caller that no reconfigure can race (tests, the main
 * thread); sessions use spf_shared_check_client().
 */
struct spf_check *spf_shared_get(void);

/* spf_shared_check_client - spf_check_client() with the shared checker */
int     spf_shared_check_client(const struct ipaddr *ip, const char *helo, const char *sender,
                                struct spf_result *out);

/*
 * spf_shared_verdict - `redgreyctl [-c path] spf-verdict DOMAIN IP
 * [SENDER]`: the SPF result and spf_guard_explain() on stdout, with the
 * checker the daemon would build from path. Exit status: 0 a pass keys on
 * the domain, 1 it does not (or no pass), 2 trouble.
 */
int     spf_shared_verdict(const char *path, int argc, char **argv);

/* spf_shared_fini - free the shared checker; only once no session uses it; idempotent */
void    spf_shared_fini(void);

#endif
