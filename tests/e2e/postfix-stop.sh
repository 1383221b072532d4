#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# postfix-stop.sh BASE - stop the private Postfix instance under BASE.
#
# Runs `postfix -c BASE/conf stop` and waits (at most 10 s) for the master
# process named in the queue's pid file to be gone; a zombie master counts
# as gone (init reaps it). If it lingers, it gets SIGKILL. An instance
# that is not running is not an error, so traps may call this freely.
set -u

[ $# -eq 1 ] || { echo "usage: postfix-stop.sh BASE" >&2; exit 1; }
base=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -f "$base/conf/main.cf" ] || exit 0
pidfile=$base/queue/pid/master.pid
pid=
[ -r "$pidfile" ] && pid=$(tr -dc 0-9 < "$pidfile")
if [ -z "$pid" ] || ! e2e_pid_alive "$pid"; then
    exit 0
fi

# Under a pty, so that an error is printed rather than sent to no syslog.
script -qec "postfix -c $base/conf stop" /dev/null </dev/null 2>&1 |
    tr -d '\r' | grep -v -e '^$' -e 'stopping the Postfix mail system' \
        -e 'waiting for the Postfix mail system to terminate' >&2
if e2e_wait_gone "$pid" 10; then
    exit 0
fi
echo "postfix-stop.sh: master $pid still runs 10 s after stop; killing it" >&2
kill -9 "$pid" 2>/dev/null
exit 1
