"""End-to-end tests in a real, headless OBS (Xvfb + obs + obs-websocket)."""
