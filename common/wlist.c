/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wlist.c - static whitelists: load from files, look up without locks.
 *
 * Every list is a sorted array of lower-cased strings (or, for client
 * addresses, a netset), filled at load time and searched with a binary
 * search afterwards. A suffix entry ".example.com" is stored with its dot,
 * so a name is tested by looking up each of its tails that starts with a
 * dot: at most one search per label. Loading is strict on purpose: a list
 * that grants a pass must say exactly what it means, so anything odd is an
 * error naming the file and line, and the caller keeps its old lists.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ascii.h"
#include "hostname.h"
#include "logesc.h"
#include "mailaddr.h"
#include "netblock.h"
#include "wlist.h"
#include "xalloc.h"

#define WLIST_NAME_MAX HOSTNAME_MAX      /* a DNS name without its final dot */
#define WLIST_LOCAL_MAX 64               /* RFC 5321 local part */
#define WLIST_QUOTE_MAX 64               /* how much of a bad entry an error shows */

/* A growable, then sorted, array of owned strings. */
struct wlist_strs {
    char  **v;                           /* entries, sorted after finish */
    size_t  n;                           /* entries in use */
    size_t  cap;                         /* entries allocated */
};

/* Names matched exactly or by suffix (client names, sender domains). */
struct wlist_names {
    struct wlist_strs exact;             /* "mx.example.com" */
    struct wlist_strs suffix;            /* ".example.com", dot kept */
};

/* What a loaded file was, for wlist_changed(). */
struct wlist_stamp {
    char   *path;                        /* as given to wlist_load_file */
    dev_t   dev;                         /* st_dev */
    ino_t   ino;                         /* st_ino */
    off_t   size;                        /* st_size */
    struct timespec mtime;               /* st_mtim */
    struct timespec ctime;               /* st_ctim */
};

struct wlist {
    atomic_uint refs;                    /* references; the last unref frees */
    int     finished;                    /* read-only from wlist_finish on */
    struct netset *clients;              /* WLIST_CLIENTS */
    struct wlist_names names;            /* WLIST_CLIENT_NAMES */
    struct wlist_strs rcpt_full;         /* "user@domain" */
    struct wlist_strs rcpt_local;        /* "user" of "user@" */
    struct wlist_strs rcpt_domain;       /* "domain" of "@domain" */
    struct wlist_names senders;          /* WLIST_SENDER_DOMAINS */
    struct wlist_stamp *stamps;          /* one per file loaded */
    size_t  nstamps;                     /* stamps in use */
    struct wlist *traps;                 /* WLIST_GREYTRAPS: its WLIST_RECIPIENTS; or NULL */
};

/* wlist_err - format a message into err, if the caller gave one */
static void __attribute__((format(printf, 3, 4)))
wlist_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* wlist_strs_add - append a copy of s */
static void
wlist_strs_add(struct wlist_strs *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
    }
    a->v[a->n++] = xstrdup(s);
}

/* wlist_strcmp - qsort comparator over char * */
static int
wlist_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* wlist_strs_finish - sort and drop duplicates */
static void
wlist_strs_finish(struct wlist_strs *a)
{
    size_t  i, o;

    if (a->n == 0)
        return;
    qsort(a->v, a->n, sizeof(*a->v), wlist_strcmp);
    for (i = 1, o = 1; i < a->n; i++) {
        if (strcmp(a->v[i], a->v[o - 1]) == 0)
            free(a->v[i]);
        else
            a->v[o++] = a->v[i];
    }
    a->n = o;
}

/* wlist_strs_free - release the entries and the array */
static void
wlist_strs_free(struct wlist_strs *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* wlist_strs_has - binary search for s; 1 if present */
static int
wlist_strs_has(const struct wlist_strs *a, const char *s)
{
    size_t  lo = 0, hi = a->n;

    while (lo < hi) {
        size_t  mid = lo + (hi - lo) / 2;
        int     cmp = strcmp(s, a->v[mid]);

        if (cmp == 0)
            return 1;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* wlist_names_has - name (lower-cased, no final dot) is listed exactly or by a suffix */
static int
wlist_names_has(const struct wlist_names *names, const char *name)
{
    if (wlist_strs_has(&names->exact, name))
        return 1;
    if (names->suffix.n == 0)
        return 0;
    /* ".example.com" matches "a.example.com" and "b.a.example.com", not "example.com". */
    for (const char *p = strchr(name + 1, '.'); p != NULL; p = strchr(p + 1, '.'))
        if (wlist_strs_has(&names->suffix, p))
            return 1;
    return 0;
}

/* wlist_new - see wlist.h */
struct wlist *
wlist_new(void)
{
    struct wlist *w = xcalloc(1, sizeof(*w));

    atomic_init(&w->refs, 1);
    w->clients = netset_new();
    return w;
}

/* wlist_free - release everything w owns */
static void
wlist_free(struct wlist *w)
{
    netset_free(w->clients);
    wlist_strs_free(&w->names.exact);
    wlist_strs_free(&w->names.suffix);
    wlist_strs_free(&w->rcpt_full);
    wlist_strs_free(&w->rcpt_local);
    wlist_strs_free(&w->rcpt_domain);
    wlist_strs_free(&w->senders.exact);
    wlist_strs_free(&w->senders.suffix);
    for (size_t i = 0; i < w->nstamps; i++)
        free(w->stamps[i].path);
    free(w->stamps);
    if (w->traps != NULL)
        wlist_free(w->traps);
    free(w);
}

/* wlist_ref - see wlist.h */
struct wlist *
wlist_ref(struct wlist *w)
{
    if (w != NULL)
        atomic_fetch_add(&w->refs, 1);
    return w;
}

/* wlist_unref - see wlist.h */
void
wlist_unref(struct wlist *w)
{
    if (w != NULL && atomic_fetch_sub(&w->refs, 1) == 1)
        wlist_free(w);
}

/*
 * wlist_name_check - validate (hostname_check) and canonicalise a host or
 * domain name in place (lower case, final dot dropped). A leading dot is
 * allowed when suffix_ok. Returns NULL, or the reason it is not a name.
 */
static const char *
wlist_name_check(char *name, int suffix_ok)
{
    size_t  len;
    char   *p;

    ascii_lower(name);
    len = strlen(name);
    if (len > 1 && name[len - 1] == '.' && name[len - 2] != '.')
        name[--len] = '\0';
    if (strchr(name, '*') != NULL)
        return "wildcards are not supported (.example.com matches every name under example.com)";
    p = name;
    if (*p == '.') {
        if (!suffix_ok)
            return "a leading dot is not allowed here";
        p++;
    }
    return hostname_check(p, strlen(p));
}

/* wlist_add_name - a name entry (client name or sender domain); NULL or a reason */
static const char *
wlist_add_name(struct wlist_names *names, char *entry, int client_name)
{
    struct ipaddr ip;
    const char *why;

    if (strchr(entry, '@') != NULL)
        return client_name ? "an address, not a host name" : "an address, not a domain";
    if (ipaddr_parse(entry, &ip) == 0)
        return client_name ? "an IP address, not a host name (it belongs in the client list)"
            : "an IP address, not a domain";
    if ((why = wlist_name_check(entry, 1)) != NULL)
        return why;
    if (client_name && strcmp(entry, "unknown") == 0)
        return "\"unknown\" is what Postfix sends for a name it could not verify";
    wlist_strs_add(entry[0] == '.' ? &names->suffix : &names->exact, entry);
    return NULL;
}

/* wlist_local_char - a character we accept in an unquoted local part */
static int
wlist_local_char(int c)
{
    return c > 0x20 && c < 0x7f && strchr("\"(),:;<>@[\\]", c) == NULL;
}

/* wlist_add_rcpt - a recipient entry: user@domain, user@ or @domain */
static const char *
wlist_add_rcpt(struct wlist *w, char *entry)
{
    char   *at = strchr(entry, '@');
    char   *domain;
    const char *why;

    if (at == NULL)
        return "no '@' (write user@, @domain or user@domain)";
    if (strchr(at + 1, '@') != NULL)
        return "more than one '@'";
    if (strchr(entry, '"') != NULL)
        return "quoted local parts are not supported";
    *at = '\0';
    domain = at + 1;
    if (entry[0] == '\0' && domain[0] == '\0')
        return "neither user nor domain";
    if (strlen(entry) > WLIST_LOCAL_MAX)
        return "local part longer than 64 characters";
    for (const char *p = entry; *p != '\0'; p++)
        if (!wlist_local_char((unsigned char) *p))
            return "bad character in local part";
    ascii_lower(entry);
    if (domain[0] != '\0' && (why = wlist_name_check(domain, 0)) != NULL)
        return why;
    if (entry[0] == '\0') {
        wlist_strs_add(&w->rcpt_domain, domain);
    } else if (domain[0] == '\0') {
        wlist_strs_add(&w->rcpt_local, entry);
    } else {
        *at = '@';
        wlist_strs_add(&w->rcpt_full, entry);
    }
    return NULL;
}

/* wlist_add_client - a client address or CIDR block */
static const char *
wlist_add_client(struct wlist *w, const char *entry, char *why, size_t whylen)
{
    struct netblock nb;

    if (netblock_parse(entry, &nb, why, whylen) < 0)
        return why;
    netset_add(w->clients, &nb);
    return NULL;
}

/*
 * wlist_getline - read one line of fp into buf (WLIST_LINE_MAX + 2 bytes),
 * without its LF or CRLF. Returns 1, 0 at end of file, or -1 with *why set
 * (a NUL byte, a line too long, a read error).
 */
static int
wlist_getline(FILE *fp, char *buf, const char **why)
{
    size_t  n = 0;
    int     c, any = 0;

    while ((c = getc(fp)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
        if (c == '\0') {
            *why = "NUL byte in line";
            return -1;
        }
        /* Room for WLIST_LINE_MAX characters, a CR and the NUL. */
        if (n > WLIST_LINE_MAX) {
            *why = "line longer than 1024 characters";
            return -1;
        }
        buf[n++] = (char) c;
    }
    if (ferror(fp)) {
        *why = "read error";
        return -1;
    }
    if (!any)
        return 0;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > WLIST_LINE_MAX) {
        *why = "line longer than 1024 characters";
        return -1;
    }
    buf[n] = '\0';
    return 1;
}

/*
 * wlist_entry - the entry of line (comment and surrounding blanks removed,
 * in place), "" for a blank or comment line, or NULL with *why set.
 */
static char *
wlist_entry(char *line, const char **why)
{
    char   *p, *end;

    if ((p = strchr(line, '#')) != NULL)
        *p = '\0';
    for (p = line; *p == ' ' || *p == '\t'; p++)
        ;
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    for (char *q = p; *q != '\0'; q++) {
        unsigned char c = (unsigned char) *q;

        if (c == ' ' || c == '\t') {
            *why = "more than one entry on the line";
            return NULL;
        }
        if (c < 0x20 || c >= 0x7f) {
            *why = "control or non-ASCII character";
            return NULL;
        }
    }
    return p;
}

/* wlist_stamp_add - remember what fd of path is, for wlist_changed() */
static void
wlist_stamp_add(struct wlist *w, const char *path, const struct stat *st)
{
    struct wlist_stamp *s;

    w->stamps = xreallocarray(w->stamps, w->nstamps + 1, sizeof(*w->stamps));
    s = &w->stamps[w->nstamps++];
    s->path = xstrdup(path);
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
    s->ctime = st->st_ctim;
}

/* wlist_add_entry - add one entry of kind; NULL, or the reason it is bad */
static const char *
wlist_add_entry(struct wlist *w, enum wlist_kind kind, char *entry, char *why, size_t whylen)
{
    switch (kind) {
    case WLIST_CLIENTS:
        return wlist_add_client(w, entry, why, whylen);
    case WLIST_CLIENT_NAMES:
        return wlist_add_name(&w->names, entry, 1);
    case WLIST_RECIPIENTS:
        return wlist_add_rcpt(w, entry);
    case WLIST_SENDER_DOMAINS:
        return wlist_add_name(&w->senders, entry, 0);
    default:
        return "unknown list kind";
    }
}

/* wlist_load_file - see wlist.h */
int
wlist_load_file(struct wlist *w, enum wlist_kind kind, const char *path, char *err,
                size_t errlen)
{
    char    line[WLIST_LINE_MAX + 2];
    char    shown[LOGESC_QUOTE_SIZE(WLIST_QUOTE_MAX)];
    char    why[128 + sizeof(shown)];
    const char *reason = NULL;
    struct stat st;
    unsigned lineno = 0;
    FILE   *fp;
    int     rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        wlist_err(err, errlen, "no file name");
        return -1;
    }
    if (w == NULL || w->finished || (unsigned) kind >= WLIST_NKINDS) {
        wlist_err(err, errlen, "%s: %s", path,
                  w == NULL ? "no list" : w->finished ? "list already finished" : "bad list kind");
        return -1;
    }
    /* Greytraps are recipients, kept apart: a list of their own inside. */
    if (kind == WLIST_GREYTRAPS) {
        if (w->traps == NULL)
            w->traps = wlist_new();
        return wlist_load_file(w->traps, WLIST_RECIPIENTS, path, err, errlen);
    }
    if ((fp = fopen(path, "r")) == NULL) {
        wlist_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) != 0) {
        wlist_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        fclose(fp);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        wlist_err(err, errlen, "%s: is a directory", path);
        fclose(fp);
        return -1;
    }
    wlist_stamp_add(w, path, &st);

    while ((rc = wlist_getline(fp, line, &reason)) > 0) {
        char   *entry;

        lineno++;
        /* Some Windows editors start a UTF-8 file with a byte order mark. */
        entry = line;
        if (lineno == 1 && strncmp(entry, "\xef\xbb\xbf", 3) == 0)
            entry += 3;
        if ((entry = wlist_entry(entry, &reason)) == NULL)
            break;
        if (entry[0] == '\0')
            continue;
        logesc_quote(entry, WLIST_QUOTE_MAX, shown, sizeof(shown));
        why[0] = '\0';
        if ((reason = wlist_add_entry(w, kind, entry, why, sizeof(why))) != NULL) {
            /* netblock's reason quotes the entry itself; ours do not. */
            if (reason != why) {
                snprintf(why, sizeof(why), "%s: %s", reason, shown);
                reason = why;
            }
            break;
        }
    }
    if (rc < 0)
        lineno++;
    fclose(fp);
    if (reason != NULL) {
        wlist_err(err, errlen, "%s:%u: %s", path, lineno, reason);
        return -1;
    }
    return 0;
}

/* wlist_finish - see wlist.h */
void
wlist_finish(struct wlist *w)
{
    if (w == NULL || w->finished)
        return;
    netset_finish(w->clients);
    wlist_strs_finish(&w->names.exact);
    wlist_strs_finish(&w->names.suffix);
    wlist_strs_finish(&w->rcpt_full);
    wlist_strs_finish(&w->rcpt_local);
    wlist_strs_finish(&w->rcpt_domain);
    wlist_strs_finish(&w->senders.exact);
    wlist_strs_finish(&w->senders.suffix);
    wlist_finish(w->traps);
    w->finished = 1;
}

/* wlist_load - see wlist.h */
struct wlist *
wlist_load(const struct wlist_files *files, char *err, size_t errlen)
{
    struct wlist *w;
    const char *paths[WLIST_NKINDS];

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (files == NULL) {
        wlist_err(err, errlen, "no list files");
        return NULL;
    }
    paths[WLIST_CLIENTS] = files->clients;
    paths[WLIST_CLIENT_NAMES] = files->client_names;
    paths[WLIST_RECIPIENTS] = files->recipients;
    paths[WLIST_SENDER_DOMAINS] = files->sender_domains;
    paths[WLIST_GREYTRAPS] = files->greytraps;

    w = wlist_new();
    for (int k = 0; k < WLIST_NKINDS; k++) {
        if (paths[k] == NULL || paths[k][0] == '\0')
            continue;
        if (wlist_load_file(w, (enum wlist_kind) k, paths[k], err, errlen) != 0) {
            wlist_unref(w);
            return NULL;
        }
    }
    wlist_finish(w);
    return w;
}

/* wlist_timespec_eq - same instant */
static int
wlist_timespec_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* wlist_changed - see wlist.h */
int
wlist_changed(const struct wlist *w)
{
    struct stat st;

    if (w == NULL)
        return 0;
    if (wlist_changed(w->traps))
        return 1;
    for (size_t i = 0; i < w->nstamps; i++) {
        const struct wlist_stamp *s = &w->stamps[i];

        if (stat(s->path, &st) != 0)
            return 1;
        if (st.st_dev != s->dev || st.st_ino != s->ino || st.st_size != s->size
            || !wlist_timespec_eq(&st.st_mtim, &s->mtime)
            || !wlist_timespec_eq(&st.st_ctim, &s->ctime))
            return 1;
    }
    return 0;
}

/* wlist_size - see wlist.h */
size_t
wlist_size(const struct wlist *w, enum wlist_kind kind)
{
    if (w == NULL)
        return 0;
    switch (kind) {
    case WLIST_CLIENTS:
        return netset_count(w->clients);
    case WLIST_CLIENT_NAMES:
        return w->names.exact.n + w->names.suffix.n;
    case WLIST_RECIPIENTS:
        return w->rcpt_full.n + w->rcpt_local.n + w->rcpt_domain.n;
    case WLIST_SENDER_DOMAINS:
        return w->senders.exact.n + w->senders.suffix.n;
    case WLIST_GREYTRAPS:
        return wlist_size(w->traps, WLIST_RECIPIENTS);
    default:
        return 0;
    }
}

/* wlist_client_addr - see wlist.h */
int
wlist_client_addr(const struct wlist *w, const struct ipaddr *ip)
{
    if (w == NULL || ip == NULL)
        return 0;
    return netset_contains(w->clients, ip);
}

/*
 * wlist_name_key - copy name into buf (WLIST_NAME_MAX + 2 bytes) lower-cased,
 * without a final dot. Returns buf, or NULL if it cannot be a listed name.
 */
static char *
wlist_name_key(const char *name, char *buf)
{
    size_t  len = strnlen(name, WLIST_NAME_MAX + 2);

    if (len == 0 || len > WLIST_NAME_MAX + 1)
        return NULL;
    memcpy(buf, name, len + 1);
    if (buf[len - 1] == '.')
        buf[--len] = '\0';
    if (len == 0 || len > WLIST_NAME_MAX)
        return NULL;
    ascii_lower(buf);
    return buf;
}

/* wlist_client_name - see wlist.h */
int
wlist_client_name(const struct wlist *w, const char *name, int verified)
{
    char    buf[WLIST_NAME_MAX + 2];

    /* Postfix says "unknown" for a name it could not verify; sendmail "[addr]". */
    if (w == NULL || name == NULL || !verified || name[0] == '['
        || strcmp(name, "unknown") == 0)
        return 0;
    if (wlist_name_key(name, buf) == NULL)
        return 0;
    return wlist_names_has(&w->names, buf);
}

/* wlist_sender_domain - see wlist.h */
int
wlist_sender_domain(const struct wlist *w, const char *domain, int spf_pass)
{
    char    buf[WLIST_NAME_MAX + 2];

    if (w == NULL || domain == NULL || !spf_pass)
        return 0;
    if (wlist_name_key(domain, buf) == NULL)
        return 0;
    return wlist_names_has(&w->senders, buf);
}

/* wlist_recipient - see wlist.h */
int
wlist_recipient(const struct wlist *w, const char *rcpt)
{
    char    buf[MAILADDR_MAX + 2];
    char    full[MAILADDR_MAX + 2];
    char   *at, *domain = NULL, *plus;
    size_t  len;

    if (w == NULL || rcpt == NULL)
        return 0;
    len = strnlen(rcpt, MAILADDR_MAX + 1);
    if (len == 0 || len > MAILADDR_MAX)
        return 0;
    memcpy(buf, rcpt, len + 1);
    ascii_lower(buf);

    /* The domain is after the last '@'; a bare "postmaster" has none. */
    if ((at = strrchr(buf, '@')) != NULL) {
        *at = '\0';
        domain = at + 1;
        len = strlen(domain);
        if (len > 0 && domain[len - 1] == '.')
            domain[--len] = '\0';
        if (wlist_strs_has(&w->rcpt_domain, domain))
            return 1;
    }

    /* Try user, then user without its +extension. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if ((plus = strchr(buf, '+')) == NULL || plus == buf)
                break;
            *plus = '\0';
        }
        if (wlist_strs_has(&w->rcpt_local, buf))
            return 1;
        if (domain != NULL) {
            size_t  ll = strlen(buf), dl = strlen(domain);

            /* Both come from buf, so they fit; say so to the reader. */
            if (ll + 1 + dl >= sizeof(full))
                return 0;
            memcpy(full, buf, ll);
            full[ll] = '@';
            memcpy(full + ll + 1, domain, dl + 1);
            if (wlist_strs_has(&w->rcpt_full, full))
                return 1;
        }
    }
    return 0;
}

/* wlist_greytrap - see wlist.h */
int
wlist_greytrap(const struct wlist *w, const char *rcpt)
{
    return w != NULL && wlist_recipient(w->traps, rcpt);
}
