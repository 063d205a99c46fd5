"""The lab: everything OBS never loads — `python -m jump` commands, evaluation, benchmarks,
synthetic data, noisy mixtures, baselines, metrics, model optimisation, the demo.

The lab may import the runtime (`jump.obs`, `jump.filters`, `jump.matte`, `jump.denoise`,
`jump.catalogue`, `jump.sessions`); nothing in the runtime imports the lab.
"""
