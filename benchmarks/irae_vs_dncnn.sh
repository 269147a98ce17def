#!/usr/bin/env bash
# The paper's claim, redone side by side: IRAE against an equal-size DnCNN (1,336,323 vs 1,353,216
# parameters), both trained by train_accelerate.py on the same photos with the same steps, crops, batch
# and CPU budget, both evaluated by the same command on the same CBSD68 images.
#   benchmarks/irae_vs_dncnn.sh            # trains DnCNN into runs-dncnn/ (hours on 2 cores), then evaluates
#   SKIP_TRAIN=1 benchmarks/irae_vs_dncnn.sh   # evaluate only
# IRAE's side is the shipped pretrained/<task> (trained by scripts/train_pretrained.sh with the same settings).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/cbsd68}
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
if [ -z "${SKIP_TRAIN:-}" ]; then
  ARCH=dncnn WORK=runs-dncnn scripts/train_pretrained.sh denoise jpeg inpaint
  ARCH=dncnn WORK=runs-dncnn DEST=runs-dncnn/export scripts/export_pretrained.sh denoise jpeg inpaint
fi
for arch in pretrained runs-dncnn/export; do
  name=$([ "$arch" = pretrained ] && echo IRAE || echo DnCNN)
  python -m irae_hf evaluate --model "$arch/denoise" --name "$name" --task denoise --sigma 15 25 50 --data "$DATA" \
    --baselines --json "$OUT/$name-denoise.json"
  python -m irae_hf evaluate --model "$arch/jpeg" --name "$name" --task jpeg --quality 10 20 30 40 --data "$DATA" \
    --baselines --json "$OUT/$name-jpeg.json"
  python -m irae_hf evaluate --model "$arch/inpaint" --name "$name" --task inpaint --masks free-form box --data "$DATA" \
    --baselines --json "$OUT/$name-inpaint.json"
done
