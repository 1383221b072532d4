/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hostname.c - validate a host or domain name by the one rule of
 * hostname.h. Every place that accepts a name from a file, the MTA, DNS
 * or a URL asks here, so they all agree on what a name is.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "ascii.h"
#include "hostname.h"

/* hostname_char - a byte of the name alphabet */
int
hostname_char(int c)
{
    return ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* hostname_check - NULL, or why name[0..len) is not a name */
const char *
hostname_check(const char *name, size_t len)
{
    size_t  label = 0, i;

    if (name == NULL)
        return "empty name";
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0)
        return "empty name";
    if (len > HOSTNAME_MAX)
        return "name longer than 253 characters";
    for (i = 0; i < len; i++) {
        int     c = (unsigned char) name[i];

        if (c == '.') {
            if (label == 0)
                return "empty label";
            if (name[i - 1] == '-')
                return "label ends with '-'";
            label = 0;
            continue;
        }
        if (!hostname_char(c))
            return "bad character in name";
        if (c == '-' && label == 0)
            return "label starts with '-'";
        if (++label > HOSTNAME_LABEL_MAX)
            return "label longer than 63 characters";
    }
    if (label == 0)
        return "empty label";
    if (name[len - 1] == '-')
        return "label ends with '-'";
    return NULL;
}

/* hostname_ok - 1 if name is a name */
int
hostname_ok(const char *name)
{
    return name != NULL && hostname_check(name, strlen(name)) == NULL;
}
