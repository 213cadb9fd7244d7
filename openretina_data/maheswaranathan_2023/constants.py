"""Constants of the Maheswaranathan et al. (2023) dataset, as in openretina's module of the same name."""

CLIP_LENGTH = 90  # frames per clip in openretina's configurations for this dataset
