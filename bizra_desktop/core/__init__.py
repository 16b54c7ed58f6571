"""Everything BIZRA Desktop does without a window. Nothing in here may import Qt."""
