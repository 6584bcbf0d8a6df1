"""One reader of published sizes (``catalogue.published_bytes``): ``models pull``'s room check,
the identity check at download and at bench, and the what-if's bytes per token read "0.81 GB",
"0.76 GiB" or "810 MB (README)" alike. Two readers had grown apart: the identity check read GB
as a *count* ("g" -> billions) and could not read GiB at all, so a file contradicting a size
published in GiB passed unchecked."""
from __future__ import annotations

from dataclasses import replace

import pytest

from edgeprof.models import catalogue
from edgeprof.models.identity import Identity, catalogue_problems, parse_count


@pytest.mark.parametrize("text, size", [("0.81 GB (the publisher's README table)", 810_000_000),
                                        ("0.76 GiB", int(0.76 * 2**30)), ("810 MB", 810_000_000),
                                        ("98.4 MiB (hub)", int(98.4 * 2**20)), ("12 kB", 12_000),
                                        ("about 1 GB", None), ("1B", None), (None, None)])
def test_published_sizes_read_one_way(text, size):
    assert catalogue.published_bytes(text) == size


def test_the_identity_check_reads_a_size_published_in_gib():
    e = catalogue.get("llama-3.2-1b-instruct-q4_k_m")
    gib = replace(e, raw={k: v for k, v in dict(e.raw, size_published="0.75 GiB (README)").items()
                         if k != "size_bytes"})
    assert gib.size == int(0.75 * 2**30)
    ident = Identity(1_235_814_400, "q4_k_m")
    assert catalogue_problems(ident, 98_362_432, None, gib) == [f"size 98 MB is not {e.id}'s 805 MB"]
    assert catalogue_problems(ident, int(0.75 * 2**30) + 4096, None, gib) == []   # within the 2 % of a rounded figure


def test_a_size_label_is_a_count_and_a_file_size_is_not():
    assert parse_count("135M") == 1.35e8 and parse_count("1B") == 1e9 and parse_count("0.81 GB") is None
