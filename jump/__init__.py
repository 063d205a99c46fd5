"""Jump: real-time background matting and mic denoising for OBS Studio.

The engines (`jump.matte`, `jump.denoise`) never import libobs; `jump.obs` is the only
module that does, and `jump.filters` glues the two together.
"""

__version__ = "0.1.0"
