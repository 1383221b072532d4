/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_contract.h - the behaviour every store backend must show, as one
 * check suite that each backend's test program runs with its own fixture.
 *
 * open_fn must return a fresh, empty store for the given parameters each
 * time it is called (a new key prefix, a new directory), or NULL with a
 * reason in err. Tests call it inside the test, so each test is isolated.
 * A program may register several backends (TCP and unix socket, say):
 * each call returns its own Suite. store_contract_triplet is shared with
 * the backends' own tests.
 */
#ifndef REDGREY_TESTS_STORE_CONTRACT_H
#define REDGREY_TESTS_STORE_CONTRACT_H

#include <check.h>
#include <stddef.h>

#include "store.h"

/* store_contract_triplet - fill t (zeroed first) from its normalised parts */
void    store_contract_triplet(struct triplet *t, const char *client_key, const char *sender,
                               const char *rcpt);

/* store_contract_suite - the contract's TCases for backend_name; at most 8 backends */
Suite  *store_contract_suite(const char *backend_name,
                             struct store *(*open_fn)(const struct policy_params *p,
                                                      char *err, size_t errlen));

/*
 * store_contract_suite_untimed - the same without the TCases that sleep
 * for time to pass ("lifecycle", "renewal", "expiry"): for a backend whose
 * decisions over time another test covers with an injected clock
 */
Suite  *store_contract_suite_untimed(const char *backend_name,
                                     struct store *(*open_fn)(const struct policy_params *p,
                                                              char *err, size_t errlen));

/* store_contract_abuse - the abuse limits' TCase (store_contract_abuse.c) for backend_name, into s */
void    store_contract_abuse(Suite *s, const char *backend_name,
                             struct store *(*open_fn)(const struct policy_params *p,
                                                      char *err, size_t errlen));

#endif
