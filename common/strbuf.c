/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strbuf.c - the growing text buffer of strbuf.h: formats into what is
 * left, and on a short write grows to twice the size plus what was
 * missing and formats again.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "strbuf.h"
#include "xalloc.h"

/* strbuf_init - allocate cap bytes (at least 1), empty text */
void
strbuf_init(struct strbuf *b, size_t cap)
{
    b->cap = cap > 0 ? cap : 1;
    b->p = xmalloc(b->cap);
    b->p[0] = '\0';
    b->len = 0;
}

/* strbuf_add - append one formatted piece, growing the buffer */
void
strbuf_add(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < b->cap - b->len)
            break;
        b->cap = b->cap * 2 + (n > 0 ? (size_t) n : 0);
        b->p = xrealloc(b->p, b->cap);
    }
    b->len += (size_t) n;
}
