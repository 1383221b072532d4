/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_logreport.h - redgreyctl log-report: greylisted-and-never-retried
 * and passed triplets from redgrey's decision log lines, by sender domain
 * and client key (ctl_logreport.c says what it reads).
 *
 * Thread-safety: one call at a time (a sort reads a file-scope pointer).
 */
#ifndef REDGREY_CTL_LOGREPORT_H
#define REDGREY_CTL_LOGREPORT_H

/*
 * ctl_logreport - read the nfiles files (none, or "-": standard input)
 * and print the report (JSON with json, every group with verbose);
 * CTL_OK, or CTL_TROUBLE when a file cannot be read
 */
int     ctl_logreport(int nfiles, char **files, int verbose, int json);

#endif
