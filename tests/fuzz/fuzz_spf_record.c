/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_spf_record.c - the SPF record check (spf_record.c), and libspf2's
 * compiler on every record that passes it: that is the text libspf2 gets
 * in production, so it must compile (or be refused) without a crash.
 * No DNS: SPF_record_compile() only parses.
 *
 * Invariants: a record that passes is an SPF record, holds no NUL byte
 * (so libspf2 sees all of it), and is no longer than the bound; a refusal
 * says where, inside the text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <spf2/spf.h>

#include "fuzz.h"
#include "spf_record.h"

static SPF_server_t *server;             /* one for the process, as in redgrey */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    struct spf_record_error e = {0, NULL};
    SPF_response_t *resp;
    SPF_record_t *rec = NULL;
    char   *s;

    if (spf_record_check(text, size, &e) < 0) {
        fuzz_check(e.reason != NULL && e.offset <= size);
        return 0;
    }
    fuzz_check(spf_record_is_spf(text, size));
    fuzz_check(memchr(text, '\0', size) == NULL && size <= SPF_RECORD_MAX_LEN);
    if (server == NULL) {
        SPF_warning_handler = NULL;      /* libspf2 would print lint warnings */
        SPF_info_handler = NULL;
        SPF_debug_handler = NULL;
        server = SPF_server_new(SPF_DNS_ZONE, 0);
        fuzz_check(server != NULL);
    }
    s = fuzz_str(data, size);
    resp = SPF_response_new(NULL);
    fuzz_check(resp != NULL);
    SPF_record_compile(server, resp, &rec, s);
    if (rec != NULL)
        SPF_record_free(rec);
    SPF_response_free(resp);
    free(s);
    return 0;
}
