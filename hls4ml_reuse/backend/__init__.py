"""Config and function-call templates and the firmware headers (backend/firmware, shipped as package data)."""
