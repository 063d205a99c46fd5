"""Jump's OBS-free denoise engine."""
