/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg_priv.h - the insides of the configuration parser, shared by its
 * files and by nothing else:
 *   cfg.c        the public API: defaults, load, dump, free
 *   cfg_keys.c   the key table: names, types, defaults, ranges, setters
 *   cfg_set.c    cfg_set() and the setters: parse one value, check it, store it
 *   cfg_file.c   reading a file: lines, "key = value", applying them
 *   cfg_check.c  the rules between keys, once a whole file is read
 * The single values (durations, sizes, booleans) are cfg_value.c's.
 *
 * Thread-safety: the table is constant; the rest works on a cfg the
 * caller owns.
 */
#ifndef REDGREY_CFG_PRIV_H
#define REDGREY_CFG_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"

#define CFG_KEYS_MAX 64                  /* room for the table's rows (cfg_keys.c checks) */

/* What a key holds; decides how cfg_dump prints it and how ranges read. */
enum cfg_type {
    CFG_TYPE_STRING,                     /* char *; range = length */
    CFG_TYPE_SECONDS,                    /* int64_t seconds; range in ms */
    CFG_TYPE_MSECS,                      /* int milliseconds; range in ms */
    CFG_TYPE_INT,                        /* int */
    CFG_TYPE_INT64,                      /* int64_t */
    CFG_TYPE_SIZE,                       /* size_t bytes; range in bytes */
    CFG_TYPE_BOOL,                       /* int 0 or 1 */
    CFG_TYPE_ENUM,                       /* int, one of names[] */
    CFG_TYPE_NETS,                       /* netset plus its text */
};

struct cfg_key;

/* A setter parses value into cfg, or leaves cfg alone and returns -1 with err. */
typedef int cfg_setter(struct cfg *cfg, const struct cfg_key *k, const char *value,
                       char *err, size_t errlen);

/* One row of the key table. */
struct cfg_key {
    const char *name;                    /* as written in the file */
    enum cfg_type type;                  /* storage and display */
    const char *def;                     /* default, as a config value */
    int64_t min;                         /* smallest value (see type) */
    int64_t max;                         /* largest value (see type) */
    size_t  offset;                      /* the struct cfg field */
    cfg_setter *set;                     /* parse, check, store */
    int   (*parse)(const char *);        /* CFG_TYPE_ENUM: name to value, -1 */
    const char *const *names;            /* CFG_TYPE_ENUM: canonical names */
    const char *help;                    /* one line for cfg_dump */
};

/* The field of row k in cfg, as a pointer to type. */
#define CFG_FIELD(cfg, k, type) ((type *) (void *) ((char *) (cfg) + (k)->offset))
#define CFG_CFIELD(cfg, k, type) \
    ((const type *) (const void *) ((const char *) (cfg) + (k)->offset))

/* cfg_keys.c: the table, in the order cfg_dump prints it. */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_keys_count;      /* rows in cfg_keys, at most CFG_KEYS_MAX */

/* cfg_keys_find - the row of a key name, or NULL */
const struct cfg_key *cfg_keys_find(const char *name);

/* cfg_set.c: the setters the table names, one per kind of value. */
cfg_setter cfg_set_string;               /* text of min..max bytes, no control chars */
cfg_setter cfg_set_socket;               /* libmilter socket spec */
cfg_setter cfg_set_store;                /* store URL: its scheme */
cfg_setter cfg_set_prefix;               /* store key prefix */
cfg_setter cfg_set_account;              /* user or group name, or "" */
cfg_setter cfg_set_path;                 /* absolute path, or "" for none */
cfg_setter cfg_set_reply;                /* "4XX 4.X.Y text" */
cfg_setter cfg_set_ip;                   /* one IP address, or "" */
cfg_setter cfg_set_servers;              /* up to 3 IPv4[:PORT] resolvers, or "" */
cfg_setter cfg_set_listen;               /* IPv4:PORT or [IPv6]:PORT, or "" */
cfg_setter cfg_set_seconds;              /* duration kept in whole seconds */
cfg_setter cfg_set_msecs;                /* duration kept in milliseconds */
cfg_setter cfg_set_int;                  /* whole number in an int */
cfg_setter cfg_set_int64;                /* whole number in an int64_t */
cfg_setter cfg_set_size;                 /* size in a size_t */
cfg_setter cfg_set_bool;                 /* yes/no in an int */
cfg_setter cfg_set_enum;                 /* one of the row's names */
cfg_setter cfg_set_nets;                 /* CIDR list into trusted_networks */
cfg_setter cfg_set_log_target;           /* syslog, stderr or file:/PATH */

/*
 * cfg_file_read - apply every "key = value" line of fp (named path) to
 * cfg. seen[] (at least cfg_keys_count entries, zeroed) receives the
 * line of each key set, by row index. Returns 0, or -1 with "path:line: reason" in err.
 */
int     cfg_file_read(struct cfg *cfg, FILE *fp, const char *path, unsigned *seen,
                      char *err, size_t errlen);

/*
 * cfg_check_cross - the rules between keys, once the whole file is read.
 * seen[] is cfg_file_read's. Returns 0, or -1 with "path:line: reason".
 */
int     cfg_check_cross(const struct cfg *cfg, const char *path, const unsigned *seen,
                        char *err, size_t errlen);

#endif
