"""The random-stream keys (``model.streams``) for the experiment layers, which do not import ``model``."""

from model.streams import ModelStream, StreamKey, block_generators, keyed_generator

__all__ = ["ModelStream", "StreamKey", "block_generators", "keyed_generator"]
