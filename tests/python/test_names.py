"""Our cog package has every public name of Cog 0.15.5 and of newer Cog releases models use.

The lists are recorded facts (tests/data/cog-names/all.json: `cog.__all__` at each tag of
replicate/cog from 0.15.5 to 0.22.0).
"""
import importlib
import io
import json
import os
import sys
import unittest
import warnings

import _util  # noqa: F401  (puts cog on sys.path)

with open(os.path.join(_util.ROOT, "tests", "data", "cog-names", "all.json")) as _f:
    RECORDED = json.load(_f)


class PublicNamesTest(unittest.TestCase):
    def setUp(self):
        self.cog = importlib.import_module("cog")

    def check_release(self, tag):
        names = RECORDED[tag]
        missing = [n for n in names if not hasattr(self.cog, n)]
        self.assertEqual(missing, [], f"names of Cog {tag} missing from our cog package")
        not_exported = [n for n in names if n not in self.cog.__all__]
        self.assertEqual(not_exported, [], f"names of Cog {tag} not in our __all__")

    def test_cog_0_15_5(self):
        self.assertEqual(len(RECORDED["v0.15.5"]), 11)
        self.check_release("v0.15.5")

    def test_newer_releases(self):
        for tag in sorted(k for k in RECORDED if k.startswith("v")):
            with self.subTest(tag=tag):
                self.check_release(tag)

    def test_star_import(self):
        ns = {}
        exec("from cog import *", ns)  # noqa: S102
        for name in RECORDED["v0.22.0"]:
            self.assertIn(name, ns)

    def test_shims_work(self):
        cog = self.cog
        warnings.filterwarnings("ignore", category=cog.ExperimentalFeatureWarning)
        self.assertTrue(issubclass(cog.ExperimentalFeatureWarning, Warning))
        sent = []
        from cog.scope import Scope, _set_scope
        previous = _set_scope(Scope({}, sent.append))
        try:
            cog.emit_metric("tokens", 3)
            cog.current_scope().record_metric("t", 1.5)
        finally:
            _set_scope(previous)
        self.assertEqual([m["name"] for m in sent], ["tokens", "t"])
        self.assertEqual(repr(cog.Opaque), "cog.Opaque")
        self.assertTrue(issubclass(cog.URLFile, io.IOBase))
        field = cog.Input(default=1, description="d")
        self.assertIsInstance(field, cog.FieldInfo)

        @cog.concurrent(max=4)
        async def predict() -> int:
            return 1
        self.assertEqual(predict._cog_concurrency, 4)

        @cog.streaming
        def run() -> int:
            return 1
        self.assertEqual(run(), 1)

    def test_opaque_is_an_object(self):
        from typing import Annotated
        from cog import _runtime, _schema

        class Config:
            pass

        def predict(cfg: Annotated[Config, self.cog.Opaque],
                    n: Annotated[int, "other metadata"] = 1) -> Annotated[Config, self.cog.Opaque]:
            return cfg
        sig = _schema.read_signature(predict)
        schema = _schema.schema_for(sig)
        self.assertEqual(schema["input"]["properties"]["cfg"]["type"], "object")
        self.assertEqual(schema["input"]["properties"]["n"]["type"], "integer")
        self.assertEqual(schema["output"], {"title": "Output", "type": "object"})
        self.assertEqual(_runtime.encode_output({"a": [1]}, sig.output), {"a": [1]})

    def test_base_model_is_pydantic_where_installed(self):
        try:
            import pydantic
        except ImportError:
            self.skipTest("pydantic not installed")
        if pydantic.VERSION.startswith("1."):
            self.assertIs(self.cog.BaseModel, pydantic.BaseModel)


if __name__ == "__main__":
    sys.exit(unittest.main())
