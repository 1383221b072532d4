#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# postfix-start.sh BASE - start a private Postfix instance on loopback.
#
# Everything lives under BASE: conf/ (config_directory), queue/, data/,
# maillog (Postfix's own log: there is no syslogd) and mail/mbox, where
# virtual(8) appends every accepted message for the domain e2e.test. The
# system instance (/etc/postfix, /var/spool/postfix) is never touched. No
# DNS: no peer name lookups, local delivery only. The milter lines are
# contrib/postfix/main.cf.snippet itself, so the tests run what users copy;
# only the socket (and, if asked, the default action) is set per instance.
#
# Environment:
#   SMTP_PORT              port smtpd listens on (required)
#   MILTER                 smtpd_milters value, e.g. inet:127.0.0.1:10025
#                          (empty: no milter)
#   MILTER_DEFAULT_ACTION  overrides the snippet's milter_default_action
#   IPV6=1                 also listen on [::1]
#   SASL_USER, SASL_PASS   enable SMTP AUTH (Cyrus, sasldb under BASE)
#   MX_NAME                myhostname (default mx.e2e.test)
#   EXTRA_MAIN_CF          more main.cf lines, appended last
#   SNIPPET                the milter snippet (default: contrib's)
#   SMTPD_CHROOT=1         run smtpd chrooted in the queue directory, as
#                          Debian ships it (chroot y in master.cf, the
#                          etc/ files Debian's postfix copies into the jail);
#                          a unix milter socket is then relative to the queue
#                          directory: MILTER=unix:redgrey/redgrey.sock
#
# Must run as root (master runs as root, its daemons as postfix, delivery
# as nobody); every parent of BASE must be searchable by those users.
set -u

die() {
    echo "postfix-start.sh: $*" >&2
    exit 1
}

# pty - run a postfix command under a pseudo-terminal, since Postfix writes
# its errors to stderr only when that is a tty (there is no syslog here);
# show what it said only when it failed.
pty() {
    out=$(script -qec "$*" /dev/null </dev/null 2>&1)
    rc=$?
    [ $rc = 0 ] || printf '%s\n' "$out" | tr -d '\r' | grep -v '^$' >&2
    return $rc
}

[ $# -eq 1 ] || die "usage: postfix-start.sh BASE"
base=$1
case $base in
    /*) ;;
    *) die "BASE must be an absolute path: $base" ;;
esac
case $base in
    *[!A-Za-z0-9/._-]*) die "BASE may only hold [A-Za-z0-9/._-]: $base" ;;
esac
[ -n "${SMTP_PORT:-}" ] || die "SMTP_PORT is not set"
[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master runs as root)"
command -v postfix >/dev/null || die "postfix not found: install the Debian package postfix"
command -v script >/dev/null || die "script not found: install the Debian package bsdutils"

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
snippet=${SNIPPET:-$here/../../contrib/postfix/main.cf.snippet}
[ -r "$snippet" ] || die "cannot read the milter snippet $snippet"

conf=$base/conf
mkdir -p "$conf" "$base/queue" "$base/mail" || die "cannot create $base"
chown nobody:nogroup "$base/mail" || die "cannot chown $base/mail"

if [ "${IPV6:-0}" = 1 ]; then
    interfaces="127.0.0.1, [::1]"
    protocols=all
else
    interfaces=127.0.0.1
    protocols=ipv4
fi

cat > "$conf/main.cf" <<EOF
# Written by postfix-start.sh: a private instance on loopback.
compatibility_level = 3.6
queue_directory = $base/queue
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $base
maillog_file = $base/maillog
syslog_name = postfix-e2e
myhostname = ${MX_NAME:-mx.e2e.test}
mydomain = e2e.test
myorigin = \$myhostname
mydestination =
inet_interfaces = $interfaces
inet_protocols = $protocols
# Nobody is trusted: 127.0.0.x clients are "Internet" clients.
mynetworks =
smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
# No PTR lookups: no DNS traffic, no timeouts.
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
in_flow_delay = 0
virtual_mailbox_domains = e2e.test
virtual_mailbox_base = $base/mail
virtual_mailbox_maps = static:mbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_transport = virtual
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
EOF

# The milter lines users copy, then this instance's socket.
{
    echo
    echo "# ---- $snippet"
    cat "$snippet"
    echo "# ----"
} >> "$conf/main.cf"
postconf -c "$conf" -e "smtpd_milters = ${MILTER:-}" ||
    die "postconf could not set smtpd_milters"
if [ -n "${MILTER_DEFAULT_ACTION:-}" ]; then
    postconf -c "$conf" -e "milter_default_action = $MILTER_DEFAULT_ACTION" ||
        die "postconf could not set milter_default_action"
fi

if [ -n "${SASL_USER:-}" ]; then
    command -v saslpasswd2 >/dev/null ||
        die "saslpasswd2 not found: install the Debian packages sasl2-bin libsasl2-modules"
    # Debian's Postfix reads $config_directory/sasl/smtpd.conf and ignores
    # cyrus_sasl_config_path; without this file Cyrus uses /etc/sasldb2.
    mkdir -p "$conf/sasl"
    cat > "$conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $base/sasldb2
EOF
    case $SASL_USER in
        *@*) user=${SASL_USER%@*} realm=${SASL_USER#*@} ;;
        *) user=$SASL_USER realm=e2e.test ;;
    esac
    rm -f "$base/sasldb2"
    printf '%s' "${SASL_PASS:-}" |
        saslpasswd2 -p -c -f "$base/sasldb2" -u "$realm" "$user" ||
        die "saslpasswd2 failed"
    chown root:postfix "$base/sasldb2" && chmod 640 "$base/sasldb2" ||
        die "cannot hand $base/sasldb2 to postfix"
    cat >> "$conf/main.cf" <<EOF
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
EOF
fi

if [ -n "${EXTRA_MAIN_CF:-}" ]; then
    printf '%s\n' "$EXTRA_MAIN_CF" >> "$conf/main.cf"
fi

# chroot "n" everywhere but, with SMTPD_CHROOT=1, smtpd: then it needs
# what Debian's postfix copies into the jail (configure-instance.sh).
# The smtpd line is "PORT inet": it listens on every inet_interfaces address.
smtpd_chroot=n
if [ "${SMTPD_CHROOT:-0}" = 1 ]; then
    smtpd_chroot=y
    mkdir -p "$base/queue/etc" || die "cannot create $base/queue/etc"
    for f in localtime services resolv.conf hosts host.conf nsswitch.conf; do
        if [ -f "/etc/$f" ]; then
            cp -L "/etc/$f" "$base/queue/etc/$f" && chmod a+rX "$base/queue/etc/$f" ||
                die "cannot copy /etc/$f into the chroot"
        fi
    done
fi
cat > "$conf/master.cf" <<EOF
$SMTP_PORT inet  n - $smtpd_chroot -     - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
virtual   unix  - n n -     - virtual
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

# Postfix waits (in 300 ms steps, ~2 s) until main.cf is older than a
# second or two, in case an editor is still writing it: backdate both files.
touch -d '1 minute ago' "$conf/main.cf" "$conf/master.cf" ||
    die "cannot set the time of $conf/main.cf"

# "postfix check" creates the queue subdirectories and data_directory
# with the right owners; it only needs queue_directory to exist.
pty postfix -c "$conf" check || die "postfix check failed (see $base/maillog)"
if ! runuser -u postfix -- test -w "$base/data"; then
    die "user postfix cannot write $base/data: make every parent of $base searchable (chmod 755)"
fi
if ! runuser -u nobody -- test -w "$base/mail"; then
    die "user nobody cannot write $base/mail: make every parent of $base searchable (chmod 755)"
fi
pty postfix -c "$conf" start || {
    tail -n 20 "$base/maillog" >&2 2>/dev/null
    die "postfix start failed"
}
if ! e2e_wait_listen "$SMTP_PORT" 10; then
    tail -n 20 "$base/maillog" >&2 2>/dev/null
    die "nothing listens on port $SMTP_PORT 10 s after postfix start"
fi
exit 0
