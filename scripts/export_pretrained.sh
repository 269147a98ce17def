#!/usr/bin/env bash
# Ship trained weights: scripts/export_pretrained.sh denoise jpeg inpaint
# Writes pretrained/<task> (config.json, model.safetensors, README.md) from the newest checkpoint of
# runs/<task>, with the model card's evaluation table measured on CBSD68 (model vs the degraded input).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs}
STEPS=${STEPS:-5000}
CROP=${CROP:-64}
BATCH=${BATCH:-16}
EVAL=${EVAL-../shared/data/cbsd68}  # EVAL= : no CBSD68 table
ARCH=${ARCH:-irae}
DEST=${DEST:-pretrained}
VAL="Wood.png Storm.png citrus-fruits.png"
NOTE="Data: 35 of the 38 photos in ../shared/data/photos (natural photos from Debian wallpaper packages lomiri-wallpapers, mate-backgrounds, palapeli-data and plasma-workspace-wallpapers; CC-BY / CC-BY-SA / CC0 / GPL-2+, see that folder's LICENSES/ and README; 3 held out for validation: $VAL)"
for task in "$@"; do
  ckpt=$(ls -d "$WORK/$task"/checkpoints/checkpoint-* | sort -t- -k2 -n | tail -1)
  python train_accelerate.py --arch "$ARCH" --task "$task" --dataset "$WORK/photos_train" --output_dir "$DEST/$task" \
    --max_steps "$STEPS" --batch_size "$BATCH" --crop_size "$CROP" --training_data_note "$NOTE" \
    --validation_dir "$WORK/photos_val" --export_from "$ckpt" --eval_dir "$EVAL" --report_to none
done
