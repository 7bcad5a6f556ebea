"""The API's data, in memory: every table read once per Delta version into a
`Snapshot` (snapshot.py: per-symbol, per-horizon, date-sorted row lists), so a request
only bisects and slices.

A background thread probes the tables' versions (the transaction log only) every
`MPP_API_POLL_SECONDS` and rebuilds the snapshot when one changed; the registry is
re-read when the data changed or every `MODELS_EVERY_SECONDS`. Requests never touch
storage: they read whichever snapshot is current, and its versions make the ETag.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from market_predictor.api.models_info import read_models
from market_predictor.api.snapshot import Snapshot, empty_snapshot, load_snapshot
from market_predictor.config import Settings
from market_predictor.store import FeatureStore

log = logging.getLogger("market_predictor.api")

MODELS_EVERY_SECONDS = 30.0


class DataCache:
    """The current snapshot plus the thread that keeps it current."""

    def __init__(self, settings: Settings, poll_seconds: float | None = None) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds or settings.api_poll_seconds
        self.store = FeatureStore.from_settings(settings)
        self.store_reachable = False
        self._snapshot: Snapshot | None = None
        self._models_read_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:  # only before start(); start() loads synchronously
            self.refresh()
        assert self._snapshot is not None
        return self._snapshot

    def refresh(self) -> bool:
        """Probe the versions; rebuild what changed. True when the snapshot changed.
        A failing store keeps the last snapshot (health reports it unreachable)."""
        try:
            probed = self.store.versions()
        except Exception as exc:
            self._unreachable(exc)
            return False
        current = self._snapshot
        changed = current is None or probed != current.versions
        models_due = time.monotonic() - self._models_read_at >= MODELS_EVERY_SECONDS
        try:
            snapshot = load_snapshot(self.store, self.settings, probed) if changed else current
        except Exception as exc:
            self._unreachable(exc)
            return False
        assert snapshot is not None
        self.store_reachable = True
        if changed or models_due:
            snapshot = self._with_models(snapshot)
        if current is not None and snapshot.etag == current.etag:
            return False
        self._snapshot = snapshot
        return True

    def _with_models(self, snapshot: Snapshot) -> Snapshot:
        self._models_read_at = time.monotonic()
        try:
            models, champion = read_models(self.settings)
        except Exception as exc:  # the registry down must not hide the data
            log.warning("registry unreadable: %s", type(exc).__name__)
            models, champion = snapshot.models, snapshot.champion
        return replace(snapshot, models=models, champion=champion).tagged()

    def _unreachable(self, exc: Exception) -> None:
        if self.store_reachable or self._snapshot is None:
            log.warning("store unreadable: %s", type(exc).__name__)
        self.store_reachable = False
        if self._snapshot is None:
            self._snapshot = empty_snapshot({}).tagged()

    def start(self) -> None:
        """Load now (so the first request is warm), then poll in the background."""
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="mpp-api-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # never let the poller die; the next tick retries
                log.exception("cache refresh failed")
