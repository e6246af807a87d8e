#!/usr/bin/env bash
# Fails when a raw close or poll call, or an EINTR loop, appears outside the system layer:
# Sources/MulticoreSystem (the Swift wrappers, with the one EINTR policy) and Sources/CMulticore
# (the C shims it wraps). Sources/CMulticoreBench is exempt: its raw calls are what the benchmark
# compares Multicore with. Method calls (`connection.close()`, `poll(timeout:)`) and comments
# do not count. Use closeDescriptor, Poll.wait/isReady and the FileDescriptor wrappers instead.
set -euo pipefail
cd "$(dirname "$0")/.."

pattern='(?<![\w.])(close|poll)\((?!\)|timeout:)|\b(Glibc|Darwin)\.(close|poll)\(|\bEINTR\b'

found=$(grep -rnP --include='*.swift' --include='*.c' --include='*.h' "$pattern" Sources \
    | grep -vE '^Sources/(MulticoreSystem|CMulticore|CMulticoreBench)/' \
    | grep -vP '^[^:]+:\d+:\s*(//|\*)' || true)
if [ -n "$found" ]; then
    echo "raw close/poll or an EINTR loop outside the system layer (Sources/MulticoreSystem):"
    echo "$found"
    exit 1
fi
echo "no raw close, poll or EINTR loop outside the system layer"
