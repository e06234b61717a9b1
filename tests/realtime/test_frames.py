"""The frames the direct frame writer sends are the frames ``websockets`` would send."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from hangar.realtime.uvicorn_websocket import text_frame_header


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_header_matches_websockets_serialisation(length: int) -> None:
    payload = b"x" * length
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame_header(length) + payload == expected
