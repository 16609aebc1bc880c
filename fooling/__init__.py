"""The fooling package."""
