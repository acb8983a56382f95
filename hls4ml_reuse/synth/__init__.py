"""Synthesis on this machine: our unrolled datapath beside stock hls4ml's, mapped by Yosys to the 7-series.

``rtl`` builds both datapaths of a kernel slice with Amaranth (the plan compiled in as constants), ``yosys`` runs
``synth_xilinx -family xc7`` and reads its cell counts, ``netlist`` checks each synthesized netlist bit for bit
against the Python reference with Yosys' own evaluator, and ``jobs`` runs the syntheses as Dask tasks.
"""
