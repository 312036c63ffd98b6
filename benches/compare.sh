#!/usr/bin/env bash
# Times experiments/bench.toml in grbm-sweep and in benches/numpy_reference.py on this machine,
# one after the other, and prints the ratio. Needs python3 with numpy (pip install numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
threads=${THREADS:-$(nproc)}
start=$(date +%s%N)
./target/release/grbm-sweep experiments/bench.toml --fresh --quiet --threads "$threads" > /dev/null
rust_ns=$(( $(date +%s%N) - start ))
# One BLAS thread per process (one process per core), without the OpenBLAS core overrides of this
# workplace, which slow a current numpy.
start=$(date +%s%N)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    python3 benches/numpy_reference.py --processes "$threads" 2> /dev/null
numpy_ns=$(( $(date +%s%N) - start ))
python3 -c "r, n = $rust_ns / 1e9, $numpy_ns / 1e9
print(f'grbm-sweep: {r:.2f}s  numpy: {n:.2f}s  ($threads threads/processes)  numpy / grbm-sweep = {n / r:.1f}')"
