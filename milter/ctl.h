/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl.h - what redgreyctl's commands share: the exit codes, the context
 * a command runs in, and the time format (redgreyctl.c). The commands
 * on one triplet are in ctl_entry.c, the walks over the store in
 * ctl_walk.c, the rest in redgreyctl.c.
 *
 * Thread-safety: redgreyctl is single-threaded.
 */
#ifndef REDGREY_CTL_H
#define REDGREY_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "store.h"

#define CTL_OK       0                   /* done, listed, would pass */
#define CTL_NO       1                   /* nothing stored, not listed, no set, would greylist */
#define CTL_TROUBLE  2                   /* usage, configuration, store */

/* What a command runs with. */
struct ctl {
    const struct cfg *c;                 /* the daemon's configuration */
    struct store *st;                    /* opened as the daemon opens it */
    int     json;                        /* --json: one JSON document on stdout */
    int     verbose;                     /* -v */
    int64_t since;                       /* report --since: seconds; 0 = all */
};

/* ctl_time - a unix time as "2024-06-10 06:13:20 UTC" into buf; returns buf */
const char *ctl_time(int64_t t, char *buf, size_t len);

#endif
