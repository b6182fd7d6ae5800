"""Where finished cells are stored and how they are read back."""
