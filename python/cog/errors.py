"""Error types of the cog SDK."""


class CogError(Exception):
    """Base class for errors raised by the cog SDK."""


class ConfigDoesNotExist(CogError):
    """No cog.yaml was found."""


class PredictorNotSet(CogError):
    """cog.yaml has no predictor reference."""


__all__ = ["CogError", "ConfigDoesNotExist", "PredictorNotSet"]
