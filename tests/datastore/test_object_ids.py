"""Object ids: ten characters of [A-Za-z0-9], each drawn uniformly (reference §5.1)."""

from __future__ import annotations

import re
import string
from collections import Counter

from hangar.datastore.objects import new_object_id


def test_object_ids_are_ten_alphanumerics():
    ids = [new_object_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{10}", object_id) for object_id in ids)
    assert len(set(ids)) == len(ids)


def test_every_character_is_drawn_uniformly():
    drawn = Counter("".join(new_object_id() for _ in range(31_000)))  # 310,000 characters, 5,000 expected each
    assert set(drawn) == set(string.ascii_letters + string.digits)
    # Mapping bytes with a plain modulo would make the first 8 characters 25% likelier than the rest.
    assert max(drawn.values()) < 5_400
    assert min(drawn.values()) > 4_600
