/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strbuf.h - a growing, NUL-terminated text buffer appended to with
 * printf formats: how bigsender_format and metrics_format build their
 * text. Out of memory aborts (xalloc.h), as every allocation does.
 *
 * Thread-safety: one buffer per thread.
 */
#ifndef REDGREY_STRBUF_H
#define REDGREY_STRBUF_H

#include <stddef.h>

struct strbuf {
    char   *p;                           /* the text, always NUL-terminated */
    size_t  len;                         /* bytes used, without the NUL */
    size_t  cap;                         /* bytes allocated */
};

/* strbuf_init - an empty buffer of cap bytes to start with (at least 1) */
void    strbuf_init(struct strbuf *b, size_t cap);

/* strbuf_add - append one formatted piece, growing the buffer */
void    strbuf_add(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
