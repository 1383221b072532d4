/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_entry.h - redgreyctl's commands on one triplet (ctl_entry.c).
 * Each prints its report (JSON with x->json) and returns the exit code.
 *
 * Thread-safety: redgreyctl is single-threaded.
 */
#ifndef REDGREY_CTL_ENTRY_H
#define REDGREY_CTL_ENTRY_H

#include "ctl.h"

/*
 * ctl_entry_lookup - the key of (ip, sender, rcpt) as the milter makes
 * it (helo: the HELO name, for the SPF check of <>; may be NULL), its
 * state in the store, the whitelists it hits, and the decision now.
 * Changes nothing. CTL_OK would pass, CTL_NO would greylist, CTL_TROUBLE.
 */
int     ctl_entry_lookup(const struct ctl *x, const char *ip, const char *sender,
                         const char *rcpt, const char *helo);

/*
 * ctl_entry_change - pass (release: the next attempt passes) or delete
 * the triplet. CTL_OK done, CTL_NO nothing to delete, CTL_TROUBLE.
 */
int     ctl_entry_change(const struct ctl *x, int delete, const char *ip, const char *sender,
                         const char *rcpt, const char *helo);

#endif
