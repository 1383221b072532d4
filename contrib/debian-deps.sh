#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# debian-deps.sh - install what redgrey needs to build, run and test on
# Debian 12, from Debian's archive only. Run as root. Idempotent.
set -eu
export DEBIAN_FRONTEND=noninteractive

# clang and libclang-rt-14-dev (libFuzzer and clang's sanitizer runtimes,
# which clang does not pull in) are for `make fuzz`; the normal build is gcc.
#
# redis-sentinel (Sentinel tests), nsd (loopback authoritative DNS for the
# DNSBL and benchmark zones), c-ares (parallel DNSBL queries), libmicrohttpd
# (the metrics endpoint) and prometheus (promtool, which checks its output).
#
# Postfix (for the end-to-end tests) must not ask questions or configure
# a system mail server; the tests run private instances.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

apt-get update -q
apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake pkg-config \
    libmilter-dev libhiredis-dev libspf2-dev liblmdb-dev check \
    redis-server redis-tools \
    postfix swaks libio-socket-inet6-perl sasl2-bin libsasl2-modules \
    lmdb-utils procps iproute2 dnsmasq-base \
    clang libclang-rt-14-dev \
    redis-sentinel nsd libc-ares-dev libmicrohttpd-dev prometheus
