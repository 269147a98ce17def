# The training data of the shipped weights, shared by train_pretrained.sh and export_pretrained.sh (sourced):
# the 3 photos held out for validation curves, and the data sentence of the model cards.
VAL="Wood.png Storm.png citrus-fruits.png"
NOTE="Data: 35 of the 38 photos in ../shared/data/photos (natural photos from Debian wallpaper packages lomiri-wallpapers, mate-backgrounds, palapeli-data and plasma-workspace-wallpapers; CC-BY / CC-BY-SA / CC0 / GPL-2+, see that folder's LICENSES/ and README; 3 held out for validation: $VAL)"
