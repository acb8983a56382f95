"""The RTL twin: our units and stock's, in Amaranth, from the same unit spec as the HLS templates (issue 17)."""
