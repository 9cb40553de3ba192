"""ImageNet weights a config needs that are neither on this machine nor downloadable."""
from .missing_file_error import MissingFileError


class PretrainedWeightsError(MissingFileError):
    """Pretrained weights are missing: a local file that does not exist, or a download that
    cannot happen (no network, ``HF_HUB_OFFLINE=1``, a source without direct download).

    The message names the weights, the file to fetch (and its checksum where the source
    publishes one), where to put it and the config key that takes a local file, so a user on
    an air-gapped machine knows what to copy there.
    """
