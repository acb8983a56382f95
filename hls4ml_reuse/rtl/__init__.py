"""RTL twin of the units: Verilog from Amaranth and its simulation with Verilator."""
