"""The wizard's add-file path as an entry point of the bad-input corpus.

:mod:`openretina_data.testing.reliability` runs every case of
:mod:`openretina_data.testing.corrupt` through the core's entry points; the core
cannot import the app, so the wizard's entry point lives here and is passed in as an
extra by ``tests/reliability/test_corpus.py`` and ``benchmarks/reliability.py``.
"""

from __future__ import annotations

from app.sources_cache import probe_path
from app.state import WizardState
from openretina_data.testing.corrupt import Built


def wizard_add_file(built: Built) -> tuple[str, str]:
    """What the wizard does when a file is added: probe it, then add it to the recipe.

    Parameters
    ----------
    built
        One built corpus case; its ``target`` is the file the user adds.

    Returns
    -------
    tuple[str, str]
        ``("accepted", "")``, or ``("refused" | "unclear", message)`` where the probe
        failed: "refused" when the message names the file and says what to do.
    """
    assert built.target is not None
    probed = probe_path(built.target)
    if probed.error:
        clear = built.target.name in probed.error and " — " in probed.error
        return ("refused" if clear else "unclear"), probed.error
    state = WizardState()
    state.add_stimulus(str(built.target), probed)
    state.add_responses(str(built.target), probed)
    return "accepted", ""
