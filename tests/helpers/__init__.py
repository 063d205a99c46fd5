"""What the tests share: the headless OBS harness, media builders, data readers."""
