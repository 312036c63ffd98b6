#!/usr/bin/env bash
# Installs what the three environment-dependent end-to-end tests need, on Debian, as root:
#   - slurm-wlm and munge, for the real-Slurm test (run with GRBM_SWEEP_SLURM=1; the test starts
#     a one-node cluster with tests/slurm/cluster.sh);
#   - the notebook's Python packages (experiments/requirements.txt), for the notebook test (it
#     runs whenever they are importable; GRBM_SWEEP_NOTEBOOK=1 makes their absence a failure);
#   - Debian's chromium, for the browser test of `grbm-sweep report` (it runs whenever
#     /usr/bin/chromium exists; GRBM_SWEEP_BROWSER=1 makes its absence a failure).
# `cargo test --release` itself installs nothing; `.ci/run` calls this script first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null || ! command -v sbatch > /dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge > /dev/null
fi
echo "setup-e2e: $(sbatch --version), munge $(munged --version 2>&1 | head -n 1)"

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
echo "setup-e2e: $(/usr/bin/chromium --version 2> /dev/null)"

python3 -m pip install -q --disable-pip-version-check -r experiments/requirements.txt
python3 -c "import polars, numpy, matplotlib, nbclient, nbformat, ipykernel; print('setup-e2e: notebook packages importable (polars', polars.__version__ + ')')"
