"""Whether the worker runs predictions or trainings."""

import enum


class Mode(str, enum.Enum):
    """The worker mode (``--mode``)."""

    PREDICT = "predict"
    TRAIN = "train"


__all__ = ["Mode"]
