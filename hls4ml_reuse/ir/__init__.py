"""The hls4ml IR of a reuse unit: layer classes, table layouts and the constants shared with the firmware."""
