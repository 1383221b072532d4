/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c - placeholder until the daemon lands. */
#include "config.h"

#include <stdio.h>

int
main(void)
{
    fprintf(stderr, "redgrey: not built yet\n");
    return 1;
}
