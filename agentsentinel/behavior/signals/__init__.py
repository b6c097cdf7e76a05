"""The detector's sub-signals, one module per family (statistics explained in each docstring)."""
