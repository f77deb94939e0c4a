"""What a skewed local clock costs, as `glcr doctor` says it: nothing for glcr's registry tokens
(their life comes from the token's own iat/exp), a shift of older_than cutoffs."""

from email.utils import formatdate

from glcr.doctor.clock import Observation, check_clocks
from glcr.doctor.model import Status

T0 = 1_800_000_000.0


def obs(offset: float) -> Observation:
    return Observation(formatdate(T0 + offset, usegmt=True), T0 - 0.05, T0 + 0.05)


def test_local_clock_far_ahead_names_its_cost_not_a_token_storm():
    local = check_clocks(registry=obs(-3600), gitlab=obs(-3600))[1]
    assert local.status is Status.WARN
    assert "tokens are not affected" in local.message
    assert "older_than cutoffs" in local.message and "3600 s" in local.message
    assert "fetch a new one for each request" not in local.message


def test_a_small_local_skew_costs_only_the_cutoff_shift():
    local = check_clocks(registry=obs(40), gitlab=obs(40))[1]
    assert local.status is Status.WARN and "40 s" in local.message and "exp" not in local.message
