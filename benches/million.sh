#!/usr/bin/env bash
# Times a sweep of N tiny runs in SHARDS shards and every command that follows one, and prints a
# table of each command's wall time and peak RSS, per run, and the results folder's size on disk.
#
#     bash benches/million.sh [N [SHARDS]]      # default N = 1000000, SHARDS = 8
#
# N must be a multiple of 10 and at least 20: the grid is lr (N / 10 values, a logspace) x
# momentum (5 values) x seed (2 values). Every run is tiny (hidden 2, one epoch of 200 points,
# `[eval] samples = 10`), so what is timed is the runner's own cost per run, not training.
#
# The shards run one after another, each with --threads 2 (this machine has 2 cores), so at any
# time the sweep uses 2 threads in all; the sweep's figure is their sum (and the largest peak
# RSS). Each command runs under `/usr/bin/time -f '%e s %M KB'`.
#
# Environment: BENCH_DIR, the folder to work in (default: a new one under ${TMPDIR:-/tmp}; it is
# kept, with every command's output in logs/, and its path printed at the end); CARGO_TARGET_DIR
# as cargo reads it; GRBM_SWEEP_BIN, a grbm-sweep binary to time instead of building this one
# (for example an older version's, to compare). The release binary is built once and copied
# into BENCH_DIR, so that another build into the same target folder cannot change it in the
# middle of the benchmark.
set -euo pipefail

n=${1:-1000000}
shards=${2:-8}
if ! [[ $n =~ ^[0-9]+$ ]] || (( n % 10 != 0 || n < 20 )); then
    echo "N must be a multiple of 10 and at least 20, not $n" >&2
    exit 2
fi
if ! [[ $shards =~ ^[0-9]+$ ]] || (( shards < 1 )); then
    echo "SHARDS must be a whole number >= 1, not $shards" >&2
    exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "needs /usr/bin/time (GNU time; apt-get install time)" >&2
    exit 2
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/grbm-million-$n-XXXXXX")}
mkdir -p "$work/logs"
if [[ -e $work/results ]]; then
    echo "$work/results exists: give an empty BENCH_DIR" >&2
    exit 2
fi

if [[ -n ${GRBM_SWEEP_BIN:-} ]]; then
    cp "$GRBM_SWEEP_BIN" "$work/grbm-sweep"
    version="$GRBM_SWEEP_BIN"
else
    (cd "$repo" && cargo build --release --quiet)
    target=${CARGO_TARGET_DIR:-$repo/target}
    cp "$target/release/grbm-sweep" "$work/grbm-sweep"
    version="grbm-sweep $(git -C "$repo" describe --always --dirty)"
fi
bin=$work/grbm-sweep
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

cat > "$work/million.toml" <<EOF
# Written by benches/million.sh: $n tiny runs.
name = "million"
output = "results"

[data]
source = "gmm_iso"
n_train = 200
n_valid = 100
n_test = 100
seed = 0

[train]
hidden = 2
epochs = 1
batch_size = 100
k = 1

[eval]
samples = 10
grid_points = 64

[grid]
lr = { logspace = [0.0001, 0.1], num = $(( n / 10 )) }
momentum = { linspace = [0.5, 0.9], num = 5 }
seed = [0, 1]
EOF

cd "$work"
rows=()

# timed NAME ARGS...: runs the binary with ARGS under /usr/bin/time, its output in logs/NAME.log;
# sets `seconds` and `kb`, and adds a row to the table unless NAME begins with "shard".
timed() {
    local name=$1
    shift
    if ! /usr/bin/time -f '%e %M' -o "logs/$name.time" "$bin" "$@" > "logs/$name.log" 2>&1; then
        echo "grbm-sweep $* failed; the end of logs/$name.log:" >&2
        tail -n 20 "logs/$name.log" >&2
        exit 1
    fi
    read -r seconds kb < <(tail -n 1 "logs/$name.time")
    echo "$name: $seconds s, $kb KB" >&2
    if [[ $name != shard* ]]; then
        rows+=("$name|$*|$seconds|$kb")
    fi
}

if "$bin" plan --help | grep -- '--all' > /dev/null; then
    timed plan plan million.toml --max-runs "$n"
    timed "plan --all" plan million.toml --max-runs "$n" --all
else
    timed plan plan million.toml --max-runs "$n"
fi

sweep_seconds=0
sweep_kb=0
for (( i = 0; i < shards; i++ )); do
    timed "shard-$i" million.toml --max-runs "$n" --threads 2 --quiet --shard "$i/$shards"
    sweep_seconds=$(awk -v a="$sweep_seconds" -v b="$seconds" 'BEGIN { print a + b }')
    (( kb > sweep_kb )) && sweep_kb=$kb
done
rows+=("sweep ($shards shards, one after another)|million.toml --threads 2 --quiet --shard I/$shards|$sweep_seconds|$sweep_kb")

timed merge merge results
timed report report results
timed plot plot results
timed "verify --sample 1" verify results --sample 1 --seed 1
timed compare compare results --by lr
timed "rerun, nothing to do" million.toml --max-runs "$n" --threads 2 --quiet

size() { du -sb "$@" | awk '{ s += $1 } END { print s }'; }
records_bytes=$(size results/records)
# The committed set (the top-level names are links into it); an earlier version's plain files.
if [[ -d results/tables ]]; then
    tables_bytes=$(size results/tables)
else
    tables_bytes=$(size results/*.parquet)
fi
folder_bytes=$(size results)
folder_blocks=$(du -s --block-size=1 results | cut -f1)

echo
echo "$n runs, $shards shards; $(date +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $version"
echo "load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | wall | peak RSS | per run | RSS per run |"
echo "|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r name _args seconds kb <<< "$row"
    awk -v name="$name" -v s="$seconds" -v kb="$kb" -v n="$n" 'BEGIN {
        printf "| %s | %.2f s | %.0f MB | %.1f us | %.0f B |\n", name, s, kb / 1024, s * 1e6 / n, kb * 1024 / n
    }'
done
echo
awk -v r="$records_bytes" -v t="$tables_bytes" -v f="$folder_bytes" -v b="$folder_blocks" -v n="$n" 'BEGIN {
    printf "| on disk | bytes | per run |\n|---|---|---|\n"
    printf "| records/ (du -sb) | %.1f MB | %.0f B |\n", r / 1e6, r / n
    printf "| the tables (tables/, du -sb) | %.1f MB | %.0f B |\n", t / 1e6, t / n
    printf "| the whole folder (du -sb) | %.1f MB | %.0f B |\n", f / 1e6, f / n
    printf "| the whole folder, blocks allocated (du -s) | %.1f MB | %.0f B |\n", b / 1e6, b / n
}'
echo
echo "commands and their output: $work/logs (remove the folder with rm -rf $work)"
