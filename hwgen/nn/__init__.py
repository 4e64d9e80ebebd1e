"""PyTorch layers that map onto hwgen's special units."""
