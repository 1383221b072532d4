#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# t-install.sh - make install DESTDIR=... installs a Debian-style daemon:
# the exact file list and modes (the configuration 0640, the unit with
# Restart=on-failure and ExecReload, tmpfiles.d with the socket directory
# inside Postfix's queue directory), a second install keeps a changed
# configuration and list, the installed configuration passes redgrey -t,
# and uninstall removes what is unchanged and keeps what the admin changed.
#
# Installs the built tree (milter/, doc/, contrib/) with prefix=/usr and
# sysconfdir=/etc into a scratch DESTDIR; nothing outside it is touched.
set -u

top=$(cd "${TOP_BUILDDIR:-$PWD/..}" && pwd)
MAKE=${MAKE:-make}
passed=0
failed=0
errs=""

bad() { errs="$errs    $*
"; }
verdict() {
    if [ -z "$errs" ]; then echo "PASS $1"; passed=$((passed + 1))
    else echo "FAIL $1"; printf '%s' "$errs"; failed=$((failed + 1)); fi
    errs=""
}

dest=$(mktemp -d "${TMPDIR:-/tmp}/redgrey-install.XXXXXX") || exit 1
trap 'rm -rf "$dest"' EXIT

# do_install LOG - install the three directories into $dest; 0 or 1
do_install() {
    local d
    for d in milter doc contrib; do
        $MAKE -s -C "$top/$d" install DESTDIR="$dest" prefix=/usr sysconfdir=/etc \
            >> "$dest.$1.log" 2>&1 || { cat "$dest.$1.log"; return 1; }
    done
    rm -f "$dest.$1.log"
}

# mode_is FILE MODE - FILE (under $dest) exists with octal MODE
mode_is() {
    local m
    if [ ! -f "$dest$1" ]; then bad "$1: not installed"; return; fi
    m=$(stat -c %a "$dest$1")
    [ "$m" = "$2" ] || bad "$1: mode $m, want $2"
}

# ---- 1. the file list and modes ---------------------------------------------
do_install first || bad "make install failed"
want='/etc/logrotate.d/redgrey
/etc/redgrey/bigsenders.txt
/etc/redgrey/dynamic_patterns
/etc/redgrey/redgrey.conf
/etc/redgrey/whitelist_client_names
/etc/redgrey/whitelist_clients
/etc/redgrey/whitelist_recipients
/etc/redgrey/whitelist_sender_domains
/usr/lib/systemd/system/redgrey.service
/usr/lib/sysusers.d/redgrey.conf
/usr/lib/tmpfiles.d/redgrey.conf
/usr/sbin/redgrey
/usr/sbin/redgreyctl
/usr/share/man/man5/redgrey.conf.5
/usr/share/man/man8/redgrey.8
/usr/share/man/man8/redgreyctl.8'
got=$(cd "$dest" && find . -type f | sed 's|^\.||' | LC_ALL=C sort)
[ "$got" = "$want" ] || bad "installed files differ from the list:
$(diff <(echo "$want") <(echo "$got"))"
mode_is /etc/redgrey/redgrey.conf 640
for f in bigsenders.txt dynamic_patterns whitelist_client_names whitelist_clients whitelist_recipients \
    whitelist_sender_domains; do
    mode_is /etc/redgrey/$f 644
done
mode_is /usr/sbin/redgrey 755
mode_is /usr/lib/systemd/system/redgrey.service 644
if [ "$(id -u)" = 0 ] && getent group redgrey > /dev/null; then
    [ "$(stat -c %U:%G "$dest/etc/redgrey/redgrey.conf")" = root:redgrey ] ||
        bad "redgrey.conf: owner $(stat -c %U:%G "$dest/etc/redgrey/redgrey.conf"), want root:redgrey"
fi
grep -q '^postmaster@$' "$dest/etc/redgrey/whitelist_recipients" ||
    bad "whitelist_recipients lacks postmaster@"
verdict "file list and modes: $(echo "$got" | wc -l) files, redgrey.conf 0640"

# ---- 2. the unit, tmpfiles.d, sysusers.d -------------------------------------
unit=$dest/usr/lib/systemd/system/redgrey.service
for line in 'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'ExecStart=/usr/sbin/redgrey -c /etc/redgrey/redgrey.conf' \
    'ExecStartPre=/usr/sbin/redgrey -t -c /etc/redgrey/redgrey.conf' 'User=redgrey'; do
    grep -qxF "$line" "$unit" || bad "redgrey.service lacks '$line'"
done
grep -q '@[a-z]*@' "$unit" && bad "redgrey.service has an unsubstituted @...@"
grep -Eq '^d /var/spool/postfix/redgrey 2750 redgrey postfix' "$dest/usr/lib/tmpfiles.d/redgrey.conf" ||
    bad "tmpfiles.d: no setgid postfix socket directory"
grep -Eq '^u redgrey ' "$dest/usr/lib/sysusers.d/redgrey.conf" || bad "sysusers.d: no user redgrey"
grep -q 'kill -HUP' "$dest/etc/logrotate.d/redgrey" || bad "logrotate: no SIGHUP after rotation"
verdict "unit (Restart=on-failure, ExecReload, installed paths), tmpfiles.d, sysusers.d, logrotate"

# ---- 3. the installed configuration is valid ----------------------------------
out=$("$dest/usr/sbin/redgrey" -t -c "$dest/etc/redgrey/redgrey.conf" 2>&1)
rc=$?
[ $rc = 0 ] || bad "redgrey -t on the installed redgrey.conf: exit $rc: $out"
printf '%s\n' "$out" | grep -q 'configuration OK' || bad "redgrey -t: no 'configuration OK': $out"
verdict "the installed redgrey.conf passes redgrey -t"

# ---- 4. a second install keeps the admin's files ------------------------------
echo 'delay = 7m' >> "$dest/etc/redgrey/redgrey.conf"
chmod 600 "$dest/etc/redgrey/redgrey.conf"
echo 'alice@' >> "$dest/etc/redgrey/whitelist_recipients"
do_install second || bad "the second make install failed"
grep -qx 'delay = 7m' "$dest/etc/redgrey/redgrey.conf" ||
    bad "the second install overwrote a changed redgrey.conf"
mode_is /etc/redgrey/redgrey.conf 600
grep -qx 'alice@' "$dest/etc/redgrey/whitelist_recipients" ||
    bad "the second install overwrote a changed whitelist_recipients"
verdict "a second install keeps a changed redgrey.conf (and its mode) and whitelist"

# ---- 5. uninstall: packaged files go, changed ones stay ------------------------
for d in milter doc contrib; do
    $MAKE -s -C "$top/$d" uninstall DESTDIR="$dest" prefix=/usr sysconfdir=/etc > /dev/null 2>&1 ||
        bad "make uninstall in $d failed"
done
left=$(cd "$dest" && find . -type f | sed 's|^\.||' | LC_ALL=C sort | tr '\n' ' ')
[ "$left" = "/etc/redgrey/redgrey.conf /etc/redgrey/whitelist_recipients " ] ||
    bad "after uninstall: left '$left', want only the two changed files"
verdict "uninstall removes the unchanged files and keeps the changed ones"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
