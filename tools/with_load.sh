#!/bin/sh
# Run a command while busy loops keep the machine's cores busy: LOAD loops
# (default: one per core), stopped when the command ends.
# Usage: tools/with_load.sh COMMAND [ARGS...]
n=${LOAD:-$(nproc)}
pids=""
i=0
while [ "$i" -lt "$n" ]; do
    sh -c 'while :; do :; done' &
    pids="$pids $!"
    i=$((i + 1))
done
trap 'kill $pids 2>/dev/null' EXIT INT TERM
echo "with_load: $n busy loop(s) running beside: $*" >&2
"$@"
