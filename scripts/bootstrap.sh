#!/bin/sh
# Installs every Debian package trainc needs to build, test and train.
# Idempotent: apt-get skips what is already installed. Run as root.
set -eu

packages="
  build-essential cmake pkg-config
  llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libcjson-dev zlib1g-dev
  libonnx-testdata dataset-fashion-mnist
  python3 python3-onnx python3-numpy python3-torch python3-torchvision python3-pil libopenblas0-pthread valgrind
"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends $missing
fi
