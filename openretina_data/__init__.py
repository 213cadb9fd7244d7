"""openretina-data: get retina recordings into openretina's native layout.

The core is Qt-free; torch is imported only by the dataloader modules.
"""

__version__ = "0.1.0"
