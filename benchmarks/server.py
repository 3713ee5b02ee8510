"""One ``ovtriton serve`` for the whole benchmark, with Triton's per-model counters.

The server itself is :class:`tests.support.serve_process.ServeProcess` (the same child
process the functional tests use); this adds a strict start and the statistics the
tables report.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tests.support.serve_process import ServeProcess


class ServerError(RuntimeError):
    """The server did not start, or a model failed to load."""


class BenchServer(ServeProcess):
    """``ovtriton serve`` on ``repository``, its output also written to ``log_path``."""

    def __init__(
        self,
        repository: Path,
        log_path: Path,
        extra_backends: Sequence[Path] = (),
        load: Sequence[str] | None = None,
    ) -> None:
        """Serve ``repository``.

        Args:
            repository: The model repository.
            log_path: Where the server's output is written.
            extra_backends: Backend folders to install beside ovtriton
                (``ovtriton serve --extra-backend``).
            load: The models to load at start (default: all); the others can be
                loaded later with :meth:`load`.
        """
        options = [f"--extra-backend={folder}" for folder in extra_backends]
        extra = []
        if load is not None:
            extra = ["--model-control-mode=explicit", *(f"--load-model={m}" for m in load)]
        super().__init__(repository, extra=extra, options=options, log_path=log_path)

    def start(self, timeout: float = 300.0) -> BenchServer:
        """Start and wait until every model is loaded.

        Raises:
            ServerError: The server exited or a model failed to load; the message
                carries the log's error lines.
        """
        super().start(timeout)
        if not self.ready:
            self.stop()
            raise ServerError(f"ovtriton serve failed:\n{self.errors()}")
        return self

    def __enter__(self) -> BenchServer:
        return self.start()

    def model_config(self, model: str) -> str:
        """The model's config as Triton completed it (JSON text)."""
        return self._get(f"/v2/models/{model}/config").decode()

    def counts(self, model: str) -> tuple[int, int]:
        """``(inference_count, execution_count)`` of ``model`` so far, from Triton's statistics.

        Their ratio over a run is how many requests one ``execute`` call got.
        """
        stats = json.loads(self._get(f"/v2/models/{model}/stats"))
        inferences = executions = 0
        for entry in stats.get("model_stats", []):
            inferences += int(entry.get("inference_count", 0))
            executions += int(entry.get("execution_count", 0))
        return inferences, executions

    def load(self, model: str, timeout: float = 300.0) -> None:
        """Load ``model`` through Triton's repository API (on Triton's own HTTP port).

        Raises:
            OSError: Triton refused or did not answer (``urllib``'s errors are OSErrors).
        """
        upstream = self.triton_http_url() or self.http_url
        request = urllib.request.Request(
            f"http://{upstream}/v2/repository/models/{model}/load",
            data=b"{}",
            method="POST",
            headers=self.admin_headers("http"),  # the repository API is administrative
        )
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            reply.read()

    def _get(self, path: str) -> bytes:
        # Statistics are an administrative API: they need the server's key.
        request = urllib.request.Request(
            f"http://{self.http_url}{path}", headers=self.admin_headers()
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            return bytes(reply.read())
