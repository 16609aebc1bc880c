#!/usr/bin/env bash
# The robustness table's MNIST rows (docs/studies/robustness.md): standard against --robust runs (direct, CPPN), each
# re-scored by `fooling robustness` under held-out draws of
# the same SPEC and under the print-photo preset. Seed 0 everywhere. Usage:
#   bash scripts/robustness_runs.sh [OUT_DIR]      (default runs/robustness)
# The ImageNet (Lite0) rows were run on a GPU by scripts/gpu_checks.sh, with the same SPEC.
# Phases: evolve (skipped for runs already finished), then score. The runs that compare the
# --robust-elites policies (average, paired, K = 16, the longer run) were measured with
# --threads 1: a seed reproduces a run for the same thread settings only (docs/concepts/run-directories.md).
set -euo pipefail
OUT=${1:-runs/robustness}
SPEC="shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95"
mkdir -p "$OUT"

evolve() {  # evolve NAME ARGS...: one run, unless it finished already
    local name=$1; shift
    if [[ -f "$OUT/$name/archive.json" ]]; then return; fi
    echo "== $name: uptime before: $(uptime)"
    fooling evolve --seed 0 --quiet --overwrite --out "$OUT/$name" "$@"
    echo "== $name: uptime after: $(uptime)"
}

evolve mnist_direct --until 0.9999
evolve mnist_direct_robust --until 0.9999 --max-generations 200 --robust "$SPEC" --robust-samples 8 \
    --robust-elites keep
evolve mnist_direct_robust_rescore --until 0.9999 --max-generations 200 --robust "$SPEC" \
    --robust-samples 8 --robust-elites rescore
evolve mnist_direct_robust_average --until 0.9999 --max-generations 200 --robust "$SPEC" \
    --robust-samples 8 --robust-elites average --threads 1
evolve mnist_direct_robust_paired --until 0.9999 --max-generations 200 --robust "$SPEC" \
    --robust-samples 8 --robust-elites paired --threads 1
# The same run, on until every class's 8-view mean reaches 0.9999 (measured by continuing the
# 200-generation run with --resume --until 0.9999 --max-generations 1000: the same run, exactly).
evolve mnist_direct_robust_paired_long --until 0.9999 --max-generations 1000 --robust "$SPEC" \
    --robust-samples 8 --robust-elites paired --threads 1
evolve mnist_direct_robust_paired_k16 --until 0.9999 --max-generations 1000 \
    --robust "$SPEC" --robust-samples 16 --robust-elites paired --threads 1
evolve mnist_cppn --encoding cppn --until 0.9999
evolve mnist_cppn_robust --encoding cppn --until 0.9999 --max-generations 100 \
    --robust "$SPEC" --robust-samples 8 --robust-elites keep
evolve mnist_cppn_robust_paired --encoding cppn --until 0.9999 --max-generations 295 \
    --robust "$SPEC" --robust-samples 8 --robust-elites paired --threads 1

for preset in print-photo "$SPEC"; do
    name=$([[ $preset == print-photo ]] && echo print_photo || echo spec)
    echo "== robustness $name: uptime before: $(uptime)"
    fooling robustness "$OUT"/mnist_direct "$OUT"/mnist_direct_robust \
        "$OUT"/mnist_direct_robust_rescore "$OUT"/mnist_direct_robust_average \
        "$OUT"/mnist_direct_robust_paired "$OUT"/mnist_direct_robust_paired_long \
        "$OUT"/mnist_direct_robust_paired_k16 "$OUT"/mnist_cppn \
        "$OUT"/mnist_cppn_robust "$OUT"/mnist_cppn_robust_paired \
        --transforms "$preset" --samples 100 --seed 1 --overwrite --quiet --out "$OUT/scores_$name"
    echo "== robustness $name: uptime after: $(uptime)"
done
