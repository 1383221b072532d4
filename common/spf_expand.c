/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_expand.c - expand big-sender domains' SPF records into ranges.
 *
 * A record is read as text and split into terms here, not compiled by
 * libspf2: libspf2 rejects a whole record for one bad term, while a
 * whitelist wants to keep the good terms and report the bad one. Only the
 * DNS goes through libspf2's layer API (SPF_dns_lookup), so the tests can
 * serve records from its zone layer.
 *
 * Each listed domain is walked depth-first with its own lookup cap and DNS
 * time budget. Names already walked in this run are not walked again
 * (diamond includes are common: many providers include the same _spf
 * hosts); a name that is on the current include path is a loop.
 *
 * Guard mode (opts.guard, for spf_guard) walks one sender domain: w->pass
 * says whether every term on the way here was a pass term, ranges are
 * added only then, and w->facts collects what the guard needs to know
 * besides the ranges. A name walked without pass is walked again if a
 * pass path reaches it later (seen[] keeps "+name" and "-name").
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>

#include "ascii.h"
#include "hostname.h"
#include "logesc.h"
#include "spf_expand.h"
#include "spf_resolver.h"

#define NAMEBUF (SPF_EXPAND_NAME_MAX + 2)    /* a name, its trailing dot, NUL */

/* A term or name from DNS, escaped for a note (logesc): about 80 bytes, then "...". */
#define SPF_EXPAND_TERM_SHOWN 84

/* The state of one run. */
struct walk {
    SPF_dns_server_t *dns;               /* borrowed */
    struct spf_expand_opts o;            /* defaults filled in */
    struct netset *set;                  /* may be NULL */
    struct spf_expand_report *rep;
    const char *top;                     /* the listed domain being walked */
    unsigned lookups;                    /* this listed domain's queries */
    unsigned failures;                   /* this listed domain's failures */
    unsigned added;                      /* this listed domain's ranges */
    int     cap_noted;                   /* cap already reported */
    unsigned depth;                      /* names on path[] */
    char    path[SPF_EXPAND_MAX_DEPTH + 1][NAMEBUF];
    char  **seen;                        /* "+name"/"-name" walked in this run */
    size_t  nseen, seen_cap;
    int     pass;                        /* guard: every term so far was "+" */
    int     term_pass;                   /* guard: the current term can make a pass */
    int     stopped;                     /* guard: an RFC limit was passed */
    struct spf_expand_facts facts;       /* what this listed domain's walk learnt */
};

/* note - count nothing; keep a formatted note if there is room */
static void
note(struct walk *w, enum spf_expand_note_kind kind, const char *fmt, ...)
{
    struct spf_expand_report *rep = w->rep;
    va_list ap;

    if (rep->nnotes >= SPF_EXPAND_NOTES_MAX) {
        rep->notes_dropped++;
        return;
    }
    rep->notes[rep->nnotes].kind = kind;
    va_start(ap, fmt);
    vsnprintf(rep->notes[rep->nnotes].text, SPF_EXPAND_NOTE_LEN, fmt, ap);
    va_end(ap);
    rep->nnotes++;
}

/* spf_expand_name_norm - see the header */
int
spf_expand_name_norm(const char *in, size_t inlen, char out[SPF_EXPAND_NAME_MAX + 2])
{
    size_t  i;

    if (inlen >= NAMEBUF)
        return -1;
    for (i = 0; i < inlen; i++)
        out[i] = (char) ascii_tolower((unsigned char) in[i]);
    out[inlen] = '\0';
    if (!hostname_ok(out))
        return -1;
    if (inlen > 0 && out[inlen - 1] == '.')
        out[inlen - 1] = '\0';
    return 0;
}

/* seen_has - 1 if name was walked in this run on a path at least as passing as pass */
static int
seen_has(const struct walk *w, const char *name, int pass)
{
    size_t  i;

    for (i = 0; i < w->nseen; i++)
        if (strcmp(w->seen[i] + 1, name) == 0 && (w->seen[i][0] == '+' || !pass))
            return 1;
    return 0;
}

/* seen_add - remember name; on no memory the name is simply not remembered */
static void
seen_add(struct walk *w, const char *name, int pass)
{
    size_t  len = strlen(name);
    char  **grown;
    char   *copy;

    if (w->nseen == w->seen_cap) {
        size_t  cap = w->seen_cap ? w->seen_cap * 2 : 32;

        if ((grown = realloc(w->seen, cap * sizeof(*grown))) == NULL)
            return;
        w->seen = grown;
        w->seen_cap = cap;
    }
    if ((copy = malloc(len + 2)) != NULL) {
        copy[0] = pass ? '+' : '-';
        memcpy(copy + 1, name, len + 1);
        w->seen[w->nseen++] = copy;
    }
}

/* stop - guard mode: an RFC 7208 limit was passed; the walk ends here */
static void
stop(struct walk *w, const char *what)
{
    if (w->stopped)
        return;
    w->stopped = 1;
    w->facts.over_limit = 1;
    w->failures++;
    w->rep->capped++;
    note(w, SPF_EXPAND_NOTE_CAP, "%s: more than %s, walk stopped", w->top, what);
}

/* count_term - one DNS-querying term; 0 once guard mode passed the limit */
static int
count_term(struct walk *w)
{
    if (++w->facts.dns_terms > SPF_EXPAND_RFC_TERMS && w->o.guard)
        stop(w, "10 DNS-querying terms (RFC 7208 4.6.4)");
    return !w->stopped;
}

/* count_void - one lookup that gave no data; guard mode stops after the third */
static void
count_void(struct walk *w)
{
    if (++w->facts.void_lookups > SPF_EXPAND_RFC_VOIDS && w->o.guard)
        stop(w, "2 void lookups (RFC 7208 4.6.4)");
}

/* note_macros - the macro letters of text[0..len) into the facts */
static void
note_macros(struct walk *w, const char *text, size_t len)
{
    size_t  i;

    for (i = 0; i + 2 < len; i++)
        if (text[i] == '%' && text[i + 1] == '{' && ascii_isalpha((unsigned char) text[i + 2]))
            w->facts.macros |= SPF_EXPAND_MACRO(ascii_tolower((unsigned char) text[i + 2]));
}

/* note_finest - a range or CIDR of this width exists (any qualifier) */
static void
note_finest(struct walk *w, int family, unsigned prefix)
{
    unsigned *f = family == AF_INET ? &w->facts.finest_v4 : &w->facts.finest_v6;

    if (prefix > *f)
        *f = prefix;
}

/*
 * lookup - one query through the layer, under the cap. Returns the rr
 * (caller frees) for an answer, NULL for "no data" (also NXDOMAIN), and
 * NULL with *failed set for a temporary failure or the cap.
 */
static SPF_dns_rr_t *
lookup(struct walk *w, const char *name, ns_type type, int *failed)
{
    SPF_dns_rr_t *rr;

    *failed = 0;
    if (w->lookups >= w->o.max_lookups) {
        if (!w->cap_noted) {
            w->cap_noted = 1;
            w->rep->capped++;
            note(w, SPF_EXPAND_NOTE_CAP, "%s: more than %u DNS lookups, walk stopped",
                 w->top, w->o.max_lookups);
        }
        w->failures++;
        *failed = 1;
        return NULL;
    }
    w->lookups++;
    w->rep->lookups++;
    rr = SPF_dns_lookup(w->dns, name, type, 0);
    switch (rr->herrno) {
    case NETDB_SUCCESS:
        if (rr->num_rr > 0) {
            if (rr->ttl > 0 && (w->facts.min_ttl == 0 || (unsigned) rr->ttl < w->facts.min_ttl))
                w->facts.min_ttl = (unsigned) rr->ttl;
            return rr;
        }
        /* FALLTHROUGH */
    case HOST_NOT_FOUND:
    case NO_DATA:
        SPF_dns_rr_free(rr);
        return NULL;
    default:
        SPF_dns_rr_free(rr);
        w->failures++;
        w->rep->dns_failures++;
        note(w, SPF_EXPAND_NOTE_DNS, "%s: %s lookup of %s failed (temporary)", w->top,
             type == ns_t_txt ? "TXT" : type == ns_t_mx ? "MX" : type == ns_t_a ? "A" : "AAAA",
             name);
        *failed = 1;
        return NULL;
    }
}

/* add_block - add ip/prefix (host bits cleared) to the set */
static void
add_block(struct walk *w, const struct ipaddr *ip, unsigned prefix)
{
    struct netblock nb;

    if (w->o.guard && !w->term_pass)
        return;
    netblock_mask(ip, prefix, &nb);
    if (w->set)
        netset_add(w->set, &nb);
    w->rep->blocks++;
    w->added++;
}

/* too_broad - 1 (and noted) if a pass range of this width is too wide */
static int
too_broad(struct walk *w, const char *dom, const char *term, int family, unsigned prefix)
{
    unsigned min = family == AF_INET ? w->o.min_prefix_v4 : w->o.min_prefix_v6;

    note_finest(w, family, prefix);
    if (prefix >= min || w->o.guard)
        return 0;
    w->rep->too_broad++;
    note(w, SPF_EXPAND_NOTE_TOO_BROAD, "%s: %s: wider than /%u, dropped", dom, term, min);
    return 1;
}

/* parse_prefix - decimal 0..max from [s, s+len); 0, or -1 */
static int
parse_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t  i;

    if (len == 0 || len > 3)
        return -1;
    for (i = 0; i < len; i++) {
        if (!ascii_isdigit((unsigned char) s[i]))
            return -1;
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/*
 * do_ip - ip4:addr[/n] or ip6:addr[/n] (arg is what follows the colon).
 * Malformed and too-broad ranges are reported and dropped; host bits are
 * cleared and reported.
 */
static void
do_ip(struct walk *w, const char *dom, const char *term, int family, const char *arg)
{
    char    addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(arg, '/');
    size_t  alen = slash ? (size_t) (slash - arg) : strlen(arg);
    unsigned width = family == AF_INET ? 32 : 128;
    unsigned prefix = width;
    struct ipaddr ip;
    struct netblock nb;

    memset(&ip, 0, sizeof(ip));
    ip.family = family;
    if (alen == 0 || alen >= sizeof(addr)
        || (slash && parse_prefix(slash + 1, strlen(slash + 1), width, &prefix) < 0)) {
        w->rep->malformed++;
        note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: bad address or prefix", dom, term);
        return;
    }
    memcpy(addr, arg, alen);
    addr[alen] = '\0';
    if (inet_pton(family, addr, ip.b) != 1) {
        w->rep->malformed++;
        note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: bad address", dom, term);
        return;
    }
    if (too_broad(w, dom, term, family, prefix))
        return;
    netblock_mask(&ip, prefix, &nb);
    if (memcmp(nb.addr.b, ip.b, 16) != 0) {
        w->rep->host_bits++;
        note(w, SPF_EXPAND_NOTE_HOST_BITS, "%s: %s: host bits cleared", dom, term);
    }
    add_block(w, &ip, prefix);
}

/* add_host_addrs - A and AAAA of host, as /p4 and /p6 blocks */
static void
add_host_addrs(struct walk *w, const char *host, unsigned p4, unsigned p6)
{
    static const ns_type types[2] = {ns_t_a, ns_t_aaaa};
    int     t, i, failed, answers = 0, failures = 0;

    for (t = 0; t < 2; t++) {
        SPF_dns_rr_t *rr = lookup(w, host, types[t], &failed);

        failures += failed;
        if (rr == NULL)
            continue;
        answers++;
        for (i = 0; i < rr->num_rr; i++) {
            struct ipaddr ip;

            memset(&ip, 0, sizeof(ip));
            if (types[t] == ns_t_a) {
                ip.family = AF_INET;
                memcpy(ip.b, &rr->rr[i]->a, 4);
                add_block(w, &ip, p4);
            } else {
                ip.family = AF_INET6;
                memcpy(ip.b, &rr->rr[i]->aaaa, 16);
                add_block(w, &ip, p6);
            }
        }
        SPF_dns_rr_free(rr);
    }
    if (answers == 0 && failures == 0)
        count_void(w);                   /* neither family: libspf2's lookup would be void */
}

/*
 * do_host - a[:domain][/n][//m] and mx[:domain][/n][//m]; arg points just
 * after the mechanism name.
 */
static void
do_host(struct walk *w, const char *dom, const char *term, int is_mx, const char *arg)
{
    char    target[NAMEBUF];
    const char *slash = strchr(arg, '/');
    const char *name = arg;
    size_t  nlen = slash ? (size_t) (slash - arg) : strlen(arg);
    unsigned p4 = 32, p6 = 128;
    SPF_dns_rr_t *mx;
    int     i, failed;

    /* The CIDR part: "/n", "/n//m" or "//m". */
    if (slash) {
        const char *v6 = strstr(slash, "//");

        if (v6 == slash) {
            if (parse_prefix(v6 + 2, strlen(v6 + 2), 128, &p6) < 0)
                goto malformed;
        } else if (parse_prefix(slash + 1, (v6 ? (size_t) (v6 - slash) : strlen(slash)) - 1, 32, &p4) < 0
                   || (v6 && parse_prefix(v6 + 2, strlen(v6 + 2), 128, &p6) < 0)) {
            goto malformed;
        }
    }

    /* The domain part: ":domain" or nothing (the record's own domain). */
    if (nlen == 0) {
        snprintf(target, sizeof(target), "%s", dom);
    } else {
        if (*name != ':' || nlen < 2)
            goto malformed;
        if (memchr(name, '%', nlen)) {
            w->facts.pass_macro += w->term_pass;
            w->rep->skipped++;
            note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: macro, not expandable", dom, term);
            return;
        }
        if (spf_expand_name_norm(name + 1, nlen - 1, target) < 0)
            goto malformed;
    }
    if (too_broad(w, dom, term, AF_INET, p4) || too_broad(w, dom, term, AF_INET6, p6))
        return;
    if (w->o.no_hosts || (w->o.guard && !w->term_pass))
        return;
    if (!is_mx) {
        add_host_addrs(w, target, p4, p6);
        return;
    }
    if ((mx = lookup(w, target, ns_t_mx, &failed)) == NULL) {
        if (!failed)
            count_void(w);
        return;
    }
    if (mx->num_rr > SPF_EXPAND_MAX_MX)
        note(w, SPF_EXPAND_NOTE_CAP, "%s: %s: %d MX hosts, first %d used", dom, term,
             mx->num_rr, SPF_EXPAND_MAX_MX);
    for (i = 0; i < mx->num_rr && i < SPF_EXPAND_MAX_MX; i++) {
        char    host[NAMEBUF];

        if (spf_expand_name_norm(mx->rr[i]->mx, strlen(mx->rr[i]->mx), host) == 0)
            add_host_addrs(w, host, p4, p6);
    }
    SPF_dns_rr_free(mx);
    return;

malformed:
    w->rep->malformed++;
    note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: bad domain or CIDR", dom, term);
}

static void walk_name(struct walk *w, const char *name, size_t len, const char *from, int pass);

/*
 * do_terms - the terms of one record (after "v=spf1"). redirect= is
 * followed after the mechanisms and only without an "all" (RFC 7208 6.1).
 */
static void
do_terms(struct walk *w, const char *dom, const char *rec)
{
    char    term[SPF_EXPAND_TERM_SHOWN];
    const char *redirect = NULL;
    size_t  redirect_len = 0;
    int     seen_all = 0, redirects = 0;
    const char *p = rec;

    while (*p && !w->stopped) {
        size_t  len = strcspn(p, " \t");
        const char *t = p, *colon, *eq;
        char    qual = '+';
        size_t  nlen;

        p += len;
        while (*p == ' ' || *p == '\t')
            p++;
        if (len == 0)
            continue;
        logesc(t, len, term, sizeof(term));

        /* Modifiers: name=value, where the name comes before any ':' or '/'. */
        eq = memchr(t, '=', len);
        nlen = strcspn(t, ":/=");
        if (eq && (size_t) (eq - t) == nlen) {
            if (nlen == 8 && ascii_ncasecmp(t, "redirect", 8) == 0) {
                if (redirects++ == 0) {
                    redirect = eq + 1;
                    redirect_len = len - nlen - 1;
                } else {
                    w->rep->malformed++;
                    note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: second redirect ignored", dom, term);
                }
            } else if (nlen == 0 || !ascii_isalpha((unsigned char) t[0])) {
                w->rep->malformed++;
                note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: bad modifier", dom, term);
            }
            continue;                            /* exp= and unknown modifiers: ignored */
        }

        if (*t == '+' || *t == '-' || *t == '~' || *t == '?') {
            qual = *t++;
            len--;
        }
        nlen = strcspn(t, ":/");
        if (nlen > len)
            nlen = len;
        colon = t + nlen;

        w->term_pass = w->pass && qual == '+';
        note_macros(w, t, len);
        if (nlen == 3 && ascii_ncasecmp(t, "all", 3) == 0 && len == 3) {
            seen_all = 1;
            w->facts.pass_all += w->term_pass;
            if (w->o.guard)
                break;                   /* nothing after "all" is ever evaluated */
            continue;
        }
        if (((nlen == 3 && ascii_ncasecmp(t, "ptr", 3) == 0)
             || (nlen == 6 && ascii_ncasecmp(t, "exists", 6) == 0)
             || (nlen == 7 && ascii_ncasecmp(t, "include", 7) == 0)
             || (nlen == 1 && (t[0] == 'a' || t[0] == 'A'))
             || (nlen == 2 && ascii_ncasecmp(t, "mx", 2) == 0)) && !count_term(w))
            break;
        if (nlen == 3 && ascii_ncasecmp(t, "ptr", 3) == 0) {
            w->facts.ptr++;
            w->facts.pass_ptr += w->term_pass;
            w->rep->skipped++;
            note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: ptr, not expandable", dom, term);
            continue;
        }
        if (nlen == 6 && ascii_ncasecmp(t, "exists", 6) == 0) {
            w->facts.pass_exists += w->term_pass;
            w->rep->skipped++;
            note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: exists, not expandable", dom, term);
            continue;
        }
        if (!((nlen == 7 && ascii_ncasecmp(t, "include", 7) == 0)
              || (nlen == 1 && (t[0] == 'a' || t[0] == 'A'))
              || (nlen == 2 && ascii_ncasecmp(t, "mx", 2) == 0)
              || (nlen == 3 && (ascii_ncasecmp(t, "ip4", 3) == 0 || ascii_ncasecmp(t, "ip6", 3) == 0)))) {
            w->rep->malformed++;
            note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: unknown mechanism", dom, term);
            continue;
        }

        /*
         * Only pass terms authorise anyone. "-ip4:x" or "~include:y" do
         * not, and the order-dependent exceptions they carve out of later
         * pass terms cannot be kept in a flat set: they are reported.
         */
        if (qual != '+') {
            w->rep->skipped++;
            note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: not a pass qualifier", dom, term);
            if (!w->o.guard)
                continue;                /* guard mode reads on, for the facts */
        }

        {
            char    arg[2 * NAMEBUF];

            if (len - nlen >= sizeof(arg)) {
                w->rep->malformed++;
                note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: term too long", dom, term);
                continue;
            }
            memcpy(arg, colon, len - nlen);
            arg[len - nlen] = '\0';

            if (nlen == 7) {                     /* include */
                if (arg[0] != ':' || arg[1] == '\0') {
                    w->rep->malformed++;
                    note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: include without a domain", dom, term);
                } else if (strchr(arg, '%')) {
                    w->facts.pass_macro += w->term_pass;
                    w->rep->skipped++;
                    note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: macro, not expandable", dom, term);
                } else {
                    walk_name(w, arg + 1, strlen(arg + 1), dom, w->term_pass);
                }
            } else if (nlen == 3) {              /* ip4 / ip6 */
                if (arg[0] != ':') {
                    w->rep->malformed++;
                    note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s: no address", dom, term);
                } else {
                    do_ip(w, dom, term, (t[2] == '4') ? AF_INET : AF_INET6, arg + 1);
                }
            } else {                             /* a / mx */
                do_host(w, dom, term, nlen == 2, arg);
            }
        }
    }

    if (redirect && !seen_all && !w->stopped && count_term(w)) {
        memcpy(term, "redirect=", 9);
        logesc(redirect, redirect_len, term + 9, sizeof(term) - 9);
        note_macros(w, redirect, redirect_len);
        if (memchr(redirect, '%', redirect_len)) {
            w->facts.pass_macro += w->pass;
            w->rep->skipped++;
            note(w, SPF_EXPAND_NOTE_SKIPPED, "%s: %s: macro, not expandable", dom, term);
        } else {
            walk_name(w, redirect, redirect_len, dom, w->pass);
        }
    }
}

/* is_spf1 - 1 if txt is an SPF version 1 record ("v=spf1" then SP or end) */
static int
is_spf1(const char *txt)
{
    return ascii_ncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == '\0' || txt[6] == ' ');
}

/*
 * walk_name - read name's SPF record and walk it. from names the record
 * that pointed here (NULL for a listed domain), for the notes; pass says
 * whether every term on the way here was a pass term (guard mode).
 */
static void
walk_name(struct walk *w, const char *name, size_t len, const char *from, int pass)
{
    char    dom[NAMEBUF];
    SPF_dns_rr_t *rr;
    const char *rec = NULL;
    unsigned i;
    int     failed, nspf = 0, outer = w->pass;

    if (w->stopped)
        return;
    if (spf_expand_name_norm(name, len, dom) < 0) {
        char    shown[SPF_EXPAND_TERM_SHOWN];

        w->rep->malformed++;
        note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: bad domain name \"%s\"", from ? from : "list",
             logesc(name, len, shown, sizeof(shown)));
        return;
    }
    for (i = 0; i < w->depth; i++) {
        if (strcmp(w->path[i], dom) == 0) {
            w->rep->loops++;
            note(w, SPF_EXPAND_NOTE_LOOP, "%s: include of %s loops back", from ? from : dom, dom);
            return;
        }
    }
    if (seen_has(w, dom, pass))
        return;
    if (w->depth > w->o.max_depth) {
        w->rep->capped++;
        w->failures++;
        note(w, SPF_EXPAND_NOTE_CAP, "%s: include of %s nested deeper than %u", from ? from : dom,
             dom, w->o.max_depth);
        return;
    }
    seen_add(w, dom, pass);

    if ((rr = lookup(w, dom, ns_t_txt, &failed)) != NULL) {
        for (i = 0; i < (unsigned) rr->num_rr; i++) {
            if (is_spf1(rr->rr[i]->txt)) {
                rec = rr->rr[i]->txt;
                nspf++;
            }
        }
    }
    if (failed) {
        /* lookup() reported it */
    } else if (nspf == 0) {
        if (rr == NULL)
            count_void(w);               /* NXDOMAIN or no TXT at all */
        w->rep->no_record++;
        note(w, SPF_EXPAND_NOTE_NO_RECORD, "%s: %s has no SPF record", from ? from : dom, dom);
    } else if (nspf > 1) {
        w->rep->malformed++;
        note(w, SPF_EXPAND_NOTE_MALFORMED, "%s: %s has %d SPF records", from ? from : dom, dom, nspf);
    } else {
        w->rep->records++;
        snprintf(w->path[w->depth++], NAMEBUF, "%s", dom);
        w->pass = pass;
        do_terms(w, dom, rec + 6);
        w->pass = outer;
        w->depth--;
    }
    if (rr)
        SPF_dns_rr_free(rr);
}

/* walk_init - fill in defaults */
static void
walk_init(struct walk *w, SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
          struct netset *set, struct spf_expand_report *rep)
{
    memset(w, 0, sizeof(*w));
    w->dns = dns;
    if (opts)
        w->o = *opts;
    if (w->o.max_lookups == 0)
        w->o.max_lookups = SPF_EXPAND_MAX_LOOKUPS;
    if (w->o.max_depth == 0 || w->o.max_depth > SPF_EXPAND_MAX_DEPTH)
        w->o.max_depth = SPF_EXPAND_MAX_DEPTH;
    if (w->o.timeout_ms <= 0)
        w->o.timeout_ms = SPF_EXPAND_TIMEOUT_MS;
    if (w->o.min_prefix_v4 == 0 || w->o.min_prefix_v4 > 32)
        w->o.min_prefix_v4 = SPF_EXPAND_MIN_PREFIX_V4;
    if (w->o.min_prefix_v6 == 0 || w->o.min_prefix_v6 > 128)
        w->o.min_prefix_v6 = SPF_EXPAND_MIN_PREFIX_V6;
    w->set = set;
    w->rep = rep;
}

/* walk_fini - free the names seen */
static void
walk_fini(struct walk *w)
{
    size_t  i;

    for (i = 0; i < w->nseen; i++)
        free(w->seen[i]);
    free(w->seen);
    w->seen = NULL;
    w->nseen = w->seen_cap = 0;
}

/* walk_listed - one listed domain, under its own budget and cap */
static unsigned
walk_listed(struct walk *w, const char *domain)
{
    struct spf_resolver_deadline saved;

    walk_fini(w);                            /* each listed domain starts afresh */
    w->top = domain;
    w->lookups = 0;
    w->failures = 0;
    w->added = 0;
    w->cap_noted = 0;
    w->depth = 0;
    w->stopped = 0;
    w->pass = 1;
    memset(&w->facts, 0, sizeof(w->facts));
    w->rep->domains++;
    spf_resolver_deadline_begin(w->o.timeout_ms, &saved);
    walk_name(w, domain, strlen(domain), NULL, 1);
    spf_resolver_deadline_end(&saved);
    if (w->added == 0)
        w->rep->domains_empty++;
    return w->failures;
}

/* spf_expand_walk - one domain into set (may be NULL) and report */
unsigned
spf_expand_walk(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
                const char *domain, struct netset *set, struct spf_expand_report *report)
{
    return spf_expand_walk_facts(dns, opts, domain, set, report, NULL);
}

/* spf_expand_walk_facts - the same, with the facts */
unsigned
spf_expand_walk_facts(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
                      const char *domain, struct netset *set, struct spf_expand_report *report,
                      struct spf_expand_facts *facts)
{
    struct walk *w;
    unsigned failures;

    if (dns == NULL || domain == NULL || report == NULL)
        return 1;
    if ((w = malloc(sizeof(*w))) == NULL)
        return 1;
    walk_init(w, dns, opts, set, report);
    failures = walk_listed(w, domain);
    if (facts)
        *facts = w->facts;
    walk_fini(w);
    free(w);
    return failures;
}

/* spf_expand_run - the whole list into out */
int
spf_expand_run(SPF_dns_server_t *dns, const struct spf_expand_opts *opts,
               const char *const *domains, size_t ndomains, struct spf_expand_result *out)
{
    struct walk *w;
    unsigned failures = 0;
    size_t  i;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->status = SPF_EXPAND_FAILED;
    if (dns == NULL || (domains == NULL && ndomains > 0))
        return -1;
    if ((w = malloc(sizeof(*w))) == NULL)
        return -1;
    out->set = netset_new();
    walk_init(w, dns, opts, out->set, &out->report);
    for (i = 0; i < ndomains; i++)
        if (domains[i] != NULL)
            failures += walk_listed(w, domains[i]);
    walk_fini(w);
    free(w);

    netset_finish(out->set);
    if (out->report.blocks == 0) {
        netset_free(out->set);
        out->set = NULL;
        out->status = SPF_EXPAND_FAILED;
    } else {
        out->status = failures ? SPF_EXPAND_PARTIAL : SPF_EXPAND_COMPLETE;
    }
    return 0;
}

/* spf_expand_result_fini - free the set */
void
spf_expand_result_fini(struct spf_expand_result *out)
{
    if (out == NULL)
        return;
    netset_free(out->set);
    out->set = NULL;
}
