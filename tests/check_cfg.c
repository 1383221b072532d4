/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_cfg.c - the configuration parser: value types, every key's range,
 * the file syntax and its errors (each with its exact "file:line: "), the
 * defaults, and the agreement of the table with redgrey.conf(5) and the
 * sample contrib/redgrey.conf.
 *
 * Fixtures live in tests/data/cfg/; scratch files go to REDGREY_TEST_TMP.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_store.h"
#include "daemon.h"
#include "ipaddr.h"
#include "log.h"
#include "netblock.h"

#define DATA TEST_SRCDIR "/data/cfg/"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------- */

/* value_of - one key's effective value as text, for table comparisons */
static const char *
value_of(const struct cfg *cfg, const char *key, char *buf, size_t len)
{
    static const struct {
        const char *key;
        size_t  off;
        char    kind;                    /* s string, l int64_t, i int, z size_t */
    } fields[] = {
        {"socket", offsetof(struct cfg, socket), 's'},
        {"store", offsetof(struct cfg, store), 's'},
        {"delay", offsetof(struct cfg, delay), 'l'},
        {"retry_window", offsetof(struct cfg, retry_window), 'l'},
        {"pass_ttl", offsetof(struct cfg, pass_ttl), 'l'},
        {"netmask_v4", offsetof(struct cfg, netmask_v4), 'i'},
        {"netmask_v6", offsetof(struct cfg, netmask_v6), 'i'},
        {"awl_threshold", offsetof(struct cfg, awl_threshold), 'l'},
        {"awl_ttl", offsetof(struct cfg, awl_ttl), 'l'},
        {"trusted_networks", offsetof(struct cfg, trusted_networks_text), 's'},
        {"on_store_error", offsetof(struct cfg, on_store_error), 'i'},
        {"store_timeout", offsetof(struct cfg, store_timeout_ms), 'i'},
        {"milter_timeout", offsetof(struct cfg, milter_timeout), 'l'},
        {"store_pool", offsetof(struct cfg, store_pool), 'i'},
        {"key_prefix", offsetof(struct cfg, key_prefix), 's'},
        {"reply", offsetof(struct cfg, reply), 's'},
        {"header", offsetof(struct cfg, header), 'i'},
        {"user", offsetof(struct cfg, user), 's'},
        {"group", offsetof(struct cfg, group), 's'},
        {"pidfile", offsetof(struct cfg, pidfile), 's'},
        {"log_level", offsetof(struct cfg, log_level), 'i'},
        {"log_facility", offsetof(struct cfg, log_facility), 'i'},
        {"lmdb_mapsize", offsetof(struct cfg, lmdb_mapsize), 'z'},
        {"spf_keying", offsetof(struct cfg, spf_keying), 'i'},
        {"spf_probe", offsetof(struct cfg, spf_probe), 's'},
        {"dns_timeout", offsetof(struct cfg, dns_timeout_ms), 'i'},
        {"dns_servers", offsetof(struct cfg, dns_servers), 's'},
        {"spf_domains", offsetof(struct cfg, spf_domains), 's'},
        {"spf_refresh", offsetof(struct cfg, spf_refresh), 'l'},
        {"null_sender_stage", offsetof(struct cfg, null_sender_stage), 'i'},
        {"whitelist_clients", offsetof(struct cfg, whitelist_clients), 's'},
        {"whitelist_recipients", offsetof(struct cfg, whitelist_recipients), 's'},
    };
    const char *base = (const char *) cfg;

    for (size_t i = 0; i < NELEM(fields); i++) {
        const void *p = base + fields[i].off;

        if (strcmp(fields[i].key, key) != 0)
            continue;
        switch (fields[i].kind) {
        case 's':
            snprintf(buf, len, "%s", *(char *const *) p);
            break;
        case 'l':
            snprintf(buf, len, "%lld", (long long) *(const int64_t *) p);
            break;
        case 'i':
            snprintf(buf, len, "%d", *(const int *) p);
            break;
        default:
            snprintf(buf, len, "%zu", *(const size_t *) p);
            break;
        }
        return buf;
    }
    return "(no such key)";
}

/* contains - netset_contains for an address in text */
static int
contains(const struct netset *set, const char *addr)
{
    struct ipaddr ip;

    ck_assert_msg(ipaddr_parse(addr, &ip) == 0, "bad test address %s", addr);
    return netset_contains(set, &ip);
}

/* ---- value types -------------------------------------------------------- */

static const struct {
    const char *label;
    const char *text;
    int     rc;
    int64_t ms;
} duration_cases[] = {
    {"bare seconds", "90", 0, 90000},
    {"milliseconds", "250ms", 0, 250},
    {"seconds", "30s", 0, 30000},
    {"minutes", "5m", 0, 300000},
    {"hours", "48h", 0, 172800000},
    {"days", "36d", 0, 3110400000LL},
    {"zero", "0", 0, 0},
    {"leading zeros", "007s", 0, 7000},
    {"largest ms", "9223372036854775807ms", 0, INT64_MAX},
    {"fraction", "0.5s", -1, 0},
    {"junk suffix", "5x", -1, 0},
    {"negative", "-1", -1, 0},
    {"plus sign", "+5", -1, 0},
    {"empty", "", -1, 0},
    {"unit only", "s", -1, 0},
    {"blank inside", "5 m", -1, 0},
    {"leading blank", " 5m", -1, 0},
    {"trailing blank", "5m ", -1, 0},
    {"upper case unit", "5M", -1, 0},
    {"two units", "1h30m", -1, 0},
    {"doubled unit", "5mm", -1, 0},
    {"digits overflow", "99999999999999999999", -1, 0},
    {"unit overflow", "9223372036854775807d", -1, 0},
    {"seconds overflow", "9223372036854775807", -1, 0},
};

START_TEST(test_duration)
{
    int64_t ms = -42;
    int     rc = cfg_parse_duration(duration_cases[_i].text, &ms);

    ck_assert_msg(rc == duration_cases[_i].rc, "%s: got rc %d, want %d",
                  duration_cases[_i].label, rc, duration_cases[_i].rc);
    if (rc == 0)
        ck_assert_msg(ms == duration_cases[_i].ms, "%s: got %lld ms, want %lld",
                      duration_cases[_i].label, (long long) ms,
                      (long long) duration_cases[_i].ms);
    else
        ck_assert_msg(ms == -42, "%s: output written on error", duration_cases[_i].label);
}
END_TEST

static const struct {
    const char *label;
    const char *text;
    int     rc;
    uint64_t bytes;
} size_cases[] = {
    {"bytes", "1048576", 0, 1048576},
    {"kilo", "512K", 0, 512ULL << 10},
    {"mega", "64M", 0, 64ULL << 20},
    {"giga", "4G", 0, 4ULL << 30},
    {"tera", "1T", 0, 1ULL << 40},
    {"lower case", "4g", 0, 4ULL << 30},
    {"zero", "0", 0, 0},
    {"largest tera", "16777215T", 0, 16777215ULL << 40},
    {"tera overflow", "16777216T", -1, 0},
    {"giga overflow", "17179869184G", -1, 0},
    {"digits overflow", "18446744073709551616", -1, 0},
    {"empty", "", -1, 0},
    {"junk suffix", "4X", -1, 0},
    {"two letters", "4GB", -1, 0},
    {"blank before unit", "4 G", -1, 0},
    {"negative", "-1", -1, 0},
    {"fraction", "1.5G", -1, 0},
    {"unit only", "G", -1, 0},
};

START_TEST(test_size)
{
    size_t  bytes = 42;
    int     rc = cfg_parse_size(size_cases[_i].text, &bytes);

    ck_assert_msg(rc == size_cases[_i].rc, "%s: got rc %d, want %d",
                  size_cases[_i].label, rc, size_cases[_i].rc);
    if (rc == 0)
        ck_assert_msg((uint64_t) bytes == size_cases[_i].bytes, "%s: got %zu, want %llu",
                      size_cases[_i].label, bytes, (unsigned long long) size_cases[_i].bytes);
}
END_TEST

static const struct {
    const char *label;
    const char *text;
    int     rc;
    int     want;
} bool_cases[] = {
    {"yes", "yes", 0, 1}, {"no", "no", 0, 0}, {"true", "true", 0, 1},
    {"false", "false", 0, 0}, {"on", "ON", 0, 1}, {"off", "Off", 0, 0},
    {"one", "1", 0, 1}, {"zero", "0", 0, 0}, {"upper", "YES", 0, 1},
    {"empty", "", -1, 0}, {"maybe", "maybe", -1, 0}, {"two", "2", -1, 0},
    {"y", "y", -1, 0}, {"blank", "yes ", -1, 0},
};

START_TEST(test_bool)
{
    int     got = -1;
    int     rc = cfg_parse_bool(bool_cases[_i].text, &got);

    ck_assert_msg(rc == bool_cases[_i].rc, "%s: got rc %d, want %d",
                  bool_cases[_i].label, rc, bool_cases[_i].rc);
    if (rc == 0)
        ck_assert_msg(got == bool_cases[_i].want, "%s: got %d, want %d",
                      bool_cases[_i].label, got, bool_cases[_i].want);
}
END_TEST

START_TEST(test_null_text)
{
    int64_t ms;
    size_t  bytes;
    int     b;

    ck_assert_int_eq(cfg_parse_duration(NULL, &ms), -1);
    ck_assert_int_eq(cfg_parse_size(NULL, &bytes), -1);
    ck_assert_int_eq(cfg_parse_bool(NULL, &b), -1);
}
END_TEST

/* ---- every key through cfg_set ------------------------------------------ */

#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
#define X200 X50 X50 X50 X50
#define K64 "rg:" X50 "12345678901"     /* 64 bytes */
#define K65 K64 "x"

/*
 * One row per value: rc 0 rows give the field's value afterwards (numbers
 * as decimal; durations in seconds, store_timeout in ms); rc -1 rows give
 * a piece of the reason, and the field must be unchanged.
 */
static const struct {
    const char *label;
    const char *key;
    const char *value;
    int     rc;
    const char *want;
} key_cases[] = {
    {"socket inet", "socket", "inet:10030@127.0.0.2", 0, "inet:10030@127.0.0.2"},
    {"socket inet no host", "socket", "inet:10030", 0, "inet:10030"},
    {"socket inet6", "socket", "inet6:10029@[::1]", 0, "inet6:10029@[::1]"},
    {"socket unix", "socket", "unix:/run/redgrey/redgrey.sock", 0, "unix:/run/redgrey/redgrey.sock"},
    {"socket local", "socket", "local:/tmp/m.sock", 0, "local:/tmp/m.sock"},
    {"socket port 65535", "socket", "inet:65535@127.0.0.1", 0, "inet:65535@127.0.0.1"},
    {"socket tcp", "socket", "tcp:10029", -1, "want inet:PORT@HOST"},
    {"socket empty", "socket", "", -1, "want inet:PORT@HOST"},
    {"socket inet bare", "socket", "inet:", -1, "want inet:PORT@HOST"},
    {"socket unix bare", "socket", "unix:", -1, "want inet:PORT@HOST"},
    {"socket port 0", "socket", "inet:0@127.0.0.1", -1, "port 1..65535"},
    {"socket port 65536", "socket", "inet:65536", -1, "port 1..65535"},
    {"socket port name", "socket", "inet:milter@localhost", -1, "port 1..65535"},
    {"socket empty host", "socket", "inet:10029@", -1, "port 1..65535"},
    {"socket blank", "socket", "unix:/a b", -1, "want inet:PORT@HOST"},
    {"store redis", "store", "redis://:pw@127.0.0.1:6379/2", 0, "redis://:pw@127.0.0.1:6379/2"},
    {"store redis unix", "store", "redis+unix:///run/redis.sock?db=1", 0, "redis+unix:///run/redis.sock?db=1"},
    {"store lmdb", "store", "lmdb:/tmp/rg", 0, "lmdb:/tmp/rg"},
    {"store lmdb bare", "store", "lmdb:", -1, "want lmdb:/DIR"},
    {"store redis bare", "store", "redis://", -1, "want lmdb:/DIR"},
    {"store mysql", "store", "mysql://x", -1, "want lmdb:/DIR"},
    {"store empty", "store", "", -1, "want lmdb:/DIR"},
    {"delay low edge", "delay", "1s", 0, "1"},
    {"delay high edge", "delay", "24h", 0, "86400"},
    {"delay bare", "delay", "90", 0, "90"},
    {"delay whole ms", "delay", "2000ms", 0, "2"},
    {"delay zero", "delay", "0", -1, "out of range 1s..24h"},
    {"delay above", "delay", "86401", -1, "out of range 1s..24h"},
    {"delay sub-second", "delay", "500ms", -1, "must be whole seconds"},
    {"delay 1.5 s", "delay", "1500ms", -1, "must be whole seconds"},
    {"delay fraction", "delay", "0.5s", -1, "want a duration"},
    {"delay junk", "delay", "5x", -1, "want a duration"},
    {"delay negative", "delay", "-1", -1, "want a duration"},
    {"delay empty", "delay", "", -1, "want a duration"},
    {"delay overflow", "delay", "99999999999999999999d", -1, "want a duration"},
    {"retry_window high", "retry_window", "30d", 0, "2592000"},
    {"retry_window low", "retry_window", "1s", 0, "1"},
    {"retry_window above", "retry_window", "31d", -1, "out of range 1s..30d"},
    {"retry_window zero", "retry_window", "0s", -1, "out of range"},
    {"pass_ttl high", "pass_ttl", "365d", 0, "31536000"},
    {"pass_ttl above", "pass_ttl", "366d", -1, "out of range 1s..365d"},
    {"pass_ttl zero", "pass_ttl", "0", -1, "out of range"},
    {"netmask_v4 zero", "netmask_v4", "0", 0, "0"},
    {"netmask_v4 32", "netmask_v4", "32", 0, "32"},
    {"netmask_v4 33", "netmask_v4", "33", -1, "out of range 0..32"},
    {"netmask_v4 negative", "netmask_v4", "-1", -1, "out of range 0..32"},
    {"netmask_v4 junk", "netmask_v4", "24x", -1, "want a whole number"},
    {"netmask_v4 empty", "netmask_v4", "", -1, "want a whole number"},
    {"netmask_v4 minus", "netmask_v4", "-", -1, "want a whole number"},
    {"netmask_v4 huge", "netmask_v4", "99999999999999999999", -1, "want a whole number"},
    {"netmask_v6 zero", "netmask_v6", "0", 0, "0"},
    {"netmask_v6 128", "netmask_v6", "128", 0, "128"},
    {"netmask_v6 129", "netmask_v6", "129", -1, "out of range 0..128"},
    {"awl_threshold off", "awl_threshold", "0", 0, "0"},
    {"awl_threshold 1000", "awl_threshold", "1000", 0, "1000"},
    {"awl_threshold 1001", "awl_threshold", "1001", -1, "out of range 0..1000"},
    {"awl_threshold negative", "awl_threshold", "-3", -1, "out of range 0..1000"},
    {"awl_ttl high", "awl_ttl", "365d", 0, "31536000"},
    {"awl_ttl low", "awl_ttl", "1", 0, "1"},
    {"awl_ttl above", "awl_ttl", "8761h", -1, "out of range 1s..365d"},
    {"trusted list", "trusted_networks", "10.0.0.0/8,192.0.2.0/24  2001:db8::/32", 0,
     "10.0.0.0/8 192.0.2.0/24 2001:db8::/32"},
    {"trusted host bits", "trusted_networks", "10.1.2.3/8", 0, "10.0.0.0/8"},
    {"trusted empty", "trusted_networks", "", 0, ""},
    {"trusted only commas", "trusted_networks", " , ,", 0, ""},
    {"trusted bad prefix", "trusted_networks", "10.0.0.0/8 10.0.0.0/33", -1, "\"10.0.0.0/33\""},
    {"trusted junk", "trusted_networks", "127.0.0.1 localhost", -1, "\"localhost\""},
    {"trusted too long", "trusted_networks",
     "1111111111111111111111111111111111111111111111111111111111111111111111", -1,
     "too long for a network"},
    {"on_store_error tempfail", "on_store_error", "tempfail", 0, "1"},
    {"on_store_error upper", "on_store_error", "ACCEPT", 0, "0"},
    {"on_store_error reject", "on_store_error", "reject", -1, "want one of accept, tempfail"},
    {"on_store_error empty", "on_store_error", "", -1, "want one of"},
    {"store_timeout low", "store_timeout", "10ms", 0, "10"},
    {"store_timeout high", "store_timeout", "10s", 0, "10000"},
    {"store_timeout bare", "store_timeout", "1", 0, "1000"},
    {"store_timeout below", "store_timeout", "9ms", -1, "out of range 10ms..10s"},
    {"store_timeout above", "store_timeout", "10001ms", -1, "out of range 10ms..10s"},
    {"store_pool 1", "store_pool", "1", 0, "1"},
    {"store_pool 256", "store_pool", "256", 0, "256"},
    {"store_pool 0", "store_pool", "0", -1, "out of range 1..256"},
    {"store_pool 257", "store_pool", "257", -1, "out of range 1..256"},
    {"key_prefix 64", "key_prefix", K64, 0, K64},
    {"key_prefix 65", "key_prefix", K65, -1, "1 to 64 bytes"},
    {"key_prefix empty", "key_prefix", "", -1, "must not be empty"},
    {"key_prefix blank", "key_prefix", "rg :", -1, "no blanks"},
    {"key_prefix brace", "key_prefix", "rg{x}:", -1, "hash tag"},
    {"key_prefix control", "key_prefix", "rg\x01", -1, "no blanks"},
    {"header no", "header", "no", 0, "0"},
    {"header on", "header", "on", 0, "1"},
    {"header maybe", "header", "maybe", -1, "want yes or no"},
    {"user empty", "user", "", 0, ""},
    {"user mail", "user", "mail", 0, "mail"},
    {"user blank", "user", "red grey", -1, "no blanks"},
    {"user too long", "user", "abcdefghijabcdefghijabcdefghijabc", -1, "0 to 32 bytes"},
    {"group name", "group", "mail", 0, "mail"},
    {"group colon", "group", "a:b", -1, "no ':'"},
    {"pidfile none", "pidfile", "", 0, ""},
    {"pidfile path", "pidfile", "/tmp/rg.pid", 0, "/tmp/rg.pid"},
    {"pidfile relative", "pidfile", "rg.pid", -1, "absolute path"},
    {"pidfile control", "pidfile", "/tmp/a\nb", -1, "control character"},
    {"spf_keying off", "spf_keying", "no", 0, "0"},
    {"spf_probe v4", "spf_probe", "198.51.100.25", 0, "198.51.100.25"},
    {"spf_probe v6", "spf_probe", "2001:db8::25", 0, "2001:db8::25"},
    {"spf_probe none", "spf_probe", "", 0, ""},
    {"spf_probe junk", "spf_probe", "mx.example.org", -1, "want an IP address"},
    {"dns_timeout 1500ms", "dns_timeout", "1500ms", 0, "1500"},
    {"dns_timeout too short", "dns_timeout", "50ms", -1, "bad value"},
    {"dns_timeout too long", "dns_timeout", "30s", -1, "bad value"},
    {"dns_servers two", "dns_servers", "127.0.0.1:5353 192.0.2.53", 0, "127.0.0.1:5353 192.0.2.53"},
    {"dns_servers none", "dns_servers", "", 0, ""},
    {"dns_servers four", "dns_servers", "127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4", -1, "at most 3"},
    {"dns_servers v6", "dns_servers", "::1", -1, "IPv4"},
    {"dns_servers bad port", "dns_servers", "127.0.0.1:0", -1, "bad port"},
    {"dns_servers empty port", "dns_servers", "127.0.0.1:", -1, "bad port"},
    {"dns_servers name", "dns_servers", "ns.example.org", -1, "IPv4"},
    {"spf_domains path", "spf_domains", "/etc/redgrey/bigsenders.txt", 0, "/etc/redgrey/bigsenders.txt"},
    {"spf_domains relative", "spf_domains", "bigsenders.txt", -1, "absolute path"},
    {"spf_refresh 6h", "spf_refresh", "6h", 0, "21600"},
    {"spf_refresh too short", "spf_refresh", "30s", -1, "bad value"},
    {"null_sender_stage rcpt", "null_sender_stage", "rcpt", 0, "1"},
    {"null_sender_stage data", "null_sender_stage", "DATA", 0, "0"},
    {"null_sender_stage junk", "null_sender_stage", "mail", -1, "want one of data, rcpt"},
    {"whitelist_clients path", "whitelist_clients", "/etc/redgrey/clients", 0, "/etc/redgrey/clients"},
    {"whitelist_recipients relative", "whitelist_recipients", "rcpts", -1, "absolute path"},
    {"log_level debug", "log_level", "debug", 0, "7"},
    {"log_level error alias", "log_level", "error", 0, "3"},
    {"log_level chatty", "log_level", "chatty", -1, "want one of debug, info, notice, warning, err"},
    {"log_facility local0", "log_facility", "local0", 0, "128"},
    {"log_facility kern", "log_facility", "kern", -1, "want one of mail, daemon"},
    {"lmdb_mapsize low", "lmdb_mapsize", "1M", 0, "1048576"},
    {"lmdb_mapsize high", "lmdb_mapsize", "1T", 0, "1099511627776"},
    {"lmdb_mapsize below", "lmdb_mapsize", "1023K", -1, "out of range 1M..1T"},
    {"lmdb_mapsize above", "lmdb_mapsize", "1025G", -1, "out of range 1M..1T"},
    {"lmdb_mapsize junk", "lmdb_mapsize", "4GB", -1, "want a size"},
    {"reply 5xx", "reply", "550 5.7.1 Go away", -1, "must be a 4xx code"},
    {"milter_timeout low", "milter_timeout", "1s", 0, "1"},
    {"milter_timeout high", "milter_timeout", "7210s", 0, "7210"},
    {"milter_timeout zero", "milter_timeout", "0", -1, "out of range 1s.."},
    {"milter_timeout above", "milter_timeout", "7211s", -1, "out of range 1s.."},
    {"milter_timeout ms", "milter_timeout", "1500ms", -1, "must be whole seconds"},
    {"reply 421", "reply", "421 4.3.2 Shutting down", -1, "421 closes the SMTP session"},
};

START_TEST(test_key)
{
    struct cfg *cfg = cfg_defaults();
    char    err[CFG_ERRLEN] = "", before[256], after[256], prefix[64];
    const char *label = key_cases[_i].label, *key = key_cases[_i].key;
    int     rc;

    value_of(cfg, key, before, sizeof(before));
    rc = cfg_set(cfg, key, key_cases[_i].value, err, sizeof(err));
    value_of(cfg, key, after, sizeof(after));
    ck_assert_msg(rc == key_cases[_i].rc, "%s: got rc %d (%s), want %d",
                  label, rc, err, key_cases[_i].rc);
    if (rc == 0) {
        ck_assert_msg(strcmp(after, key_cases[_i].want) == 0, "%s: got \"%s\", want \"%s\"",
                      label, after, key_cases[_i].want);
    } else {
        snprintf(prefix, sizeof(prefix), "%s: bad value ", key);
        ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "%s: got \"%s\", want prefix \"%s\"",
                      label, err, prefix);
        ck_assert_msg(strstr(err, key_cases[_i].want) != NULL, "%s: got \"%s\", want \"%s\" in it",
                      label, err, key_cases[_i].want);
        ck_assert_msg(strcmp(before, after) == 0, "%s: value changed on error: \"%s\" -> \"%s\"",
                      label, before, after);
    }
    cfg_free(cfg);
}
END_TEST

START_TEST(test_set_bad_input)
{
    struct cfg *cfg = cfg_defaults();
    char    err[CFG_ERRLEN], junk[1001];

    ck_assert_int_eq(cfg_set(cfg, "greylist_time", "5m", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown key \"greylist_time\"");
    ck_assert_int_eq(cfg_set(cfg, NULL, "5m", err, sizeof(err)), -1);
    ck_assert_int_eq(cfg_set(cfg, "delay", NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "delay: no value");

    /* A bad value is shown escaped... */
    ck_assert_int_eq(cfg_set(cfg, "user", "a\x01\"b", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "\"a\\x01\\x22b\"") != NULL, "got \"%s\"", err);

    /* ...and cut, however long it is. */
    memset(junk, 'x', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = '\0';
    ck_assert_int_eq(cfg_set(cfg, "delay", junk, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "xxx\"...: ") != NULL, "got \"%s\"", err);
    ck_assert_uint_lt(strlen(err), 200);

    /* A tiny error buffer is never overrun. */
    ck_assert_int_eq(cfg_set(cfg, "delay", "5x", err, 8), -1);
    ck_assert_str_eq(err, "delay: ");
    cfg_free(cfg);
}
END_TEST

/* ---- reply -------------------------------------------------------------- */

static const struct {
    const char *label;
    const char *value;
    int     rc;
    const char *code;                    /* rc 0: the split; rc -1: code = reason */
    const char *xcode;
    const char *text;
} reply_cases[] = {
    {"default", "451 4.7.1 Greylisted, please try again later", 0, "451", "4.7.1",
     "Greylisted, please try again later"},
    {"450", "450 4.2.0 Busy", 0, "450", "4.2.0", "Busy"},
    {"long xcode", "452 4.123.456 x", 0, "452", "4.123.456", "x"},
    {"421", "421 4.7.1 Closing", -1, "421 closes the SMTP session", NULL, NULL},
    {"421 no xcode", "421 Bye", -1, "421 closes the SMTP session", NULL, NULL},
    {"420", "420 4.7.1 Wait", 0, "420", "4.7.1", "Wait"},
    {"499", "499 4.7.1 Wait", 0, "499", "4.7.1", "Wait"},
    {"extra blanks", "451   4.7.1   Wait", 0, "451", "4.7.1", "Wait"},
    {"percent doubled", "451 4.7.1 100%% sure", 0, "451", "4.7.1", "100%% sure"},
    {"hash", "451 4.7.1 #1 wait", 0, "451", "4.7.1", "#1 wait"},
    {"550", "550 5.7.1 Go away", -1, "must be a 4xx code: greylisting defers mail", NULL, NULL},
    {"250", "250 2.0.0 Fine", -1, "must be a 4xx code", NULL, NULL},
    {"xcode class 5", "451 5.7.1 Mixed", -1, "must start with 4.", NULL, NULL},
    {"no xcode", "451 Greylisted", -1, "enhanced status code 4.X.Y", NULL, NULL},
    {"xcode short", "451 4.7 Wait", -1, "enhanced status code 4.X.Y", NULL, NULL},
    {"xcode long part", "451 4.7.1234 Wait", -1, "enhanced status code 4.X.Y", NULL, NULL},
    {"xcode two digit class", "451 44.7.1 Wait", -1, "enhanced status code 4.X.Y", NULL, NULL},
    {"xcode then end", "451 4.7.1", -1, "enhanced status code 4.X.Y", NULL, NULL},
    {"no text", "451 4.7.1 ", -1, "text after 4.X.Y is missing", NULL, NULL},
    {"two digit code", "45 4.7.1 x", -1, "want \"4XX 4.X.Y text\"", NULL, NULL},
    {"four digit code", "4511 4.7.1 x", -1, "want \"4XX 4.X.Y text\"", NULL, NULL},
    {"code only", "451", -1, "want \"4XX 4.X.Y text\"", NULL, NULL},
    {"empty", "", -1, "want \"4XX 4.X.Y text\"", NULL, NULL},
    {"control", "451 4.7.1 a\tb", -1, "printable ASCII", NULL, NULL},
    {"eight bit", "451 4.7.1 gr\xc3\xbc\xc3\x9f", -1, "printable ASCII", NULL, NULL},
    {"lone percent", "451 4.7.1 100% sure", -1, "as \"%%\"", NULL, NULL},
    {"trailing percent", "451 4.7.1 100%", -1, "as \"%%\"", NULL, NULL},
    {"text 200", "451 4.7.1 " X200, 0, "451", "4.7.1", X200},
    {"text 201", "451 4.7.1 " X200 "x", -1, "longer than 200 bytes", NULL, NULL},
};

START_TEST(test_reply)
{
    struct cfg *cfg = cfg_defaults();
    char    err[CFG_ERRLEN] = "";
    const char *label = reply_cases[_i].label;
    int     rc = cfg_set(cfg, "reply", reply_cases[_i].value, err, sizeof(err));

    ck_assert_msg(rc == reply_cases[_i].rc, "%s: got rc %d (%s), want %d", label, rc, err,
                  reply_cases[_i].rc);
    if (rc == 0) {
        ck_assert_msg(strcmp(cfg->reply_code, reply_cases[_i].code) == 0,
                      "%s: got code %s, want %s", label, cfg->reply_code, reply_cases[_i].code);
        ck_assert_msg(strcmp(cfg->reply_xcode, reply_cases[_i].xcode) == 0,
                      "%s: got xcode %s, want %s", label, cfg->reply_xcode, reply_cases[_i].xcode);
        ck_assert_msg(strcmp(cfg->reply_text, reply_cases[_i].text) == 0,
                      "%s: got text \"%s\", want \"%s\"", label, cfg->reply_text,
                      reply_cases[_i].text);
        ck_assert_str_eq(cfg->reply, reply_cases[_i].value);
    } else {
        ck_assert_msg(strstr(err, reply_cases[_i].code) != NULL, "%s: got \"%s\", want \"%s\" in it",
                      label, err, reply_cases[_i].code);
        ck_assert_msg(strncmp(err, "reply: bad value \"", 18) == 0, "%s: got \"%s\"", label, err);
        /* The old reply stays whole. */
        ck_assert_str_eq(cfg->reply_code, "451");
        ck_assert_str_eq(cfg->reply_text, "Greylisted, please try again later");
    }
    cfg_free(cfg);
}
END_TEST

/* ---- defaults and trusted networks -------------------------------------- */

START_TEST(test_defaults)
{
    struct cfg *cfg = cfg_defaults();

    ck_assert_ptr_null(cfg->path);
    ck_assert_str_eq(cfg->socket, "inet:10029@127.0.0.1");
    ck_assert_str_eq(cfg->store, "lmdb:/var/lib/redgrey");
    ck_assert_int_eq(cfg->delay, 300);
    ck_assert_int_eq(cfg->retry_window, 48 * 3600);
    ck_assert_int_eq(cfg->pass_ttl, 36 * 86400);
    ck_assert_int_eq(cfg->netmask_v4, 24);
    ck_assert_int_eq(cfg->netmask_v6, 64);
    ck_assert_int_eq(cfg->awl_threshold, 3);
    ck_assert_int_eq(cfg->awl_ttl, 36 * 86400);
    ck_assert_int_eq(cfg->on_store_error, CFG_ON_ERROR_ACCEPT);
    ck_assert_int_eq(cfg->store_timeout_ms, 250);
    ck_assert_int_eq(cfg->store_pool, 8);
    ck_assert_str_eq(cfg->key_prefix, "rg:");
    ck_assert_str_eq(cfg->reply_code, "451");
    ck_assert_str_eq(cfg->reply_xcode, "4.7.1");
    ck_assert_str_eq(cfg->reply_text, "Greylisted, please try again later");
    ck_assert_int_eq(cfg->header, 1);
    ck_assert_str_eq(cfg->user, "redgrey");
    ck_assert_str_eq(cfg->group, "");
    ck_assert_str_eq(cfg->pidfile, "/run/redgrey/redgrey.pid");
    ck_assert_int_eq(cfg->log_level, LOG_INFO);
    ck_assert_int_eq(cfg->log_facility, LOG_MAIL);
    ck_assert_uint_eq(cfg->lmdb_mapsize, 4ULL << 30);
    ck_assert_str_eq(cfg->trusted_networks_text, "127.0.0.0/8 ::1/128");
    cfg_free(cfg);
}
END_TEST

/* test_store_config - cfg_store_config copies every store setting, nothing else */
START_TEST(test_store_config)
{
    struct cfg *cfg = cfg_defaults();
    struct store_config sc;
    char    err[CFG_ERRLEN];
    static const char *const set[][2] = {
        {"store", "redis://127.0.0.1:6390/3"}, {"key_prefix", "t1:"}, {"delay", "7m"},
        {"retry_window", "9h"}, {"pass_ttl", "11d"}, {"awl_threshold", "5"},
        {"awl_ttl", "13d"}, {"store_timeout", "333ms"}, {"store_pool", "17"},
        {"lmdb_mapsize", "64M"},
    };

    for (size_t i = 0; i < NELEM(set); i++)
        ck_assert_msg(cfg_set(cfg, set[i][0], set[i][1], err, sizeof(err)) == 0, "%s: %s",
                      set[i][0], err);
    memset(&sc, 0xa5, sizeof(sc));
    cfg_store_config(cfg, &sc);
    ck_assert_ptr_eq(sc.url, cfg->store);
    ck_assert_str_eq(sc.url, "redis://127.0.0.1:6390/3");
    ck_assert_ptr_eq(sc.key_prefix, cfg->key_prefix);
    ck_assert_str_eq(sc.key_prefix, "t1:");
    ck_assert_int_eq(sc.params.delay, 7 * 60);
    ck_assert_int_eq(sc.params.retry_window, 9 * 3600);
    ck_assert_int_eq(sc.params.pass_ttl, 11 * 86400);
    ck_assert_int_eq(sc.params.awl_threshold, 5);
    ck_assert_int_eq(sc.params.awl_ttl, 13 * 86400);
    ck_assert_int_eq(sc.timeout_ms, 333);
    ck_assert_int_eq(sc.pool, 17);
    ck_assert_uint_eq(sc.lmdb_mapsize, 64ULL << 20);
    cfg_free(cfg);
}
END_TEST

START_TEST(test_trusted)
{
    struct cfg *cfg = cfg_defaults();
    char    err[CFG_ERRLEN];

    /* The default: loopback only. */
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.0.0.1"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.255.255.255"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "::1"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "::ffff:127.0.0.9"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "128.0.0.1"), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "::2"), 0);

    /* A list replaces the default. */
    ck_assert_int_eq(cfg_set(cfg, "trusted_networks", "192.0.2.0/24, 2001:db8::/48", err,
                             sizeof(err)), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "192.0.2.77"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "2001:db8:0:ffff::1"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "2001:db8:1::1"), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.0.0.1"), 0);

    /* A bad list leaves the set as it was. */
    ck_assert_int_eq(cfg_set(cfg, "trusted_networks", "10.0.0.0/8 bogus", err, sizeof(err)), -1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "192.0.2.77"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "10.1.1.1"), 0);

    /* Empty means none: nothing at all is trusted. */
    ck_assert_int_eq(cfg_set(cfg, "trusted_networks", "", err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(cfg->trusted_networks);
    ck_assert_uint_eq(netset_count(cfg->trusted_networks), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.0.0.1"), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "::1"), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "0.0.0.0"), 0);
    cfg_free(cfg);
}
END_TEST

/* ---- the file ----------------------------------------------------------- */

/* Files that must be refused, each with its exact "file:line: " (0: "file: "). */
static const struct {
    const char *label;
    const char *file;
    unsigned line;
    const char *why;
} file_bad_cases[] = {
    {"unknown key", "unknown-key.conf", 3, "unknown key \"greylist_time\""},
    {"bad value", "bad-value.conf", 4, "delay: bad value \"5x\": want a duration"},
    {"missing =", "missing-equals.conf", 2, "missing '=' after \"delay\""},
    {"missing key", "missing-key.conf", 4, "missing key before '='"},
    {"duplicate key", "duplicate.conf", 5, "duplicate key delay, already set on line 2"},
    {"long line", "long-line.conf", 2, "line longer than 4096 bytes"},
    {"NUL byte", "nul.conf", 3, "NUL byte in line"},
    {"retry_window <= delay", "retry-window.conf", 4,
     "retry_window (2h) must be longer than delay (2h)"},
    {"5xx reply", "reply-5xx.conf", 2, "reply: bad value \"550 5.7.1 Go away\": must be a 4xx code"},
    {"421 reply", "reply-421.conf", 3,
     "reply: bad value \"421 4.7.1 Closing\": 421 closes the SMTP session"},
    {"unterminated quote", "unterminated.conf", 2, "user: unterminated '\"' in value"},
    {"comment after value", "trailing-comment.conf", 2,
     "delay: bad value \"5m # five minutes\": want a duration"},
    {"missing file", "no-such.conf", 0, "cannot open: No such file or directory"},
    {"directory", "", 1, "cannot read: Is a directory"},
};

START_TEST(test_file_bad)
{
    char    path[512], want[1024], err[CFG_ERRLEN] = "";
    const char *label = file_bad_cases[_i].label;
    struct cfg *cfg;

    snprintf(path, sizeof(path), DATA "%s", file_bad_cases[_i].file);
    if (file_bad_cases[_i].line == 0)
        snprintf(want, sizeof(want), "%s: %s", path, file_bad_cases[_i].why);
    else
        snprintf(want, sizeof(want), "%s:%u: %s", path, file_bad_cases[_i].line,
                 file_bad_cases[_i].why);
    cfg = cfg_load(path, err, sizeof(err));
    ck_assert_msg(cfg == NULL, "%s: loaded, want an error", label);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: got \"%s\", want \"%s...\"",
                  label, err, want);
}
END_TEST

START_TEST(test_file_good)
{
    char    err[CFG_ERRLEN] = "";
    struct cfg *cfg = cfg_load(DATA "good.conf", err, sizeof(err));

    ck_assert_msg(cfg != NULL, "good.conf: %s", err);
    ck_assert_str_eq(cfg->path, DATA "good.conf");
    ck_assert_str_eq(cfg->socket, "unix:/run/redgrey/milter.sock");
    ck_assert_str_eq(cfg->store, "redis://127.0.0.1:6379/2");
    ck_assert_int_eq(cfg->delay, 2);
    ck_assert_int_eq(cfg->retry_window, 3600);
    ck_assert_int_eq(cfg->pass_ttl, 7 * 86400);
    ck_assert_int_eq(cfg->netmask_v4, 32);
    ck_assert_int_eq(cfg->netmask_v6, 48);
    ck_assert_int_eq(cfg->awl_threshold, 0);
    ck_assert_int_eq(cfg->awl_ttl, 90 * 86400);
    ck_assert_str_eq(cfg->trusted_networks_text, "10.0.0.0/8 192.168.1.0/24 2001:db8::/32");
    ck_assert_int_eq(contains(cfg->trusted_networks, "192.168.1.200"), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.0.0.1"), 0);
    ck_assert_int_eq(cfg->on_store_error, CFG_ON_ERROR_TEMPFAIL);
    ck_assert_int_eq(cfg->store_timeout_ms, 1500);
    ck_assert_int_eq(cfg->store_pool, 32);
    ck_assert_str_eq(cfg->key_prefix, "grey:");
    ck_assert_str_eq(cfg->reply, "450 4.2.0 Busy #1, come back later");
    ck_assert_str_eq(cfg->reply_code, "450");
    ck_assert_str_eq(cfg->reply_xcode, "4.2.0");
    ck_assert_str_eq(cfg->reply_text, "Busy #1, come back later");
    ck_assert_int_eq(cfg->header, 0);
    ck_assert_str_eq(cfg->user, "mail");
    ck_assert_str_eq(cfg->group, "nogroup");
    ck_assert_str_eq(cfg->pidfile, "");
    ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
    ck_assert_int_eq(cfg->log_facility, LOG_LOCAL3);
    ck_assert_uint_eq(cfg->lmdb_mapsize, 512U << 20);
    cfg_free(cfg);
}
END_TEST

START_TEST(test_file_crlf)
{
    char    err[CFG_ERRLEN] = "";
    struct cfg *cfg = cfg_load(DATA "crlf.conf", err, sizeof(err));

    ck_assert_msg(cfg != NULL, "crlf.conf: %s", err);
    ck_assert_int_eq(cfg->delay, 120);
    ck_assert_str_eq(cfg->reply_text, "Wait");
    ck_assert_str_eq(cfg->user, "");
    cfg_free(cfg);

    /* The limit is 4096 bytes of line; the CR of CR LF does not count. */
    cfg = cfg_load(DATA "limit.conf", err, sizeof(err));
    ck_assert_msg(cfg != NULL, "limit.conf: %s", err);
    ck_assert_uint_eq(netset_count(cfg->trusted_networks), 1);
    ck_assert_int_eq(contains(cfg->trusted_networks, "10.9.8.7"), 1);
    cfg_free(cfg);

    /* A last line without LF still counts. */
    cfg = cfg_load(DATA "no-newline.conf", err, sizeof(err));
    ck_assert_msg(cfg != NULL, "no-newline.conf: %s", err);
    ck_assert_int_eq(cfg->delay, 180);
    cfg_free(cfg);
}
END_TEST

/* Files without settings: the result is the defaults, key for key. */
static const char *const file_default_cases[] = {"empty.conf", "comments-only.conf"};

START_TEST(test_file_defaults)
{
    char    err[CFG_ERRLEN] = "", path[512];
    struct cfg *def = cfg_defaults(), *cfg;
    char   *want, *got;

    snprintf(path, sizeof(path), DATA "%s", file_default_cases[_i]);
    cfg = cfg_load(path, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s: %s", file_default_cases[_i], err);
    want = daemon_cfg_dump_body(def);
    got = daemon_cfg_dump_body(cfg);
    ck_assert_msg(strcmp(got, want) == 0, "%s: got\n%s\nwant\n%s", file_default_cases[_i], got,
                  want);
    free(want);
    free(got);
    cfg_free(cfg);
    cfg_free(def);
}
END_TEST

START_TEST(test_file_trusted_empty)
{
    char    err[CFG_ERRLEN] = "";
    struct cfg *cfg = cfg_load(DATA "trusted-empty.conf", err, sizeof(err));

    ck_assert_msg(cfg != NULL, "trusted-empty.conf: %s", err);
    ck_assert_uint_eq(netset_count(cfg->trusted_networks), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "127.0.0.1"), 0);
    ck_assert_int_eq(contains(cfg->trusted_networks, "::1"), 0);
    cfg_free(cfg);
}
END_TEST

START_TEST(test_file_null_path)
{
    char    err[CFG_ERRLEN] = "";

    ck_assert_ptr_null(cfg_load(NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "no configuration file given");
    cfg_free(NULL);
}
END_TEST

/* ---- cfg_dump and the documents that describe the table ----------------- */

START_TEST(test_dump_round_trip)
{
    char    err[CFG_ERRLEN] = "", path[512];
    struct cfg *cfg = cfg_load(DATA "good.conf", err, sizeof(err)), *again;
    char   *first, *second;
    FILE   *fp;

    ck_assert_msg(cfg != NULL, "good.conf: %s", err);
    first = daemon_cfg_dump_body(cfg);
    ck_assert_msg(strstr(first, "\ndelay = 2s\n") != NULL, "got\n%s", first);
    ck_assert_msg(strstr(first, "\nstore_timeout = 1500ms\n") != NULL, "got\n%s", first);
    ck_assert_msg(strstr(first, "\npidfile = \"\"\n") != NULL, "got\n%s", first);
    ck_assert_msg(strstr(first, "\nlmdb_mapsize = 512M\n") != NULL, "got\n%s", first);
    ck_assert_msg(strstr(first, "\nlog_facility = local3\n") != NULL, "got\n%s", first);

    /* What cfg_dump prints loads back to the same configuration. */
    daemon_scratch_path(path, sizeof(path), "dump.conf");
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    cfg_dump(cfg, fp);
    fclose(fp);
    again = cfg_load(path, err, sizeof(err));
    ck_assert_msg(again != NULL, "reloading the dump: %s", err);
    second = daemon_cfg_dump_body(again);
    ck_assert_msg(strcmp(first, second) == 0, "got\n%s\nwant\n%s", second, first);
    unlink(path);
    free(first);
    free(second);
    cfg_free(cfg);
    cfg_free(again);
}
END_TEST

/*
 * The sample file has each key commented out at its default, as
 * "#key = value": exactly the default dump's line behind a '#'. With the
 * '#' taken off, the sample must load and give the defaults.
 */
START_TEST(test_sample_conf)
{
    const char *sample_path = TEST_SRCDIR "/../contrib/redgrey.conf";
    struct cfg *def = cfg_defaults(), *cfg;
    char   *want = daemon_cfg_dump_body(def), *sample = daemon_read_file_ok(sample_path), *got;
    char    err[CFG_ERRLEN] = "", path[512], needle[1024];
    unsigned nkeys = 0;
    FILE   *fp;

    for (char *line = strtok(want, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        snprintf(needle, sizeof(needle), "\n#%s\n", line);
        ck_assert_msg(strstr(sample, needle) != NULL, "contrib/redgrey.conf lacks \"#%s\"", line);
        nkeys++;
    }
    ck_assert_uint_eq(nkeys, 35);
    free(want);

    daemon_scratch_path(path, sizeof(path), "sample.conf");
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (char *line = strtok(sample, "\n"); line != NULL; line = strtok(NULL, "\n"))
        fprintf(fp, "%s\n", line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' ? line + 1 : line);
    fclose(fp);
    cfg = cfg_load(path, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "uncommented sample: %s", err);
    want = daemon_cfg_dump_body(def);
    got = daemon_cfg_dump_body(cfg);
    ck_assert_msg(strcmp(got, want) == 0, "uncommented sample: got\n%s\nwant\n%s", got, want);
    unlink(path);
    free(want);
    free(got);
    free(sample);
    cfg_free(cfg);
    cfg_free(def);
}
END_TEST

/* The man page has an entry for each key, with the table's default. */
START_TEST(test_man_page)
{
    struct cfg *def = cfg_defaults();
    char   *want = daemon_cfg_dump_body(def);
    char   *man = daemon_read_file_ok(TEST_SRCDIR "/../doc/redgrey.conf.5");
    char    needle[1024];

    for (char *line = strtok(want, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char   *eq = strstr(line, " = ");

        if (line[0] == '#')
            continue;
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        snprintf(needle, sizeof(needle), "\n.TP\n\\fB%s\\fR = ", line);
        ck_assert_msg(strstr(man, needle) != NULL, "redgrey.conf.5 lacks an entry for %s", line);
        snprintf(needle, sizeof(needle), "(default \\fB%s\\fR", eq + 3);
        ck_assert_msg(strstr(man, needle) != NULL, "redgrey.conf.5 lacks %s's default \"%s\"",
                      line, eq + 3);
    }
    free(want);
    free(man);
    cfg_free(def);
}
END_TEST

static Suite *
cfg_suite(void)
{
    Suite  *s = suite_create("cfg");
    TCase  *tc;

    tc = tcase_create("types");
    tcase_add_loop_test(tc, test_duration, 0, NELEM(duration_cases));
    tcase_add_loop_test(tc, test_size, 0, NELEM(size_cases));
    tcase_add_loop_test(tc, test_bool, 0, NELEM(bool_cases));
    tcase_add_test(tc, test_null_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_loop_test(tc, test_key, 0, NELEM(key_cases));
    tcase_add_test(tc, test_set_bad_input);
    tcase_add_loop_test(tc, test_reply, 0, NELEM(reply_cases));
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_trusted);
    tcase_add_test(tc, test_store_config);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_add_loop_test(tc, test_file_bad, 0, NELEM(file_bad_cases));
    tcase_add_test(tc, test_file_good);
    tcase_add_test(tc, test_file_crlf);
    tcase_add_loop_test(tc, test_file_defaults, 0, NELEM(file_default_cases));
    tcase_add_test(tc, test_file_trusted_empty);
    tcase_add_test(tc, test_file_null_path);
    suite_add_tcase(s, tc);

    tc = tcase_create("documents");
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_sample_conf);
    tcase_add_test(tc, test_man_page);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    log_init("check_cfg", LOG_MAIL, LOG_ERR, 1);
    return daemon_run_suites(cfg_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
