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
# Results: OUT_DIR/results/*.json, the result files for docs/benchmarks/results (small: bring them
# back and copy them there), named after the GPU (TAG, e.g. h200): render_gpu_TAG and
# render_cpu_TAG (scripts/bench_render.py), gpu_lite0_TAG (scripts/bench_imagenet.py) and
# gpu_checks_TAG (tests, demo runs, the paper's run: scripts/gpu_summary.py); besides,
# OUT_DIR/log.txt (everything printed), OUT_DIR/*.json (each script's own --json),
# OUT_DIR/gpu_tests.xml, OUT_DIR/runs/ (run directories).
# SMALL=1 shrinks every step so that the script itself can be checked on a CPU in a minute or two.
# STEPS="render imagenet" runs only those steps (default: tests render imagenet demo robust
# robustness paper); TAG=NAME names the results (default: from the GPU's name, "cpu" without one).
set -uo pipefail
OUT=${1:?usage: gpu_checks.sh OUT_DIR [SECONDS]}
BUDGET=${2:-540}
SMALL=${SMALL:-0}
STEPS=${STEPS:-tests render imagenet demo robust robustness paper}
mkdir -p "$OUT/runs" "$OUT/results"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1
TAG=${TAG:-$(python -c '
import re, torch
name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w != "nvidia"]
print(next((w for w in words if re.search(r"\d", w)), words[0] if words else "gpu"))')}
RESULTS=(--results-dir "$OUT/results")
FOOLING=(python -m fooling)
SPEC="shift=2,rotate=10,scale=0.9:1.1,noise=0.02,jpeg=60:95"
CLASSES="king penguin,starfish,baseball,electric guitar,remote control"
DEMO=(--target imagenet-efficientnet-lite0 --encoding cppn --only-classes "$CLASSES" --batch 32
      --initial-population 64 --max-generations 120 --channels-last --seed 0 --quiet)
SIZES=(28 64 256); BATCHES=(100 400); GENERATIONS=20; LONG=5000; LONG_BATCH=400; SAMPLES=100
REPEATS=5; GENOME=()
if [[ $SMALL == 1 ]]; then
    SIZES=(28); BATCHES=(4); GENERATIONS=2; LONG=3; LONG_BATCH=4; SAMPLES=2; REPEATS=1
    GENOME=(--genome-size 32 32)
    DEMO=(--target imagenet-efficientnet-lite0 --encoding cppn --only-classes "$CLASSES" --batch 4
          --initial-population 4 --max-generations 2 --seed 0 --quiet)
fi

left() { echo $((BUDGET - SECONDS)); }
want() { [[ " $STEPS " == *" $1 "* ]]; }
step() {  # step KEY CAP_SECONDS NAME COMMAND...: run with a time cap, never past the budget
    local key=$1 cap=$2 name=$3; shift 3
    if ! want "$key"; then echo "=== $name: not in STEPS"; return; fi
    local allowed=$(( $(left) < cap ? $(left) : cap ))
    if (( allowed < 5 )); then echo "=== $name: skipped, no time left"; return; fi
    echo "=== $name ($(date -u +%T), ${allowed} s allowed, $(left) s left)"
    local start=$SECONDS
    timeout -s INT -k 15 "$allowed" "$@"
    echo "=== $name: exit $? after $((SECONDS - start)) s"
}

echo "=== machine (results tagged $TAG)"
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

step tests 240 "GPU tests" python -m pytest -q -p no:cacheprovider -rs tests/gpu \
    --junitxml "$OUT/gpu_tests.xml"
step render 150 "render throughput" python scripts/bench_render.py --sizes "${SIZES[@]}" \
    --population "$LONG_BATCH" --json "$OUT/render.json" --name "render_cpu_$TAG" \
    --gpu-name "render_gpu_$TAG" "${RESULTS[@]}"
step imagenet 300 "ImageNet throughput, fp32 and bf16" python scripts/bench_imagenet.py \
    --targets lite0 --batches "${BATCHES[@]}" --generations "$GENERATIONS" --repeats "$REPEATS" \
    --channels-last --precision fp32 bf16 "${GENOME[@]}" --json "$OUT/imagenet.json" \
    --name "gpu_lite0_$TAG" "${RESULTS[@]}"
step demo 120 "demo run, standard" "${FOOLING[@]}" evolve "${DEMO[@]}" --out "$OUT/runs/inet_cppn"
# rescore: the documented row (measured before paired became the default); paired: the default now.
for elites in rescore paired; do
    step robust 180 "demo run, --robust, elites $elites" "${FOOLING[@]}" evolve "${DEMO[@]}" \
        --robust "$SPEC" --robust-samples 8 --robust-elites "$elites" \
        --out "$OUT/runs/inet_cppn_robust_$elites"
done
for preset in print-photo "$SPEC"; do
    name=$([[ $preset == print-photo ]] && echo print_photo || echo spec)
    step robustness 90 "robustness $name" "${FOOLING[@]}" robustness "$OUT"/runs/inet_cppn* \
        --transforms "$preset" --samples "$SAMPLES" --seed 1 --quiet --out "$OUT/runs/scores_$name"
done
# The long run gets what is left (its gallery is made afterwards, anywhere: the run directory holds
# the genomes).
step paper $(( $(left) - 10 )) "paper run, $LONG x $LONG_BATCH" "${FOOLING[@]}" evolve \
    --target imagenet-efficientnet-lite0 --encoding cppn --batch "$LONG_BATCH" \
    --max-generations "$LONG" --channels-last --seed 0 --quiet --out "$OUT/runs/inet_long"
# Everything worth reading, into the log too: run summaries and robustness tables (the run
# directories can be too large to copy back from a lent machine), and the session's figures.
echo "=== results"
python scripts/gpu_summary.py "$OUT" --session-seconds "$SECONDS" --name "gpu_checks_$TAG" \
    --command "bash scripts/gpu_checks.sh OUT $BUDGET" "${RESULTS[@]}"
echo "=== done after $SECONDS s; result files:"
ls "$OUT/results"
