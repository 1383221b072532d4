/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_dnsbl.h - the key-table setter for dnsbl_sites, for the
 * round that adds the DNS-list keys to common/cfg_keys.c:
 *
 *   {"dnsbl_sites", CFG_TYPE_STRING, "", 0, DNSBL_SITES_TEXT_MAX, OFF(dnsbl_sites),
 *    cfg_set_dnsbl_sites, NULL, NULL, "DNS lists, postscreen syntax: zone[=filter][*weight], ..."}
 *
 * The other keys take the table's usual setters (cfg_set_int, cfg_set_msecs,
 * cfg_set_seconds); dnsbl_thresholds_check (dnsbl_sites.h) is their
 * cross-key check.
 *
 * Thread-safety: as every setter, on a cfg the caller owns.
 */
#ifndef REDGREY_CFG_DNSBL_H
#define REDGREY_CFG_DNSBL_H

#include "cfg_priv.h"

/*
 * cfg_set_dnsbl_sites - value must parse as a dnsbl_sites list (the error
 * names the key, the bad item and why); then stored as cfg_set_string
 */
cfg_setter cfg_set_dnsbl_sites;

#endif
