"""The training loop's fast paths: in-memory tensor minibatches inside Avalanche's template."""
