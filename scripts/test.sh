#!/bin/sh
# The test command of the README: installs what is missing (Debian 12, as
# root), builds with warnings as errors, and runs every test layer through
# ctest. Usage: sh scripts/test.sh [ctest arguments...]
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
