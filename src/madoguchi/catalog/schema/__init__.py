"""The one form-schema engine: definitions (``definition``), validation and cleaning (``engine``) and
the staff 転記 rows (``display``).

    definition = parse_definition(procedure_version.definition)      # DefinitionError if malformed
    result = validate_submission(definition, request_data, today=...)  # never raises on bad data
    if result.ok: store(result.cleaned)
    rows = display_rows(definition, stored_data)
"""

from madoguchi.catalog.schema.definition import (
    FIELD_TYPES,
    PREFILL_TYPES,
    ChoiceOption,
    DefinitionError,
    FormDefinition,
    Section,
    ShowIf,
    dump_definition,
    parse_definition,
)
from madoguchi.catalog.schema.display import DisplayRow, display_rows
from madoguchi.catalog.schema.engine import (
    ERROR_CODES,
    SECRET_MARKER,
    FieldError,
    SubmissionResult,
    iter_files,
    prefill_initial,
    strip_secrets,
    validate_submission,
    walk_fields,
)

__all__ = [
    "ERROR_CODES",
    "FIELD_TYPES",
    "PREFILL_TYPES",
    "SECRET_MARKER",
    "ChoiceOption",
    "DefinitionError",
    "DisplayRow",
    "FieldError",
    "FormDefinition",
    "Section",
    "ShowIf",
    "SubmissionResult",
    "display_rows",
    "dump_definition",
    "iter_files",
    "parse_definition",
    "prefill_initial",
    "strip_secrets",
    "validate_submission",
    "walk_fields",
]
