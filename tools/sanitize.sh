#!/usr/bin/env bash
# Sanitizer job (#22): build the core with -fsanitize=address,undefined,float-cast-overflow
# (CMake option TREEFORGE_SANITIZE) into its own directory, put that _core into a copy of the
# package, and run the tests that drive the core hardest, then the fuzz corpus (tests/_fuzz.py,
# when present), with the sanitizer runtimes preloaded into Python. Any sanitizer report, in this
# process or a child, fails the job (exit 1); the reports are printed at the end.
# float-cast-overflow: GCC's "undefined" leaves it out, and a NaN or 1e308 turned into an integer
# (a bin, an index) is exactly what hostile input tries.
#
#   bash tools/sanitize.sh                    # build (incremental) and run everything
#   bash tools/sanitize.sh -k category -x     # extra arguments go to pytest
#
# Environment: SANITIZE_BUILD_DIR (build-asan), SANITIZE_JOBS (2), SANITIZE_TESTS (pytest paths
# or node ids, space separated), FUZZ_CASES (10000: about 20 s), FUZZ_SEED (0), PYTHON (python3).
# Needs GCC or Clang with their sanitizer runtimes, cmake, ninja and pybind11 for $PYTHON.
# python/treeforge/_core*.so is never touched. tests/test_sanitizers.py runs this in the suite.
#
# How it runs, and why:
# - Python is not instrumented, so the ASan runtime must be the first library loaded: libasan
#   (and GCC's separate libubsan) are LD_PRELOADed; the copy's _core is the only instrumented code.
# - detect_leaks=0: CPython keeps objects and arenas alive until exit by design, and LeakSanitizer
#   would report them at every exit. Leaks are not in scope.
# - allocator_may_return_null=1, max_allocation_size_mb=4096: a malloc over 4 GiB (lengths that
#   CPython's unpickler reads from damaged pickles) returns NULL, so Python raises MemoryError at
#   once, as in the fuzzer's normal children, whose address space is capped at 4 GiB (a cap ASan's
#   reserved shadow memory rules out; without one, such a case filled gigabytes and timed out).
#   ASan logs a "failed to allocate" warning for each, which is not a report. A C++ `new` over
#   4 GiB in the core is still a report (ASan's operator new reports instead of throwing): the
#   core must validate sizes before allocating.
# - Reports go to files (log_path), so that a report in a child process (fuzz batches, tests that
#   run Python in a subprocess) is found even where the parent swallows the child's stderr. GCC's
#   libubsan, loaded beside libasan, ignores UBSAN_OPTIONS' log_path (its call to set the path
#   binds to libasan's copy), so a sitecustomize in the package copy sets libubsan's own path in
#   every Python process.
# - The subset imports no Numba module (treeforge.ngram, treeforge.montecarlo): their kernels are
#   LLVM code the sanitizers do not instrument (they do run under the preload: measured, clean),
#   and they would only add minutes of JIT compilation. Likewise the command line (Python only).
# - OpenMP: the module uses the system libgomp as in the normal build. ASan and UBSan check
#   memory and arithmetic per thread and give no false positives from its threads (races would
#   need ThreadSanitizer with an instrumented libgomp, which this job does not attempt).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
build_dir=${SANITIZE_BUILD_DIR:-build-asan}
# The core's hardest users: damaged and hostile model files, bad input, every learner, category
# splits, prediction, the kernels on explicit inputs, scikit-learn's estimator checks.
tests=${SANITIZE_TESTS:-tests/test_model_io.py tests/test_model_outputs_validation.py
  tests/test_bad_input.py tests/test_category_sets.py tests/test_category_splits.py
  tests/test_predict.py tests/test_forest.py tests/test_adaboost.py tests/test_gbdt.py
  tests/test_histogram.py tests/test_partition.py tests/test_splitter.py tests/test_grower.py
  tests/test_binning.py tests/test_train_data.py tests/test_constraints.py
  tests/test_cost_complexity.py tests/test_forest_poisson.py tests/test_weighted_sampling.py
  tests/test_losses.py tests/test_sklearn_compat.py tests/test_forest_absolute_error.py tests/test_ranking.py
  tests/test_shap.py tests/test_sparse.py}
# Statistical comparisons with scikit-learn and LightGBM: minutes of their own fits under the
# preload, no core path that the other loss tests do not take.
deselect=(--deselect tests/test_losses.py::test_agrees_with_scikit_learn
  --deselect tests/test_losses.py::test_agrees_with_lightgbm
  --deselect tests/test_losses.py::test_quantile_predictions_cover_held_out_targets_at_the_requested_rate
  --deselect tests/test_ranking.py::test_ndcg_on_lightgbm_example_within_noise_of_lightgbm
  --deselect tests/test_sparse.py::test_memory_follows_the_non_zeros)  # ASan's shadow memory inflates the peak

started=$SECONDS
# -O1: ASan's recommended optimisation (exact stacks, a quicker build); -g1: line tables, all a
# report needs; NDEBUG as released. RelWithDebInfo: pybind11 neither strips nor adds LTO.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DTREEFORGE_SANITIZE=address,undefined,float-cast-overflow \
  -DPython_EXECUTABLE="$(command -v "$python")" \
  -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" >/dev/null
cmake --build "$build_dir" -j "${SANITIZE_JOBS:-2}"
so=$(ls "$build_dir"/_core*.so)
echo "sanitize.sh: built $so in $((SECONDS - started)) s"

# The runtimes the module links (GCC links them into it); Clang's by name from the compiler.
runtime() {
  local path
  path=$(ldd "$so" | awk -v lib="$1" 'index($1, lib) == 1 {print $3}')
  if [[ -z $path && -n $2 ]]; then
    path=$("$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")" -print-file-name="$2")
    [[ -f $path ]] || path=""
  fi
  echo "$path"
}
asan=$(runtime libasan. libclang_rt.asan-x86_64.so)
ubsan=$(runtime libubsan. "")  # Clang's ASan runtime carries UBSan
if [[ -z $asan ]]; then
  echo "sanitize.sh: no ASan runtime found for $so" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/treeforge-sanitize.XXXXXX")
trap 'rm -rf "$work"' EXIT
reports=$work/reports
mkdir -p "$work/pkg" "$reports"
tar -C python --exclude='_core*.so' --exclude=__pycache__ -cf - treeforge | tar -C "$work/pkg" -xf -
cp "$so" "$work/pkg/treeforge/"
cat >"$work/pkg/sitecustomize.py" <<EOF
# Written by tools/sanitize.sh: libubsan's reports to files (see the script).
import ctypes
ctypes.CDLL("$ubsan").__sanitizer_set_report_path(b"$reports/ubsan") if "$ubsan" else None
EOF

export LD_PRELOAD="$asan${ubsan:+:$ubsan}${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=4096:halt_on_error=1:exitcode=86:log_path=$reports/asan:log_exe_name=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$reports/ubsan:log_exe_name=1"
export PYTHONPATH="$work/pkg${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
export TREEFORGE_SANITIZED=1  # tests/test_sanitizers.py does not run itself under this job

# The run must use the sanitized module, not an installed or developer build.
"$python" - "$work/pkg" <<'EOF'
import sys, treeforge._core as core
assert core.__file__.startswith(sys.argv[1]), f"sanitize.sh: loaded {core.__file__}, not the sanitized copy"
print("sanitize.sh: running", core.__file__)
EOF

failed=0
ran=$SECONDS
tests_status=0
# shellcheck disable=SC2086  # the test list is split on purpose
"$python" -m pytest -q -p no:cacheprovider $tests "${deselect[@]}" "$@" || tests_status=$?
echo "sanitize.sh: tests ran in $((SECONDS - ran)) s (exit $tests_status)"
[[ $tests_status -eq 0 ]] || failed=1
if [[ -f tests/_fuzz.py ]]; then
  fuzzed=$SECONDS
  fuzz_status=0
  "$python" tests/_fuzz.py --cases "${FUZZ_CASES:-10000}" --seed "${FUZZ_SEED:-0}" || fuzz_status=$?
  echo "sanitize.sh: fuzz corpus ran in $((SECONDS - fuzzed)) s (exit $fuzz_status)"
  [[ $fuzz_status -eq 0 ]] || failed=1
else
  echo "sanitize.sh: tests/_fuzz.py not present, no fuzz corpus run"
fi

# A report is anything in the logs but allocator_may_return_null's warnings (see above).
benign='WARNING: AddressSanitizer failed to allocate'
n_reports=0
for log in "$reports"/*; do
  [[ -f $log ]] || continue
  if grep -v -q "$benign" "$log"; then
    echo "sanitize.sh: SANITIZER REPORT ($(basename "$log")):" >&2
    cat "$log" >&2
    n_reports=$((n_reports + 1))
    failed=1
  else
    echo "sanitize.sh: $(basename "$log"): $(grep -c "$benign" "$log") allocation(s) too large for ASan returned NULL, as malloc would"
  fi
done
echo "sanitize.sh: $n_reports sanitizer report(s); total $((SECONDS - started)) s"
exit "$failed"
