"""C++ headers of the reuse-delta / early-exit units (shipped as package data)."""
