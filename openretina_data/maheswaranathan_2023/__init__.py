"""Maheswaranathan et al. (2023): salamander ganglion cells under natural scenes and white noise.

Drop-in for ``openretina.data_io.maheswaranathan_2023``: :func:`.stimuli.load_all_stimuli`
and :func:`.responses.load_all_responses` read the published archive
(https://doi.org/10.25740/rk663dm5577) into openretina's containers. To convert the
archive into the native layout instead, use the ``maheswaranathan_2023`` preset of
:mod:`openretina_data.datasets`.
"""
