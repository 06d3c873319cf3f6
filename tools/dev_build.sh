#!/usr/bin/env bash
# Developer build: compile the core with CMake into build/ and drop _core into python/treeforge/,
# so that `PYTHONPATH=python` runs the working tree without reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" "$@" >/dev/null
cmake --build "$build_dir" -j 2
# Copy then rename: a process that has the old module loaded keeps a valid file (no SIGBUS).
for so in "$build_dir"/_core*.so; do
  cp "$so" "python/treeforge/.$(basename "$so").tmp"
  mv -f "python/treeforge/.$(basename "$so").tmp" "python/treeforge/$(basename "$so")"
done
