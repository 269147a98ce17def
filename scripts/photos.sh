# The training data of the shipped weights, shared by train_pretrained.sh and export_pretrained.sh (sourced):
# the image roots (DATA, space-separated; every PNG/JPEG below them, a nested file linked as <dir>__<name>),
# the 10 images held out for every shipping decision (never CBSD68), and the data sentence of the model cards.
DATA=${DATA:-../shared/data/photos ../shared/data/train-extra}
WORK=${WORK:-runs}  # the run folder, and the recipe the cards describe
STEPS=${STEPS:-5000}
CROP=${CROP:-64}
BATCH=${BATCH:-16}
VAL="Wood.png Storm.png citrus-fruits.png cbsd432__bsds181079.jpg cbsd432__bsds188091.jpg cbsd432__bsds55075.jpg \
cbsd432__bsds157032.jpg photos__gcompris__explore_farm_animals__pig.png \
photos__ubuntu_mate_artwork__photos__andrew-ridley-54228.png photos__elementary_wallpapers__Mountains_and_forest.png"
NOTE="Data: CBSD432 (the 432 BSDS500 images outside CBSD68, the colour training set of CDnCNN, FFDNet and DRUNet; \
Berkeley Segmentation Dataset, Martin et al. ICCV 2001 and Arbelaez et al. TPAMI 2011, free for non-commercial research \
and education), 244 photographs from Debian and desktop wallpaper packages (GCompris, elementary, Budgie, KDE Plasma, \
Ubuntu MATE; public domain, CC0, Unsplash/Pexels, LGPL/GPL and CC-BY / CC-BY-SA, credited below) and 38 natural photos \
from Debian wallpaper packages (lomiri-wallpapers, mate-backgrounds, palapeli-data, plasma-workspace-wallpapers); \
all checked by content to be disjoint from CBSD68 and Kodak24; 10 images held out for validation: ${VAL// /, }"

# link_data WORK: WORK/photos_train and WORK/photos_val as symlinks to the images under $DATA (the held-out VAL apart)
link_data() {
  mkdir -p "$1/photos_train" "$1/photos_val"
  local root f name dest
  for root in $DATA; do
    while IFS= read -r -d '' f; do
      name=${f#"$root"/}
      name=${name//\//__}
      if [[ " $VAL " == *" $name "* ]]; then dest="$1/photos_val"; else dest="$1/photos_train"; fi
      ln -sf "$(realpath "$f")" "$dest/$name"
    done < <(find -L "$root" -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) -not -path '*/LICENSES/*' -print0)
  done
}
