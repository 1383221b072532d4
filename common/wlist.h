/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wlist.h - the static whitelists: four kinds of entries read from files.
 *
 * One file type per kind, one entry per line, '#' starts a comment, blank
 * lines are ignored, CRLF line ends and a UTF-8 byte order mark are
 * accepted; an entry line is at most WLIST_LINE_MAX characters:
 *   WLIST_CLIENTS         192.0.2.0/24, 2001:db8::/32, 198.51.100.7
 *                         (host bits are cleared: 192.0.2.9/24 is 192.0.2.0/24)
 *   WLIST_CLIENT_NAMES    mx.example.com (exactly that name) or .example.com
 *                         (any name that ends in it, not example.com itself);
 *                         matched only against a VERIFIED client name
 *   WLIST_RECIPIENTS      user@domain, user@ (any domain), @domain (exactly
 *                         that domain); user+ext@domain matches user@domain
 *   WLIST_SENDER_DOMAINS  example.com or .example.com (as for names);
 *                         matched only when SPF passed for that domain
 *   WLIST_GREYTRAPS       recipients as for WLIST_RECIPIENTS: addresses no
 *                         one uses, whose senders are trapped (wlist_greytrap)
 * All matching ignores ASCII case, in domains and in local parts alike (a
 * whitelist is no place to tell Postmaster@ from postmaster@), and a
 * trailing dot on a name. A bad line fails the whole load with
 * "FILE:LINE: reason" in err, so a caller can keep the lists it has.
 *
 * A struct wlist is built once (wlist_new, wlist_load_file, wlist_finish,
 * or wlist_load for all at once) and is read-only afterwards. Lookups are
 * binary searches over sorted arrays (the client set is a netset): no
 * allocation, no lock. To reload, build a new object and swap pointers:
 * readers take a reference (wlist_ref) under the caller's lock, or
 * whatever the caller uses to publish the pointer, and drop it
 * (wlist_unref) when done; the last unref frees.
 *
 * Thread-safety: building is single-threaded; once finished, any number
 * of threads may look up, and wlist_ref/wlist_unref are atomic.
 */
#ifndef REDGREY_WLIST_H
#define REDGREY_WLIST_H

#include <stddef.h>

#include "ipaddr.h"

/* An entry line longer than this (without its line end) is an error. */
#define WLIST_LINE_MAX 1024

enum wlist_kind {
    WLIST_CLIENTS,                       /* client CIDRs, v4 and v6 */
    WLIST_CLIENT_NAMES,                  /* verified client host names */
    WLIST_RECIPIENTS,                    /* recipient addresses or parts */
    WLIST_SENDER_DOMAINS,                /* sender domains, SPF pass only */
    WLIST_GREYTRAPS,                     /* greytrap recipients */
    WLIST_NKINDS
};

/* The files of wlist_load; NULL or "" means "no list of that kind". */
struct wlist_files {
    const char *clients;                 /* WLIST_CLIENTS */
    const char *client_names;            /* WLIST_CLIENT_NAMES */
    const char *recipients;              /* WLIST_RECIPIENTS */
    const char *sender_domains;          /* WLIST_SENDER_DOMAINS */
    const char *greytraps;               /* WLIST_GREYTRAPS */
};

struct wlist;

/* wlist_new - an empty, unfinished object with one reference */
struct wlist *wlist_new(void);

/*
 * wlist_load_file - add the entries of path to the lists of kind. Returns
 * 0, or -1 with "FILE:LINE: reason" (or "FILE: reason" if it cannot be
 * read) in err; after -1 the object holds part of the file and should be
 * dropped. Only before wlist_finish(). The file's identity is recorded
 * for wlist_changed().
 */
int     wlist_load_file(struct wlist *w, enum wlist_kind kind, const char *path, char *err,
                        size_t errlen);

/* wlist_finish - sort; the object is read-only from here on */
void    wlist_finish(struct wlist *w);

/*
 * wlist_load - a new, finished object from the files named in files.
 * Returns it (one reference, the caller's), or NULL with the first error
 * in err; the caller's current object, if any, is untouched either way.
 */
struct wlist *wlist_load(const struct wlist_files *files, char *err, size_t errlen);

/* wlist_ref - take another reference to w; returns w (NULL stays NULL) */
struct wlist *wlist_ref(struct wlist *w);

/* wlist_unref - drop a reference; the last one frees. NULL is a no-op. */
void    wlist_unref(struct wlist *w);

/*
 * wlist_changed - 1 if a file w was loaded from changed since (device,
 * inode, size, mtime or ctime differ) or cannot be stat()ed any more,
 * else 0. NULL: 0. It does not read the files.
 */
int     wlist_changed(const struct wlist *w);

/* wlist_size - number of distinct entries of kind (after finish; clients: merged ranges) */
size_t  wlist_size(const struct wlist *w, enum wlist_kind kind);

/* The lookups: 1 on a match, 0 otherwise; a NULL list or argument is 0. */

/* wlist_client_addr - the client address lies in a whitelisted block */
int     wlist_client_addr(const struct wlist *w, const struct ipaddr *ip);

/*
 * wlist_client_name - name (Postfix's {client_name}) is whitelisted and
 * verified is nonzero. An unverified name never matches, nor do "unknown"
 * and "[address]" forms, whatever verified says.
 */
int     wlist_client_name(const struct wlist *w, const char *name, int verified);

/*
 * wlist_recipient - rcpt, a normalised recipient (user@domain, or a bare
 * user such as "postmaster" when the MTA passed no domain), is listed.
 */
int     wlist_recipient(const struct wlist *w, const char *rcpt);

/* wlist_greytrap - rcpt (normalised, as for wlist_recipient) is a greytrap */
int     wlist_greytrap(const struct wlist *w, const char *rcpt);

/*
 * wlist_sender_domain - domain is whitelisted and spf_pass is nonzero;
 * spf_pass must mean "SPF passed for this very domain" (the MAIL FROM
 * domain, or the HELO name for the null sender). Without it a listed
 * domain never matches: anyone can write it in MAIL FROM.
 */
int     wlist_sender_domain(const struct wlist *w, const char *domain, int spf_pass);

#endif
