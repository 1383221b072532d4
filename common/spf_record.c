/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_record.c - the strict SPF record check (RFC 7208 section 12) that
 * stands between DNS and libspf2's compiler; see spf_record.h for why
 * and for the bound that keeps CVE-2023-42118 out of reach.
 *
 * The record is read once, left to right, term by term. Offsets are into
 * the whole record, so that a caller can quote where it went wrong.
 * Character classes are ASCII by hand: no locale may change them.
 */
#include "config.h"

#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "ascii.h"
#include "spf_record.h"

#define SPF_VERSION     "v=spf1"
#define SPF_VERSION_LEN 6
#define IP6_TEXT_MAX    45               /* INET6_ADDRSTRLEN - 1 */
#define TOPLABEL_MAX    63

/* One record being checked. */
struct scan {
    const char *s;                       /* the record */
    struct spf_record_error *err;        /* where to report; may be NULL */
    int     seen_redirect;               /* a redirect= was seen */
    int     seen_exp;                    /* an exp= was seen */
};

/* The mechanisms, and what follows their name. */
enum mech_arg {
    ARG_NONE,                            /* all */
    ARG_DOMAIN,                          /* include, exists: ":" domain-spec */
    ARG_DOMAIN_OPT,                      /* ptr: [ ":" domain-spec ] */
    ARG_DOMAIN_CIDR,                     /* a, mx: [ ":" domain-spec ] [ dual-cidr ] */
    ARG_IP4,                             /* ":" ip4-network [ ip4-cidr ] */
    ARG_IP6,                             /* ":" ip6-network [ ip6-cidr ] */
};

static const struct {
    const char *name;
    enum mech_arg arg;
} mechanisms[] = {
    {"all", ARG_NONE}, {"include", ARG_DOMAIN}, {"a", ARG_DOMAIN_CIDR},
    {"mx", ARG_DOMAIN_CIDR}, {"ptr", ARG_DOMAIN_OPT}, {"ip4", ARG_IP4},
    {"ip6", ARG_IP6}, {"exists", ARG_DOMAIN},
};

/* fail - note the first problem; always -1 */
static int
fail(const struct scan *sc, size_t offset, const char *reason)
{
    if (sc->err != NULL) {
        sc->err->offset = offset;
        sc->err->reason = reason;
    }
    return -1;
}

/* same_word - 1 if s[0..n) is word (lowercase) in any case */
static int
same_word(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return 0;
    return ascii_ncasecmp(s, word, n) == 0;
}

/* spf_record_is_spf - "v=spf1" in any case, then a space or the end */
int
spf_record_is_spf(const char *text, size_t len)
{
    if (text == NULL || len < SPF_VERSION_LEN || !same_word(text, SPF_VERSION_LEN, SPF_VERSION))
        return 0;
    return len == SPF_VERSION_LEN || text[SPF_VERSION_LEN] == ' ';
}

/*
 * macro_var - the "%{" letter transformers *delimiter "}" that starts at
 * s[i], within s[..end); its end in *next. allow_crt: c, r, t allowed.
 */
static int
macro_var(const struct scan *sc, size_t i, size_t end, int allow_crt, size_t *next)
{
    const char *s = sc->s;
    size_t  p = i + 2, ndig = 0;
    unsigned val = 0;
    char    c;

    if (p >= end)
        return fail(sc, i, "unterminated macro");
    c = ascii_tolower((unsigned char) s[p]);
    if (memchr("slodiphcrtv", c, 11) == NULL)
        return fail(sc, p, "unknown macro letter");
    if (!allow_crt && (c == 'c' || c == 'r' || c == 't'))
        return fail(sc, p, "macro letter c, r or t outside exp=");
    for (p++; p < end && ascii_isdigit((unsigned char) s[p]); p++) {
        if (++ndig > SPF_RECORD_MAX_DIGITS)
            return fail(sc, p, "more than 3 digits in a macro");
        val = val * 10 + (unsigned) (s[p] - '0');
    }
    if (ndig > 0 && (val == 0 || val > SPF_RECORD_MAX_RHS))
        return fail(sc, p - ndig, "macro digits not in 1..128");
    if (p < end && ascii_tolower((unsigned char) s[p]) == 'r')
        p++;
    while (p < end && memchr(".-+,/_=", s[p], 7) != NULL)
        p++;
    if (p >= end)
        return fail(sc, i, "unterminated macro");
    if (s[p] != '}')
        return fail(sc, p, "bad macro delimiter");
    *next = p + 1;
    return 0;
}

/*
 * macro_string - s[a..b) is a macro-string (every byte already known to
 * be visible ASCII). *tail gets where the literal text after the last
 * macro-expand starts (a if there is none).
 */
static int
macro_string(const struct scan *sc, size_t a, size_t b, int allow_crt, size_t *tail)
{
    const char *s = sc->s;
    size_t  i = a;
    unsigned nmacro = 0;

    *tail = a;
    while (i < b) {
        if (s[i] != '%') {
            i++;
            continue;
        }
        if (i + 1 >= b)
            return fail(sc, i, "'%' at the end of a term");
        switch (s[i + 1]) {
        case '%':
        case '_':
        case '-':
            i += 2;
            break;
        case '{':
            if (++nmacro > SPF_RECORD_MAX_MACROS)
                return fail(sc, i, "more than 16 macros in one term");
            if (macro_var(sc, i, b, allow_crt, &i) < 0)
                return -1;
            break;
        default:
            return fail(sc, i, "'%' not followed by '{', '%', '_' or '-'");
        }
        *tail = i;
    }
    return 0;
}

/*
 * toplabel - s[a..b) is a toplabel: letters, digits and inner '-', not
 * all digits, at most 63 bytes
 */
static int
toplabel(const char *s, size_t a, size_t b)
{
    size_t  i;
    int     alpha = 0, dash = 0;

    if (b <= a || b - a > TOPLABEL_MAX || !ascii_isalnum((unsigned char) s[a]) || !ascii_isalnum((unsigned char) s[b - 1]))
        return 0;
    for (i = a; i < b; i++) {
        if (ascii_isalpha((unsigned char) s[i]))
            alpha = 1;
        else if (s[i] == '-')
            dash = 1;
        else if (!ascii_isdigit((unsigned char) s[i]))
            return 0;
    }
    return alpha || dash;
}

/*
 * domain_spec - s[a..b) is a domain-spec: a macro-string that ends in a
 * macro-expand or in "." toplabel [ "." ]
 */
static int
domain_spec(const struct scan *sc, size_t a, size_t b, int allow_crt)
{
    const char *s = sc->s;
    size_t  tail, e, k;

    if (a >= b)
        return fail(sc, a, "empty domain-spec");
    if (macro_string(sc, a, b, allow_crt, &tail) < 0)
        return -1;
    if (tail == b)
        return 0;
    e = s[b - 1] == '.' ? b - 1 : b;
    for (k = e; k > tail && s[k - 1] != '.'; k--)
        ;
    if (k == tail || !toplabel(s, k, e))
        return fail(sc, a, "domain-spec does not end in a top-level label or a macro");
    return 0;
}

/* cidr_len - s[a..b) is "0" or 1..3 digits without a leading zero, at most max */
static int
cidr_len(const char *s, size_t a, size_t b, unsigned max)
{
    unsigned v = 0;
    size_t  i;

    if (b <= a || b - a > 3 || (s[a] == '0' && b - a > 1))
        return 0;
    for (i = a; i < b; i++)
        v = v * 10 + (unsigned) (s[i] - '0');
    return v <= max;
}

/*
 * trailing_cidr - if s[a..b) ends in "/" DIGITS, its slash, else b (none).
 * The digits are not checked here.
 */
static size_t
trailing_cidr(const char *s, size_t a, size_t b)
{
    size_t  d = b;

    while (d > a && ascii_isdigit((unsigned char) s[d - 1]))
        d--;
    if (d == b || d == a || s[d - 1] != '/')
        return b;
    return d - 1;
}

/*
 * strip_cidr - the end of s[a..b) without its CIDR length(s) into *end:
 * dual: [ "/" ip4-len ] [ "//" ip6-len ] (a, mx); else one "/" len of
 * at most max (ip4, ip6)
 */
static int
strip_cidr(const struct scan *sc, size_t a, size_t b, int dual, unsigned max, size_t *end)
{
    const char *s = sc->s;
    size_t  slash = trailing_cidr(s, a, b);

    *end = b;
    if (slash == b)
        return 0;
    if (dual && slash > a && s[slash - 1] == '/') {
        if (!cidr_len(s, slash + 1, b, 128))
            return fail(sc, slash - 1, "bad IPv6 CIDR length");
        b = slash - 1;
        *end = b;
        if ((slash = trailing_cidr(s, a, b)) == b)
            return 0;
    }
    if (!cidr_len(s, slash + 1, b, dual ? 32 : max))
        return fail(sc, slash, max == 128 ? "bad IPv6 CIDR length" : "bad IPv4 CIDR length");
    *end = slash;
    return 0;
}

/* ip4_network - s[a..b) is qnum "." qnum "." qnum "." qnum (no leading zeros) */
static int
ip4_network(const char *s, size_t a, size_t b)
{
    size_t  i = a;
    int     part;

    for (part = 0; part < 4; part++) {
        size_t  d = i;
        unsigned v = 0;

        while (i < b && ascii_isdigit((unsigned char) s[i]) && i - d < 3)
            v = v * 10 + (unsigned) (s[i++] - '0');
        if (i == d || v > 255 || (s[d] == '0' && i - d > 1))
            return 0;
        if (part < 3 && (i >= b || s[i++] != '.'))
            return 0;
    }
    return i == b;
}

/* ip6_network - s[a..b) is an IPv6 address (RFC 4291 2.2, as inet_pton reads it) */
static int
ip6_network(const char *s, size_t a, size_t b)
{
    char    text[IP6_TEXT_MAX + 1];
    struct in6_addr addr;

    if (b <= a || b - a > IP6_TEXT_MAX)
        return 0;
    memcpy(text, s + a, b - a);
    text[b - a] = '\0';
    return inet_pton(AF_INET6, text, &addr) == 1;
}

/* mechanism - s[n..b) is what follows the name of a mechanism taking arg */
static int
mechanism(const struct scan *sc, enum mech_arg arg, size_t n, size_t b)
{
    const char *s = sc->s;
    size_t  end;

    if (b - n > SPF_RECORD_MAX_SPEC + 1)
        return fail(sc, n, "mechanism argument longer than 253 bytes");
    switch (arg) {
    case ARG_NONE:
        return n == b ? 0 : fail(sc, n, "mechanism takes no argument");
    case ARG_DOMAIN:
        if (n == b || s[n] != ':')
            return fail(sc, n, "mechanism needs \":\" and a domain");
        return domain_spec(sc, n + 1, b, 0);
    case ARG_DOMAIN_OPT:
        if (n == b)
            return 0;
        if (s[n] != ':')
            return fail(sc, n, "unexpected text after the mechanism");
        return domain_spec(sc, n + 1, b, 0);
    case ARG_DOMAIN_CIDR:
        if (strip_cidr(sc, n, b, 1, 0, &end) < 0)
            return -1;
        if (n == end)
            return 0;
        if (s[n] != ':')
            return fail(sc, n, "unexpected text after the mechanism");
        return domain_spec(sc, n + 1, end, 0);
    case ARG_IP4:
    case ARG_IP6:
        if (n == b || s[n] != ':')
            return fail(sc, n, "mechanism needs \":\" and a network");
        if (strip_cidr(sc, n + 1, b, 0, arg == ARG_IP4 ? 32 : 128, &end) < 0)
            return -1;
        if (arg == ARG_IP4 ? !ip4_network(s, n + 1, end) : !ip6_network(s, n + 1, end))
            return fail(sc, n + 1, arg == ARG_IP4 ? "bad IPv4 network" : "bad IPv6 network");
        return 0;
    }
    return fail(sc, n, "unknown mechanism");
}

/* modifier - s[a..b) is name "=" value, the name in s[a..n) */
static int
modifier(struct scan *sc, size_t a, size_t n, size_t b)
{
    const char *s = sc->s;
    size_t  tail;

    if (!ascii_isalpha((unsigned char) s[a]))
        return fail(sc, a, "modifier name must start with a letter");
    if (b - (n + 1) > SPF_RECORD_MAX_SPEC)
        return fail(sc, n + 1, "modifier value longer than 253 bytes");
    if (same_word(s + a, n - a, "redirect")) {
        if (sc->seen_redirect++)
            return fail(sc, a, "second redirect=");
        return domain_spec(sc, n + 1, b, 0);
    }
    if (same_word(s + a, n - a, "exp")) {
        if (sc->seen_exp++)
            return fail(sc, a, "second exp=");
        return domain_spec(sc, n + 1, b, 1);
    }
    return macro_string(sc, n + 1, b, 0, &tail);
}

/* term - s[a..b) is one directive or modifier (visible ASCII only) */
static int
term(struct scan *sc, size_t a, size_t b)
{
    const char *s = sc->s;
    size_t  q = a, n, i;

    if (memchr("+-?~", s[a], 4) != NULL)
        q++;
    for (n = q; n < b && (ascii_isalnum((unsigned char) s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.'); n++)
        ;
    if (n == q)
        return fail(sc, q, "term does not start with a name");
    if (n < b && s[n] == '=') {
        if (q != a)
            return fail(sc, a, "modifier with a qualifier");
        return modifier(sc, a, n, b);
    }
    for (i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
        if (same_word(s + q, n - q, mechanisms[i].name))
            return mechanism(sc, mechanisms[i].arg, n, b);
    return fail(sc, q, "unknown mechanism");
}

/* spf_record_check - the whole record, term by term */
int
spf_record_check(const char *text, size_t len, struct spf_record_error *err)
{
    struct scan sc;
    size_t  i, j;
    unsigned nterms = 0;

    memset(&sc, 0, sizeof(sc));
    sc.s = text;
    sc.err = err;
    if (len > SPF_RECORD_MAX_LEN)
        return fail(&sc, SPF_RECORD_MAX_LEN, "record longer than 2048 bytes");
    if (!spf_record_is_spf(text, len))
        return fail(&sc, 0, "not an SPF record");
    /* text[6] is a space (spf_record_is_spf), and so is every text[j] a term ends at. */
    for (i = SPF_VERSION_LEN; i < len; i = j) {
        while (i < len && text[i] == ' ')
            i++;
        if (i == len)
            break;
        for (j = i; j < len && text[j] != ' '; j++)
            if (!ascii_isgraph((unsigned char) text[j]))
                return fail(&sc, j, "character not allowed in a term");
        if (++nterms > SPF_RECORD_MAX_TERMS)
            return fail(&sc, i, "more than 64 terms");
        if (term(&sc, i, j) < 0)
            return -1;
    }
    return 0;
}
