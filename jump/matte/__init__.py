"""Jump's OBS-free matte engine."""
