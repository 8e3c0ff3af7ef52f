"""A clean stop of the data plane: no error in its log, nothing left in the temporary folder.

SIGTERM goes to the whole process group, as a supervisor or a terminal sends it: the shadow process
stops at once while uvicorn finishes a request still in flight, and the data plane's own exit must
then be quiet (no "shadow process exited; restarting") and remove the shadow socket's folder.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, Upstream
from tests.integration.dataplane.harness import Store, start_dataplane, table
from tests.integration.dataplane.rawhttp import raw_request, serving
from tests.security.misbehaving import MisbehavingUpstream

pytestmark = pytest.mark.integration


@pytest.fixture
def temp() -> Iterator[Path]:
    """The data plane's TMPDIR: a short folder of its own, since the shadow socket's path must fit
    AF_UNIX's 108 bytes, which a folder under pytest's tmp_path (longer under xdist) does not."""
    folder = Path(tempfile.mkdtemp(prefix="sd-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_sigterm_with_a_request_in_flight_stops_cleanly(tmp_path: Path, temp: Path) -> None:
    store = Store(tmp_path / "store.sqlite3")
    with serving(MisbehavingUpstream()) as upstream:
        version = store.publish(table([Upstream(name=LEGACY, url=upstream.url)]))
        dataplane = start_dataplane(tmp_path / "home", store, upstream.url, extra_env={"TMPDIR": str(temp)})
        try:
            store.wait_applied(version, workers=1)
            assert [p.name[:16] for p in temp.iterdir()] == ["strangler-shadow"]
            answers: list[int] = []
            request = b"GET /slow HTTP/1.1\r\nHost: shop.test\r\n\r\n"
            port = dataplane.port
            client = threading.Thread(target=lambda: answers.append(raw_request(port, request).status))
            client.start()
            while upstream.slow_requests == 0:
                assert client.is_alive()
                threading.Event().wait(0.01)
            dataplane.process.stop(timeout=20)
            client.join(10)
        finally:
            dataplane.process.stop()
            store.engine.dispose()
    assert answers == [404], "the request in flight was not finished"
    log = dataplane.process.log()
    assert "Finished server process" in log
    assert [line for line in log.splitlines() if "ERROR" in line] == [], log[-6000:]
    assert list(temp.iterdir()) == []
