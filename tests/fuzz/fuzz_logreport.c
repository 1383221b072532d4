/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_logreport.c - redgreyctl log-report's line reader
 * (milter/ctl_logreport.c, included whole: the tool's code is not in
 * libredgrey) on hostile log text: log lines carry senders and
 * recipients that anyone can choose, escaped or not.
 *
 * Invariants: every line is used, skipped or not counted, exactly once;
 * a group holds at least one of the decisions used, and the never-retried
 * and passed totals are no more than the decisions used; both printers
 * run on the result (to /dev/null).
 */
#include "../../milter/ctl_json.c"
#include "../../milter/ctl_logreport.c"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    struct lr r;
    FILE   *fp;
    uint64_t never = 0, passed = 0;

    if (null == NULL)
        fuzz_check((null = freopen("/dev/null", "w", stdout)) != NULL);
    memset(&r, 0, sizeof(r));
    fp = fopen(fuzz_file(0, data, size), "r");
    fuzz_check(fp != NULL);
    fuzz_check(lr_read(&r, fp) == 0);
    fclose(fp);
    lr_finish(&r);
    fuzz_check(r.used + r.skipped + r.full == r.lines);
    fuzz_check(r.gn <= r.used && r.tn <= r.used);
    for (size_t k = 0; k < r.gn; k++) {
        never += r.g[k].never;
        passed += r.g[k].passed;
        fuzz_check(r.g[k].delay_min <= r.g[k].delay_max || r.g[k].delay_min < 0);
        fuzz_check(strlen(r.g[k].key) < LR_FIELD_MAX && strlen(r.g[k].domain) < LR_FIELD_MAX);
    }
    fuzz_check(never + passed <= r.used);
    lr_print_text(&r, size & 1);
    lr_print_json(&r);
    fflush(stdout);
    lr_free(&r);
    return 0;
}
