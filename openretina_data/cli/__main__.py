"""``python -m openretina_data.cli`` runs the ``openretina-data`` command."""

from openretina_data.cli import run

run()
