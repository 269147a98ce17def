#!/usr/bin/env bash
# Ship trained weights: scripts/export_pretrained.sh denoise jpeg inpaint
# Writes pretrained/<task> (config.json, model.safetensors, README.md) from the newest checkpoint of
# runs/<task> (or from runs/<task> itself when it holds its final trainer_state.json, as scripts/train_gpu.sh
# leaves it), with the model card's evaluation table measured on CBSD68 (model vs the degraded input).
# The card describes the training from these settings: give the ones the run used (STEPS CROP BATCH, and
# EXTRA for other train_accelerate.py flags, INIT for --init_from INIT/<task>, STAGE for a sentence on
# an earlier training stage). The GPU-trained weights:
#   WORK=runs-gpu STEPS=100000 CROP=96 BATCH=64 INIT=pretrained EXTRA="--learning_rate 2e-4 --lr_warmup_steps 300 \
#     --max_minutes 7.5 --seed 1 --mixed_precision no --mask_scale 512 --export_weights raw" STAGE="..." \
#     scripts/export_pretrained.sh denoise jpeg inpaint
set -euo pipefail
cd "$(dirname "$0")/.."
EVAL=${EVAL-../shared/data/cbsd68}  # EVAL= : no CBSD68 table
ARCH=${ARCH:-irae}
DEST=${DEST:-pretrained}
INIT=${INIT:-}
read -r -a extra <<< "${EXTRA:-}"
source scripts/photos.sh  # WORK, STEPS, CROP, BATCH, VAL, NOTE
NOTE="$NOTE${STAGE:+. $STAGE}"
credits=()  # the CC-BY / CC-BY-SA photographs of the training data, credited in the card
if [ -d "${CREDITS_FROM-../shared/data/train-extra}" ]; then
  mkdir -p "$WORK" && python scripts/credits.py "${CREDITS_FROM-../shared/data/train-extra}" > "$WORK/credits.md"
  credits=(--credits "$WORK/credits.md")
fi
for task in "$@"; do
  if [ -f "$WORK/$task/trainer_state.json" ]; then ckpt="$WORK/$task"
  else ckpt=$(ls -d "$WORK/$task"/checkpoints/checkpoint-* | sort -t- -k2 -n | tail -1); fi
  init=()
  [ -n "$INIT" ] && init=(--init_from "$INIT/$task")
  tmp="$DEST/.tmp-$task"  # the export reads the weights it replaces when WORK is DEST's source
  python train_accelerate.py --arch "$ARCH" --task "$task" --dataset "$WORK/photos_train" --output_dir "$tmp" \
    --max_steps "$STEPS" --batch_size "$BATCH" --crop_size "$CROP" --training_data_note "$NOTE" \
    --validation_dir "$WORK/photos_val" --export_from "$ckpt" --eval_dir "$EVAL" --report_to none \
    "${init[@]}" "${credits[@]}" "${extra[@]}"
  rm -rf "$DEST/$task" && mv "$tmp" "$DEST/$task"
done
