#!/usr/bin/env bash
# The flake hunt: builds the tests once, runs the whole suite N times, and prints every test that
# failed at least once, with how often and its messages. Exits 1 if any run failed (a test, a
# crash of the runner, or a run past its time limit), 0 if every run passed.
#
#   Scripts/flake-hunt.sh [-n RUNS] [--tsan] [--filter REGEX] [--limit SECONDS] [--keep]
#
#   -n RUNS         how many runs (default 20)
#   --tsan          under ThreadSanitizer (its own build in .build-tsan, as CI does)
#   --filter REGEX  only the tests swift test's --filter selects
#   --limit SECONDS each run's time limit (default 900); a run past it is killed and counted
#   --keep          keep every run's log (by default only the logs of failed runs are kept)
#
# Run it before resolving an issue (README, "Contributing"): 20 runs, then 5 with --tsan.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=20 tsan=0 filter="" limit=900 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=$2; shift 2 ;;
        --tsan) tsan=1; shift ;;
        --filter) filter=$2; shift 2 ;;
        --limit) limit=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "flake-hunt: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "flake-hunt: -n takes a positive number" >&2; exit 64 ;; esac

build_args=(--build-tests)
test_args=(--skip-build)
label="plain"
if [ "$tsan" = 1 ]; then
    build_args+=(--sanitize=thread --scratch-path .build-tsan)
    test_args+=(--sanitize=thread --scratch-path .build-tsan)
    label="ThreadSanitizer"
fi
[ -n "$filter" ] && test_args+=(--filter "$filter")

logs=$(mktemp -d "${TMPDIR:-/tmp}/flake-hunt.XXXXXX")
echo "== flake hunt: $runs runs ($label), logs in $logs"
if ! swift build "${build_args[@]}" > "$logs/build.log" 2>&1; then
    tail -n 40 "$logs/build.log"
    echo "== the build failed (above)"
    exit 1
fi

failed_runs=0
: > "$logs/failures.tsv" # run<TAB>test<TAB>message
for run in $(seq 1 "$runs"); do
    log="$logs/run-$run.log"
    start=$(date +%s)
    # Its own session, so that a run past its limit is killed with everything it started.
    setsid swift test "${test_args[@]}" > "$log" 2>&1 &
    pid=$!
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$limit" ]; do sleep 1; waited=$((waited + 1)); done
    timed_out=0
    if kill -0 "$pid" 2>/dev/null; then
        timed_out=1
        # The whole session: swift test runs the test binary in a process group of its own.
        pkill -KILL -s "$pid" 2>/dev/null
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    status=$?
    seconds=$(( $(date +%s) - start ))

    # Swift Testing: "✘ Test name() recorded an issue at File.swift:12:5: message"
    grep -aE "^.{0,4}Test [^ ]+ recorded an issue" "$log" \
        | sed -E 's/^.{0,4}Test ([^ ]+) recorded an issue (at )?/\1\t/' \
        | while IFS=$'\t' read -r test message; do printf '%s\t%s\t%s\n' "$run" "$test" "$message"; done \
        >> "$logs/failures.tsv"
    # XCTest: "Test Case '-[Module.Class test]' failed"
    grep -aoE "Test Case '[^']+' failed" "$log" \
        | sed -E "s/Test Case '([^']+)' failed/$run\t\1\tfailed (XCTest)/" >> "$logs/failures.tsv"
    named=$(awk -F'\t' -v r="$run" '$1 == r' "$logs/failures.tsv" | wc -l)

    if [ "$timed_out" = 1 ]; then
        started=$(grep -aoE "Test [^ ]+ started" "$log" | awk '{print $2}' | sort -u)
        ended=$(grep -aoE "Test [^ ]+ (passed|failed|skipped)" "$log" | awk '{print $2}' | sort -u)
        unfinished=$(comm -23 <(echo "$started") <(echo "$ended") | tr '\n' ' ')
        printf '%s\t%s\t%s\n' "$run" "(run timed out)" "past ${limit}s; unfinished: ${unfinished:-none named}" >> "$logs/failures.tsv"
    elif [ "$status" != 0 ] && [ "$named" = 0 ]; then
        last=$(grep -avE "^\s*$" "$log" | tail -n 1 | cut -c1-200)
        printf '%s\t%s\t%s\n' "$run" "(runner)" "exit $status with no failing test named; last line: $last" >> "$logs/failures.tsv"
    fi

    if [ "$status" != 0 ] || [ "$timed_out" = 1 ] || [ "$named" != 0 ]; then
        failed_runs=$((failed_runs + 1))
        echo "run $run/$runs: FAILED in ${seconds}s (exit $status), log $log"
    else
        echo "run $run/$runs: passed in ${seconds}s"
        [ "$keep" = 1 ] || rm -f "$log"
    fi
done

echo
if [ "$failed_runs" = 0 ]; then
    echo "== flake hunt ($label): $runs of $runs runs passed; no test failed"
    exit 0
fi
echo "== flake hunt ($label): $failed_runs of $runs runs failed. Tests that failed at least once:"
cut -f2 "$logs/failures.tsv" | sort | uniq -c | sort -rn | while read -r count test; do
    echo "-- $test: in $(awk -F'\t' -v t="$test" '$2 == t {print $1}' "$logs/failures.tsv" | sort -u | wc -l) run(s)"
    awk -F'\t' -v t="$test" '$2 == t {print "   run " $1 ": " $3}' "$logs/failures.tsv" | head -n 5
done
exit 1
