/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_conf_keys.c - the configuration keys agree in the three places
 * that name them, and redgrey takes them: the key table (as cfg_dump
 * prints it, so that this test does not care how common/cfg*.c is laid
 * out), redgrey.conf(5) (doc/redgrey.conf.5, an entry ".TP" then
 * "\fBkey\fR = ..." with "(default \fBvalue\fR") and the sample
 * contrib/redgrey.conf ("#key = value" lines, and live "key = value").
 *
 * One loop test per place: each of its keys must be in the other two,
 * and a key of the sample or the man page must be accepted by "redgrey
 * -t" with that place's value (the sample's value, the man page's
 * default), in a file of that one line plus what the key needs
 * (key_needs). A key added to one place only fails here; so does a
 * sample value redgrey refuses. A file with an unknown key must fail
 * "redgrey -t", or the test proves nothing.
 *
 * The three lists are read in main(), before the suite is built, since
 * their lengths are the loop counts.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"

#define SAMPLE_PATH TEST_SRCDIR "/../contrib/redgrey.conf"
#define MAN_PATH    TEST_SRCDIR "/../doc/redgrey.conf.5"
#define KEYS_MAX    128
#define KEY_MAX     64
#define VALUE_MAX   512
#define RUN_MS      20000                /* bound on one redgrey -t */

/* What a key needs besides itself to make a valid file. */
static const struct {
    const char *key;
    const char *extra;
} key_needs[] = {
    /* retry_window must be longer than delay, whichever is set */
    {"retry_window", "delay = 1s\n"},
    {"delay", "retry_window = 30d\n"},
};

/* One place's keys, each with the value that place gives it. */
struct place {
    const char *name;                    /* for messages */
    int     n;
    char    key[KEYS_MAX][KEY_MAX];
    char    value[KEYS_MAX][VALUE_MAX];
    int     line[KEYS_MAX];              /* where in the file (the table: its order) */
};

static struct place sample = {.name = "contrib/redgrey.conf"};
static struct place man = {.name = "doc/redgrey.conf.5"};
static struct place table = {.name = "the key table (cfg_dump)"};

/* place_add - key = value (of len bytes) found on line; -1 if it does not fit */
static int
place_add(struct place *p, const char *key, size_t keylen, const char *value, size_t len,
          int line)
{
    if (p->n >= KEYS_MAX || keylen >= KEY_MAX || len >= VALUE_MAX) {
        fprintf(stderr, "check_conf_keys: %s:%d: key or value too long, or too many keys\n",
                p->name, line);
        return -1;
    }
    memcpy(p->key[p->n], key, keylen);
    p->key[p->n][keylen] = '\0';
    memcpy(p->value[p->n], value, len);
    p->value[p->n][len] = '\0';
    p->line[p->n++] = line;
    return 0;
}

/* place_find - the index of key in p, or -1 */
static int
place_find(const struct place *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->key[i], key) == 0)
            return i;
    return -1;
}

/* key_len - how many bytes of s form a key name: [a-z][a-z0-9_]* */
static size_t
key_len(const char *s)
{
    size_t  n = 0;

    if (*s < 'a' || *s > 'z')
        return 0;
    while (islower((unsigned char) s[n]) || isdigit((unsigned char) s[n]) || s[n] == '_')
        n++;
    return n;
}

/*
 * read_assignments - the "key = value" lines of text into p; with
 * commented, "#key = value" lines too, but only with the key right after
 * the '#': "# spf_domains = /etc/..." is prose
 */
static int
read_assignments(struct place *p, const char *text, int commented)
{
    int     line = 1;

    for (const char *l = text; *l != '\0'; line++) {
        const char *eol = strchr(l, '\n'), *k = commented && l[0] == '#' ? l + 1 : l;
        size_t  n = key_len(k), len;

        if (eol == NULL)
            eol = l + strlen(l);
        len = (size_t) (eol - k);
        if (n > 0 && len >= n + 3 && strncmp(k + n, " = ", 3) == 0
            && place_add(p, k, n, k + n + 3, len - n - 3, line) != 0)
            return -1;
        l = *eol == '\n' ? eol + 1 : eol;
    }
    return 0;
}

/* troff_plain - the man page's escapes in a default, as a config value */
static void
troff_plain(char *s)
{
    char   *w = s;

    for (const char *r = s; *r != '\0';) {
        if (strncmp(r, "\\-", 2) == 0) {
            *w++ = '-';
            r += 2;
        } else if (strncmp(r, "\\(dq", 4) == 0) {
            *w++ = '"';
            r += 4;
        } else if (strncmp(r, "\\e", 2) == 0) {
            *w++ = '\\';
            r += 2;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* read_man - the entries ".TP\n\fBkey\fR = ... (default \fBvalue\fR ..." */
static int
read_man(const char *text)
{
    static const char entry[] = "\n.TP\n\\fB", def[] = "(default \\fB";
    int     line;

    for (const char *p = strstr(text, entry); p != NULL; p = strstr(p + 1, entry)) {
        const char *k = p + strlen(entry), *eol = strchr(k, '\n'), *d, *end;
        size_t  n = key_len(k);

        line = 2;
        for (const char *q = text; q < p; q++)
            line += *q == '\n';
        if (n == 0 || strncmp(k + n, "\\fR = ", 6) != 0)
            continue;
        if (eol == NULL || (d = strstr(k, def)) == NULL || d > eol
            || (end = strstr(d + strlen(def), "\\fR")) == NULL || end > eol) {
            fprintf(stderr, "check_conf_keys: %s:%d: entry without \"(default \\fB...\\fR\"\n",
                    MAN_PATH, line);
            return -1;
        }
        d += strlen(def);
        if (place_add(&man, k, n, d, (size_t) (end - d), line) != 0)
            return -1;
        troff_plain(man.value[man.n - 1]);
    }
    return 0;
}

/*
 * redgrey_check - write "key = value" and what the key needs to a file,
 * run redgrey -t -c on it; its exit code, its output in out
 */
static int
redgrey_check(const char *label, const char *key, const char *value, char *out, size_t outlen)
{
    const char *argv[] = {DAEMON_REDGREY_BIN, "-t", "-c", NULL, NULL};
    char    path[1024], name[KEY_MAX + 32], text[KEY_MAX + VALUE_MAX + 256];
    int     rc;

    snprintf(name, sizeof(name), "keys-%s-%s.conf", label, key);
    daemon_scratch_path(path, sizeof(path), name);
    snprintf(text, sizeof(text), "# check_conf_keys: %s\n%s = %s\n", label, key, value);
    for (size_t i = 0; i < sizeof(key_needs) / sizeof(key_needs[0]); i++)
        if (strcmp(key_needs[i].key, key) == 0)
            strncat(text, key_needs[i].extra, sizeof(text) - strlen(text) - 1);
    ck_assert_msg(daemon_write_file(path, text) == 0, "cannot write %s", path);
    argv[3] = path;
    rc = daemon_capture(argv, out, outlen, RUN_MS);
    remove(path);
    return rc;
}

/*
 * check_key - key i of p is in the other two places, once in p, and (if
 * label is set) redgrey -t takes its value
 */
static void
check_key(const struct place *p, int i, const struct place *o1, const struct place *o2,
          const char *label)
{
    char    out[4096];
    int     rc;

    ck_assert_msg(i < p->n, "%s: no key %d", p->name, i);
    ck_assert_msg(place_find(o1, p->key[i]) >= 0, "%s (line %d) has %s; %s lacks it", p->name,
                  p->line[i], p->key[i], o1->name);
    ck_assert_msg(place_find(o2, p->key[i]) >= 0, "%s (line %d) has %s; %s lacks it", p->name,
                  p->line[i], p->key[i], o2->name);
    ck_assert_msg(place_find(p, p->key[i]) == i, "%s has %s twice (lines %d and %d)", p->name,
                  p->key[i], p->line[place_find(p, p->key[i])], p->line[i]);
    if (label == NULL)
        return;
    rc = redgrey_check(label, p->key[i], p->value[i], out, sizeof(out));
    ck_assert_msg(rc == 0 && strstr(out, "configuration OK") != NULL,
                  "%s (line %d): redgrey -t refuses \"%s = %s\": exit %d, \"%s\"", p->name,
                  p->line[i], p->key[i], p->value[i], rc, out);
}

/* Every key of the sample file: documented, in the table, its value accepted. */
START_TEST(test_sample_keys)
{
    check_key(&sample, _i, &man, &table, "sample");
}
END_TEST

/* Every key the man page documents: in the sample and the table, its default accepted. */
START_TEST(test_man_keys)
{
    check_key(&man, _i, &sample, &table, "man");
}
END_TEST

/*
 * Every key of the table: documented and in the sample. (Its default goes
 * through the key's setter at every cfg_defaults(); check_cfg tests them.)
 */
START_TEST(test_table_keys)
{
    check_key(&table, _i, &man, &sample, NULL);
}
END_TEST

/* The control: redgrey -t refuses a key it does not know, so the tests above can fail. */
START_TEST(test_unknown_key)
{
    char    out[4096];
    int     rc = redgrey_check("control", "no_such_key", "1", out, sizeof(out));

    ck_assert_msg(rc == 1 && strstr(out, "unknown key \"no_such_key\"") != NULL,
                  "unknown key: got exit %d, \"%s\"; want 1 and \"unknown key\"", rc, out);
    ck_assert_msg(sample.n > 0 && sample.n == man.n && man.n == table.n,
                  "keys: %d in %s, %d in %s, %d in %s", sample.n, sample.name, man.n, man.name,
                  table.n, table.name);
}
END_TEST

/* conf_keys_suite - one loop test per place, then the control */
static Suite *
conf_keys_suite(void)
{
    Suite  *s = suite_create("conf_keys");
    TCase  *tc = tcase_create("keys");

    tcase_add_loop_test(tc, test_sample_keys, 0, sample.n);
    tcase_add_loop_test(tc, test_man_keys, 0, man.n);
    tcase_add_loop_test(tc, test_table_keys, 0, table.n);
    tcase_add_test(tc, test_unknown_key);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

/* main - read the three places, then run the suite */
int
main(void)
{
    struct cfg *def = cfg_defaults();
    char   *sample_text = daemon_read_file(SAMPLE_PATH);
    char   *man_text = daemon_read_file(MAN_PATH);
    char   *table_text = daemon_cfg_dump_text(def);
    int     ok;

    log_init("check_conf_keys", LOG_MAIL, LOG_ERR, 1);
    if (sample_text == NULL || man_text == NULL || table_text == NULL) {
        fprintf(stderr, "check_conf_keys: cannot read %s or %s, or dump the table\n",
                SAMPLE_PATH, MAN_PATH);
        return EXIT_FAILURE;
    }
    ok = read_assignments(&sample, sample_text, 1) == 0 && read_man(man_text) == 0
        && read_assignments(&table, table_text, 0) == 0;
    free(sample_text);
    free(man_text);
    free(table_text);
    cfg_free(def);
    if (!ok)
        return EXIT_FAILURE;
    return daemon_run_suites(conf_keys_suite(), NULL) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
