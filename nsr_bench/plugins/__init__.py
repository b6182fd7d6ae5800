"""Avalanche plugins, one class per file: the NSR mechanism split by job (adapters, allocation,
distillation, Bank routing) and the comparators' own plugins. :mod:`.reporting` is the protocol through
which the runner learns what a plugin has to report."""
