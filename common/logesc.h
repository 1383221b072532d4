/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logesc.h - untrusted text made safe for one field of a log line or an
 * error message.
 *
 * The rule: a byte is copied as is only if it is printable ASCII other
 * than space (0x21..0x7e) and none of  = < > " ' \  . Every other byte --
 * space, those six, CR, LF, TAB and every other control byte, DEL, NUL
 * (the counted forms take any bytes) and every byte >= 0x80 -- becomes
 * \xHH (two lower-case hex digits). A backslash in the output therefore
 * always starts an escape, and the input can be recovered from it.
 *
 * So an escaped field is one blank-free token: it cannot end its field
 * early, start another key=value, close the <...> or "..." the caller
 * put around it, or start a new line. Whatever the input, the output is
 * bounded by outlen and NUL-terminated (outlen > 0); an escape is never
 * split. When the whole does not fit, as many whole units as leave room
 * for "..." are written, then "..." (fewer dots if outlen < 4; "" if
 * outlen is 1). Nothing is written when out is NULL or outlen is 0.
 *
 * Thread-safety: pure functions. No allocation.
 */
#ifndef REDGREY_LOGESC_H
#define REDGREY_LOGESC_H

#include <stddef.h>

/* A buffer holding n input bytes escaped whole (4 output bytes at most per byte). */
#define LOGESC_SIZE(n) ((n) * 4 + 1)

/* A buffer holding logesc_quote of n input bytes whole, quotes and "..." included. */
#define LOGESC_QUOTE_SIZE(n) ((n) * 4 + 6)

/* logesc - escape src[0..len) into out; src NULL is "". Returns out. */
char   *logesc(const char *src, size_t len, char *out, size_t outlen);

/* logesc_str - logesc of the NUL-terminated s (NULL is ""). Returns out. */
char   *logesc_str(const char *s, char *out, size_t outlen);

/*
 * logesc_quote - s for a message that quotes a bad value: at most max
 * bytes of s, escaped, in double quotes, and "..." after the closing
 * quote when s is longer or the output had to be cut. One difference
 * from logesc: a space is kept, so that a configuration value with
 * blanks stays readable; it is safe because '"' is escaped, so only the
 * closing quote ends the value, and '=' is still escaped, so even a
 * reader that splits on blanks finds no key=value inside. An outlen
 * under 6 (no room for `""...`) gives "". s NULL is "". Returns out.
 */
char   *logesc_quote(const char *s, size_t max, char *out, size_t outlen);

#endif
