"""Which of the manager window's buttons make sense for a tier, from its state alone."""

from __future__ import annotations

from dataclasses import dataclass

from bizra_desktop.core.models.manager import TierStatus
from bizra_desktop.core.models.progress import ModelState


@dataclass(frozen=True)
class Allowed:
    download: bool = False
    pause: bool = False
    resume: bool = False
    cancel: bool = False
    verify: bool = False
    delete: bool = False
    replace: bool = False  # import a file or download another model for the tier


def allowed(status: TierStatus | None, *, downloading: bool, pausing: bool, busy: bool) -> Allowed:
    """`downloading`: this window runs a download of the tier; `pausing`: it was asked to stop;
    `busy`: a verify, import or delete of the tier is under way."""
    if status is None:
        return Allowed()
    if downloading:
        # Cancel throws the partial download away; with a model installed beside it the core
        # can only delete both, so there it is Pause (the partial file waits for Resume).
        return Allowed(pause=not pausing, cancel=not pausing and status.model is None)
    if busy or status.state in (ModelState.DOWNLOADING, ModelState.VERIFYING):
        return Allowed()  # the second case: another manager window is downloading it
    state = status.state
    return Allowed(
        download=state in (ModelState.NOT_INSTALLED, ModelState.FAILED),
        resume=state is ModelState.PAUSED,
        cancel=state is ModelState.PAUSED and status.model is None,
        verify=state is ModelState.INSTALLED,
        delete=state is not ModelState.NOT_INSTALLED,
        replace=True,
    )
