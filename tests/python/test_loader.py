"""The fast loader (schema from declarations alone), load errors with file and line, and the
load-time rules Cog applies (async setup needs async predict, setup(weights) without weights)."""
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

import _util  # noqa: F401  (puts cog on sys.path)
from cog import _fastload, _loader, _runtime


def project(source):
    d = tempfile.mkdtemp(prefix="cf-load-")
    with open(os.path.join(d, "predict.py"), "w") as f:
        f.write(textwrap.dedent(source))
    return d


class FastLoaderTest(unittest.TestCase):
    def tearDown(self):
        sys.modules.pop("predict", None)
        _loader._modules.clear()

    def test_module_side_effects_do_not_run(self):
        d = project("""
            import subprocess
            from typing import Literal
            from cog import BasePredictor, Input, Path
            subprocess.run(["cog-fcgi-no-such-program"], check=True)
            import cog_fcgi_no_such_package
            SIZES = [1, 2]

            class Predictor(BasePredictor):
                def setup(self):
                    raise RuntimeError("setup ran")

                def predict(self, size: int = Input(default=1, choices=SIZES),
                            mode: Literal["a", "b"] = "a", image: Path | None = None) -> str:
                    return cog_fcgi_no_such_package.run()
            """)
        try:
            schema, fast = _loader.schema_of(d, "predict.py:Predictor", "predict")
            self.assertTrue(fast)
            props = schema["input"]["properties"]
            self.assertEqual(props["mode"]["enum"], ["a", "b"])
            self.assertEqual(props["image"]["nullable"], True)
            self.assertEqual(schema["components"]["size"]["enum"], [1, 2])
            self.assertEqual(schema["kinds"], {"mode": "literal", "image": "path"})
        finally:
            shutil.rmtree(d)

    def test_stripped_source_keeps_lines_and_needed_names(self):
        src = textwrap.dedent("""\
            import torch
            from cog import BasePredictor, BaseModel
            LIMIT = 3
            UNUSED = torch.zeros(1)

            class Out(BaseModel):
                n: int

            class Predictor(BasePredictor):
                def predict(self, n: int = LIMIT) -> Out:
                    return torch.x
            """)
        tree = _fastload.strip(src, "p.py", "Predictor")
        names = [getattr(n, "name", None) or type(n).__name__ for n in tree.body]
        self.assertEqual(names, ["ImportFrom", "Assign", "Out", "Predictor"])
        module = _fastload.load(src, "p.py", "Predictor", "_cf_test_fast")
        self.assertEqual(module.Predictor.predict.__code__.co_firstlineno, 10)
        self.assertEqual(module.Predictor.predict.__code__.co_filename, "p.py")

    def test_fallback_to_full_import(self):
        d = project("""
            from cog import BasePredictor
            import json as j

            class Predictor(BasePredictor):
                def predict(self, s: str = j.dumps(1)) -> str:
                    return s
            """)
        try:
            schema, fast = _loader.schema_of(d, "predict.py:Predictor", "predict")
            self.assertFalse(fast)  # j is not a kept import: the full import decides
            self.assertEqual(schema["input"]["properties"]["s"]["default"], "1")
        finally:
            shutil.rmtree(d)

    def test_errors_name_file_and_line(self):
        cases = [
            ("from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
             "    def predict(self, x) -> str:\n        return x\n",
             "predict.py, line 4: No input type provided for parameter `x`", None),
            ("x = 1\nraise ValueError('nope')\n", "nope", "predict.py, line 2"),
            ("def predict(:\n", "invalid syntax", "predict.py, line 1"),
            ("class Other:\n    pass\n", "predict.py, line 1: Can't find Predictor", None),
        ]
        for source, want, where in cases:
            with self.subTest(want=want):
                d = project(source)
                try:
                    with self.assertRaises(_loader.LoadError) as cm:
                        _loader.schema_of(d, "predict.py:Predictor", "predict")
                    self.assertTrue(str(cm.exception).startswith(want), str(cm.exception))
                    self.assertEqual(cm.exception.where, where)
                finally:
                    shutil.rmtree(d)
                    _loader._modules.clear()
                    sys.modules.pop("predict", None)


class LoadRulesTest(unittest.TestCase):
    def tearDown(self):
        sys.modules.pop("predict", None)
        _loader._modules.clear()

    def start(self, source, env=None):
        d = project(source)
        self.addCleanup(shutil.rmtree, d)
        sent = []
        rt = _runtime.Runtime(sent.append)
        cwd = os.getcwd()
        os.chdir(d)
        try:
            return rt, rt.start(d, "predict.py:Predictor", None), sent
        finally:
            os.chdir(cwd)

    def test_async_setup_with_sync_predict_is_refused_at_load(self):
        _, ready, sent = self.start("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def setup(self):
                    pass
                def predict(self) -> str:
                    return "x"
            """)
        self.assertFalse(ready["ok"])
        self.assertIn("Invalid predictor: to use an async setup method you must use an async "
                      "predict method", ready["error"])
        self.assertIn("predict.py, line 4", ready["error"])
        self.assertEqual(sent[0]["type"], "schema")  # the schema was known before
        self.assertIsNotNone(ready["predict"])

    def test_setup_weights_without_weights_gets_none(self):
        os.environ.pop("COG_WEIGHTS", None)
        rt, ready, _ = self.start("""
            from cog import BasePredictor, File
            class Predictor(BasePredictor):
                def setup(self, weights: File):
                    self.got = repr(weights)
                def predict(self) -> str:
                    return self.got
            """)
        self.assertTrue(ready["ok"], ready)
        done = rt.handle({"type": "predict", "id": "w", "input": {}})
        self.assertEqual(done["output"], "None")

    def test_empty_exception_message_is_empty(self):
        rt, ready, _ = self.start("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    raise ValueError()
            """)
        done = rt.handle({"type": "predict", "id": "e", "input": {}})
        self.assertEqual((done["status"], done["error"]), ("failed", ""))


if __name__ == "__main__":
    sys.exit(unittest.main())
