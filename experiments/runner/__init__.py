"""runner part of experiments."""
