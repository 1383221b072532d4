/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ascii.h - character classes and case folding in ASCII only.
 *
 * <ctype.h> and strcasecmp follow the C locale (LC_CTYPE), so in some
 * locale a byte >= 0x80 can be a letter, and tolower() of 'I' in a
 * Turkish locale is not 'i'. Mail domains, DNS names, SPF terms and
 * configuration words are ASCII by definition: these never look at the
 * locale, take any int (a byte >= 0x80 or a negative char is simply no
 * letter), and fold only 'A'..'Z'.
 *
 * Thread-safety: pure functions.
 */
#ifndef REDGREY_ASCII_H
#define REDGREY_ASCII_H

#include <stddef.h>

/* ascii_isdigit - '0'..'9' */
static inline int
ascii_isdigit(int c)
{
    return c >= '0' && c <= '9';
}

/* ascii_isupper - 'A'..'Z' */
static inline int
ascii_isupper(int c)
{
    return c >= 'A' && c <= 'Z';
}

/* ascii_isalpha - an ASCII letter */
static inline int
ascii_isalpha(int c)
{
    return ascii_isupper(c) || (c >= 'a' && c <= 'z');
}

/* ascii_isalnum - an ASCII letter or digit */
static inline int
ascii_isalnum(int c)
{
    return ascii_isalpha(c) || ascii_isdigit(c);
}

/* ascii_isxdigit - a hex digit, either case */
static inline int
ascii_isxdigit(int c)
{
    return ascii_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ascii_isgraph - visible: 0x21..0x7e */
static inline int
ascii_isgraph(int c)
{
    return c > 0x20 && c < 0x7f;
}

/* ascii_isspace - blank, tab, CR, LF, VT or FF */
static inline int
ascii_isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ascii_tolower - c with 'A'..'Z' folded to 'a'..'z'; any other value unchanged */
static inline int
ascii_tolower(int c)
{
    return ascii_isupper(c) ? c - 'A' + 'a' : c;
}

/* ascii_toupper - c with 'a'..'z' folded to 'A'..'Z'; any other value unchanged */
static inline int
ascii_toupper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* ascii_lower_n - fold s[0..len) to lower case in place */
static inline void
ascii_lower_n(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        s[i] = (char) ascii_tolower((unsigned char) s[i]);
}

/* ascii_lower - fold the NUL-terminated s to lower case in place; returns s */
static inline char *
ascii_lower(char *s)
{
    for (char *p = s; *p != '\0'; p++)
        *p = (char) ascii_tolower((unsigned char) *p);
    return s;
}

/* ascii_ncasecmp - strncasecmp in ASCII: <0, 0 or >0 over at most n bytes */
static inline int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int     x = ascii_tolower((unsigned char) a[i]);
        int     y = ascii_tolower((unsigned char) b[i]);

        if (x != y || x == '\0')
            return x - y;
    }
    return 0;
}

/* ascii_casecmp - strcasecmp in ASCII */
static inline int
ascii_casecmp(const char *a, const char *b)
{
    return ascii_ncasecmp(a, b, (size_t) -1);
}

#endif
