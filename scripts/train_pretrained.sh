#!/usr/bin/env bash
# Train (or resume) the shipped weights on the images of scripts/photos.sh: scripts/train_pretrained.sh denoise jpeg inpaint
# Each task trains in its own background-friendly process (1 CPU thread each, so two tasks share 2 cores),
# holds out 10 images for its validation curve (never CBSD68), checkpoints every 250 steps and resumes
# from the latest checkpoint when run again. The final save_pretrained folder is runs/<task>;
# copy it to pretrained/<task> (without checkpoints/ and logs/) to ship it.
# The same script trains far longer on a GPU: scripts/train_gpu.sh (bigger crops and batches, data workers,
# a time budget, starting from the shipped weights). Environment knobs: DATA WORK STEPS CROP BATCH THREADS
# WORKERS (data loader workers), ARCH, INIT (start from INIT/<task>), EXTRA (more train_accelerate.py flags).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-1}
ARCH=${ARCH:-irae}
WORKERS=${WORKERS:-0}
PYTHON=${PYTHON:-python}
INIT=${INIT:-}
read -r -a extra <<< "${EXTRA:-}"
source scripts/photos.sh  # DATA, WORK, STEPS, CROP, BATCH, VAL, NOTE, link_data
link_data "$WORK"
for task in "$@"; do
  resume=()
  ls "$WORK/$task"/checkpoints/checkpoint-* >/dev/null 2>&1 && resume=(--resume latest)
  init=()
  [ -n "$INIT" ] && [ ${#resume[@]} -eq 0 ] && init=(--init_from "$INIT/$task")
  OMP_NUM_THREADS=$THREADS "$PYTHON" train_accelerate.py --arch "$ARCH" --task "$task" --dataset "$WORK/photos_train" \
    --validation_dir "$WORK/photos_val" --output_dir "$WORK/$task" --max_steps "$STEPS" --batch_size "$BATCH" \
    --crop_size "$CROP" --checkpointing_steps 250 --validation_steps 250 --cache_images --num_workers "$WORKERS" \
    --training_data_note "$NOTE" "${resume[@]}" "${init[@]}" "${extra[@]}" > "$WORK/$task.log" 2>&1 &
  echo "training $task in the background (log: $WORK/$task.log)"
done
wait
