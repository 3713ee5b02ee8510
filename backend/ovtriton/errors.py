"""Typed errors raised by ovtriton.

Two families matter to Triton: a :class:`ConfigError` fails a model load (its message
names the parameter and the value), a :class:`RequestError` becomes an ``INVALID_ARG``
response for one request while the others carry on.
"""

from __future__ import annotations


class OvTritonError(Exception):
    """Base class of every error ovtriton raises on purpose."""


class ConfigError(OvTritonError):
    """A model configuration value that cannot be applied.

    Args:
        parameter: The ``config.pbtxt`` parameter key (e.g. ``"batch_size"``).
        value: The offending value as the user wrote it.
        reason: What is wrong and what was expected.
    """

    def __init__(self, parameter: str, value: str, reason: str) -> None:
        self.parameter = parameter
        self.value = value
        self.reason = reason
        super().__init__(f"Invalid value {value!r} for parameter '{parameter}': {reason}")


class ModelLoadError(OvTritonError):
    """The model file cannot be found, read, reshaped or compiled."""


class RequestError(OvTritonError):
    """A request that the model cannot serve; mapped to ``INVALID_ARG`` (HTTP 400).

    The message follows OVMS: status text, ``" - "``, details.
    """
