#!/bin/sh
# The test command of the README: installs what is missing (Debian 12, as
# root), builds with warnings as errors, and runs every test layer through
# ctest; then builds again with AddressSanitizer and UndefinedBehaviorSanitizer
# (leak checks on) and runs the suite there too, but for the optimizer grid
# (the slowest, no code of its own that the others do not run), e2e.aot and
# e2e.image_folder_aot (they link trainers with the system compiler, which
# does not add the sanitizer runtime) and the largest zoo models' tests (the
# code they run is that of the smaller conv models, cnn_bn's and lenet5's,
# at a size ASan makes slow); last, runs the fuzzers for 60 s each. Usage: sh scripts/test.sh [ctest arguments...]
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON -DTC_SANITIZE=ON
cmake --build build-sanitize -j"$(nproc)"
cd build-sanitize
ctest --output-on-failure -j"$(nproc)" -E "^(torch\.optimizers|e2e\.aot|e2e\.image_folder_aot|(torch|e2e)\.zoo\.(resnet18|mobilenet_v2|resnet8|unet|unet_upsample))$" "$@"
cd ..
# Fuzzing (libFuzzer, clang-19, ASan + UBSan): each harness for 60 s; any
# crash, leak or timeout fails the run and leaves its reproducer.
sh scripts/fuzz.sh 60 onnx spec idx npy npz csv image
