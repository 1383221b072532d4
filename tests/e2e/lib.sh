# SPDX-License-Identifier: BSD-2-Clause
#
# lib.sh - shell helpers shared by the end-to-end scripts (sourced, not run).
#
# Everything here is about waiting without guessing: whether a TCP port
# listens is read from /proc/net/tcp{,6}, never probed with a connect (a
# probe would be an SMTP or milter session in the logs), and every wait
# has a bound. Works in bash and in a POSIX sh with `local`.

# e2e_port_hex - print PORT as the 4 upper-case hex digits /proc/net uses
e2e_port_hex() {
    printf '%04X' "$1"
}

# e2e_port_listening - true if some socket LISTENs on TCP port PORT
e2e_port_listening() {
    local hex
    hex=$(e2e_port_hex "$1")
    # Field 2 is ADDR:PORT, field 4 the state; 0A is LISTEN.
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 }
                          END { exit !f }'
}

# e2e_port_used - true if any TCP socket (any state) has local port PORT
e2e_port_used() {
    local hex
    hex=$(e2e_port_hex "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# e2e_free_port - print a TCP port no socket uses and not in $E2E_PORTS_TAKEN
#
# The caller appends what it got to E2E_PORTS_TAKEN, so that ports picked
# for processes not started yet are not handed out twice. Gives up after
# 200 draws (returns 1).
e2e_free_port() {
    local n port
    n=0
    while [ $n -lt 200 ]; do
        n=$((n + 1))
        port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        case " ${E2E_PORTS_TAKEN:-} " in *" $port "*) continue ;; esac
        e2e_port_used "$port" && continue
        echo "$port"
        return 0
    done
    return 1
}

# e2e_wait_listen - wait up to SECS seconds for a LISTEN socket on PORT;
# if PID is given, give up as soon as that process is gone
e2e_wait_listen() {
    local port secs pid n
    port=$1 secs=$2 pid=${3:-}
    n=0
    while [ $n -lt $((secs * 20)) ]; do
        e2e_port_listening "$port" && return 0
        if [ -n "$pid" ] && ! e2e_pid_alive "$pid"; then
            return 1
        fi
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# e2e_pid_alive - true if PID exists and is not a zombie
e2e_pid_alive() {
    local state
    [ -r "/proc/$1/stat" ] || return 1
    # The state follows the ")" that closes the command name.
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# e2e_wait_gone - wait up to SECS seconds for PID to exit (zombie = gone)
e2e_wait_gone() {
    local pid secs n
    pid=$1 secs=$2
    n=0
    while [ $n -lt $((secs * 20)) ]; do
        e2e_pid_alive "$pid" || return 0
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}
