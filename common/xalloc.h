/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xalloc.h - allocation that succeeds or exits (startup and config only).
 *
 * As in Postfix's mymalloc: call sites never test for NULL. The hot path
 * (per message, per recipient) does not allocate and must not use these.
 */
#ifndef REDGREY_XALLOC_H
#define REDGREY_XALLOC_H

#include <stddef.h>

void   *xmalloc(size_t size);
void   *xcalloc(size_t nmemb, size_t size);
void   *xrealloc(void *ptr, size_t size);
void   *xreallocarray(void *ptr, size_t nmemb, size_t size);
char   *xstrdup(const char *s);

#endif
