"""The NSR method: LoRA adapters, SVD compression, the TaskKnowledgeBank, allocation, distillation."""
