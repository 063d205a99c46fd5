"""Unit tests: the engines, the glue and the command line on real data, no OBS."""
