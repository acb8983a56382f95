"""The Python reference of a unit and of a whole converted graph, and the firmware's C-simulation counters."""
