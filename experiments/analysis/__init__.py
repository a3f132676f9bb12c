"""analysis part of experiments."""
