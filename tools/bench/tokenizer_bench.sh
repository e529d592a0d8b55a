#!/usr/bin/env bash
# Tokenizer encode MB/s next to jtokkit (r50k_base) on the same generated text, and BPE training time.
#   tools/bench/tokenizer_bench.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -ntp -Dstyle.color=never -pl core test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null 2>&1
java -Xmx4g -cp "core/target/test-classes:core/target/classes:$(cat core/target/test-classpath.txt)" \
  org.align4j.core.tokenizer.TokenizerThroughput "${1:-8}"
