#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# with-redis.sh - run one test with a private redis-server on loopback.
#
# Starts redis-server on a free 127.0.0.1 port (and a unix socket) in a
# fresh temporary directory, exports where it is, runs the test, and stops
# the server by its PID. A missing or failing redis-server is a test
# FAILURE (exit 1), never a skip: CI installs Redis.
#
# Exported to the test:
#   REDGREY_TEST_REDIS        127.0.0.1:PORT
#   REDGREY_TEST_REDIS_SOCK   path of the unix socket
#   REDGREY_TEST_REDIS_PIDFILE  the server's pidfile (tests may kill it)
#   REDGREY_TEST_REDIS_START  a script that starts the same server again
#   REDGREY_TEST_TMP          a scratch directory removed afterwards
set -u

server=${REDIS_SERVER:-$(command -v redis-server 2>/dev/null)}
if [ -z "$server" ]; then
    echo "with-redis.sh: redis-server not found: install the Debian package redis-server" >&2
    exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/redgrey-test.XXXXXX") || exit 1
chmod 755 "$dir"
pidfile=$dir/redis.pid

stop_redis() {
    if [ -s "$pidfile" ]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.05; n=$((n + 1))
        done
        kill -9 "$pid" 2>/dev/null
    fi
}
cleanup() {
    stop_redis
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ready=no
tries=0
while [ $tries -lt 20 ]; do
    tries=$((tries + 1))
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    cat > "$dir/start" <<EOS
#!/bin/sh
exec "$server" --bind 127.0.0.1 --port $port --unixsocket "$dir/redis.sock" \\
    --unixsocketperm 777 --save '' --appendonly no --dir "$dir" \\
    --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log"
EOS
    chmod 755 "$dir/start"
    rm -f "$pidfile"
    "$dir/start" || continue
    n=0
    while [ $n -lt 200 ]; do
        if [ "$(redis-cli -h 127.0.0.1 -p $port ping 2>/dev/null)" = PONG ]; then
            ready=yes
            break
        fi
        if ! grep -q . "$pidfile" 2>/dev/null && [ $n -gt 20 ]; then
            break
        fi
        sleep 0.02; n=$((n + 1))
    done
    [ $ready = yes ] && break
    stop_redis
done
if [ $ready != yes ]; then
    echo "with-redis.sh: could not start redis-server on loopback:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null
    exit 1
fi

export REDGREY_TEST_REDIS=127.0.0.1:$port
export REDGREY_TEST_REDIS_SOCK=$dir/redis.sock
export REDGREY_TEST_REDIS_PIDFILE=$pidfile
export REDGREY_TEST_REDIS_START=$dir/start
export REDGREY_TEST_TMP=$dir

"$@"
rc=$?
exit $rc
