#!/usr/bin/env bash
# The README's results tables: the shipped models against the classical baselines on CBSD68 (68 images).
#   benchmarks/cbsd68.sh [LIMIT]      # LIMIT: only the first N images (quick look); default all 68
# Writes benchmarks/results/{denoise,jpeg,inpaint}.json and prints the markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/cbsd68}
OUT=${OUT:-benchmarks/results}
limit=(); [ $# -ge 1 ] && limit=(--limit "$1")
mkdir -p "$OUT"
python -m irae_hf evaluate --model pretrained/denoise --task denoise --sigma 15 25 50 --data "$DATA" "${limit[@]}" --json "$OUT/denoise.json"
python -m irae_hf evaluate --model pretrained/jpeg --task jpeg --quality 10 20 30 40 --data "$DATA" "${limit[@]}" --json "$OUT/jpeg.json"
python -m irae_hf evaluate --model pretrained/inpaint --task inpaint --masks free-form box --data "$DATA" "${limit[@]}" --json "$OUT/inpaint.json"
