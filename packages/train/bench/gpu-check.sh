#!/usr/bin/env bash
# The GPU-machine check of the training engine (issue 12, part E), as one
# prepared script for the device tool. Run from the repository root there:
#   bash packages/train/bench/gpu-check.sh
# It writes its JSON under ${OUT:-bench-results/gpu} and prints a table per part:
#   1. PyTorch CUDA: RepVGG-A0, 224x224, batch 64, one training step (the peer);
#   2. PyTorch CPU: the cifar nets at 1..16 threads (what the 16 cores give PyTorch);
#   3. RepNets: bench:engine on webgpu (Dawn over the NVIDIA Vulkan driver) for
#      RepVGG-A0 at 224x224 batch 64, and wasm worker scaling 1..16 at 32x32, batch 64.
# Parts whose tools are missing (no CUDA, no node or node_modules) are skipped
# with the reason printed.
set -u
cd "$(dirname "$0")/../../.."
out=${OUT:-bench-results/gpu}
mkdir -p "$out"
py=${REPNETS_PYTHON:-python3}
step=packages/train/bench/pytorch_step.py

echo "== 1. PyTorch CUDA, repvgg_a0 224x224 batch 64"
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$py" "$step" --model repvgg_a0 --device cuda --img-size 224 --batch 64 --runs 20 --warmup 5 | tee "$out/pytorch-cuda.json"
else
  echo "skipped: $py has no torch with CUDA"
fi

echo "== 2. PyTorch CPU scaling (cifar, batch 32)"
threads=$(nproc)
: >"$out/pytorch-cpu.jsonl"
for m in repvgg_a0 mobileone_s0; do
  for t in 1 2 4 8 16; do
    [ "$t" -le "$threads" ] || continue
    OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t "$py" "$step" --model "$m" --threads "$t" --batch 32 --runs 10 | tee -a "$out/pytorch-cpu.jsonl"
  done
done

echo "== 3. RepNets engine"
if command -v node >/dev/null && [ -d packages/train/node_modules/@tensorflow/tfjs ]; then
  (cd packages/train &&
    npx tsx bench/engine.ts --models repvgg_a0 --backends webgpu --img-size 224 --batch 64 --runs 5 --rounds 1 --no-stock --no-pytorch --out "../../$out/engine-webgpu.json"
    npx tsx bench/engine.ts --workers 1,2,4,8,16 --batch 64 --runs 4 --rounds 1 --no-stock --out "../../$out/engine-workers.json")
else
  echo "skipped: no node or no installed node_modules (carry them, or install on a machine that can)"
fi
echo "wrote $out"
