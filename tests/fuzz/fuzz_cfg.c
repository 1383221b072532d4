/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cfg.c - the configuration parser, through cfg.h only: the input is
 * a whole configuration file (cfg_load on a memory file), and its first
 * line, split at the first '=', goes to cfg_set() on the defaults.
 *
 * Invariants: a refused file has a reason; a loaded one dumps (cfg_dump)
 * to a file that loads again and dumps to the same text (the first line,
 * which names the file, aside).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fuzz.h"

/* dump - cfg_dump into a malloc'ed string; its length in *len */
static char *
dump(const struct cfg *cfg, size_t *len)
{
    char   *text = NULL;
    FILE   *fp = open_memstream(&text, len);

    fuzz_check(fp != NULL);
    cfg_dump(cfg, fp);
    fuzz_check(fclose(fp) == 0);
    return text;
}

/* body - text after its first line */
static const char *
body(const char *text)
{
    const char *nl = strchr(text, '\n');

    return nl ? nl + 1 : "";
}

/* one_set - key=value from the first line of the input, on the defaults */
static void
one_set(const char *s)
{
    char   *line = strdup(s), *eq, *nl;
    char    err[CFG_ERRLEN] = "";
    struct cfg *cfg = cfg_defaults();

    fuzz_check(line != NULL && cfg != NULL);
    if ((nl = strchr(line, '\n')) != NULL)
        *nl = '\0';
    if ((eq = strchr(line, '=')) != NULL) {
        *eq = '\0';
        if (cfg_set(cfg, line, eq + 1, err, sizeof(err)) < 0)
            fuzz_check(err[0] != '\0');
    }
    cfg_free(cfg);
    free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    err[CFG_ERRLEN] = "";
    char   *s = fuzz_str(data, size), *d1, *d2;
    struct cfg *cfg, *again;
    size_t  n1, n2;

    one_set(s);
    free(s);
    cfg = cfg_load(fuzz_file(0, data, size), err, sizeof(err));
    if (cfg == NULL) {
        fuzz_check(err[0] != '\0');
        return 0;
    }
    d1 = dump(cfg, &n1);
    again = cfg_load(fuzz_file(1, (const uint8_t *) d1, n1), err, sizeof(err));
    if (again == NULL)
        fprintf(stderr, "dump does not load again: %s\n", err);
    fuzz_check(again != NULL);
    d2 = dump(again, &n2);
    fuzz_check(strcmp(body(d1), body(d2)) == 0);
    free(d1);
    free(d2);
    cfg_free(again);
    cfg_free(cfg);
    return 0;
}
