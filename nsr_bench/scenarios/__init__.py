"""Stream builders (cyclic, from data sources) and frozen backbones."""
