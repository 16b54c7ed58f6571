"""The Hugging Face Hub as this app uses it: list a repository, search, fetch one file.

Everything goes through huggingface_hub (its HTTP session, TLS settings, proxies, token and
HF_ENDPOINT); every failure comes out as a one-line HubError. huggingface_hub 2.x no longer
resumes a download across calls (each attempt gets a fresh temporary file that is deleted on
failure), so files are fetched with its `http_get` into our own partial file, which keeps
the bytes of an interrupted session and asks for the rest with an HTTP Range request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx2
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import http_get
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
from huggingface_hub.utils import tqdm as hub_tqdm

from bizra_desktop.core.models.errors import HubError, HubUnreachable

OFFLINE_NOTE = "the app keeps working with the installed models"


@dataclass(frozen=True)
class HubFile:
    """A file in a repository listing; sha256 is None for files outside Git LFS."""

    path: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class Listing:
    repo_id: str
    revision: str  # the commit the listing describes: downloads ask for exactly this one
    files: tuple[HubFile, ...]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def _hub_errors(what: str) -> Iterator[None]:
    """Turn huggingface_hub's and httpx's exceptions into one-line HubErrors about `what`."""
    try:
        yield
    except (GatedRepoError, RepositoryNotFoundError):
        raise HubError(f"{what}: not found on Hugging Face (or private or gated)") from None
    except (RevisionNotFoundError, RemoteEntryNotFoundError):
        raise HubError(f"{what}: not found on Hugging Face") from None
    except HfHubHTTPError as error:
        status = error.response.status_code
        reason = error.response.reason_phrase
        raise HubError(f"{what}: Hugging Face answered {status} {reason}".rstrip()) from None
    except (httpx2.RequestError, httpx2.InvalidURL, OfflineModeIsEnabled) as error:
        raise HubUnreachable(
            f"cannot reach Hugging Face: {_first_line(error)}; {OFFLINE_NOTE}"
        ) from None
    except json.JSONDecodeError:
        # A Wi-Fi sign-in page or a proxy answered in the Hub's place.
        raise HubUnreachable(
            f"cannot reach Hugging Face: something else answered ({what}); {OFFLINE_NOTE}"
        ) from None


def _chunk_tap(on_chunk: Callable[[int], None]) -> type[hub_tqdm]:
    """A progress-bar class for `http_get` that draws nothing and hands each chunk's size to
    `on_chunk`. http_get announces a chunk to its bar before writing it, so an exception from
    `on_chunk` stops the download with only whole chunks on disk: that is how Pause works."""

    class ChunkTap(hub_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "disable": True})

        def update(self, n: float | None = 1) -> bool | None:
            on_chunk(int(n or 0))
            return None

    return ChunkTap


class Hub:
    def __init__(
        self, endpoint: str | None = None, token: str | bool | None = None, timeout: float = 15.0
    ) -> None:
        """`endpoint`: None for HF_ENDPOINT as huggingface_hub read it, else e.g. a mirror.
        `token`: None for the user's saved token, False for none."""
        self.api = HfApi(endpoint=endpoint, token=token)
        self.endpoint = self.api.endpoint
        self.token = token
        self.timeout = timeout

    def listing(self, repo_id: str) -> Listing:
        """Every file of the repository's current commit, with sizes and LFS SHA-256."""
        with _hub_errors(repo_id):
            info = self.api.model_info(repo_id, files_metadata=True, timeout=self.timeout)
        if not info.sha:
            raise HubError(f"{repo_id}: Hugging Face did not say which commit it listed")
        files = tuple(
            HubFile(
                sibling.rfilename,
                sibling.lfs.size if sibling.lfs else (sibling.size or 0),
                sibling.lfs.sha256.lower() if sibling.lfs else None,
            )
            for sibling in info.siblings or ()
        )
        return Listing(repo_id, info.sha, files)

    def search(self, query: str, limit: int = 30) -> list[str]:
        """Repositories that hold GGUF models and match `query`, most downloaded first."""
        # The Hub's /api/models, asked directly: HfApi.list_models retries a refused
        # connection for about twenty seconds, and a search box offline must say so at once.
        params: dict[str, str | int] = {
            "search": query,
            "filter": "gguf",
            "sort": "downloads",
            "limit": limit,
        }
        with _hub_errors(f"search for {query!r}"):
            response = get_session().get(
                f"{self.endpoint}/api/models",
                params=params,
                headers=build_hf_headers(token=self.token),
                timeout=self.timeout,
            )
            hf_raise_for_status(response)
            found = response.json()
        if not isinstance(found, list):
            raise HubError(f"search for {query!r}: Hugging Face sent an unexpected answer")
        return [str(item["id"]) for item in found if isinstance(item, dict) and "id" in item]

    def fetch(
        self,
        repo_id: str,
        revision: str,
        file: HubFile,
        out: BinaryIO,
        *,
        resume: int,
        on_chunk: Callable[[int], None],
    ) -> None:
        """Append `file`'s bytes from offset `resume` to `out`; `on_chunk` hears every chunk."""
        what = f"{repo_id}/{file.path}"
        url = hf_hub_url(repo_id, file.path, revision=revision, endpoint=self.endpoint)
        with _hub_errors(what):
            # The HEAD request resolves the file to its storage location, like hf_hub_download.
            metadata = get_hf_file_metadata(
                url, token=self.token, timeout=self.timeout, endpoint=self.endpoint
            )
            if metadata.size is not None and metadata.size != file.size:
                raise HubError(
                    f"{what}: Hugging Face now says {metadata.size:,} bytes, the listing said "
                    f"{file.size:,}; list the models again"
                )
            # Xet-stored files are served by redirect from the resolve URL; others at `location`.
            location = url if metadata.xet_file_data is not None else metadata.location
            headers = build_hf_headers(token=self.token)
            if urlsplit(location).netloc != urlsplit(url).netloc:
                headers.pop("authorization", None)  # a signed CDN URL needs no token of ours
            http_get(
                location,
                out,
                resume_size=resume,
                headers=headers,
                expected_size=file.size,
                tqdm_class=_chunk_tap(on_chunk),
            )
