#!/usr/bin/env bash
# Everything this project measures and tests on a CUDA GPU, in one timed pass, most important first:
#   1. the GPU tests (tests/gpu: on the GPU, under the CUDA simulator, compiled to PTX);
#   2. CPPN render throughput of the Numba CUDA kernel (scripts/bench_render.py);
#   3. EfficientNet-Lite0 throughput and loop efficiency at batches 100 and 400, fp32 and bf16
#      (scripts/bench_imagenet.py);
#   4. the ImageNet robustness rows (docs/studies/robustness.md): the CPU demo run, standard and --robust (elites
#      rescored, as in that table, and paired, the default), then
#      `fooling robustness` of both under held-out SPEC and print-photo draws;
#   5. the paper's ImageNet run, 5000 generations of 400 CPPNs on Lite0, for whatever time is left
#      (stopped with Ctrl-C if it runs out: the run checkpoints and summary.json says how far it got).
# Usage: bash scripts/gpu_checks.sh OUT_DIR [SECONDS]   (default 540 s in all)
# Results: OUT_DIR/log.txt (everything printed), OUT_DIR/*.json, OUT_DIR/runs/ (run directories).
# SMALL=1 shrinks every step so that the script itself can be checked on a CPU in a minute or two.
set -uo pipefail
OUT=${1:?usage: gpu_checks.sh OUT_DIR [SECONDS]}
BUDGET=${2:-540}
SMALL=${SMALL:-0}
mkdir -p "$OUT/runs"
export PYTHONUNBUFFERED=1
FOOLING=(python -m fooling)
SPEC="shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95"
CLASSES="king penguin,starfish,baseball,electric guitar,remote control"
DEMO=(--target imagenet-efficientnet-lite0 --encoding cppn --only-classes "$CLASSES" --batch 32
      --initial-population 64 --max-generations 120 --channels-last --seed 0 --quiet)
SIZES=(28 64 256); BATCHES=(100 400); GENERATIONS=20; LONG=5000; LONG_BATCH=400; SAMPLES=100
if [[ $SMALL == 1 ]]; then
    SIZES=(28); BATCHES=(4); GENERATIONS=2; LONG=3; LONG_BATCH=4; SAMPLES=2
    DEMO=(--target imagenet-efficientnet-lite0 --encoding cppn --only-classes "$CLASSES" --batch 4
          --initial-population 4 --max-generations 2 --seed 0 --quiet)
fi

left() { echo $((BUDGET - SECONDS)); }
step() {  # step CAP_SECONDS NAME COMMAND...: run with a time cap, never past the budget
    local cap=$1 name=$2; shift 2
    local allowed=$(( $(left) < cap ? $(left) : cap ))
    if (( allowed < 5 )); then echo "=== $name: skipped, no time left"; return; fi
    echo "=== $name ($(date -u +%T), ${allowed} s allowed, $(left) s left)"
    local start=$SECONDS
    timeout -s INT -k 15 "$allowed" "$@"
    echo "=== $name: exit $? after $((SECONDS - start)) s"
}

echo "=== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python - <<'EOF'
import importlib.metadata as m, os, platform, torch
print("python", platform.python_version(), "| CPUs", os.cpu_count(), "| torch", torch.__version__,
      "| cuda", torch.cuda.is_available(), torch.version.cuda)
for name in ("numba", "numba-cuda", "numpy", "neat-python", "pillow"):
    try:
        print(name, m.version(name))
    except m.PackageNotFoundError:
        print(name, "missing")
EOF

step 240 "GPU tests" python -m pytest -q -p no:cacheprovider -rs tests/gpu
step 150 "render throughput" python scripts/bench_render.py --sizes "${SIZES[@]}" \
    --population "$LONG_BATCH" --json "$OUT/render.json"
for precision in fp32 bf16; do
    step 150 "ImageNet throughput $precision" python scripts/bench_imagenet.py --targets lite0 \
        --batches "${BATCHES[@]}" --generations "$GENERATIONS" --repeats 5 --channels-last \
        --precision "$precision" --json "$OUT/imagenet_$precision.json"
done
step 120 "demo run, standard" "${FOOLING[@]}" evolve "${DEMO[@]}" --out "$OUT/runs/inet_cppn"
# rescore: the documented row (measured before paired became the default); paired: the default now.
for elites in rescore paired; do
    step 180 "demo run, --robust, elites $elites" "${FOOLING[@]}" evolve "${DEMO[@]}" \
        --robust "$SPEC" --robust-samples 8 --robust-elites "$elites" \
        --out "$OUT/runs/inet_cppn_robust_$elites"
done
for preset in print-photo "$SPEC"; do
    name=$([[ $preset == print-photo ]] && echo print_photo || echo spec)
    step 90 "robustness $name" "${FOOLING[@]}" robustness "$OUT"/runs/inet_cppn* --transforms "$preset" --samples "$SAMPLES" --seed 1 \
        --quiet --out "$OUT/runs/scores_$name"
done
# The long run gets what is left (its gallery is made afterwards, anywhere: the run directory holds
# the genomes).
step $(( $(left) - 10 )) "paper run, $LONG x $LONG_BATCH" "${FOOLING[@]}" evolve \
    --target imagenet-efficientnet-lite0 --encoding cppn --batch "$LONG_BATCH" \
    --max-generations "$LONG" --channels-last --seed 0 --quiet --out "$OUT/runs/inet_long"
# Everything worth reading, into the log too: run summaries and robustness tables (the run
# directories can be too large to copy back from a lent machine).
echo "=== results"
python - "$OUT/runs" <<'PY'
import json, sys
from pathlib import Path
for summary in sorted(Path(sys.argv[1]).glob("*/summary.json")):
    data = json.loads(summary.read_text())
    keys = ("stop_reason", "generations", "evaluations", "target_queries", "elapsed_s",
            "evaluations_per_s", "classes_at_threshold", "median_confidence", "min_confidence")
    print(summary.parent.name, {k: data[k] for k in keys if k in data})
    best = sorted(data.get("best_confidence", {}).items(), key=lambda kv: -kv[1])
    print("  best:", ", ".join(f"{k} {v:.4f}" for k, v in best[:10]), "..." * (len(best) > 10))
for table in sorted(Path(sys.argv[1]).glob("scores_*/robustness.md")):
    print(f"--- {table}\n{table.read_text()}")
PY
echo "=== done after $SECONDS s"
