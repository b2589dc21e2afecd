#!/usr/bin/env python3
"""Validate FHIR R4 (4.0.1) JSON resources, independently of the service's own Rust types.

Usage: python3 .ci/fhir_validate.py DIR_OR_FILE...

Each file holds one JSON resource of any type (Bundle, OperationOutcome, CapabilityStatement,
Task, ServiceRequest, Patient, HealthcareService, ...). A directory stands for every *.json file
under it. Prints one line per file, `ok FILE RESOURCETYPE` or `invalid FILE: ERRORS`, and exits 1
if any file is invalid or no file was given or found (2 if the validator itself is not installed).

Needs the packages pinned in .ci/fhir-requirements.txt: fhir.resources 6.4.0, the last release
whose default package `fhir.resources` is FHIR R4 4.0.1 (6.5.0 moved it to R4B 4.3.0, 7.x to
R5), and pydantic 1.x, which its models are written for. Install them into a venv:
    python3 -m venv /tmp/fhir-venv && /tmp/fhir-venv/bin/pip install -r .ci/fhir-requirements.txt
    /tmp/fhir-venv/bin/python .ci/fhir_validate.py tests/fixtures/sdohcc

Checks, in this order, all reported together:
 1. strict JSON: one object, no duplicate keys, no NaN/Infinity;
 2. the fhir.resources model for the file's resourceType: unknown elements (the models forbid
    extra fields, nested ones and contained/Bundle entry resources included), missing required
    elements (e.g. Task.status, Task.intent, OperationOutcome.issue), scalar vs array, choice
    types (value[x]), primitive formats (id, code, uri, date, dateTime, instant, ...);
 3. what the pydantic v1 models let through and FHIR JSON does not allow: a JSON string where a
    boolean, integer or decimal is due (pydantic turns "true" into true and "1.5" into 1.5), a
    fraction where an integer is due (pydantic truncates 1.5 to 1), a number or boolean where a
    string is due, integers beyond 32 bits, null or empty objects, arrays and strings
    (ele-1), `resourceType` anywhere but on a resource, and codes outside the required value
    set of a `code` element. fhir.resources only records those value sets as data
    (`enum_values`, taken from each element's short description) and never checks them; this
    script checks them, except where the short description is truncated ("+") or is not the
    value set, for which the full R4 lists are written out below (REQUIRED_CODES) or the
    element is left unchecked (UNCHECKED_CODES).
Two model errors on valid R4 JSON are dropped (see model_false_positive): a relative `url`
(e.g. Attachment.url "Binary/1") and a primitive's `_name` object holding only an `id`.
Profiles (meta.profile), invariants (FHIRPath constraints) and terminology beyond those code
lists are not checked.

Tried on the 424 R4 JSON files of US Core 7.0.0's input/examples and input/resources: all pass
but diagnosticreport-cbc.json, whose `text` has no `div` (Narrative.div is 1..1 in R4).
"""

from __future__ import annotations

import decimal
import json
import sys
import typing
from pathlib import Path

try:
    import fhir.resources
    import pydantic
    from fhir.resources import get_fhir_model_class
    from fhir.resources.fhirtypes import AbstractBaseType, AbstractType, Primitive
    from fhir.resources.resource import Resource
except ImportError as err:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"fhir_validate: {err}; install .ci/fhir-requirements.txt into a venv "
        "(see the top of this file)\n"
    )
    sys.exit(2)

if fhir.resources.__fhir_version__ != "4.0.1" or not pydantic.VERSION.startswith("1."):
    sys.stderr.write(
        f"fhir_validate: need fhir.resources with FHIR 4.0.1 models (6.4.0) and pydantic 1.x, got "
        f"fhir.resources {fhir.resources.__version__} (FHIR {fhir.resources.__fhir_version__}) "
        f"and pydantic {pydantic.VERSION}; install .ci/fhir-requirements.txt\n"
    )
    sys.exit(2)

# Full R4 (4.0.1) required value sets of `code` elements whose list fhir.resources truncates
# with "+" or does not record at all. Keys are model class name + "." + JSON name.
_OBSERVATION_STATUS = [
    "registered", "preliminary", "final", "amended", "corrected", "cancelled",
    "entered-in-error", "unknown",
]
_ENCOUNTER_STATUS = [
    "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
    "entered-in-error", "unknown",
]
REQUIRED_CODES = {
    # http://hl7.org/fhir/ValueSet/task-status
    "Task.status": [
        "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
        "in-progress", "on-hold", "failed", "completed", "entered-in-error",
    ],
    # http://hl7.org/fhir/ValueSet/observation-status
    "Observation.status": _OBSERVATION_STATUS,
    "DetectedIssue.status": _OBSERVATION_STATUS,
    "RiskAssessment.status": _OBSERVATION_STATUS,
    # http://hl7.org/fhir/ValueSet/diagnostic-report-status
    "DiagnosticReport.status": [
        "registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
        "cancelled", "entered-in-error", "unknown",
    ],
    # http://hl7.org/fhir/ValueSet/encounter-status
    "Encounter.status": _ENCOUNTER_STATUS,
    "EncounterStatusHistory.status": _ENCOUNTER_STATUS,
    # http://hl7.org/fhir/ValueSet/supplyrequest-status
    "SupplyRequest.status": [
        "draft", "active", "suspended", "cancelled", "completed", "entered-in-error", "unknown",
    ],
    # http://hl7.org/fhir/ValueSet/device-statement-status
    "DeviceUseStatement.status": [
        "active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
    ],
    # http://hl7.org/fhir/ValueSet/issue-type
    "OperationOutcomeIssue.code": [
        "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
        "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
        "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
        "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
        "exception", "timeout", "incomplete", "throttled", "informational",
    ],
}
# `code` elements whose recorded list is not their value set and that are left unchecked:
# CapabilityStatement.format is any MIME type ("formats supported (xml | json | ttl | mime
# type)"), Expression.language is extensible, and the three truncated lists not written out.
UNCHECKED_CODES = {
    "CapabilityStatement.format",
    "Expression.language",
    "QuestionnaireItem.type",
    "DeviceUdiCarrier.entryType",
    "StructureMapGroupRuleTarget.transform",
}

INT_VISITS = {"integer", "unsignedInt", "positiveInt"}


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(f"duplicate JSON key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_json(path: Path):
    with path.open("rb") as f:
        return json.loads(
            f.read().decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=decimal.Decimal,
            parse_constant=_no_constant,
        )


def allowed_codes(cls, field):
    key = f"{cls.__name__}.{field.alias}"
    if key in UNCHECKED_CODES:
        return None
    if key in REQUIRED_CODES:
        return REQUIRED_CODES[key]
    values = field.field_info.extra.get("enum_values")
    if not values or "+" in values:
        return None
    return values


def is_resource_class(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, Resource)


def model_class_for(type_, raw, path, errors):
    """The model class for one raw complex value, or None (then it is not walked)."""
    name = type_.__resource_type__
    if name == "Resource":  # contained, Bundle.entry.resource, Parameters.parameter.resource
        rtype = raw.get("resourceType") if isinstance(raw, dict) else None
        if not isinstance(rtype, str):
            errors.append(f"{path}: a resource without resourceType")
            return None
        try:
            return get_fhir_model_class(rtype)
        except KeyError:
            errors.append(f"{path}: unknown resourceType {rtype!r}")
            return None
    try:
        return get_fhir_model_class(name)
    except KeyError:
        return None


def walk(raw, cls, path, errors):
    """Checks on the raw JSON that the pydantic v1 models do not make (see the docstring)."""
    if not isinstance(raw, dict):
        return  # the model reports the wrong shape
    if not raw:
        errors.append(f"{path}: empty object (ele-1)")
        return
    # resource_type and fhir_comments are the models' own, not FHIR R4 elements (the models take
    # a `resource_type` key in place of `resourceType` and a DSTU2-style `fhir_comments`)
    fields = {
        f.alias: f for n, f in cls.__fields__.items() if n not in ("resource_type", "fhir_comments")
    }
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key == "resourceType":
            if not is_resource_class(cls):
                errors.append(f"{where}: resourceType is only allowed on a resource")
            continue
        field = fields.get(key)
        if field is None:
            errors.append(f"{where}: unknown element")
            continue
        if value is None:
            errors.append(f"{where}: null (ele-1)")
            continue
        many = field.shape != 1  # SHAPE_LIST
        if many:
            if not isinstance(value, list):
                continue  # the model reports it
            if not value:
                errors.append(f"{where}: empty array (ele-1)")
                continue
            items = list(enumerate(value))
        else:
            items = [(None, value)]
        type_ = field.type_
        if typing.get_origin(type_) is typing.Union:  # Optional[X] items of primitive arrays
            type_ = next(a for a in typing.get_args(type_) if a is not type(None))
        codes = allowed_codes(cls, field) if getattr(type_, "__visit_name__", None) == "code" else None
        for index, item in items:
            at = where if index is None else f"{where}[{index}]"
            if isinstance(type_, type) and issubclass(type_, (AbstractType, AbstractBaseType)):
                if item is None:
                    # `_name` arrays of a primitive array hold null where an item has no id/extension
                    if index is None or not key.startswith("_"):
                        errors.append(f"{at}: null (ele-1)")
                    continue
                sub = model_class_for(type_, item, at, errors)
                if sub is not None:
                    walk(item, sub, at, errors)
                continue
            if item is None:
                # null is allowed in an array of primitives, to line up with its `_name` array
                if index is None or f"_{key}" not in raw:
                    errors.append(f"{at}: null (ele-1)")
                continue
            if type_ is bool:
                if not isinstance(item, bool):
                    errors.append(f"{at}: expected a JSON boolean, got {json_kind(item)}")
                continue
            if not (isinstance(type_, type) and issubclass(type_, Primitive)):
                continue
            visit = type_.__visit_name__
            if visit in INT_VISITS:
                if isinstance(item, bool) or not isinstance(item, int):
                    errors.append(f"{at}: expected a JSON integer ({visit}), got {json_kind(item)}")
                elif not -(2**31) <= item <= 2**31 - 1:
                    errors.append(f"{at}: {visit} {item} is out of the 32-bit range")
            elif visit == "decimal":
                if isinstance(item, bool) or not isinstance(item, (int, decimal.Decimal)):
                    errors.append(f"{at}: expected a JSON number (decimal), got {json_kind(item)}")
            elif not isinstance(item, str):
                errors.append(f"{at}: expected a JSON string ({visit}), got {json_kind(item)}")
            elif item == "":
                errors.append(f"{at}: empty string (ele-1)")
            elif visit == "url" and any(c.isspace() for c in item):
                errors.append(f"{at}: url {item!r} has whitespace")
            elif codes is not None and item not in codes:
                errors.append(
                    f"{at}: code {item!r} is not in the required value set ({' | '.join(codes)})"
                )


def json_kind(value) -> str:
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, (int, decimal.Decimal)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def model_false_positive(e) -> bool:
    """Two model errors on valid R4 JSON, which the raw walk checks the R4 way instead.

    - fhir.resources' `url` type wants a scheme or a leading "/", where R4's url regex is \\S*
      (e.g. Attachment.url "Binary/1-note" in US Core's examples); the walk rejects an empty url
      or one with whitespace.
    - the primitive-extension object `_name` is made to need `extension`, where R4 also allows an
      `id` alone (US Core's targeted-provenance example: "_gender": {"id": "gender"}); the walk
      rejects an empty one.
    """
    if e["type"].startswith("value_error.url"):
        return True
    loc = [p for p in e["loc"] if p != "__root__"]
    return (
        e["type"] == "value_error.missing"
        and len(loc) >= 2
        and loc[-1] == "extension"
        and next((p for p in reversed(loc[:-1]) if isinstance(p, str)), "").startswith("_")
    )


def pydantic_errors(err: pydantic.ValidationError):
    out = []
    for e in err.errors():
        if model_false_positive(e):
            continue
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__")
        out.append(f"{loc}: {e['msg']}" if loc else e["msg"])
    return out


def validate_file(path: Path):
    """Returns (resourceType, []) or (resourceType or None, [errors])."""
    try:
        data = load_json(path)
    except OSError as err:
        return None, [f"cannot read: {err.strerror or err}"]
    except (UnicodeDecodeError, ValueError) as err:
        return None, [f"not valid JSON: {err}"]
    if not isinstance(data, dict):
        return None, [f"expected one JSON object, got {json_kind(data)}"]
    rtype = data.get("resourceType")
    if not isinstance(rtype, str):
        return None, ["no resourceType"]
    try:
        cls = get_fhir_model_class(rtype)
    except KeyError:
        cls = None
    if cls is None or not is_resource_class(cls):
        return rtype, [f"unknown resourceType {rtype!r} (not a FHIR R4 resource)"]
    errors = []
    try:
        cls.parse_obj(data)
    except pydantic.ValidationError as err:
        errors.extend(f"{rtype}.{e}" for e in pydantic_errors(err))
    except Exception as err:  # a model bug must not pass a file silently
        errors.append(f"{type(err).__name__}: {err}")
    walk(data, cls, rtype, errors)
    # the same problem may come from both passes; keep the first of each
    return rtype, list(dict.fromkeys(errors))


def collect(args):
    files = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.json") if q.is_file()))
        else:
            files.append(p)  # a missing file is reported as invalid
    return files


def main(argv) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 1
    files = collect(argv)
    if not files:
        print(f"fhir_validate: no *.json file found in {' '.join(argv)}")
        return 1
    invalid = 0
    for path in files:
        rtype, errors = validate_file(path)
        if errors:
            invalid += 1
            print(f"invalid {path}: {'; '.join(errors)}")
        else:
            print(f"ok {path} {rtype}")
    sys.stderr.write(f"fhir_validate: {len(files) - invalid} valid, {invalid} invalid\n")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
