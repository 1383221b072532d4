/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * promtext.c - what the metrics tests do with a Prometheus text
 * exposition: read one sample's value, have promtool parse and lint it,
 * and find each of its metrics documented in redgrey(8).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "promtext.h"

/*
 * promtext_value - the value of the sample series (name{labels}, exactly as
 * written) in text; absent if not there (a counter never counted)
 */
double
promtext_value(const char *text, const char *series, double absent)
{
    size_t  n = strlen(series);

    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return absent;
}

/* promtext_counter - value of a counter series that may not have been written yet */
double
promtext_counter(const char *text, const char *series)
{
    return promtext_value(text, series, 0);
}

/* promtext_check - run promtool check metrics on text; fails the test unless clean */
void
promtext_check(const char *text)
{
    char    path[512], cmd[700], out[4096];
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int     rc;

    daemon_scratch_path(path, sizeof(path), "metrics.txt");
    ck_assert_int_eq(daemon_write_file(path, text), 0);
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s", PROMTOOL, path);
    rc = daemon_capture(argv, out, sizeof(out), 20000);
    ck_assert_msg(rc == 0, "promtool check metrics: exit %d: %s\n%s", rc, out, text);
    ck_assert_msg(out[0] == '\0', "promtool check metrics: lint: %s", out);
    unlink(path);
}

/* promtext_documented - every metric of text has its entry in METRICS of redgrey(8) */
void
promtext_documented(const char *text)
{
    char   *man = daemon_read_file_ok(TEST_SRCDIR "/../milter/redgrey.8");
    const char *sec = strstr(man, "\n.SH METRICS\n"), *end;
    int     n = 0;

    ck_assert_msg(sec != NULL, "redgrey.8 has no METRICS section");
    end = strstr(sec + 1, "\n.SH ");
    for (const char *p = strstr(text, "# TYPE "); p != NULL; p = strstr(p + 1, "# TYPE ")) {
        char    name[128], entry[160];
        const char *hit;

        ck_assert_int_eq(sscanf(p, "# TYPE %127s", name), 1);
        snprintf(entry, sizeof(entry), "\n.B %s", name);
        hit = strstr(sec, entry);
        ck_assert_msg(hit != NULL && (end == NULL || hit < end),
                      "%s is not listed under METRICS in redgrey.8", name);
        n++;
    }
    ck_assert_int_ge(n, 12);
    free(man);
}
