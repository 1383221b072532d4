/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_shared.c - the SPF checker every session of the daemon uses: built
 * once from the configuration, read through one pointer that is set
 * before the sessions start and cleared after they are over, so that a
 * reader needs neither a lock nor a reference.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ipaddr.h"
#include "spf_shared.h"

static struct spf_check *spf_shared_chk; /* the shared checker, or NULL */

/* spf_shared_new - a checker for c's DNS settings; NULL with err */
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

/* spf_shared_init - build the shared checker (replacing none) */
int
spf_shared_init(const struct cfg *c, char *err, size_t errlen)
{
    struct spf_check *chk = spf_shared_new(c, err, errlen);

    if (chk == NULL)
        return -1;
    spf_shared_fini();
    spf_shared_chk = chk;
    return 0;
}

/* spf_shared_get - the shared checker */
struct spf_check *
spf_shared_get(void)
{
    return spf_shared_chk;
}

/* spf_shared_fini - free it */
void
spf_shared_fini(void)
{
    spf_check_free(spf_shared_chk);
    spf_shared_chk = NULL;
}
