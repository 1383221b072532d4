#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# fuzz-run.sh - run libFuzzer targets side by side, each for SECONDS, and
# fail when any of them crashed (make fuzz-run calls it).
#
#   fuzz-run.sh SECONDS JOBS SRCDIR TARGET...
#
# At most JOBS fuzzers run at once (one per core is right: each is one
# process). Each target NAME runs ./fuzz_NAME over fuzz-work/NAME (its
# growing corpus) and SRCDIR/corpus/NAME; its output is fuzz-work/NAME.log
# and crashing inputs land in fuzz-crash/NAME/. One line per target
# reports ok or CRASH and the executions; a crash also prints the log's
# tail. Exit 0 when every target ran clean, 1 otherwise.
set -u

if [ $# -lt 4 ]; then
    echo "usage: fuzz-run.sh SECONDS JOBS SRCDIR TARGET..." >&2
    exit 2
fi
seconds=$1 jobs=$2 srcdir=$3
shift 3

# fuzz_one NAME - run one target; its verdict goes to fuzz-work/NAME.res
fuzz_one() {
    t=$1
    mkdir -p "fuzz-work/$t" "fuzz-crash/$t"
    if "./fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="fuzz-crash/$t/" \
        "fuzz-work/$t" "$srcdir/corpus/$t" > "fuzz-work/$t.log" 2>&1; then
        echo ok > "fuzz-work/$t.res"
    else
        echo CRASH > "fuzz-work/$t.res"
    fi
}

running=0
for t; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

fail=0
for t; do
    res=$(cat "fuzz-work/$t.res" 2>/dev/null || echo CRASH)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz-work/$t.log")
    echo "fuzz_$t: $res, ${execs:-?} executions in $seconds s"
    if [ "$res" != ok ]; then
        fail=1
        tail -n 40 "fuzz-work/$t.log"
    fi
done
if [ "$fail" != 0 ]; then
    echo "fuzz-run: crash; inputs in $(pwd)/fuzz-crash/"
fi
exit "$fail"
