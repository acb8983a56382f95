"""Planning a binary unit: adder-bit costs, the spanning-tree plan, exact thresholds, the unit specification."""
