"""Optimizer passes of the ReusePruning flow (model-level 'optimize' flow, before the backend's)."""
