#!/usr/bin/env bash
# Train the shipped weights far longer on one GPU, after measuring GPU training throughput (IRAE vs DnCNN).
#
#   MINUTES=6 scripts/train_gpu.sh            # -> runs-gpu/<task>, runs-gpu/throughput.json (TP_STEPS=0: no probe)
#
# The data travels as a compact copy (scripts/compact_data.py: CBSD432 unchanged, the photos shrunk to JPEGs):
#   DATA="runs-gpudata/photos runs-gpudata/train-extra" MINUTES=7.5 scripts/train_gpu.sh
#
# The three tasks train at once on the one GPU through scripts/train_pretrained.sh (same data split, same
# held-out photos, same script as on the CPU), each starting from pretrained/<task> (INIT= from scratch) with bigger crops and
# batches, data loader workers, fp32, and a time budget (--max_minutes: the step-decay milestones follow the
# time spent, and each run validates, checkpoints and saves when it is up). Ship with
# scripts/export_pretrained.sh (its header gives the settings), which adds the CBSD68 table to the card.
# BATCH 256: a step of IRAE on a GPU is bound by kernel launches, so 256 crops cost 1.2× the time of 64 (H200,
# docs/results.md, stage 8); at 256 the three tasks together ran 1,308 patches/s, one task's rate alone (stage 9):
# the GPU is then the limit, not the loaders. Inpainting's free-form strokes are sized for 512-pixel images (MASK_SCALE), not for the crop.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
MINUTES=${MINUTES:-6}
WORK=${WORK:-runs-gpu}
TASKS=${TASKS:-denoise jpeg inpaint}
mkdir -p "$WORK"
# What users have (docs/results.md, stage 11): denoising inputs as 8-bit files, camera-like noise and noisy JPEGs;
# inpainting masks with bars, thin scratches and text. Each task reads its own flags. MIX=" " trains without them.
USERS_HAVE="--file_fraction 0.5 --camera_fraction 0.3 --noisy_jpeg_fraction 0.25 --mask_types free-form box bar scratch text"
"$PYTHON" -c "import torch, accelerate, datasets, huggingface_hub, irae_hf; print('torch', torch.__version__, \
'accelerate', accelerate.__version__, 'datasets', datasets.__version__, 'hub', huggingface_hub.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
[ "${TP_STEPS:-20}" = 0 ] || "$PYTHON" benchmarks/probes/train_throughput.py --device "${DEVICE:-cuda}" --threads 4 --steps ${TP_STEPS:-20} --json "$WORK/throughput.json" \
  --configs ${TP_CONFIGS:-irae:64:16:2:64:16 dncnn:96:18:0:64:16 irae:64:16:2:96:48 dncnn:96:18:0:96:48}
PYTHON=$PYTHON WORK=$WORK INIT=${INIT-pretrained} STEPS=${STEPS:-100000} CROP=${CROP:-96} BATCH=${BATCH:-256} \
  THREADS=2 WORKERS=${WORKERS:-4} \
  EXTRA="--max_minutes $MINUTES --learning_rate ${LR:-2e-4} --lr_warmup_steps ${WARMUP:-300} --mixed_precision no --seed 1 --checkpointing_steps 500 \
--validation_steps 500 --mask_scale ${MASK_SCALE:-512} ${MIX:-$USERS_HAVE} ${EXTRA:-}" \
  scripts/train_pretrained.sh $TASKS
for task in $TASKS; do  # the final state beside the weights, for export_pretrained.sh
  last=$(ls -d "$WORK/$task"/checkpoints/checkpoint-* | sort -t- -k2 -n | tail -1)
  cp "$last/trainer_state.json" "$WORK/$task/"
  tail -c 600 "$WORK/$task.log"; echo
done
