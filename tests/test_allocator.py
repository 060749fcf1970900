"""keras_pinn.allocator: glibc malloc tuning for PINN training steps."""

import sys

import pytest

from keras_pinn.allocator import ENVIRONMENT, environment_applied, tune_malloc


def test_tune_malloc_applies_on_linux_and_is_harmless_elsewhere():
    applied = tune_malloc()
    assert isinstance(applied, bool)
    if not sys.platform.startswith("linux"):
        assert applied is False


def test_environment_lists_the_glibc_variables():
    assert set(ENVIRONMENT) == {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"}
    assert all(int(v) > 0 for v in ENVIRONMENT.values())
    assert isinstance(environment_applied(), bool)


@pytest.mark.parametrize("kwargs", [{"mmap_threshold": -1}, {"trim_threshold": 1.5}, {"top_pad": True}, {"arena_max": -1}])
def test_refuses_bad_values(kwargs):
    with pytest.raises(ValueError, match="must be an integer >= 0"):
        tune_malloc(**kwargs)
