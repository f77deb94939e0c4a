"""Clock skew between this machine, GitLab and the registry, from HTTP `Date` headers. Pure.

Why it matters (app/controllers/jwt_controller.rb, lib/json_web_token/token.rb): GitLab stamps each registry token with its own clock
(nbf = now - 5 s, exp = now + token_expire_delay, 5 minutes by default) and the registry checks
them with its own clock and a 60 s leeway (`Leeway` in distribution's token.go). So:

* registry behind GitLab by more than ~65 s: every token is "not yet valid" -> `invalid token`;
* registry ahead of GitLab by d > 60 s: each token lives d - 60 s less, and not at all once d
  passes the lifetime + 60 s;
* this machine off: costs glcr's tokens nothing. glcr judges a token's life from its own
  `exp - iat` (GitLab's clock) counted from its arrival (glcr.registry.auth). What it does cost:
  `older_than` cutoffs (cleanup dry-run, tags plan --older-than) are now - N by this clock, so
  they move by the skew; and other clients on this machine that read `exp` by the local clock.

A `Date` header has one-second resolution and arrives after half a round trip, so differences
up to 2 s (plus that half trip) are noise, not skew.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from glcr.doctor.model import CheckResult, fail, ok, skip, warn
from glcr.errors import ExitCode

CHECK = "clock"
LEEWAY_SECONDS = 60.0  # distribution registry/auth/token/token.go
NBF_BACKDATE_SECONDS = 5.0  # JSONWebToken::Token: nbf = now - 5 s
DEFAULT_LIFETIME_SECONDS = 300.0  # container_registry_token_expire_delay default: 5 minutes
NOISE_SECONDS = 2.0
# Below the leeway but worth fixing: NTP keeps clocks within milliseconds.
ATTENTION_SECONDS = 10.0


@dataclass(frozen=True)
class Observation:
    """A server's Date header and this machine's clock when the answer arrived."""

    server_date: str | None
    sent_at: float  # time.time() before the request
    received_at: float  # time.time() after the answer

    def offset(self) -> float | None:
        """Server clock minus local clock, in seconds (None when the header is missing or bad)."""
        if not self.server_date:
            return None
        try:
            server = parsedate_to_datetime(self.server_date)
        except (TypeError, ValueError):
            return None
        if server.tzinfo is None:
            return None
        local_midpoint = (self.sent_at + self.received_at) / 2
        return server.timestamp() - local_midpoint

    def uncertainty(self) -> float:
        return NOISE_SECONDS + max(0.0, self.received_at - self.sent_at) / 2


def _fmt(seconds: float) -> str:
    return f"{abs(seconds):.0f} s {'ahead of' if seconds > 0 else 'behind'}"


def check_clocks(registry: Observation | None, gitlab: Observation | None,
                 token_lifetime: float | None = None) -> list[CheckResult]:
    """Results for registry-vs-GitLab (decides token validity) and local-vs-registry skew."""
    if registry is None or registry.offset() is None:
        return [skip(CHECK, "the registry sent no Date header: clock skew not checked")]
    lifetime = token_lifetime or DEFAULT_LIFETIME_SECONDS
    results: list[CheckResult] = []
    reg = registry.offset()
    assert reg is not None
    gl = gitlab.offset() if gitlab is not None else None
    if gl is None:
        results.append(skip(CHECK, "GitLab sent no Date header: registry-vs-GitLab skew not checked"))
    else:
        noise = registry.uncertainty() + (gitlab.uncertainty() if gitlab else 0)
        skew = reg - gl  # registry clock minus GitLab clock
        results.append(_registry_vs_gitlab(skew, noise, lifetime))
    results.append(_local_vs_registry(-reg, registry.uncertainty(), lifetime))
    return results


def _registry_vs_gitlab(skew: float, noise: float, lifetime: float) -> CheckResult:
    if abs(skew) <= max(noise, ATTENTION_SECONDS):
        return ok(CHECK, f"registry and GitLab clocks agree (within {max(noise, abs(skew)):.0f} s)")
    ntp = "synchronise the GitLab and registry hosts with NTP (chrony, systemd-timesyncd)"
    if skew < 0:
        late = -skew
        if late > LEEWAY_SECONDS + NBF_BACKDATE_SECONDS:
            return fail(CHECK, f"the registry clock is {_fmt(skew)} GitLab's: beyond the registry's "
                               f"{LEEWAY_SECONDS:.0f} s leeway, every token is 'not yet valid' (invalid token)",
                        ntp, ExitCode.AUTH)
        return warn(CHECK, f"the registry clock is {_fmt(skew)} GitLab's; the registry's "
                           f"{LEEWAY_SECONDS:.0f} s leeway still covers it", ntp)
    if skew > lifetime + LEEWAY_SECONDS:
        return fail(CHECK, f"the registry clock is {_fmt(skew)} GitLab's: tokens ({lifetime / 60:.0f} min) "
                           "arrive already expired (invalid token)", ntp, ExitCode.AUTH)
    if skew > LEEWAY_SECONDS:
        return warn(CHECK, f"the registry clock is {_fmt(skew)} GitLab's: each token lives "
                           f"{skew - LEEWAY_SECONDS:.0f} s less than its {lifetime / 60:.0f} min", ntp)
    return warn(CHECK, f"the registry clock is {_fmt(skew)} GitLab's; the registry's {LEEWAY_SECONDS:.0f} s "
                       "leeway still covers it", ntp)


def _local_vs_registry(skew: float, noise: float, lifetime: float) -> CheckResult:
    """skew: this machine's clock minus the registry's."""
    if abs(skew) <= max(noise, ATTENTION_SECONDS):
        return ok(CHECK, f"this machine's clock agrees with the registry (within {max(noise, abs(skew)):.0f} s)")
    fix = "synchronise this machine's clock (timedatectl set-ntp true, or chrony/ntpd)"
    cost = (f"glcr's registry tokens are not affected (their life is read from the token), but older_than "
            f"cutoffs in dry-runs and plans move by {abs(skew):.0f} s")
    if skew > lifetime:
        cost += "; clients that check a token's exp by this clock see every token expired"
    return warn(CHECK, f"this machine's clock is {_fmt(skew)} the registry: {cost}", fix)
