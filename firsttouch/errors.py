"""Every error firsttouch raises on purpose, in one tree.

    FirsttouchError
    ├── ConfigError            process settings are missing or malformed
    ├── WorkspaceError         the workspace YAML is invalid (file, line, field)
    ├── StoreError             the database is unreachable or not migrated
    ├── JobError               a job cannot be enqueued, claimed or run
    │   └── UnknownJobKindError
    ├── InputError             a payload or file is unreadable (status 400)
    │   ├── PayloadTooLargeError   (status 413)
    │   └── SignatureError         (status 401)
    ├── NotFoundError          (status 404)
    ├── DeliveryError          an outbound send failed; ``permanent`` says retry or stop
    ├── CrmError               a CRM write failed; ``permanent`` as above
    └── EnrichmentError        a fact source failed or timed out; scoring goes on
        └── UnsafeAddressError     a fetch was refused by the SSRF guard

Adapters convert vendor exceptions into these at one point and chain them
with ``raise ... from``; nothing above ``channels/`` or ``crm/`` sees a
vendor exception.
"""

from __future__ import annotations


class FirsttouchError(Exception):
    """Base of every error raised on purpose by firsttouch."""

    code = "error"
    status = 500


class ConfigError(FirsttouchError):
    """A process setting is missing or malformed."""

    code = "config_invalid"


class WorkspaceError(FirsttouchError):
    """The workspace is invalid; ``problems`` lists each one with its place."""

    code = "workspace_invalid"

    def __init__(self, message: str, problems: list[WorkspaceProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []


class WorkspaceProblem:
    """One thing wrong in a workspace file: where it is and what is expected."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


class StoreError(FirsttouchError):
    """The database cannot be reached or its schema is not current."""

    code = "store_unavailable"
    status = 503


class JobError(FirsttouchError):
    """A job could not be enqueued, claimed or run."""

    code = "job_failed"


class UnknownJobKindError(JobError):
    """No handler is registered for a job's kind."""

    code = "job_kind_unknown"


class InputError(FirsttouchError):
    """A payload or file is unreadable; says what and where."""

    code = "input_invalid"
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class PayloadTooLargeError(InputError):
    """A request body is over the configured cap."""

    code = "payload_too_large"
    status = 413


class SignatureError(InputError):
    """A webhook's signature is missing or does not verify."""

    code = "signature_invalid"
    status = 401


class NotFoundError(FirsttouchError):
    """The named thing does not exist (or the caller may not see it)."""

    code = "not_found"
    status = 404


class DeliveryError(FirsttouchError):
    """An outbound send failed; ``permanent`` means retrying cannot help."""

    code = "delivery_failed"

    def __init__(self, message: str, *, permanent: bool, provider_code: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.provider_code = provider_code


class CrmError(FirsttouchError):
    """A CRM write failed; ``permanent`` means retrying cannot help."""

    code = "crm_failed"

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class EnrichmentError(FirsttouchError):
    """A fact source failed or timed out; the lead is scored with what is known."""

    code = "enrichment_failed"


class UnsafeAddressError(EnrichmentError):
    """A fetch would reach a private, loopback, link-local or metadata address."""

    code = "address_refused"
