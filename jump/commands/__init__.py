"""What a streamer runs: python -m jump denoise | matte | models | doctor | demo."""
