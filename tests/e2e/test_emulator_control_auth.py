"""With ``--token`` set, the emulator's control endpoints need the token too (issue 12)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e

TOKEN = "control-token-5150"
REFUSED = {"code": "invalid_token", "message": "The specified token is invalid or wrong."}


def test_control_endpoints_need_the_token_when_one_is_set(emulator_factory) -> None:
    emu = emulator_factory(token=TOKEN)
    stats = httpx.get(f"{emu.url}/_emulator/stats")
    assert stats.status_code == 400
    assert stats.json()["error"] == {"code": "no_token", "message": "No token specified for the request."}
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.get(f"{emu.url}/_emulator/stats", headers=wrong).json()["error"] == REFUSED
    faults = httpx.post(f"{emu.url}/_emulator/faults", json={"spec": "poll429=1"}, headers=wrong)
    assert faults.status_code == 401 and faults.json()["error"] == REFUSED
    assert emu.stats()["unauthorized"] == 3
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{emu.url}/_emulator/stats", headers=good).status_code == 200
    assert httpx.post(f"{emu.url}/_emulator/faults", json={"spec": "poll429=1"}, headers=good).status_code == 200


def test_control_endpoints_stay_open_without_a_token(emulator) -> None:
    assert httpx.get(f"{emulator.url}/_emulator/stats").status_code == 200
    assert httpx.post(f"{emulator.url}/_emulator/faults", json={"spec": "poll429=1"}).status_code == 200
