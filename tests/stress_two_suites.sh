#!/usr/bin/env bash
# Stress check (README "Reliability"): two copies of the test suite at once on this machine, ROUNDS times in a row.
#
#   bash tests/stress_two_suites.sh [ROUNDS] [PYTEST ARGS...]     # default: 3 rounds of the whole suite
#   bash tests/stress_two_suites.sh 3 tests/test_runner.py tests/test_faults.py   # the signal and fault tests only
#
# Each round starts both copies together, each with its own pytest temporary directory, both on one fresh cache
# (as two users of one machine on a fresh clone: they race to build the same caches). Prints, per round, each
# copy's exit status and closing line, the wall time and the load average; exits 1 if any copy failed.
# From a git worktree whose venv is another checkout's editable install, set PYTHONPATH to the worktree (tests that
# start scripts by path would import the other checkout's package).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
rounds=${1:-3}
[ $# -gt 0 ] && shift
work=$(mktemp -d)
failed=0
for r in $(seq "$rounds"); do
  cache="$work/cache-$r"
  start=$(date +%s)
  pids=()
  for c in a b; do
    NASBENCH_BENCH_CACHE="$cache" "$PY" -m pytest -q -p no:cacheprovider --basetemp="$work/tmp-$r$c" "$@" \
      > "$work/round$r-$c.log" 2>&1 &
    pids+=($!)
  done
  peak=0
  while kill -0 "${pids[0]}" 2>/dev/null || kill -0 "${pids[1]}" 2>/dev/null; do
    now=$(cut -d' ' -f1 /proc/loadavg)
    peak=$(awk -v a="$peak" -v b="$now" 'BEGIN { print (b > a) ? b : a }')
    sleep 5
  done
  line="round $r: $(( $(date +%s) - start )) s, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), peak 1-min $peak"
  for i in 0 1; do
    wait "${pids[$i]}"
    rc=$?
    c=$([ $i = 0 ] && echo a || echo b)
    [ $rc -ne 0 ] && failed=1
    line="$line; copy $c rc=$rc: $(grep -E '(passed|failed|error)' "$work/round$r-$c.log" | tail -1)"
  done
  echo "$line"
done
echo "logs: $work"
exit $failed
