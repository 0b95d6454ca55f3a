#!/bin/sh
# A stand-in for train.py: reads the data set from the read-only bind
# mount, writes nothing there, prints a summary.
echo "mode=$MODE cwd=$(pwd) user=$(id -u)"
echo "samples: $(wc -l <samples.csv)"
awk -F, 'NR > 1 { s += $2 } END { printf "mean: %.2f\n", s / (NR - 1) }' samples.csv
