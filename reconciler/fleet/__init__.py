"""Several targets in one run: which ones, running them side by side, and one summary of them."""
