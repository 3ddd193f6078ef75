"""The schema cog-fcgi's worker produces equals Cog's recorded /openapi.json, key order included."""
import glob
import json
import os
import sys
import unittest
from typing import Any, Dict, Iterator, List, Optional, Union

import _util  # noqa: F401  (puts cog on sys.path)
from cog import BaseModel, BasePredictor, ConcatenateIterator, Input, Path, Secret
from cog import _loader, _runtime, _schema

_STANDARD = {"PredictionRequest", "PredictionResponse", "Status", "WebhookEvent",
             "HTTPValidationError", "ValidationError", "Input", "Output"}


def recorded_schemas(case_dir):
    with open(os.path.join(case_dir, "requests.json")) as f:
        steps = json.load(f)
    for step in steps:
        if step.get("path") == "/openapi.json" and "expect" in step:
            return step["expect"]["body"]["components"]["schemas"]
    return None


def dumps(value):
    return json.dumps(value, indent=1)  # no sort_keys: key order is compared


class ConformanceSchemaTest(unittest.TestCase):
    """Every case's predict.py gives the Input, Output and extra components Cog recorded."""

    def test_cases(self):
        cases = sorted(glob.glob(os.path.join(_util.CASES, "*")))
        self.assertTrue(cases, "no conformance cases found")
        checked = 0
        for case in cases:
            expected = recorded_schemas(case)
            if expected is None:
                continue
            with self.subTest(case=os.path.basename(case)):
                sys.modules.pop("predict", None)
                _loader._modules.clear()
                entry = _runtime.Entry(case, _util.predict_ref(case), "predict", {})
                schema = entry.schema
                self.assertEqual(dumps(schema["input"]), dumps(expected["Input"]))
                self.assertEqual(dumps(schema["output"]), dumps(expected["Output"]))
                extra = {k: v for k, v in expected.items() if k not in _STANDARD}
                self.assertEqual(dumps(dict(sorted(schema["components"].items()))),
                                 dumps(dict(sorted(extra.items()))))
                checked += 1
        self.assertGreaterEqual(checked, 10)


def schema_of(fn):
    return _schema.schema_for(_schema.read_signature(fn))


class SignatureSchemaTest(unittest.TestCase):
    """Signatures the cases do not cover, per COG-API.md 11."""

    def test_kinds(self):
        def predict(a: Path, b: Secret, c: List[Path] = Input(default=None),
                    d: Optional[str] = None) -> str:
            return ""
        self.assertEqual(schema_of(predict)["kinds"], {"a": "path", "b": "secret", "c": "path"})

    def test_kwargs_only(self):
        def predict(**kwargs) -> str:
            return ""
        s = schema_of(predict)
        self.assertEqual(s["input"], {"title": "Input", "type": "object", "properties": {}})
        self.assertTrue(s["kwargs"])

    def test_kwargs_after_named_fails(self):
        def predict(a: int, **kwargs) -> str:
            return ""
        with self.assertRaisesRegex(TypeError, "Unsupported variadic keyword parameter"):
            schema_of(predict)

    def test_unannotated_and_unsupported_fail(self):
        def p1(a) -> str:
            return ""

        def p2(a: dict) -> str:
            return ""

        def p3(a: int):
            return ""
        for fn in (p1, p2, p3):
            with self.assertRaises(TypeError):
                schema_of(fn)

    def test_titles(self):
        def predict(input_With_Caps: int, CamelCase: str) -> str:
            return ""
        props = schema_of(predict)["input"]["properties"]
        self.assertEqual(props["input_With_Caps"]["title"], "Input With Caps")
        self.assertEqual(props["CamelCase"]["title"], "Camelcase")

    def test_list_bounds_on_array_and_items(self):
        def predict(xs: List[int] = Input(ge=1, le=3)) -> str:
            return ""
        p = schema_of(predict)["input"]["properties"]["xs"]
        self.assertEqual(p["minimum"], 1.0)
        self.assertEqual(p["items"], {"maximum": 3.0, "minimum": 1.0, "type": "integer"})

    def test_union_input(self):
        def predict(x: Union[str, int]) -> str:
            return ""
        p = schema_of(predict)["input"]["properties"]["x"]
        self.assertEqual(p["anyOf"], [{"type": "string"}, {"type": "integer"}])

    def test_output_variants(self):
        def o(tp):
            def predict() -> tp:  # type: ignore[valid-type]
                return None
            return schema_of(predict)["output"]
        self.assertEqual(o(Any), {"title": "Output"})
        self.assertEqual(o(dict), {"title": "Output", "type": "object"})
        self.assertEqual(o(Dict[str, int]), {"title": "Output", "type": "object",
                                             "additionalProperties": {"type": "integer"}})
        self.assertEqual(o(Dict[str, Dict[str, str]])["additionalProperties"],
                         {"type": "object", "additionalProperties": {"type": "string"}})
        self.assertEqual(o(List[Dict[str, int]])["items"],
                         {"type": "object", "additionalProperties": {"type": "integer"}})
        self.assertEqual(o(Optional[str]), {"title": "Output", "type": "string", "nullable": True})
        self.assertEqual(o(Optional[Union[str, int]]),
                         {"title": "Output", "anyOf": [{"type": "string"}, {"type": "integer"}],
                          "nullable": True})
        self.assertEqual(o(Iterator[Path]),
                         {"title": "Output", "type": "array",
                          "items": {"type": "string", "format": "uri"},
                          "x-cog-array-type": "iterator"})
        self.assertEqual(o(ConcatenateIterator[str])["x-cog-array-display"], "concatenate")
        self.assertEqual(o(List[Path])["items"], {"type": "string", "format": "uri"})

    def test_nested_models(self):
        class Part(BaseModel):
            name: str

        class Whole(BaseModel):
            parts: List[Part]
            main: Part

        def predict() -> Whole:
            return None
        s = schema_of(predict)
        self.assertEqual(s["output"], {"$ref": "#/components/schemas/Whole", "title": "Output"})
        self.assertEqual(s["components"]["Whole"]["properties"]["parts"]["items"],
                         {"$ref": "#/components/schemas/Part"})
        self.assertEqual(s["components"]["Whole"]["properties"]["main"],
                         {"$ref": "#/components/schemas/Part"})
        self.assertIn("Part", s["components"])

    def test_train_titles(self):
        class TrainingOutput(BaseModel):
            weights: Path

        def train(n: int = 1) -> TrainingOutput:
            return None
        s = _schema.schema_for(_schema.read_signature(train), "train")
        self.assertEqual(s["input"]["title"], "TrainingInput")
        self.assertEqual(s["output"]["title"], "TrainingOutput")
        self.assertEqual(s["output"]["required"], ["weights"])

    def test_runner_run_method(self):
        from cog import BaseRunner

        class Runner(BaseRunner):
            def run(self, x: int) -> int:
                return x
        self.assertEqual(_loader.method_name(Runner, "predict"), "run")
        self.assertEqual(_loader.method_name(BasePredictor, "predict"), "predict")


if __name__ == "__main__":
    unittest.main()
