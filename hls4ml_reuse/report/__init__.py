"""Operation figures, the hardware cost model with its assumptions, tables and plots."""
