"""Acoustic echo cancellation against a reference (the game's sound the speakers play).

``canceller.LinearCanceller`` (bulk delay + adaptive filter) runs on the engine's input
hops before the STFT; ``suppress.ResidualEcho`` turns its echo estimate into a gain the
engine multiplies with the neural stage's. ``stream.EchoPath`` is what the engine holds.
"""
