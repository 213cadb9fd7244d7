"""Deterministic factories for tests and demos: no test ships binary blobs.

``create_data`` writes a seeded synthetic layout-v1 dataset (like ``openretina
create-data``); the other modules here make inputs of every source format.
"""

from openretina_data.testing.synthetic import create_data

__all__ = ["create_data"]
