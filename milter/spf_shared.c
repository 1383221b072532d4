/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_shared.c - the SPF checker every session of the daemon uses: built
 * from the configuration, read through one atomic pointer under a grace
 * period (grace.h), so that a reload can swap it (spf_shared_reconfigure)
 * while sessions check: a reader brackets its whole check, the writer
 * swaps, waits for the brackets open at the swap, then frees the old one.
 * Also the `redgreyctl spf-verdict` command, which builds the same
 * checker from the configuration file.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "grace.h"
#include "ipaddr.h"
#include "log.h"
#include "spf_shared.h"

static _Atomic(struct spf_check *) spf_shared_chk;   /* the shared checker, or NULL */
static struct grace spf_shared_grace;                /* its readers */
static char spf_shared_settings[512];                /* what it was built from */

/* spf_shared_settings_of - c's SPF settings as one string, into buf */
static void
spf_shared_settings_of(const struct cfg *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s|%d|%s|%d|%d", c->dns_servers ? c->dns_servers : "", c->dns_timeout_ms,
             c->spf_probe ? c->spf_probe : "", c->spf_key_max_v4, c->spf_key_max_v6);
}

/* spf_shared_new - a checker for c's DNS and guard settings; NULL with err */
static struct spf_check *
spf_shared_new(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_check_opts o;
    struct ipaddr probe;
    char    why[256];
    struct spf_check *chk;

    memset(&o, 0, sizeof(o));
    o.dns_timeout_ms = c->dns_timeout_ms;
    o.dns_servers = c->dns_servers != NULL && c->dns_servers[0] != '\0' ? c->dns_servers : NULL;
    o.max_v4_prefix = (unsigned) c->spf_key_max_v4;
    o.max_v6_prefix = (unsigned) c->spf_key_max_v6;
    if (c->spf_probe != NULL && c->spf_probe[0] != '\0') {
        if (ipaddr_parse(c->spf_probe, &probe) != 0) {
            snprintf(err, errlen, "spf_probe: bad address \"%s\"", c->spf_probe);
            return NULL;
        }
        o.probe = &probe;
    }
    why[0] = '\0';
    if ((chk = spf_check_new(&o, NULL, why, sizeof(why))) == NULL)
        snprintf(err, errlen, "SPF checker: %s", why[0] != '\0' ? why : "cannot create");
    return chk;
}

/* spf_shared_check - build and drop */
int
spf_shared_check(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_check *chk = spf_shared_new(c, err, errlen);

    if (chk == NULL)
        return -1;
    spf_check_free(chk);
    return 0;
}

/* spf_shared_install - put chk in place and free the one it replaces, once unread */
static void
spf_shared_install(struct spf_check *chk)
{
    struct spf_check *old = atomic_exchange(&spf_shared_chk, chk);

    if (old != NULL) {
        grace_wait(&spf_shared_grace);
        spf_check_free(old);
    }
}

/* spf_shared_init - build the shared checker */
int
spf_shared_init(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_check *chk = spf_shared_new(c, err, errlen);

    if (chk == NULL)
        return -1;
    spf_shared_install(chk);
    spf_shared_settings_of(c, spf_shared_settings, sizeof(spf_shared_settings));
    return 0;
}

/* spf_shared_reconfigure - a new checker from c if its settings changed, or the old one kept */
int
spf_shared_reconfigure(const struct cfg *c, char *err, size_t errlen)
{
    char    now[sizeof(spf_shared_settings)];

    spf_shared_settings_of(c, now, sizeof(now));
    if (atomic_load(&spf_shared_chk) != NULL && strcmp(now, spf_shared_settings) == 0)
        return 0;                        /* unchanged: keep the checker and its caches */
    if (spf_shared_init(c, err, errlen) != 0)
        return -1;
    log_info("spf: checker rebuilt from the reloaded configuration");
    return 0;
}

/* spf_shared_get - the shared checker */
struct spf_check *
spf_shared_get(void)
{
    return atomic_load(&spf_shared_chk);
}

/* spf_shared_check_client - spf_check_client with the shared checker, in a bracket */
int
spf_shared_check_client(const struct ipaddr *ip, const char *helo, const char *sender,
                        struct spf_result *out)
{
    unsigned token = grace_enter(&spf_shared_grace);
    int     rc = spf_check_client(atomic_load(&spf_shared_chk), ip, helo, sender, out);

    grace_leave(&spf_shared_grace, token);
    return rc;
}

/* spf_shared_fini - free it */
void
spf_shared_fini(void)
{
    spf_shared_install(NULL);
}

/* spf_shared_verdict - redgreyctl spf-verdict DOMAIN IP [SENDER] */
int
spf_shared_verdict(const char *path, int argc, char **argv)
{
    char    err[CFG_ERRLEN], sender[SPF_GUARD_SENDER_MAX + 1];
    struct spf_check *chk;
    struct spf_result r;
    struct ipaddr ip;
    struct cfg *c;
    int     rc;

    if (argc < 2 || argc > 3 || ipaddr_parse(argv[1], &ip) != 0) {
        fprintf(stderr, "usage: redgreyctl [-c FILE] spf-verdict DOMAIN IP [SENDER]\n");
        return 2;
    }
    if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgreyctl: %s\n", err);
        return 2;
    }
    log_init("redgreyctl", c->log_facility, c->log_level, 1);
    if ((chk = spf_shared_new(c, err, sizeof(err))) == NULL) {
        fprintf(stderr, "redgreyctl: %s\n", err);
        cfg_free(c);
        return 2;
    }
    snprintf(sender, sizeof(sender), "%s", argc == 3 ? argv[2] : argv[0]);
    spf_check_client(chk, &ip, NULL, sender, &r);
    printf("spf result for %s from %s: %s%s\n", sender, argv[1], spf_check_result_name(r.result),
           r.result == SPF_CHECK_PASS ? "" : " (only a pass can key on the domain)");
    rc = spf_guard_explain(spf_check_guard(chk), r.domain[0] ? r.domain : argv[0], &ip, stdout);
    if (r.result != SPF_CHECK_PASS)
        rc = 1;
    spf_check_free(chk);
    cfg_free(c);
    return fflush(stdout) == 0 ? rc : 2;
}
