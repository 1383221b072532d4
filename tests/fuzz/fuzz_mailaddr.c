/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_mailaddr.c - envelope address normalisation (mailaddr.c) and the
 * sender key (sendernorm.c), on raw bytes as an MTA might pass them.
 *
 * Invariants: out is always a NUL-terminated string that fits, for any
 * outlen; a usable address normalises to itself again; the sender key is
 * never longer than the address, has the length returned, and is the
 * same computed in place.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "logesc.h"
#include "mailaddr.h"
#include "sendernorm.h"

static const size_t small_outlens[] = {0, 1, 21, 22, 23, 40, 64};

/* key_checks - sendernorm_key's contract on norm */
static void
key_checks(const char *norm)
{
    char    key[MAILADDR_MAX + 1], inplace[MAILADDR_MAX + 1], tiny[8];
    int     n = sendernorm_key(norm, key, sizeof(key));

    fuzz_check(n >= 0 && (size_t) n == strlen(key) && (size_t) n <= strlen(norm));
    memcpy(inplace, norm, strlen(norm) + 1);
    fuzz_check(sendernorm_key(inplace, inplace, sizeof(inplace)) == n);
    fuzz_check(strcmp(inplace, key) == 0);
    n = sendernorm_key(norm, tiny, sizeof(tiny));
    fuzz_check(memchr(tiny, '\0', sizeof(tiny)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int flags[] = {MAILADDR_SENDER, MAILADDR_RCPT};
    const char *raw = (const char *) data;
    char    out[MAILADDR_MAX + 1], again[MAILADDR_MAX + 1], log[256];
    char   *s;

    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
        enum mailaddr_kind kind = mailaddr_normalize(raw, size, flags[f], out, sizeof(out));

        fuzz_check(memchr(out, '\0', sizeof(out)) != NULL);
        if (kind == MAILADDR_OK) {
            fuzz_check(mailaddr_normalize(out, strlen(out), flags[f], again, sizeof(again))
                       == MAILADDR_OK);
            fuzz_check(strcmp(out, again) == 0);
            fuzz_check(strlen(mailaddr_domain(out)) < strlen(out) || !(flags[f] & MAILADDR_SENDER));
        }
        if (kind != MAILADDR_NULL)
            key_checks(out);
        for (size_t i = 0; i < sizeof(small_outlens) / sizeof(small_outlens[0]); i++) {
            size_t  len = small_outlens[i];
            char   *small = malloc(len ? len : 1);

            fuzz_check(small != NULL);
            mailaddr_normalize(raw, size, flags[f], small, len);
            fuzz_check(len == 0 || memchr(small, '\0', len) != NULL);
            free(small);
        }
    }
    s = fuzz_str(data, size);
    logesc_str(s, log, sizeof(log));
    fuzz_check(strlen(log) < sizeof(log));
    logesc_str(s, log, 4);
    fuzz_check(strlen(log) < 4);
    free(s);
    return 0;
}
