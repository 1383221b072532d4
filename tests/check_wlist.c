/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_wlist.c - static whitelists: loading, matching, errors, reload.
 *
 * The match table runs against the fixtures in tests/data/wlist/, one row
 * per question (kind, query, verified/SPF flag, expected answer). The
 * bad-line table writes each bad file into the scratch directory and
 * checks the exact "FILE:LINE: reason" error. Reload and wlist_changed()
 * work on scratch copies; one test swaps objects under readers in threads
 * the way the daemon will, so ASan sees any use after free.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "wlist.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DATA TEST_SRCDIR "/data/wlist/"

/* write_file - replace path with len bytes of text; fail the test if it cannot */
static void
write_file(const char *path, const char *text, size_t len)
{
    FILE   *fp = fopen(path, "wb");

    ck_assert_msg(fp != NULL, "cannot create %s", path);
    ck_assert_msg(fwrite(text, 1, len, fp) == len, "cannot write %s", path);
    ck_assert_msg(fclose(fp) == 0, "cannot close %s", path);
}

/* write_str - replace path with the string text */
static void
write_str(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* fixtures - the four good fixture files */
static const struct wlist_files fixtures = {
    .clients = DATA "clients",
    .client_names = DATA "client_names",
    .recipients = DATA "recipients",
    .sender_domains = DATA "sender_domains",
};

/* load_fixtures - the good fixtures as one finished object; fail loudly if not */
static struct wlist *
load_fixtures(void)
{
    char    err[512];
    struct wlist *w = wlist_load(&fixtures, err, sizeof(err));

    ck_assert_msg(w != NULL, "fixtures: got error \"%s\", want a list", err);
    return w;
}

START_TEST(test_sizes)
{
    struct wlist *w = load_fixtures();

    /* 192.0.2.0/24 (mapped host inside), 198.51.100.7, 203.0.113.8/30, 2001:db8:1::/48 */
    ck_assert_msg(wlist_size(w, WLIST_CLIENTS) == 4, "clients: got %zu, want 4",
                  wlist_size(w, WLIST_CLIENTS));
    ck_assert_msg(wlist_size(w, WLIST_CLIENT_NAMES) == 3, "names: got %zu, want 3",
                  wlist_size(w, WLIST_CLIENT_NAMES));
    ck_assert_msg(wlist_size(w, WLIST_RECIPIENTS) == 4, "recipients: got %zu, want 4",
                  wlist_size(w, WLIST_RECIPIENTS));
    ck_assert_msg(wlist_size(w, WLIST_SENDER_DOMAINS) == 2, "senders: got %zu, want 2",
                  wlist_size(w, WLIST_SENDER_DOMAINS));
    ck_assert_msg(wlist_size(w, WLIST_NKINDS) == 0, "bad kind: got %zu, want 0",
                  wlist_size(w, WLIST_NKINDS));
    ck_assert_msg(wlist_changed(w) == 0, "fixtures: got changed, want unchanged");
    wlist_unref(w);
}
END_TEST

static const struct match_case {
    const char *label;
    enum wlist_kind kind;
    const char *query;                   /* address text, name, recipient, domain */
    int     flag;                        /* names: verified; senders: SPF pass */
    int     want;
} match_cases[] = {
    {"v4 in block", WLIST_CLIENTS, "192.0.2.1", 0, 1},
    {"v4 block top", WLIST_CLIENTS, "192.0.2.255", 0, 1},
    {"v4 next block", WLIST_CLIENTS, "192.0.3.0", 0, 0},
    {"v4 below block", WLIST_CLIENTS, "192.0.1.255", 0, 0},
    {"v4 host", WLIST_CLIENTS, "198.51.100.7", 0, 1},
    {"v4 host neighbour", WLIST_CLIENTS, "198.51.100.8", 0, 0},
    {"v4 host bits block low", WLIST_CLIENTS, "203.0.113.8", 0, 1},
    {"v4 host bits block high", WLIST_CLIENTS, "203.0.113.11", 0, 1},
    {"v4 host bits block past", WLIST_CLIENTS, "203.0.113.12", 0, 0},
    {"v4 mapped query", WLIST_CLIENTS, "::ffff:192.0.2.5", 0, 1},
    {"v6 in block", WLIST_CLIENTS, "2001:db8:1:ffff::1", 0, 1},
    {"v6 outside", WLIST_CLIENTS, "2001:db8:2::1", 0, 0},
    {"v6 of a v4 block", WLIST_CLIENTS, "::c000:201", 0, 0},

    {"name exact", WLIST_CLIENT_NAMES, "mx.example.com", 1, 1},
    {"name exact case and dot", WLIST_CLIENT_NAMES, "MX.Example.COM.", 1, 1},
    {"name exact unverified", WLIST_CLIENT_NAMES, "mx.example.com", 0, 0},
    {"name exact not a suffix", WLIST_CLIENT_NAMES, "a.mx.example.com", 1, 0},
    {"name exact parent", WLIST_CLIENT_NAMES, "example.com", 1, 0},
    {"name exact lookalike", WLIST_CLIENT_NAMES, "mx.example.com.evil.example", 1, 0},
    {"name suffix one level", WLIST_CLIENT_NAMES, "out1.mail.example.net", 1, 1},
    {"name suffix two levels", WLIST_CLIENT_NAMES, "a.b.mail.example.net", 1, 1},
    {"name suffix unverified", WLIST_CLIENT_NAMES, "out1.mail.example.net", 0, 0},
    {"name suffix itself", WLIST_CLIENT_NAMES, "mail.example.net", 1, 0},
    {"name suffix glued", WLIST_CLIENT_NAMES, "xmail.example.net", 1, 0},
    {"name listed with dot", WLIST_CLIENT_NAMES, "mx2.example.org", 1, 1},
    {"name unknown", WLIST_CLIENT_NAMES, "unknown", 1, 0},
    {"name bracketed address", WLIST_CLIENT_NAMES, "[192.0.2.1]", 1, 0},
    {"name empty", WLIST_CLIENT_NAMES, "", 1, 0},
    {"name dot", WLIST_CLIENT_NAMES, ".", 1, 0},
    {"name leading dot", WLIST_CLIENT_NAMES, ".mail.example.net", 1, 0},

    {"rcpt postmaster any domain", WLIST_RECIPIENTS, "postmaster@example.com", 0, 1},
    {"rcpt postmaster case", WLIST_RECIPIENTS, "PostMaster@other.example", 0, 1},
    {"rcpt postmaster bare", WLIST_RECIPIENTS, "postmaster", 0, 1},
    {"rcpt postmaster ext", WLIST_RECIPIENTS, "postmaster+dmarc@example.com", 0, 1},
    {"rcpt abuse listed upper", WLIST_RECIPIENTS, "abuse@example.org", 0, 1},
    {"rcpt full", WLIST_RECIPIENTS, "john.doe@example.com", 0, 1},
    {"rcpt full case", WLIST_RECIPIENTS, "John.Doe@EXAMPLE.com", 0, 1},
    {"rcpt full ext", WLIST_RECIPIENTS, "john.doe+news@example.com", 0, 1},
    {"rcpt full final dot", WLIST_RECIPIENTS, "john.doe@example.com.", 0, 1},
    {"rcpt full other domain", WLIST_RECIPIENTS, "john.doe@example.org", 0, 0},
    {"rcpt full other user", WLIST_RECIPIENTS, "jane@example.com", 0, 0},
    {"rcpt full bare user", WLIST_RECIPIENTS, "john.doe", 0, 0},
    {"rcpt domain", WLIST_RECIPIENTS, "anyone@whitelisted.example", 0, 1},
    {"rcpt domain case", WLIST_RECIPIENTS, "Anyone@WhiteListed.Example", 0, 1},
    {"rcpt domain sub", WLIST_RECIPIENTS, "x@sub.whitelisted.example", 0, 0},
    {"rcpt postmaster2", WLIST_RECIPIENTS, "postmaster2@example.com", 0, 0},
    {"rcpt plus first", WLIST_RECIPIENTS, "+postmaster@example.com", 0, 0},
    {"rcpt empty", WLIST_RECIPIENTS, "", 0, 0},
    {"rcpt at", WLIST_RECIPIENTS, "@", 0, 0},
    {"rcpt junk", WLIST_RECIPIENTS, "junk:0123456789abcdef", 0, 0},

    {"sender exact spf", WLIST_SENDER_DOMAINS, "example.com", 1, 1},
    {"sender exact no spf", WLIST_SENDER_DOMAINS, "example.com", 0, 0},
    {"sender exact case dot", WLIST_SENDER_DOMAINS, "EXAMPLE.com.", 1, 1},
    {"sender exact sub", WLIST_SENDER_DOMAINS, "sub.example.com", 1, 0},
    {"sender suffix spf", WLIST_SENDER_DOMAINS, "online.bank.example", 1, 1},
    {"sender suffix no spf", WLIST_SENDER_DOMAINS, "online.bank.example", 0, 0},
    {"sender suffix itself", WLIST_SENDER_DOMAINS, "bank.example", 1, 0},
    {"sender suffix glued", WLIST_SENDER_DOMAINS, "evilbank.example", 1, 0},
    {"sender empty", WLIST_SENDER_DOMAINS, "", 1, 0},
};

/* match - ask the list the row's question */
static int
match(const struct wlist *w, const struct match_case *c)
{
    struct ipaddr ip;

    switch (c->kind) {
    case WLIST_CLIENTS:
        ck_assert_msg(ipaddr_parse(c->query, &ip) == 0, "%s: bad test address %s", c->label,
                      c->query);
        return wlist_client_addr(w, &ip);
    case WLIST_CLIENT_NAMES:
        return wlist_client_name(w, c->query, c->flag);
    case WLIST_RECIPIENTS:
        return wlist_recipient(w, c->query);
    case WLIST_SENDER_DOMAINS:
        return wlist_sender_domain(w, c->query, c->flag);
    default:
        ck_abort_msg("%s: bad kind", c->label);
    }
    return -1;
}

START_TEST(test_match)
{
    const struct match_case *c = &match_cases[_i];
    struct wlist *w = load_fixtures();
    int     got = match(w, c);

    ck_assert_msg(got == c->want, "%s: got %d, want %d", c->label, got, c->want);
    /* A NULL list never matches. */
    ck_assert_msg(match(NULL, c) == 0, "%s: NULL list: got a match, want none", c->label);
    wlist_unref(w);
}
END_TEST

START_TEST(test_match_null_args)
{
    struct wlist *w = load_fixtures();

    ck_assert_int_eq(wlist_client_addr(w, NULL), 0);
    ck_assert_int_eq(wlist_client_name(w, NULL, 1), 0);
    ck_assert_int_eq(wlist_recipient(w, NULL), 0);
    ck_assert_int_eq(wlist_sender_domain(w, NULL, 1), 0);
    wlist_unref(w);
}
END_TEST

static const struct bad_case {
    const char *label;
    enum wlist_kind kind;
    const char *text;                    /* file contents */
    unsigned line;                       /* the line the error must name */
    const char *reason;                  /* what must follow "FILE:LINE: " */
} bad_cases[] = {
    {"client prefix", WLIST_CLIENTS, "# c\n192.0.2.0/33\n", 2,
     "bad prefix length in \"192.0.2.0/33\""},
    {"client name", WLIST_CLIENTS, "192.0.2.0/24\nmx.example.com\n", 2,
     "bad address in \"mx.example.com\""},
    {"client two", WLIST_CLIENTS, "192.0.2.1 192.0.2.2\n", 1, "more than one entry on the line"},
    {"client no final newline", WLIST_CLIENTS, "192.0.2.1\n\n\n192.0.2.300", 4,
     "bad address in \"192.0.2.300\""},
    {"client v6 prefix", WLIST_CLIENTS, "2001:db8::/129\n", 1,
     "bad prefix length in \"2001:db8::/129\""},
    {"name wildcard", WLIST_CLIENT_NAMES, "mx.example.com\n*.example.com\n", 2,
     "wildcards are not supported (.example.com matches every name under example.com): "
     "\"*.example.com\""},
    {"name address", WLIST_CLIENT_NAMES, "192.0.2.1\n", 1,
     "an IP address, not a host name (it belongs in the client list): \"192.0.2.1\""},
    {"name v6 address", WLIST_CLIENT_NAMES, "2001:db8::1\n", 1,
     "an IP address, not a host name (it belongs in the client list): \"2001:db8::1\""},
    {"name unknown", WLIST_CLIENT_NAMES, "Unknown\n", 1,
     "\"unknown\" is what Postfix sends for a name it could not verify: \"Unknown\""},
    {"name email", WLIST_CLIENT_NAMES, "user@example.com\n", 1,
     "an address, not a host name: \"user@example.com\""},
    {"name empty label", WLIST_CLIENT_NAMES, "mx..example.com\n", 1,
     "empty label: \"mx..example.com\""},
    {"name bare dot", WLIST_CLIENT_NAMES, ".\n", 1, "empty name: \".\""},
    {"name dash", WLIST_CLIENT_NAMES, "-mx.example.com\n", 1,
     "label starts with '-': \"-mx.example.com\""},
    {"name dash end", WLIST_CLIENT_NAMES, "mx-.example.com\n", 1,
     "label ends with '-': \"mx-.example.com\""},
    {"name slash", WLIST_CLIENT_NAMES, "mx/24\n", 1, "bad character in name: \"mx/24\""},
    {"name long label", WLIST_CLIENT_NAMES,
     "a234567890123456789012345678901234567890123456789012345678901234.example\n", 1,
     "label longer than 63 characters: "
     "\"a234567890123456789012345678901234567890123456789012345678901234\"..."},
    {"rcpt no at", WLIST_RECIPIENTS, "postmaster@\nexample.com\n", 2,
     "no '@' (write user@, @domain or user@domain): \"example.com\""},
    {"rcpt two at", WLIST_RECIPIENTS, "a@b@example.com\n", 1,
     "more than one '@': \"a@b@example.com\""},
    {"rcpt only at", WLIST_RECIPIENTS, "@\n", 1, "neither user nor domain: \"@\""},
    {"rcpt quoted", WLIST_RECIPIENTS, "\"john\"@example.com\n", 1,
     "quoted local parts are not supported: \"\\x22john\\x22@example.com\""},
    {"rcpt bad domain", WLIST_RECIPIENTS, "john@exa_mple..com\n", 1,
     "empty label: \"john@exa_mple..com\""},
    {"rcpt suffix domain", WLIST_RECIPIENTS, "@.example.com\n", 1,
     "a leading dot is not allowed here: \"@.example.com\""},
    {"rcpt bad local", WLIST_RECIPIENTS, "jo(hn)@example.com\n", 1,
     "bad character in local part: \"jo(hn)@example.com\""},
    {"rcpt utf8", WLIST_RECIPIENTS, "j\xc3\xb6rg@example.com\n", 1,
     "control or non-ASCII character"},
    {"sender address", WLIST_SENDER_DOMAINS, "example.com\nuser@example.com\n", 2,
     "an address, not a domain: \"user@example.com\""},
    {"sender at domain", WLIST_SENDER_DOMAINS, "@example.com\n", 1,
     "an address, not a domain: \"@example.com\""},
    {"sender address ip", WLIST_SENDER_DOMAINS, "192.0.2.1\n", 1,
     "an IP address, not a domain: \"192.0.2.1\""},
    {"sender wildcard", WLIST_SENDER_DOMAINS, "*\n", 1,
     "wildcards are not supported (.example.com matches every name under example.com): \"*\""},
    {"sender tab inside", WLIST_SENDER_DOMAINS, "example.com\texample.org\n", 1,
     "more than one entry on the line"},
    {"sender control", WLIST_SENDER_DOMAINS, "exa\x01mple.com\n", 1,
     "control or non-ASCII character"},
    {"sender crlf then bad", WLIST_SENDER_DOMAINS, "example.com\r\n\r\nexa mple.com\r\n", 3,
     "more than one entry on the line"},
    {"sender stray cr", WLIST_SENDER_DOMAINS, "exam\rple.com\n", 1,
     "control or non-ASCII character"},
    {"sender bom not first", WLIST_SENDER_DOMAINS, "example.com\n\xef\xbb\xbf" "example.org\n", 2,
     "control or non-ASCII character"},
    {"sender bom alone ok then bad", WLIST_SENDER_DOMAINS, "\xef\xbb\xbf\nfoo bar\n", 2,
     "more than one entry on the line"},
};

START_TEST(test_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    char    path[1024];
    char    name[32];
    char    want[2048];
    char    err[2048];
    struct wlist *w = wlist_new();
    int     rc;

    /* Prepare inputs: the bad file, in scratch space. */
    snprintf(name, sizeof(name), "bad%d", _i);
    daemon_scratch_path(path, sizeof(path), name);
    write_file(path, c->text, strlen(c->text));

    /* Exercise the function under test. */
    memset(err, 'Z', sizeof(err));
    rc = wlist_load_file(w, c->kind, path, err, sizeof(err));

    /* Verify the results: -1 and the exact error. */
    snprintf(want, sizeof(want), "%s:%u: %s", path, c->line, c->reason);
    ck_assert_msg(rc == -1, "%s: got rc %d, want -1", c->label, rc);
    ck_assert_msg(strcmp(err, want) == 0, "%s: got \"%s\", want \"%s\"", c->label, err, want);
    wlist_unref(w);
    unlink(path);
}
END_TEST

static const struct bad_fixture_case {
    const char *label;
    const char *file;                    /* under tests/data/wlist/ */
    enum wlist_kind kind;
    const char *want;                    /* the error after "DATA FILE" */
} bad_fixture_cases[] = {
    {"clients", "bad_clients", WLIST_CLIENTS, ":4: bad prefix length in \"192.0.2.0/33\""},
    {"client names", "bad_client_names", WLIST_CLIENT_NAMES,
     ":3: wildcards are not supported (.example.com matches every name under example.com): "
     "\"*.example.com\""},
    {"recipients", "bad_recipients", WLIST_RECIPIENTS,
     ":5: no '@' (write user@, @domain or user@domain): \"example.com\""},
    {"sender domains", "bad_sender_domains", WLIST_SENDER_DOMAINS,
     ":2: an address, not a domain: \"user@example.com\""},
};

START_TEST(test_bad_fixture)
{
    const struct bad_fixture_case *c = &bad_fixture_cases[_i];
    struct wlist_files files = fixtures;
    char    want[1024];
    char    err[1024];
    char    path[512];
    struct wlist *w;

    snprintf(path, sizeof(path), DATA "%s", c->file);
    snprintf(want, sizeof(want), "%s%s", path, c->want);
    switch (c->kind) {
    case WLIST_CLIENTS:
        files.clients = path;
        break;
    case WLIST_CLIENT_NAMES:
        files.client_names = path;
        break;
    case WLIST_RECIPIENTS:
        files.recipients = path;
        break;
    default:
        files.sender_domains = path;
        break;
    }

    /* One bad file fails the whole load, whatever the others hold. */
    w = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(w == NULL, "%s: got a list, want NULL", c->label);
    ck_assert_msg(strcmp(err, want) == 0, "%s: got \"%s\", want \"%s\"", c->label, err, want);
}
END_TEST

START_TEST(test_crlf)
{
    static const char text[] =
        "\xef\xbb\xbf# written on Windows\r\n\r\nexample.com\r\n.bank.example   # comment\r\n"
        "  \t\r\nlast.example";     /* and no final line end */
    char    path[1024];
    char    err[1024];
    struct wlist *w = wlist_new();

    daemon_scratch_path(path, sizeof(path), "crlf");
    write_file(path, text, sizeof(text) - 1);
    ck_assert_msg(wlist_load_file(w, WLIST_SENDER_DOMAINS, path, err, sizeof(err)) == 0,
                  "crlf: got error \"%s\", want none", err);
    wlist_finish(w);
    ck_assert_msg(wlist_size(w, WLIST_SENDER_DOMAINS) == 3, "crlf: got %zu entries, want 3",
                  wlist_size(w, WLIST_SENDER_DOMAINS));
    ck_assert_msg(wlist_sender_domain(w, "example.com", 1) == 1, "crlf: example.com missing");
    ck_assert_msg(wlist_sender_domain(w, "www.bank.example", 1) == 1, "crlf: suffix missing");
    ck_assert_msg(wlist_sender_domain(w, "last.example", 1) == 1, "crlf: last line missing");
    wlist_unref(w);
    unlink(path);
}
END_TEST

START_TEST(test_long_lines)
{
    char    text[3 * WLIST_LINE_MAX];
    char    path[1024];
    char    err[2048];
    char    want[2048];
    struct wlist *w;
    size_t  n;

    daemon_scratch_path(path, sizeof(path), "long");

    /* WLIST_LINE_MAX characters, with CRLF: accepted (a comment line). */
    n = 0;
    memcpy(text, "example.com\n", 12);
    n = 12;
    text[n++] = '#';
    memset(text + n, 'x', WLIST_LINE_MAX - 1);
    n += WLIST_LINE_MAX - 1;
    memcpy(text + n, "\r\nexample.org\n", 14);
    n += 14;
    write_file(path, text, n);
    w = wlist_new();
    ck_assert_msg(wlist_load_file(w, WLIST_SENDER_DOMAINS, path, err, sizeof(err)) == 0,
                  "max line: got error \"%s\", want none", err);
    wlist_finish(w);
    ck_assert_msg(wlist_sender_domain(w, "example.org", 1) == 1, "max line: next line lost");
    wlist_unref(w);

    /* One more character: line 2 is too long, with or without CR. */
    for (int cr = 0; cr < 2; cr++) {
        n = 12;
        text[n++] = '#';
        memset(text + n, 'x', WLIST_LINE_MAX);
        n += WLIST_LINE_MAX;
        if (cr)
            text[n++] = '\r';
        memcpy(text + n, "\nexample.org\n", 13);
        n += 13;
        write_file(path, text, n);
        w = wlist_new();
        ck_assert_msg(wlist_load_file(w, WLIST_SENDER_DOMAINS, path, err, sizeof(err)) == -1,
                      "long line (cr %d): got success, want an error", cr);
        snprintf(want, sizeof(want), "%s:2: line longer than 1024 characters", path);
        ck_assert_msg(strcmp(err, want) == 0, "long line (cr %d): got \"%s\", want \"%s\"", cr,
                      err, want);
        wlist_unref(w);
    }

    /* A huge line at the end of the file, without a line end. */
    n = 12;
    memset(text + n, 'y', sizeof(text) - n);
    write_file(path, text, sizeof(text));
    w = wlist_new();
    ck_assert_msg(wlist_load_file(w, WLIST_SENDER_DOMAINS, path, err, sizeof(err)) == -1,
                  "huge line: got success, want an error");
    snprintf(want, sizeof(want), "%s:2: line longer than 1024 characters", path);
    ck_assert_msg(strcmp(err, want) == 0, "huge line: got \"%s\", want \"%s\"", err, want);
    wlist_unref(w);
    unlink(path);
}
END_TEST

START_TEST(test_nul_byte)
{
    static const char text[] = "example.com\nexa\0mple.org\n";
    char    path[1024];
    char    err[1024];
    char    want[1200];
    struct wlist *w = wlist_new();

    daemon_scratch_path(path, sizeof(path), "nul");
    write_file(path, text, sizeof(text) - 1);
    ck_assert_int_eq(wlist_load_file(w, WLIST_SENDER_DOMAINS, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
    ck_assert_msg(strcmp(err, want) == 0, "nul: got \"%s\", want \"%s\"", err, want);
    wlist_unref(w);
    unlink(path);
}
END_TEST

START_TEST(test_file_errors)
{
    char    err[1024];
    char    want[1200];
    struct wlist *w = wlist_new();
    struct wlist_files none = {0};
    struct wlist *empty;

    /* Missing file, a directory, no name: errors naming the file. */
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, DATA "no-such-file", err, sizeof(err)),
                     -1);
    snprintf(want, sizeof(want), "%s: cannot open: ", DATA "no-such-file");
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "missing: got \"%s\", want \"%s...\"",
                  err, want);
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, DATA, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is a directory") != NULL, "directory: got \"%s\"", err);
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, NULL, err, sizeof(err)), -1);
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, "", err, sizeof(err)), -1);
    ck_assert_int_eq(wlist_load_file(w, WLIST_NKINDS, DATA "clients", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "bad list kind") != NULL, "kind: got \"%s\"", err);
    ck_assert_int_eq(wlist_load_file(NULL, WLIST_CLIENTS, DATA "clients", err, sizeof(err)), -1);
    /* No err buffer at all: still -1, no crash. */
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, DATA "bad_clients", NULL, 0), -1);

    /* After finish the object is read-only. */
    wlist_finish(w);
    ck_assert_int_eq(wlist_load_file(w, WLIST_CLIENTS, DATA "clients", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "already finished") != NULL, "finished: got \"%s\"", err);
    wlist_unref(w);

    /* No files at all: an empty, working list. NULL files: an error. */
    empty = wlist_load(&none, err, sizeof(err));
    ck_assert_msg(empty != NULL, "no files: got error \"%s\"", err);
    ck_assert_int_eq(wlist_recipient(empty, "postmaster@example.com"), 0);
    ck_assert_int_eq(wlist_changed(empty), 0);
    wlist_unref(empty);
    ck_assert_msg(wlist_load(NULL, err, sizeof(err)) == NULL, "NULL files: got a list");

    /* NULL objects: harmless. */
    wlist_unref(NULL);
    ck_assert_msg(wlist_ref(NULL) == NULL, "ref NULL: got non-NULL");
    wlist_finish(NULL);
    ck_assert_int_eq(wlist_changed(NULL), 0);
    ck_assert_uint_eq(wlist_size(NULL, WLIST_CLIENTS), 0);
}
END_TEST

START_TEST(test_contrib)
{
    static const struct wlist_files shipped = {
        .clients = TEST_SRCDIR "/../contrib/whitelist_clients",
        .client_names = TEST_SRCDIR "/../contrib/whitelist_client_names",
        .recipients = TEST_SRCDIR "/../contrib/whitelist_recipients",
        .sender_domains = TEST_SRCDIR "/../contrib/whitelist_sender_domains",
    };
    char    err[1024];
    struct wlist *w = wlist_load(&shipped, err, sizeof(err));

    /* The shipped templates load; only postmaster@ and abuse@ are active. */
    ck_assert_msg(w != NULL, "contrib: got error \"%s\", want a list", err);
    ck_assert_msg(wlist_size(w, WLIST_RECIPIENTS) == 2, "contrib: got %zu recipients, want 2",
                  wlist_size(w, WLIST_RECIPIENTS));
    ck_assert_uint_eq(wlist_size(w, WLIST_CLIENTS), 0);
    ck_assert_uint_eq(wlist_size(w, WLIST_CLIENT_NAMES), 0);
    ck_assert_uint_eq(wlist_size(w, WLIST_SENDER_DOMAINS), 0);
    ck_assert_int_eq(wlist_recipient(w, "Postmaster@example.com"), 1);
    ck_assert_int_eq(wlist_recipient(w, "abuse@example.org"), 1);
    ck_assert_int_eq(wlist_recipient(w, "info@example.com"), 0);
    wlist_unref(w);
}
END_TEST

START_TEST(test_reload_keeps_old)
{
    char    path[1024];
    char    err[1024];
    struct wlist_files files = {0};
    struct wlist *cur, *next;

    daemon_scratch_path(path, sizeof(path), "reload");
    files.recipients = path;
    write_str(path, "postmaster@\n");
    cur = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(cur != NULL, "first load: got error \"%s\"", err);

    /* A bad edit: the load fails, the current object keeps answering. */
    write_str(path, "postmaster@\nabuse\n");
    ck_assert_msg(wlist_changed(cur) == 1, "bad edit: got unchanged, want changed");
    next = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(next == NULL, "bad edit: got a list, want NULL");
    ck_assert_msg(strstr(err, ":2: no '@'") != NULL, "bad edit: got \"%s\"", err);
    ck_assert_int_eq(wlist_recipient(cur, "postmaster@example.com"), 1);
    ck_assert_int_eq(wlist_recipient(cur, "abuse@example.com"), 0);

    /* Fixed: the new object has both, the old one still only its own. */
    write_str(path, "postmaster@\nabuse@\n");
    next = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(next != NULL, "fixed: got error \"%s\"", err);
    ck_assert_int_eq(wlist_recipient(next, "abuse@example.com"), 1);
    ck_assert_int_eq(wlist_recipient(cur, "abuse@example.com"), 0);
    ck_assert_int_eq(wlist_changed(next), 0);

    /* The swap: a reader still holding the old object keeps it alive. */
    struct wlist *reader = wlist_ref(cur);

    wlist_unref(cur);
    cur = next;
    ck_assert_int_eq(wlist_recipient(reader, "postmaster@example.com"), 1);
    wlist_unref(reader);
    wlist_unref(cur);
    unlink(path);
}
END_TEST

START_TEST(test_changed)
{
    char    path[1024];
    char    tmp[1024];
    char    err[1024];
    struct wlist_files files = {0};
    struct wlist *w;

    daemon_scratch_path(path, sizeof(path), "changed");
    daemon_scratch_path(tmp, sizeof(tmp), "changed.new");
    files.clients = path;

    /* Unchanged after load, and after a second look. */
    write_str(path, "192.0.2.0/24\n");
    w = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(w != NULL, "load: got error \"%s\"", err);
    ck_assert_int_eq(wlist_changed(w), 0);
    ck_assert_int_eq(wlist_changed(w), 0);

    /* Rewritten in place with a different size. */
    write_str(path, "192.0.2.0/24\n198.51.100.0/24\n");
    ck_assert_msg(wlist_changed(w) == 1, "rewrite: got unchanged, want changed");
    wlist_unref(w);

    /* Replaced by rename (a new inode), same size and contents. */
    w = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(w != NULL, "reload: got error \"%s\"", err);
    ck_assert_int_eq(wlist_changed(w), 0);
    write_str(tmp, "192.0.2.0/24\n198.51.100.0/24\n");
    ck_assert_int_eq(rename(tmp, path), 0);
    ck_assert_msg(wlist_changed(w) == 1, "rename: got unchanged, want changed");
    wlist_unref(w);

    /* Same inode and size, new contents: mtime/ctime tell. */
    w = wlist_load(&files, err, sizeof(err));
    ck_assert_msg(w != NULL, "reload 2: got error \"%s\"", err);
    {
        struct stat st;
        struct timespec pause = {0, 20 * 1000 * 1000};

        ck_assert_int_eq(stat(path, &st), 0);
        nanosleep(&pause, NULL); /* bounded: 20 ms, for coarse file system clocks */
        write_str(path, "192.0.2.0/24\n198.51.100.0/25\n");
    }
    ck_assert_msg(wlist_changed(w) == 1, "same size: got unchanged, want changed");

    /* Deleted: changed (the reload will then say why). */
    unlink(path);
    ck_assert_msg(wlist_changed(w) == 1, "deleted: got unchanged, want changed");
    wlist_unref(w);
}
END_TEST

/* Readers and a reloader sharing one published pointer, as the daemon will. */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wlist *swap_cur;

/* swap_reader - look up through a fresh reference, many times */
static void *
swap_reader(void *arg)
{
    long    bad = 0;

    (void) arg;
    for (int i = 0; i < 2000; i++) {
        struct wlist *w;

        pthread_mutex_lock(&swap_lock);
        w = wlist_ref(swap_cur);
        pthread_mutex_unlock(&swap_lock);
        if (wlist_recipient(w, "postmaster@example.com") != 1)
            bad++;
        if (wlist_sender_domain(w, "www.bank.example", 1) != 1)
            bad++;
        wlist_unref(w);
    }
    return (void *) bad;
}

START_TEST(test_swap_threads)
{
    pthread_t th[4];
    char    err[1024];

    swap_cur = load_fixtures();
    for (size_t i = 0; i < NELEM(th); i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, swap_reader, NULL), 0);
    for (int i = 0; i < 50; i++) {
        struct wlist *next = wlist_load(&fixtures, err, sizeof(err));
        struct wlist *old;

        ck_assert_msg(next != NULL, "reload %d: got error \"%s\"", i, err);
        pthread_mutex_lock(&swap_lock);
        old = swap_cur;
        swap_cur = next;
        pthread_mutex_unlock(&swap_lock);
        wlist_unref(old);
    }
    for (size_t i = 0; i < NELEM(th); i++) {
        void   *bad;

        ck_assert_int_eq(pthread_join(th[i], &bad), 0);
        ck_assert_msg(bad == NULL, "reader %zu: got %ld wrong answers, want 0", i, (long) bad);
    }
    wlist_unref(swap_cur);
    swap_cur = NULL;
}
END_TEST

/* wlist_suite - the cases above, one TCase per behaviour */
static Suite *
wlist_suite(void)
{
    Suite  *s = suite_create("wlist");
    TCase  *tc;

    tc = tcase_create("match");
    tcase_add_test(tc, test_sizes);
    tcase_add_loop_test(tc, test_match, 0, NELEM(match_cases));
    tcase_add_test(tc, test_match_null_args);
    tcase_add_test(tc, test_contrib);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_loop_test(tc, test_bad, 0, NELEM(bad_cases));
    tcase_add_loop_test(tc, test_bad_fixture, 0, NELEM(bad_fixture_cases));
    tcase_add_test(tc, test_crlf);
    tcase_add_test(tc, test_long_lines);
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_file_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("reload");
    tcase_add_test(tc, test_reload_keeps_old);
    tcase_add_test(tc, test_changed);
    tcase_add_test(tc, test_swap_threads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return daemon_run_suites(wlist_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
