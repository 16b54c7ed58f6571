#!/usr/bin/env bash
# Build llama.cpp's own `llama-bench` from the llama.cpp source that the installed
# llama-cpp-python vendors, so `bizra bench --report` can compare against native speed.
#   scripts/build_llama_bench.sh [OUT_DIR]   (default: build/llama-bench)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
out="${1:-$root/build/llama-bench}"
version="$("$python" -c 'import llama_cpp; print(llama_cpp.__version__)')"
work="$out/src"
mkdir -p "$work"
if [ ! -d "$work/llama_cpp_python-$version" ]; then
  "$python" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
  tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
fi
cmake -S "$work/llama_cpp_python-$version/vendor/llama.cpp" -B "$out/cmake" \
  -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=OFF > "$out/cmake.log"
cmake --build "$out/cmake" --target llama-bench -j "$(nproc)" > "$out/build.log"
cp "$(find "$out/cmake" -name llama-bench -type f -perm -u+x | head -n 1)" "$out/llama-bench"
echo "$out/llama-bench (llama.cpp vendored by llama-cpp-python $version)"
