/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xalloc.c - malloc wrappers that either succeed or do not return.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* xmalloc - allocate or die */
void   *
xmalloc(size_t size)
{
    void   *p = malloc(size ? size : 1);

    if (p == NULL)
        log_fatal("out of memory allocating %zu bytes", size);
    return p;
}

/* xcalloc - allocate zeroed memory or die; overflow-checked */
void   *
xcalloc(size_t nmemb, size_t size)
{
    void   *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        log_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

/* xrealloc - resize or die */
void   *
xrealloc(void *ptr, size_t size)
{
    void   *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        log_fatal("out of memory reallocating %zu bytes", size);
    return p;
}

/* xreallocarray - resize an array or die; overflow-checked */
void   *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        log_fatal("allocation overflow: %zu x %zu bytes", nmemb, size);
    return xrealloc(ptr, nmemb * size);
}

/* xstrdup - copy a string or die */
char   *
xstrdup(const char *s)
{
    size_t  len = strlen(s) + 1;

    return memcpy(xmalloc(len), s, len);
}
