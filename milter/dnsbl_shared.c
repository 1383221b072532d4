/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnsbl_shared.c - the DNS-list checker and the dynamic-name patterns
 * every session of the daemon uses, swapped by a reload under a grace
 * period (see dnsbl_shared.h). The checker keeps a copy of its sites, so
 * that the zones that listed a client can be named in the log line.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl_shared.h"
#include "grace.h"
#include "log.h"
#include "metrics.h"
#include "suspicious.h"
#include "xalloc.h"

/* A checker with the sites it was built from. */
struct dnsbl_shared_chk {
    struct dnsbl *d;
    struct dnsbl_sites sites;
};

static _Atomic(struct dnsbl_shared_chk *) dnsbl_shared_cur;     /* NULL: no lists */
static _Atomic(struct suspicious_patterns *) dnsbl_shared_pat;  /* NULL: none */
static struct grace dnsbl_shared_grace;                         /* readers of both */
static char dnsbl_shared_settings[DNSBL_SITES_TEXT_MAX + 512];  /* the checker's */
static int dnsbl_shared_built;                                  /* settings are valid */

/* dnsbl_shared_settings_of - the checker's settings of c as one string */
static void
dnsbl_shared_settings_of(const struct cfg *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s|%d|%s", c->dnsbl_sites != NULL ? c->dnsbl_sites : "",
             c->dnsbl_timeout_ms, c->dns_servers != NULL ? c->dns_servers : "");
}

/* dnsbl_shared_free_chk - free a checker and its sites; NULL is fine */
static void
dnsbl_shared_free_chk(struct dnsbl_shared_chk *k)
{
    if (k == NULL)
        return;
    dnsbl_free(k->d);
    free(k);
}

/*
 * dnsbl_shared_new - a checker for c, in *out (NULL for empty
 * dnsbl_sites). Returns 0, or -1 with err.
 */
static int
dnsbl_shared_new(const struct cfg *c, struct dnsbl_shared_chk **out, char *err, size_t errlen)
{
    struct dnsbl_shared_chk *k;
    struct dnsbl_params p;
    char    servers[300], why[256];

    *out = NULL;
    if (c->dnsbl_sites == NULL || c->dnsbl_sites[0] == '\0')
        return 0;
    k = xcalloc(1, sizeof(*k));
    if (dnsbl_sites_parse(c->dnsbl_sites, &k->sites, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "dnsbl_sites: %s", why);
        free(k);
        return -1;
    }
    /* dns_servers is blank separated; c-ares wants commas. */
    snprintf(servers, sizeof(servers), "%s", c->dns_servers != NULL ? c->dns_servers : "");
    for (char *s = servers; *s != '\0'; s++)
        if (*s == ' ' || *s == '\t')
            *s = ',';
    dnsbl_params_init(&p);
    p.sites = &k->sites;
    p.timeout_ms = c->dnsbl_timeout_ms;
    p.servers = servers[0] != '\0' ? servers : NULL;
    why[0] = '\0';
    if ((k->d = dnsbl_new(&p, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "DNS-list checker: %s", why[0] != '\0' ? why : "cannot create");
        free(k);
        return -1;
    }
    *out = k;
    return 0;
}

/* dnsbl_shared_check_cfg - build both and drop them */
int
dnsbl_shared_check_cfg(const struct cfg *c, char *err, size_t errlen)
{
    struct dnsbl_shared_chk *k;
    struct suspicious_patterns *p;

    if (dnsbl_shared_new(c, &k, err, errlen) != 0)
        return -1;
    dnsbl_shared_free_chk(k);
    if ((p = suspicious_patterns_load(c->dynamic_patterns, err, errlen)) == NULL)
        return -1;
    suspicious_patterns_free(p);
    return 0;
}

/*
 * dnsbl_shared_install - swap in k (if swap_chk) and p, then free what
 * they replace once no reader holds it
 */
static void
dnsbl_shared_install(int swap_chk, struct dnsbl_shared_chk *k, struct suspicious_patterns *p)
{
    struct dnsbl_shared_chk *old_k = swap_chk ? atomic_exchange(&dnsbl_shared_cur, k) : NULL;
    struct suspicious_patterns *old_p = atomic_exchange(&dnsbl_shared_pat, p);

    if (old_k == NULL && old_p == NULL)
        return;
    grace_wait(&dnsbl_shared_grace);
    dnsbl_shared_free_chk(old_k);
    suspicious_patterns_free(old_p);
}

/* dnsbl_shared_reconfigure - new patterns always, a new checker if its settings changed */
int
dnsbl_shared_reconfigure(const struct cfg *c, char *err, size_t errlen)
{
    char    now[sizeof(dnsbl_shared_settings)];
    struct dnsbl_shared_chk *k = NULL;
    struct suspicious_patterns *p;
    int     rebuild;

    dnsbl_shared_settings_of(c, now, sizeof(now));
    rebuild = !dnsbl_shared_built || strcmp(now, dnsbl_shared_settings) != 0;
    if (rebuild && dnsbl_shared_new(c, &k, err, errlen) != 0)
        return -1;
    if ((p = suspicious_patterns_load(c->dynamic_patterns, err, errlen)) == NULL) {
        dnsbl_shared_free_chk(k);
        return -1;
    }
    dnsbl_shared_install(rebuild, k, p);
    if (rebuild && dnsbl_shared_built)
        log_info("dnsbl: checker rebuilt from the reloaded configuration (%s)",
                 k != NULL ? "lists on" : "no lists");
    memcpy(dnsbl_shared_settings, now, sizeof(now));
    dnsbl_shared_built = 1;
    return 0;
}

/* dnsbl_shared_init - the first build */
int
dnsbl_shared_init(const struct cfg *c, char *err, size_t errlen)
{
    dnsbl_shared_built = 0;
    return dnsbl_shared_reconfigure(c, err, errlen);
}

/* dnsbl_shared_zones - the names of the zones in mask, comma separated, into buf */
static void
dnsbl_shared_zones(const struct dnsbl_sites *s, uint32_t mask, char *buf, size_t len)
{
    size_t  n = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t z = 0; z < s->nzones && n < len; z++) {
        int     w;

        if ((mask & (UINT32_C(1) << z)) == 0)
            continue;
        w = snprintf(buf + n, len - n, "%s%s", n > 0 ? "," : "", s->zones[z]);
        if (w < 0 || (size_t) w >= len - n) {
            buf[n] = '\0';               /* cut at a whole zone */
            return;
        }
        n += (size_t) w;
    }
}

/* dnsbl_popcount - set bits of m */
static unsigned
dnsbl_popcount(uint32_t m)
{
    unsigned n = 0;

    for (; m != 0; m &= m - 1)
        n++;
    return n;
}

/* dnsbl_shared_check - the shared checker's result for ip, in a bracket */
int
dnsbl_shared_check(const struct ipaddr *ip, struct dnsbl_result *out, char *zones, size_t zlen)
{
    unsigned token = grace_enter(&dnsbl_shared_grace);
    struct dnsbl_shared_chk *k = atomic_load(&dnsbl_shared_cur);

    memset(out, 0, sizeof(*out));
    if (zlen > 0)
        zones[0] = '\0';
    if (k == NULL) {
        grace_leave(&dnsbl_shared_grace, token);
        return -1;
    }
    /* -1: no query could be sent; out then says every zone failed, score 0. */
    (void) dnsbl_check(k->d, ip, out);
    dnsbl_shared_zones(&k->sites, out->listed, zones, zlen);
    grace_leave(&dnsbl_shared_grace, token);
    /* A cached result's zones were counted when it was made. */
    metrics_dnsbl(out->elapsed_ms, out->cached, out->cached ? 0 : dnsbl_popcount(out->timed_out),
                  out->cached ? 0 : dnsbl_popcount(out->failed));
    return 0;
}

/* dnsbl_shared_dynamic - the patterns in a bracket */
int
dnsbl_shared_dynamic(const char *name, const struct ipaddr *ip)
{
    unsigned token = grace_enter(&dnsbl_shared_grace);
    int     rc = suspicious_name_dynamic(atomic_load(&dnsbl_shared_pat), name, ip);

    grace_leave(&dnsbl_shared_grace, token);
    return rc;
}

/* dnsbl_shared_fini - free both */
void
dnsbl_shared_fini(void)
{
    dnsbl_shared_install(1, NULL, NULL);
    dnsbl_shared_built = 0;
}
