/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rgbench_workload.c - the load driver's messages, made from numbers.
 *
 * Every message is a pure function of (seed, thread, index, variant): a
 * 64-bit hash picks the client's network (a /24 of 10.0.0.0/8, or a /64 of
 * 2001:db8::/32 for the configured share of IPv6 clients) and the sender's
 * domain; a second hash, which also takes the variant, picks the host in
 * that network, the sender's local part and the recipients. So a message
 * replayed after a preload is the same triplet, and an awl message in the
 * measured variant is a new triplet of the same (network, sender domain)
 * pair. Nothing is stored; nothing is shared between threads.
 *
 * With -S the sender's domain is one of a file's (index i = hash % n) and
 * an IPv4 client lies in 10.(i % 256).0.0/16, an IPv6 client in
 * 2001:db8:i::/48, so that a zone made for the file can authorise them
 * (bench/part_feat.sh does). Inside those, a domain sends from 4 /24s
 * (or /64s) only, as a domain's outbound servers do: results cached per
 * (domain, netblock) can then be reused. With -I N the clients are N IPv4 addresses
 * of 10.200.0.0/16 only, each the same host of its /24 every time (a
 * small repeating population, as for a DNS-list cache).
 *
 * The addresses are documentation and private ranges that exist only
 * inside the milter protocol: the driver never sends a packet to them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rgbench.h"

/*
 * The mixed blend: a cycle of 20 messages, 5 new (25%), 2 retry (10%) and
 * 13 awl (65%), spread out so that every stretch of the cycle mixes them.
 */
static const char rgb_mixed_cycle[] = "NAARNAANAANANARANAAN";

#define RGB_CYCLE (sizeof(rgb_mixed_cycle) - 1)

/* Local domains the recipients belong to, as on a typical MX. */
static const char *const rgb_rcpt_domains[] = {
    "example.net", "mail.example.net", "example.com", "lists.example.com",
};

/* rgb_mix - the SplitMix64 finaliser: a bijection that scatters bits */
static uint64_t
rgb_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

#define RGB_DOMAINS_MAX 100000

/* rgb_domains_load - see rgbench.h */
int
rgb_domains_load(struct rgb_options *o, const char *path)
{
    FILE   *fp = fopen(path, "r");
    char    line[256];
    size_t  cap = 0;

    if (fp == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        size_t  len = strcspn(line, " \t\r\n#");

        if (len == 0)
            continue;
        if (len >= RGB_ADDR_MAX - 20 || o->ndomains >= RGB_DOMAINS_MAX) {
            fprintf(stderr, "rgbench: %s: too many or too long names\n", path);
            fclose(fp);
            return -1;
        }
        if (o->ndomains == cap) {
            char  **d = realloc(o->domains, (cap = cap ? 2 * cap : 64) * sizeof(*d));

            if (d == NULL) {
                fclose(fp);
                return -1;
            }
            o->domains = d;
        }
        line[len] = '\0';
        if ((o->domains[o->ndomains] = strdup(line)) == NULL) {
            fclose(fp);
            return -1;
        }
        o->ndomains++;
    }
    fclose(fp);
    if (o->ndomains == 0) {
        fprintf(stderr, "rgbench: %s: no domains\n", path);
        return -1;
    }
    return 0;
}

/* rgb_workload_parse - a workload by name */
int
rgb_workload_parse(const char *name, enum rgb_workload *out)
{
    static const struct {
        const char *name;
        enum rgb_workload w;
    } names[] = {
        {"new", RGB_WORKLOAD_NEW},
        {"retry", RGB_WORKLOAD_RETRY},
        {"awl", RGB_WORKLOAD_AWL},
        {"mixed", RGB_WORKLOAD_MIXED},
    };

    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].w;
            return 0;
        }
    }
    return -1;
}

/* rgb_workload_name - the name of a workload */
const char *
rgb_workload_name(enum rgb_workload w)
{
    switch (w) {
    case RGB_WORKLOAD_NEW:
        return "new";
    case RGB_WORKLOAD_RETRY:
        return "retry";
    case RGB_WORKLOAD_AWL:
        return "awl";
    case RGB_WORKLOAD_MIXED:
        return "mixed";
    }
    return "?";
}

/* rgb_category - the category of message k of thread t */
enum rgb_category
rgb_category(const struct rgb_options *o, int t, uint64_t k)
{
    switch (o->workload) {
    case RGB_WORKLOAD_NEW:
        return RGB_CAT_NEW;
    case RGB_WORKLOAD_RETRY:
        return RGB_CAT_RETRY;
    case RGB_WORKLOAD_AWL:
        return RGB_CAT_AWL;
    case RGB_WORKLOAD_MIXED:
        break;
    }

    /* Each thread enters the cycle at its own place. */
    switch (rgb_mixed_cycle[(k + (uint64_t) t * 7) % RGB_CYCLE]) {
    case 'R':
        return RGB_CAT_RETRY;
    case 'A':
        return RGB_CAT_AWL;
    default:
        return RGB_CAT_NEW;
    }
}

/* rgb_message_make - message k of thread t */
void
rgb_message_make(const struct rgb_options *o, int t, uint64_t k,
                 enum rgb_category cat, enum rgb_variant v, struct rgb_message *out)
{
    uint64_t pair = rgb_mix(rgb_mix(o->seed) ^ rgb_mix(((uint64_t) t << 40) ^ k));
    uint64_t dom = rgb_mix(pair ^ 0x646f6d61696eULL);
    uint64_t ident;
    unsigned host;
    size_t  didx;

    /*
     * Only awl messages differ between the variants: a retry replays the
     * preloaded triplet exactly, a new message is never preloaded.
     */
    if (cat != RGB_CAT_AWL)
        v = RGB_VARIANT_PRELOAD;
    ident = rgb_mix(pair ^ ((uint64_t) v + 1) * 0x5851f42d4c957f2dULL);
    host = 1 + (unsigned) (ident % 254);

    out->category = cat;
    out->expect = cat == RGB_CAT_NEW ? RGB_EXPECT_GREYLIST : RGB_EXPECT_PASS;
    out->port = (uint16_t) (1024 + (ident >> 16) % 60000);
    didx = o->ndomains > 0 ? (size_t) (dom % o->ndomains) : 0;
    if (o->clients > 0) {
        uint64_t j = (pair >> 20) % o->clients;

        out->family = '4';
        snprintf(out->addr, sizeof(out->addr), "10.200.%u.%u",
                 (unsigned) (j / 254 % 256), (unsigned) (1 + j % 254));
    } else if ((pair % 100) < (uint64_t) o->v6_percent) {
        out->family = '6';
        snprintf(out->addr, sizeof(out->addr), "2001:db8:%x:%x::%x",
                 o->ndomains > 0 ? (unsigned) didx : (unsigned) ((pair >> 8) & 0xffff),
                 o->ndomains > 0 ? (unsigned) ((pair >> 24) % 4)
                 : (unsigned) ((pair >> 24) & 0xffff), host);
    } else {
        out->family = '4';
        snprintf(out->addr, sizeof(out->addr), "10.%u.%u.%u",
                 o->ndomains > 0 ? (unsigned) (didx % 256) : (unsigned) ((pair >> 8) & 0xff),
                 o->ndomains > 0 ? (unsigned) (didx / 256 % 64 * 4 + (pair >> 16) % 4)
                 : (unsigned) ((pair >> 16) & 0xff), host);
    }
    snprintf(out->host, sizeof(out->host), "mx-%08" PRIx32 ".d%08" PRIx32 ".example.org",
             (uint32_t) ident, (uint32_t) dom);
    snprintf(out->queue_id, sizeof(out->queue_id), "%X%010" PRIX64, (unsigned) t, k);
    if (o->ndomains > 0)
        snprintf(out->sender_addr, sizeof(out->sender_addr), "u%012" PRIx64 "@%s",
                 ident >> 16, o->domains[didx]);
    else
        snprintf(out->sender_addr, sizeof(out->sender_addr), "u%012" PRIx64 "@d%08" PRIx32
                 ".example.org", ident >> 16, (uint32_t) dom);
    snprintf(out->sender, sizeof(out->sender), "<%s>", out->sender_addr);

    out->nrcpts = o->rcpts < RGB_RCPTS_MAX ? o->rcpts : RGB_RCPTS_MAX;
    for (int i = 0; i < out->nrcpts; i++) {
        uint64_t r = rgb_mix(ident ^ ((uint64_t) i << 48));

        snprintf(out->rcpt_addr[i], sizeof(out->rcpt_addr[i]), "r%012" PRIx64 "@%s",
                 r >> 16, rgb_rcpt_domains[r % 4]);
        snprintf(out->rcpt[i], sizeof(out->rcpt[i]), "<%s>", out->rcpt_addr[i]);
    }
}
