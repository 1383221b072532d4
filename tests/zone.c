/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zone.c - test DNS layers for libspf2 (see zone.h): a zone from a
 * table, and a slow layer over another.
 */
#include "config.h"

#include <check.h>
#include <netdb.h>
#include <stdlib.h>
#include <time.h>

#include <arpa/inet.h>

#include "zone.h"

/* A slow layer: libspf2's layer first, so that the two pointers are one. */
struct zone_slow {
    SPF_dns_server_t srv;
    long    ms;                          /* sleep before each lookup */
};

/* zone_new - SPF_dns_zone_add_str for each record, asserted */
SPF_dns_server_t *
zone_new(const struct zone_rec *recs, size_t n)
{
    SPF_dns_server_t *z = SPF_dns_zone_new(NULL, "test", 0);
    size_t  i;

    ck_assert_ptr_nonnull(z);
    for (i = 0; i < n && recs[i].name; i++) {
        SPF_errcode_t e = SPF_dns_zone_add_str(z, recs[i].name, recs[i].type,
                                               recs[i].herrno ? recs[i].herrno : NETDB_SUCCESS,
                                               recs[i].data);

        ck_assert_msg(e == SPF_E_SUCCESS, "zone add %s: error %d", recs[i].name, e);
    }
    return z;
}

/* zone_slow_lookup - sleep, then ask the layer below */
static SPF_dns_rr_t *
zone_slow_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
    const struct zone_slow *s = (const struct zone_slow *) srv;
    struct timespec ts = {s->ms / 1000, (s->ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    return srv->layer_below->lookup(srv->layer_below, domain, type, should_cache);
}

/* zone_slow_destroy - the layer itself; SPF_dns_free goes on below */
static void
zone_slow_destroy(SPF_dns_server_t *srv)
{
    free(srv);
}

/* zone_slow_new - the slow layer over below */
SPF_dns_server_t *
zone_slow_new(SPF_dns_server_t *below, long ms)
{
    struct zone_slow *s = calloc(1, sizeof(*s));

    ck_assert_ptr_nonnull(s);
    s->ms = ms;
    s->srv.lookup = zone_slow_lookup;
    s->srv.destroy = zone_slow_destroy;
    s->srv.layer_below = below;
    s->srv.name = "slow";
    return &s->srv;
}
