"""rumorsim.pages: faulting pages in ahead of a loop never changes what the loop wrote."""

import sys
import threading
import time

import numpy as np
import pytest

from rumorsim import pages

supported = pytest.mark.skipif(not pages.populate_supported(),
                               reason="needs Linux 5.14+ (MADV_POPULATE_WRITE)")


def test_support_is_probed_without_error():
    assert pages.populate_supported() in (True, False)
    if not sys.platform.startswith("linux"):
        assert not pages.populate_supported()


@supported
def test_populate_keeps_contents_and_handles_partial_pages():
    a = np.arange(3 * 2**20, dtype=np.int32)  # 12 MiB, not page-aligned at its ends
    before = a.copy()
    assert pages.populate(a, 0, a.shape[0])
    assert pages.populate(a, 5, 7)  # less than a page: nothing to do, still fine
    np.testing.assert_array_equal(a, before)


def test_populate_of_a_fresh_array_leaves_it_zero():
    a = np.zeros(2**23, dtype=np.int64)  # calloc'd: pages untouched until now
    pages.populate(a, 0, a.shape[0])
    assert not a.any()


def test_warmer_follows_a_writer_without_disturbing_it(monkeypatch):
    # A loop writes an array front to back and reports its progress; the warmer
    # (forced on, with a small window) faults in pages ahead of it at the same time.
    monkeypatch.setattr(pages, "spare_cores", lambda: 1)
    n = 2**24  # 64 MiB of int32
    a = np.empty(n, dtype=np.int32)
    with pages.PageWarmer([a], window=4 << 20) as warmer:
        assert warmer.active == pages.populate_supported()
        step = n // 64
        for k in range(64):
            a[k * step:(k + 1) * step] = np.arange(k * step, (k + 1) * step, dtype=np.int32)
            warmer.progress[0] = (k + 1) * step
    np.testing.assert_array_equal(a, np.arange(n, dtype=np.int32))
    assert not any(t.name == "rumorsim-page-warmer" for t in threading.enumerate())


def test_warmer_stays_off_for_small_arrays_or_one_core(monkeypatch):
    assert not pages.PageWarmer([np.empty(1000)]).active
    monkeypatch.setattr(pages, "spare_cores", lambda: 0)
    big = np.empty(pages.MIN_BYTES // 8, dtype=np.float64)
    w = pages.PageWarmer([big])
    assert not w.active
    with w:  # a no-op, but a valid one
        time.sleep(0)


def test_warmer_refuses_strided_views():
    with pytest.raises(ValueError, match="C-contiguous"):
        pages.PageWarmer([np.empty((100, 3))[:, 0]])


def test_the_warmer_can_be_turned_off(monkeypatch):
    """RUMORSIM_PAGE_WARMER=0 (or false/no/off) starts no thread, whatever the machine."""
    big = np.zeros(pages.MIN_BYTES // 8 + 1, dtype=np.int64)
    monkeypatch.setattr(pages, "spare_cores", lambda: 4)
    monkeypatch.setattr(pages, "populate_supported", lambda: True)
    monkeypatch.delenv(pages.ENV_SWITCH, raising=False)
    assert pages.PageWarmer([big]).active          # on by default where it can run
    for off in ("0", "false", "No", " off "):
        monkeypatch.setenv(pages.ENV_SWITCH, off)
        warmer = pages.PageWarmer([big])
        assert not warmer.active
        with warmer:
            assert warmer._thread is None
    monkeypatch.setenv(pages.ENV_SWITCH, "1")
    assert pages.PageWarmer([big]).active


def test_zeros_is_zeros_with_its_pages_in(monkeypatch):
    """pages.zeros gives exactly np.zeros (shape, dtype, every byte 0, writable, numpy-
    owned); on Linux 5.14+ its pages are resident before anything writes them (RSS
    grew by about its size), and with the warmer switched off it is a plain np.zeros."""
    n = (pages.MIN_BYTES * 3) // 4 + 12_345  # int32: 3 MIN_BYTES / 4 * 4 bytes, odd tail
    rss0 = _rss()
    a = pages.zeros(n, np.int32)
    grown = _rss() - rss0
    assert a.shape == (n,) and a.dtype == np.int32 and a.flags.owndata and a.flags.writeable
    assert not a.any()
    if pages.populate_supported():
        assert grown > 0.9 * a.nbytes
    a[-1] = 7  # (writable to the last element)
    del a
    monkeypatch.setenv(pages.ENV_SWITCH, "0")
    b = pages.zeros((1000, 9000), np.float64)
    assert b.shape == (1000, 9000) and not b.any()
    del b
    assert pages.zeros(10, np.int64).tolist() == [0] * 10


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * __import__("os").sysconf("SC_PAGE_SIZE")
