/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg.c - the configuration's public API and the life of a struct cfg:
 * the defaults, loading a file over them, printing the effective values,
 * freeing.
 *
 * The work is done by the other cfg files (see cfg_priv.h): the key
 * table (cfg_keys.c), the setters of single keys (cfg_set.c), the file
 * reader (cfg_file.c) and the rules between keys (cfg_check.c). Nothing
 * here logs: every error goes back to the caller as "FILE:LINE: reason".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"
#include "netblock.h"
#include "xalloc.h"

/* cfg_defaults - every key at its default, through the normal setters */
struct cfg *
cfg_defaults(void)
{
    struct cfg *cfg = xcalloc(1, sizeof(*cfg));
    char    err[CFG_ERRLEN];

    for (size_t i = 0; i < cfg_keys_count; i++) {
        if (cfg_keys[i].set(cfg, &cfg_keys[i], cfg_keys[i].def, err, sizeof(err)) < 0) {
            /* A broken built-in table: a bug, never a user's mistake. */
            fprintf(stderr, "cfg: built-in default refused: %s\n", err);
            abort();
        }
    }
    return cfg;
}

/* cfg_load - the defaults, overridden by the file's lines */
struct cfg *
cfg_load(const char *path, char *err, size_t errlen)
{
    unsigned seen[CFG_KEYS_MAX] = {0};
    struct cfg *cfg;
    FILE   *fp;

    if (path == NULL) {
        snprintf(err, errlen, "no configuration file given");
        return NULL;
    }
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    cfg = cfg_defaults();
    cfg->path = xstrdup(path);
    if (cfg_file_read(cfg, fp, path, seen, err, errlen) < 0) {
        fclose(fp);
        cfg_free(cfg);
        return NULL;
    }
    fclose(fp);
    if (cfg_check_cross(cfg, path, seen, err, errlen) < 0) {
        cfg_free(cfg);
        return NULL;
    }
    return cfg;
}

/* cfg_dump_string - a string value, quoted where the parser needs it */
static void
cfg_dump_string(FILE *fp, const char *name, const char *s)
{
    size_t  len = strlen(s);

    if (len == 0 || s[0] == '"' || s[0] == ' ' || s[0] == '\t'
        || s[len - 1] == ' ' || s[len - 1] == '\t')
        fprintf(fp, "%s = \"%s\"\n", name, s);
    else
        fprintf(fp, "%s = %s\n", name, s);
}

/* cfg_dump - every key with its effective value, config-file style */
void
cfg_dump(const struct cfg *cfg, FILE *fp)
{
    char    buf[64];

    fprintf(fp, "# redgrey configuration: %s\n", cfg->path ? cfg->path : "built-in defaults");
    for (size_t i = 0; i < cfg_keys_count; i++) {
        const struct cfg_key *k = &cfg_keys[i];

        fprintf(fp, "\n# %s\n", k->help);
        switch (k->type) {
        case CFG_TYPE_STRING:
            cfg_dump_string(fp, k->name, *CFG_CFIELD(cfg, k, char *));
            break;
        case CFG_TYPE_SECONDS:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_secs(*CFG_CFIELD(cfg, k, int64_t), buf, sizeof(buf)));
            break;
        case CFG_TYPE_MSECS:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_ms(*CFG_CFIELD(cfg, k, int), buf, sizeof(buf)));
            break;
        case CFG_TYPE_INT:
            fprintf(fp, "%s = %d\n", k->name, *CFG_CFIELD(cfg, k, int));
            break;
        case CFG_TYPE_BOOL:
            fprintf(fp, "%s = %s\n", k->name, *CFG_CFIELD(cfg, k, int) ? "yes" : "no");
            break;
        case CFG_TYPE_INT64:
            fprintf(fp, "%s = %lld\n", k->name, (long long) *CFG_CFIELD(cfg, k, int64_t));
            break;
        case CFG_TYPE_SIZE:
            fprintf(fp, "%s = %s\n", k->name,
                    cfg_format_size(*CFG_CFIELD(cfg, k, size_t), buf, sizeof(buf)));
            break;
        case CFG_TYPE_ENUM: {
            int     v = *CFG_CFIELD(cfg, k, int);
            const char *const *n;

            for (n = k->names; *n != NULL && k->parse(*n) != v; n++)
                continue;
            if (*n != NULL)
                fprintf(fp, "%s = %s\n", k->name, *n);
            else
                fprintf(fp, "%s = %d\n", k->name, v);
            break;
        }
        case CFG_TYPE_NETS:
            cfg_dump_string(fp, k->name, cfg->trusted_networks_text);
            break;
        }
    }
}

/* cfg_free - release the cfg and all it owns */
void
cfg_free(struct cfg *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->socket);
    free(cfg->store);
    netset_free(cfg->trusted_networks);
    free(cfg->trusted_networks_text);
    free(cfg->key_prefix);
    free(cfg->reply);
    free(cfg->reply_text);
    free(cfg->user);
    free(cfg->group);
    free(cfg->pidfile);
    free(cfg->spf_probe);
    free(cfg->dns_servers);
    free(cfg->spf_domains);
    free(cfg->whitelist_clients);
    free(cfg->whitelist_client_names);
    free(cfg->whitelist_recipients);
    free(cfg->whitelist_sender_domains);
    free(cfg->log_target);
    free(cfg->socket_group);
    free(cfg->sentinel_password);
    free(cfg->metrics_listen);
    free(cfg->greytrap_recipients);
    free(cfg->dnsbl_sites);              /* DNS lists */
    free(cfg->dynamic_patterns);
    free(cfg);
}
