#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz with clang-19 (ASan + UBSan)
# in build-fuzz and runs each for a bounded time. Prints per target the
# inputs executed and fails if any input crashed, leaked, timed out or
# allocated absurdly; the reproducer is left in build-fuzz/fuzz/<target>/ and
# belongs, once fixed, in tests/fuzz/corpus-regressions/<target>/.
#
# usage: sh scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   default 60 seconds, every target of tests/fuzz/CMakeLists.txt.
# Environment: FUZZ_JOBS (build parallelism, default nproc), FUZZ_FLAGS
# (more libFuzzer flags, e.g. -use_value_profile=1).
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
# (libFuzzer reads -max_total_time=0 as "no limit")
case $seconds in
  ''|*[!0-9]*) seconds_ok=false ;;
  *) [ "$seconds" -ge 1 ] && seconds_ok=true || seconds_ok=false ;;
esac
$seconds_ok || { echo "fuzz.sh: SECONDS must be a number >= 1, got '$seconds'" >&2; exit 1; }
known=$(sed -n 's/^set(TC_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
[ -n "$known" ] || { echo "fuzz.sh: no TC_FUZZ_TARGETS in tests/fuzz/CMakeLists.txt" >&2; exit 1; }
targets=${*:-$known}
for t in $targets; do
  case " $known " in
    *" $t "*) ;;
    *) echo "fuzz.sh: unknown target '$t' (known: $known)" >&2; exit 1 ;;
  esac
done

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_ASM_COMPILER=clang-19 >/dev/null
build_targets=""
for t in $targets; do build_targets="$build_targets fuzz_$t"; done
cmake --build build-fuzz -j"${FUZZ_JOBS:-$(nproc)}" --target $build_targets >/dev/null

status=0
summary=""
for t in $targets; do
  work=build-fuzz/fuzz/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -f "$work/artifacts/"*
  dict=""
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  regressions=tests/fuzz/corpus-regressions/$t
  [ -d "$regressions" ] || regressions=""
  echo "fuzz.sh: fuzzing $t for $seconds s"
  # New inputs go to the first folder (the working corpus, kept between
  # runs); the seeds and the regressions are read only.
  # -malloc_limit_mb: no single allocation may exceed 1 GiB from an input
  # of a few KiB: sizes read from a file must be checked first.
  rc=0
  "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" $dict ${FUZZ_FLAGS:-} \
    "$work/corpus" "tests/fuzz/corpus/$t" $regressions >"$work/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  found=$(ls "$work/artifacts" 2>/dev/null | head -n 1)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    status=1
    line="$t: FAILED after ${runs:-?} inputs (exit $rc); reproducer: $work/artifacts/$found; log: $work/log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$work/log" | head -n 5 >&2 || true
  else
    line="$t: ${runs:-?} inputs executed in $seconds s, no crash, leak or timeout"
  fi
  echo "fuzz.sh: $line"
  summary="$summary$line
"
done
printf '\nfuzz.sh summary:\n%s' "$summary"
exit $status
