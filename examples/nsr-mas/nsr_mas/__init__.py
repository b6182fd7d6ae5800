"""Memory Aware Synapses for nsr-bench: an add-on method in its own package."""
