"""Writes tests/data/validate/cases.json for tests/unit/test_validate.c.

Run from the repository root: python3 tests/data/validate/gen_cases.py [CONFORMANCE_CASES_DIR]
(the pyenv python3 whose pydantic 2 ships pydantic.v1, Cog 0.15.5's pydantic).

Two sources: the recorded answers of the conformance cases (02, 04-09: the
prediction input echoed, or the 422 detail), and pydantic.v1 itself for
extra inputs against models built the way Cog builds them (str choices are a
(str, Enum), int choices an IntEnum, use_enum_values). Where cog-fcgi
differs on purpose (COG-API.md section 16: 2.5 is not an int) the recorded
expectation is used, as in the conformance case.
"""
import json
import os
import sys
from enum import Enum, IntEnum
from typing import List, Optional

from pydantic.v1 import BaseModel, Field, ValidationError

CASES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../..", "tests", "conformance", "cases")
out = []


def schema_of(case):
    for step in json.load(open(os.path.join(CASES, case, "requests.json"))):
        if step.get("path") == "/openapi.json":
            return step["expect"]["body"]["components"]["schemas"]
    return None


KINDS = {
    "04-kitchen-sink": {"token": "secret", "document": "path", "blob": "file"},
    "05-validation-422": {"doc": "path"},
    "09-file-data-uri": {"source": "path"},
}
schemas = {}
for case in sorted(os.listdir(CASES)):
    comps = schema_of(case)
    if comps is not None:
        schemas[case] = comps
# 05 and 06 record no openapi.json: their Input is written out here as Cog emits it.
schemas["05-validation-422"] = {
    "Input": {"title": "Input", "required": ["title"], "type": "object", "properties": {
        "title": {"title": "Title", "maxLength": 20, "minLength": 1, "type": "string",
                  "description": "Required title", "x-order": 0},
        "count": {"title": "Count", "maximum": 5.0, "minimum": 1.0, "type": "integer", "default": 1, "x-order": 1},
        "ratio": {"title": "Ratio", "maximum": 1.0, "minimum": 0.0, "type": "number", "default": 0.5, "x-order": 2},
        "mode": {"allOf": [{"$ref": "#/components/schemas/mode"}], "default": "plain", "x-order": 3},
        "level": {"allOf": [{"$ref": "#/components/schemas/level"}], "default": 1, "x-order": 4},
        "code": {"title": "Code", "pattern": "^[a-z]+[0-9]+$", "type": "string", "default": "ab12", "x-order": 5},
        "flag": {"title": "Flag", "type": "boolean", "default": False, "x-order": 6},
        "doc": {"title": "Doc", "type": "string", "format": "uri", "x-order": 7}}},
    "mode": {"title": "mode", "enum": ["plain", "fancy"], "type": "string", "description": "An enumeration."},
    "level": {"title": "level", "enum": [1, 2, 3], "type": "integer", "description": "An enumeration."},
}
schemas["06-request-errors"] = {
    "Input": {"title": "Input", "required": ["text"], "type": "object", "properties": {
        "text": {"title": "Text", "type": "string", "description": "Required text", "x-order": 0},
        "times": {"title": "Times", "type": "integer", "description": "Repeat count", "default": 2, "x-order": 1}}},
}


def add(case, note, inp, expect_input=None, expect_detail=None, request=None):
    comps = schemas[case]
    item = {"case": case, "note": note, "schema": comps["Input"],
            "components": {k: v for k, v in comps.items() if k != "Input"},
            "kinds": KINDS.get(case), "input": inp}
    if expect_detail is not None:
        item["detail"] = [d for d in expect_detail if d["loc"][:2] == ["body", "input"] or d["loc"] == ["body", "input"]]
        if not item["detail"]:
            return
    else:
        item["expect"] = expect_input
    out.append(item)


# Recorded answers.
for case in sorted(os.listdir(CASES)):
    if case not in schemas:
        continue
    for step in json.load(open(os.path.join(CASES, case, "requests.json"))):
        body = step.get("body")
        exp = step["expect"]
        if step.get("method") not in ("POST", "PUT") or not isinstance(body, dict) or "input" not in body:
            continue
        if "{{" in json.dumps(body):
            continue
        note = exp.get("note") or exp.get("differs") or step.get("path")
        if exp["status"] == 422:
            add(case, note, body["input"], expect_detail=exp["body"]["detail"])
        elif isinstance(exp.get("body"), dict) and "input" in exp["body"]:
            echoed = exp["body"]["input"]
            # Cog's echo masks secrets and shows File objects as {}: validation keeps the value.
            for k, kind in KINDS.get(case, {}).items():
                if k in echoed and echoed[k] is not None and kind in ("secret", "file"):
                    echoed[k] = body["input"][k]
            add(case, note, body["input"], expect_input=echoed)


# pydantic.v1 as the oracle.
class StringEnum(str, Enum):
    pass


def cog_model(case):
    if case == "05-validation-422":
        ModeE = StringEnum("mode", {"plain": "plain", "fancy": "fancy"})
        LevelE = IntEnum("level", {"1": 1, "2": 2, "3": 3})

        class Input(BaseModel):
            title: str = Field(..., min_length=1, max_length=20)
            count: int = Field(1, ge=1, le=5)
            ratio: float = Field(0.5, ge=0.0, le=1.0)
            mode: ModeE = Field("plain")
            level: LevelE = Field(1)
            code: str = Field("ab12", regex=r"^[a-z]+[0-9]+$")
            flag: bool = False

            class Config:
                use_enum_values = True
        return Input
    if case == "04-kitchen-sink":
        StyleE = StringEnum("style", {"calm": "calm", "loud": "loud", "odd": "odd"})
        SizeE = IntEnum("size", {"1": 1, "2": 2, "4": 4})

        class Input(BaseModel):
            prompt: str = Field(..., min_length=2, max_length=16)
            steps: int = Field(4, ge=1, le=10)
            scale: float = Field(1.5, ge=0.0, le=2.0)
            verbose: bool = Field(False)
            style: StyleE = Field("calm")
            size: SizeE = Field(2)
            slug: str = Field("ab1", regex=r"^[a-z]+[0-9]*$")
            words: List[str] = Field(None)
            weights: List[int] = Field(None)
            note: Optional[str] = Field(None)
            legacy: str = Field("old")
            seed: int = 7

            class Config:
                use_enum_values = True
        return Input
    if case == "07-output-float":
        class Input(BaseModel):
            values: List[float] = Field(...)
        return Input
    if case == "08-output-bool":
        class Input(BaseModel):
            word: str = Field(...)
            ignore_case: bool = Field(True)
        return Input
    raise KeyError(case)


def oracle(case, note, inp):
    model = cog_model(case)
    props = schemas[case]["Input"]["properties"]
    try:
        m = model(**inp)
    except ValidationError as e:
        detail = []
        for err in e.errors():
            d = {"loc": ["body", "input"] + list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            if "ctx" in err:
                d["ctx"] = err["ctx"]
            detail.append(d)
        add(case, note, inp, expect_detail=json.loads(json.dumps(detail, default=str)))
        return
    got = json.loads(m.json())
    exp = {}
    for name in sorted(props, key=lambda n: props[n]["x-order"]):
        exp[name] = got.get(name)
    add(case, note, inp, expect_input=exp)


ORACLE = {
    "05-validation-422": [
        {"title": "t", "count": True}, {"title": "t", "count": " 3 "}, {"title": "t", "count": "1_0"},
        {"title": "t", "count": "2.0"}, {"title": "t", "count": [1]}, {"title": "t", "count": None},
        {"title": "t", "count": 4.0}, {"title": "t", "ratio": "1e-1"}, {"title": "t", "ratio": True},
        {"title": "t", "ratio": " .5 "}, {"title": "t", "ratio": "5."}, {"title": "t", "ratio": "0x1"},
        {"title": "t", "ratio": "1_0"}, {"title": "t", "ratio": {}}, {"title": "t", "ratio": 1},
        {"title": 1.5}, {"title": 1e20}, {"title": True}, {"title": 0.1}, {"title": 1e-7},
        {"title": {"a": 1}}, {"title": None}, {"title": "t", "mode": "PLAIN"}, {"title": "t", "mode": 1},
        {"title": "t", "mode": None}, {"title": "t", "level": "2"}, {"title": "t", "level": True},
        {"title": "t", "level": 2.0}, {"title": "t", "level": "x"}, {"title": "t", "code": "ab12\n"},
        {"title": "t", "code": "ab12xyz"}, {"title": "t", "code": "Ab12"}, {"title": "t", "code": 5},
        {"title": "t", "flag": "TRUE"}, {"title": "t", "flag": "Off"}, {"title": "t", "flag": 1.0},
        {"title": "t", "flag": 2}, {"title": "t", "flag": "2"}, {"title": "t", "flag": [True]},
        {"title": "t", "flag": None}, {"title": "t", "flag": " yes"}, {"title": "héllo wörld ünïcode"},
        {"title": "ééééééééééééééééééééé"}, {"title": "t", "count": -3, "ratio": -1},
        {"title": "t", "count": 1e3},
    ],
    "04-kitchen-sink": [
        {"prompt": "hi", "words": "red"}, {"prompt": "hi", "words": ["a", 1, 2.5, None, ["x"]]},
        {"prompt": "hi", "weights": ["1", 2.0, "x", None, True]}, {"prompt": "hi", "weights": []},
        {"prompt": "hi", "note": None}, {"prompt": "hi", "note": 5}, {"prompt": "hi", "steps": 11, "scale": 2.5},
        {"prompt": "hi", "size": "3"}, {"prompt": "hi", "style": "LOUD"}, {"prompt": "hi", "seed": None},
        {"prompt": "hi", "legacy": None}, {"prompt": "x"}, {"prompt": "hi", "slug": "abc"},
        {"prompt": "hi", "slug": "1abc"}, {},
    ],
    "07-output-float": [
        {"values": [1, "2.5", True, "1e2"]}, {"values": [None]}, {"values": ["a", "b"]}, {"values": {"a": 1}},
        {"values": None}, {},
    ],
    "08-output-bool": [
        {"word": "x", "ignore_case": "y"}, {"word": "x", "ignore_case": "N"}, {"word": "x", "ignore_case": 0},
        {"word": "x", "ignore_case": "t"}, {"word": "x", "ignore_case": ""}, {"word": False},
    ],
}
for case, inputs in ORACLE.items():
    for inp in inputs:
        oracle(case, "pydantic.v1: " + json.dumps(inp), inp)

json.dump(out, open(os.path.join(os.path.dirname(__file__), "cases.json"), "w"), indent=1)
print(len(out), "cases")


# PredictionRequest's own fields, as Cog 0.15.5 declares them.
from datetime import datetime  # noqa: E402
from typing import Dict  # noqa: E402

from pydantic.v1 import AnyUrl  # noqa: E402


class WebhookEvent(str, Enum):
    START = "start"
    OUTPUT = "output"
    LOGS = "logs"
    COMPLETED = "completed"


class PredictionRequest(BaseModel):
    id: Optional[str]
    created_at: Optional[datetime]
    context: Optional[Dict[str, str]]
    output_file_prefix: Optional[str]
    webhook: Optional[AnyUrl]
    webhook_events_filter: Optional[List[WebhookEvent]] = Field(
        default=[WebhookEvent.START, WebhookEvent.OUTPUT, WebhookEvent.LOGS, WebhookEvent.COMPLETED])


REQUESTS = [
    {"id": "a"}, {"id": None}, {"created_at": "2024-05-06T07:08:09Z"}, {"created_at": "2024-05-06 07:08"},
    {"created_at": "2024-05-06T07:08:09.5+02:00"}, {"created_at": "2024-05-06T07:08:09.1234567-0530"},
    {"created_at": "2024-05-06T07:08:09+05"}, {"created_at": "2024-05-06T07:08:09"},
    {"created_at": "2024-05-06T07:08:09.000000Z"}, {"created_at": "2024-02-30T07:08:09Z"},
    {"created_at": "2024-05-06T24:00:00Z"}, {"created_at": "2024-05-06"}, {"created_at": "yesterday"},
    {"created_at": 1700000000}, {"created_at": 1700000000.25}, {"created_at": 1700000000123},
    {"created_at": "1700000000"}, {"created_at": -1.5}, {"created_at": True}, {"created_at": 0},
    {"created_at": "2024-5-6T7:8:9Z"}, {"created_at": "2024-05-06T07:08:09+24:00"},
    {"created_at": "2024-05-06t07:08:09Z"}, {"created_at": "2024-05-06T07:08:09Zjunk"},
    {"created_at": None}, {"created_at": "0000-01-01T00:00:00"},
    {"webhook": "not a url"}, {"webhook": "http://127.0.0.1:8080/hook"}, {"webhook": "https://example.com"},
    {"webhook": "ftp://x.y/z"}, {"webhook": ""}, {"webhook": "   "}, {"webhook": "http://"},
    {"webhook": "http://host:99999/x"}, {"webhook": "http://a b"}, {"webhook": "http://localhost/x?y=1#f"},
    {"webhook": "http://foo_bar.baz"}, {"webhook": "http://-bad-.com"}, {"webhook": "http://user:pw@h.com"},
    {"webhook": "http://[::1]:80/"}, {"webhook": "x://y"}, {"webhook": 5}, {"webhook": None},
    {"webhook": "http://bücher.de/"}, {"webhook": " http://ok.com "},
    {"webhook_events_filter": ["start", "bogus"]}, {"webhook_events_filter": ["never"]},
    {"webhook_events_filter": "start"}, {"webhook_events_filter": []}, {"webhook_events_filter": None},
    {"webhook_events_filter": ["completed", "logs", None]},
    {"output_file_prefix": "http://x/"}, {"output_file_prefix": ["a"]}, {"output_file_prefix": 5},
    {"context": {"a": "b"}}, {"context": "x"}, {"context": {"a": ["b"], "c": None, "d": 1}},
    {"webhook": "nope", "webhook_events_filter": ["never"], "created_at": "bad"},
]
req_out = []
for body in REQUESTS:
    item = {"body": body}
    try:
        m = PredictionRequest(**body)
        item["ok"] = True
        if "created_at" in body and m.created_at is not None:
            item["created_at"] = m.created_at.isoformat()
    except ValidationError as e:
        item["ok"] = False
        item["detail"] = []
        for err in e.errors():
            d = {"loc": ["body"] + list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            if "ctx" in err:
                d["ctx"] = json.loads(json.dumps(err["ctx"], default=lambda o: sorted(o) if isinstance(o, set) else [x.value for x in o]))
            item["detail"].append(d)
    req_out.append(item)
json.dump(req_out, open(os.path.join(os.path.dirname(__file__), "request_cases.json"), "w"), indent=1)
print(len(req_out), "request cases")
