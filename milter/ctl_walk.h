/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_walk.h - redgreyctl's commands over the whole store (ctl_walk.c).
 * Each prints its report (JSON with x->json) and returns the exit code.
 *
 * Thread-safety: redgreyctl is single-threaded.
 */
#ifndef REDGREY_CTL_WALK_H
#define REDGREY_CTL_WALK_H

#include "ctl.h"

/*
 * ctl_walk_stats - pending and passed triplets, AWL entries, expired
 * ones not yet swept, and the stored big-sender set (version, age,
 * size; "not used" when spf_domains is empty). CTL_OK or CTL_TROUBLE.
 */
int     ctl_walk_stats(const struct ctl *x);

/*
 * ctl_walk_report - the triplets greylisted and never retried, grouped
 * by sender domain and client netblock, and the passed ones with their
 * delays; x->since limits it to the triplets first seen that recently.
 */
int     ctl_walk_report(const struct ctl *x);

#endif
