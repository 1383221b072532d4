/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * promtext.h - the metrics tests' helpers for a Prometheus text
 * exposition (check_metrics.c, check_metrics_text.c).
 *
 * Thread-safety: any thread; promtext_check and promtext_documented
 * assert with check(3), so from the test's own thread.
 */
#ifndef REDGREY_TEST_PROMTEXT_H
#define REDGREY_TEST_PROMTEXT_H

#define PROMTOOL "/usr/bin/promtool"     /* Debian's prometheus package */

/*
 * promtext_value - the value of the sample series (name{labels}, exactly
 * as written) in text; absent if it is not there
 */
double  promtext_value(const char *text, const char *series, double absent);

/* promtext_counter - promtext_value of a counter series, 0 if not written yet */
double  promtext_counter(const char *text, const char *series);

/*
 * promtext_check - run `promtool check metrics` on text; fails the test
 * unless it exits 0 and prints nothing (no lint problem is accepted)
 */
void    promtext_check(const char *text);

/* promtext_documented - fails the test unless every metric of text is under METRICS in redgrey.8 */
void    promtext_documented(const char *text);

#endif
