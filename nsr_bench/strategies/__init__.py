"""Implementations of every compared method; their YAML specs live in the top-level strategies/."""
