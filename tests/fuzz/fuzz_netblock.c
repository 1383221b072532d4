/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_netblock.c - address and CIDR parsing (ipaddr.c, netblock.c) and
 * netsets, on the lines of the input.
 *
 * Invariants: what parses formats to text that parses to the same value;
 * a parsed block contains its own address and its edges; a netset built
 * from every parsed block contains each block's first address.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netblock.h"

#define LINES_MAX 64

/* one_line - the checks on one line; a block that parsed goes into set */
static void
one_line(const char *line, struct netset *set, struct netblock *blocks, size_t *nblocks)
{
    char    buf[NETBLOCK_STRLEN], err[256];
    struct ipaddr ip, ip2;
    struct netblock nb, nb2;

    if (ipaddr_parse(line, &ip) == 0) {
        ipaddr_format(&ip, buf, sizeof(buf));
        fuzz_check(ipaddr_parse(buf, &ip2) == 0 && ipaddr_equal(&ip, &ip2));
        netblock_mask(&ip, 24, &nb);
        fuzz_check(netblock_contains(&nb, &ip));
    }
    err[0] = '\0';
    if (netblock_parse(line, &nb, err, sizeof(err)) < 0) {
        fuzz_check(err[0] != '\0');
        return;
    }
    fuzz_check(nb.prefix <= ipaddr_bits(&nb.addr));
    netblock_format(&nb, buf, sizeof(buf));
    fuzz_check(netblock_parse(buf, &nb2, err, sizeof(err)) == 0);
    fuzz_check(ipaddr_equal(&nb.addr, &nb2.addr) && nb.prefix == nb2.prefix);
    fuzz_check(netblock_contains(&nb, &nb.addr));
    netset_add(set, &nb);
    if (*nblocks < LINES_MAX)
        blocks[(*nblocks)++] = nb;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *s = fuzz_str(data, size), *line, *next;
    struct netset *set = netset_new();
    struct netblock blocks[LINES_MAX];
    size_t  nblocks = 0, nlines = 0;

    for (line = s; line != NULL && nlines < LINES_MAX; line = next, nlines++) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        one_line(line, set, blocks, &nblocks);
    }
    netset_finish(set);
    fuzz_check(netset_count(set) <= nblocks || nblocks == LINES_MAX);
    for (size_t i = 0; i < nblocks; i++)
        fuzz_check(netset_contains(set, &blocks[i].addr));
    netset_free(set);
    free(s);
    return 0;
}
