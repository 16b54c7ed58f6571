"""What goes wrong when models are listed, fetched or imported; str() is always one line.

The bases decide the `bizra` exit code: an OSError is a failure (1), a ValueError is bad input
(2). None of these ever reaches the user as a traceback.
"""

from __future__ import annotations


class HubError(OSError):
    """Hugging Face refused a request, or answered with something that cannot be used."""


class HubUnreachable(HubError):
    """No answer from Hugging Face at all: offline, DNS, TLS or a proxy in the way."""


class DownloadError(OSError):
    """A download stopped; any partial file is kept so that the next attempt resumes it."""


class DownloadPaused(Exception):
    """The caller cancelled a download; its partial file is kept for Resume."""


class UnknownModelError(ValueError):
    """The requested quantization or file is not in the repository."""


class UnsafeNameError(ValueError):
    """A file name that could write outside the model folder, or is no GGUF name at all."""
