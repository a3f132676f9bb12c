"""scenario part of experiments."""
