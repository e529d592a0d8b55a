#!/usr/bin/env bash
# Times the few-row product of batched decoding against its alternatives (core/src/test/.../FewRowsProbe.java),
# single-threaded, in thread CPU time; microseconds per product of N rows (default 8).
#   tools/bench/few_rows_probe.sh [rows]
#   tools/bench/few_rows_probe.sh 2,4,8,16 kernels   # the kernels' chunked sgemv against the Vector API path
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/align4j" --version >/dev/null # builds cli/target/lib
(cd "$root" && mvn -B -q -ntp -o test-compile -pl core >/dev/null)
cp="$root/core/target/test-classes:$root/core/target/classes:$(ls "$root"/cli/target/lib/*.jar | grep -v align4j-core | tr '\n' ':')"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 java -Xmx2g --add-modules jdk.incubator.vector -cp "$cp" org.align4j.core.kernels.FewRowsProbe "${1:-8}" ${2:-} 2>&1 | grep -v WARN
