"""An address (request line) too long for the server is refused in the API's error shape, not with a bare answer
(server.listener.json_refusal): the bilingual JSON error every other refusal of the API has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from server.process import ServerProcess


@pytest.fixture(scope="module", params=["eventlet", "gevent", "threading"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ServerProcess(tmp_path_factory.mktemp("long") / "instance", async_mode=request.param)
    server.prepare()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("length", [5_000, 9_000, 60_000])
def test_a_tracking_address_of_any_length_gets_the_bilingual_json_error(url: str, length: int) -> None:
    answer = requests.get(f"{url}/api/v1/tickets/{'A' * length}", timeout=30)
    assert answer.status_code in (404, 414), answer.status_code
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert error["code"] == ("unknown_ticket" if answer.status_code == 404 else "uri_too_long")
    assert error["messages"]["vi"] and error["messages"]["en"] and error["messages"]["vi"] != error["messages"]["en"]
