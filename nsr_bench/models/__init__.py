"""Models: backbone architectures, the adapter-carrying model with its task-masked head, pre-training and
weight loading, one concern per module."""
