"""`glcr doctor`'s checks, run on the command's session."""

from __future__ import annotations

from glcr.doctor.checks import DoctorRequest, Probe, run_doctor
from glcr.doctor.model import DoctorReport
from glcr.session import Session


async def diagnose(session: Session, request: DoctorRequest) -> DoctorReport:
    """Every check, in order. The probe sends raw requests with the session's HTTP options
    (they carry the secrets the debug log masks); a session without a token is checked too."""
    async with Probe(session.creds, session.http,
                     insecure_registry=session.settings.insecure_registry) as probe:
        return await run_doctor(session, probe, request)
