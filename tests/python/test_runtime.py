"""cog._runtime without the C worker: input conversion, output checks and encoding, handle()."""
import io
import os
import pathlib
import signal
import sys
import tempfile
import textwrap
import unittest
from typing import Any, Dict, List, Optional, Union

import _util  # noqa: F401  (puts cog on sys.path)
from cog import BaseModel, File, Path, Secret, current_scope
from cog import _loader, _runtime


class OutputEncodingTest(unittest.TestCase):
    def test_numpy_values_are_converted(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy not installed")
        enc = _runtime.encode_output
        self.assertEqual(repr(enc(np.float64(1.5), np.float64)), "1.5")
        self.assertIs(type(enc(np.int64(3), int)), int)
        self.assertIs(type(enc(np.float32(0.5), float)), float)
        self.assertEqual(enc(np.arange(3), Any), [0, 1, 2])
        self.assertEqual(enc([{"i": np.int64(2)}], List[Dict[str, int]]), [{"i": 2}])
        self.assertEqual(enc({"a": {"b": "c"}}, Dict[str, Dict[str, str]]), {"a": {"b": "c"}})
        with self.assertRaises(_runtime.OutputTypeError):
            enc({"a": {"b": 1}}, Dict[str, Dict[str, str]])

    def test_pydantic_model_output(self):
        try:
            import pydantic
        except ImportError:
            self.skipTest("pydantic not installed")

        class Point(pydantic.BaseModel):
            x: int

        class Out(pydantic.BaseModel):
            """Doc."""
            p: Point
            tags: List[str] = []
            note: Optional[str] = None
        value = _runtime.encode_output(Out(p=Point(x=1)), Out)
        self.assertEqual(value, {"p": {"x": 1}, "tags": [], "note": None})

    def test_scalars_keep_their_kind(self):
        enc = _runtime.encode_output
        self.assertIs(enc(True, bool), True)
        self.assertEqual(repr(enc(3, float)), "3.0")
        self.assertEqual(enc(0, int), 0)
        self.assertEqual(enc("", str), "")
        self.assertEqual(enc([], List[int]), [])
        self.assertIsNone(enc(None, Optional[int]))

    def test_wrong_type_names_expected_and_actual(self):
        with self.assertRaisesRegex(_runtime.OutputTypeError,
                                    "^output has the wrong type: expected int, got str$"):
            _runtime.encode_output("foo", int)
        with self.assertRaisesRegex(_runtime.OutputTypeError, "expected str, got int"):
            _runtime.encode_output(["a", 1], List[str])
        with self.assertRaisesRegex(_runtime.OutputTypeError, "expected int, got NoneType"):
            _runtime.encode_output(None, int)

    def test_files(self):
        with tempfile.NamedTemporaryFile(suffix=".txt") as f:
            self.assertEqual(_runtime.encode_output(Path(f.name), Path), {"$cogfile": f.name})
            self.assertEqual(_runtime.encode_output(pathlib.Path(f.name), Path),
                             {"$cogfile": f.name})
            with open(f.name, "rb") as fh:
                self.assertEqual(_runtime.encode_output(fh, File), {"$cogfile": f.name})
        ref = _runtime.encode_output(io.BytesIO(b"abc"), File)
        with open(ref["$cogfile"], "rb") as fh:
            self.assertEqual(fh.read(), b"abc")

    def test_models_in_declaration_order(self):
        class Out(BaseModel):
            b: int
            a: Optional[str]
            files: List[Path]

        value = _runtime.encode_output(Out(b=1, files=[]), Out)
        self.assertEqual(list(value.items()), [("b", 1), ("a", None), ("files", [])])
        with self.assertRaises(ValueError):
            Out(a="x")

    def test_any_and_dict(self):
        value = _runtime.encode_output({"x": (1, 2), "p": Path("/tmp")}, Dict[str, Any])
        self.assertEqual(value, {"x": [1, 2], "p": {"$cogfile": "/tmp"}})
        self.assertEqual(_runtime.encode_output(Secret("s"), Any), "s")
        self.assertEqual(_runtime.encode_output(3, Union[str, int]), 3)


class InputConversionTest(unittest.TestCase):
    def test_types(self):
        opened = []
        conv = _runtime._convert_input
        self.assertIsInstance(conv("/tmp/x", Path, opened), Path)
        self.assertEqual([type(p) for p in conv(["/a", "/b"], List[Path], opened)], [Path, Path])
        s = conv("pw", Secret, opened)
        self.assertEqual((s.get_secret_value(), repr(s)), ("pw", "Secret('**********')"))
        self.assertEqual(repr(conv(2.0, float, opened)), "2.0")
        self.assertEqual(repr(conv(2, float, opened)), "2")  # a default as written
        self.assertIsNone(conv(None, Optional[Path], opened))
        with tempfile.NamedTemporaryFile() as f:
            fh = conv(f.name, File, opened)
            self.assertEqual(fh.mode, "rb")
            fh.close()


def load(source: str, ref: str = "predict.py:Predictor", emit=None, train=None):
    d = tempfile.mkdtemp(prefix="cf-rt-")
    with open(os.path.join(d, "predict.py"), "w") as f:
        f.write(textwrap.dedent(source))
    sys.modules.pop("predict", None)
    _loader._modules.clear()
    rt = _runtime.Runtime(emit)
    return rt, rt.start(d, ref, train)


class HandleTest(unittest.TestCase):
    def setUp(self):
        self.old = signal.getsignal(signal.SIGUSR1)

    def tearDown(self):
        signal.signal(signal.SIGUSR1, self.old)

    def test_generator_items_are_emitted(self):
        sent = []
        rt, ready = load("""
            from typing import Iterator
            from cog import BasePredictor, current_scope
            class Predictor(BasePredictor):
                def predict(self, n: int = 2) -> Iterator[int]:
                    current_scope().record_metric("m", 1.5)
                    yield from range(n)
            """, emit=sent.append)
        self.assertTrue(ready["ok"], ready)
        done = rt.handle({"type": "predict", "id": "x", "input": {"n": 3}})
        self.assertEqual(done, {"type": "done", "status": "succeeded", "output": None,
                                "error": None, "id": "x"})
        self.assertEqual([m for m in sent if m["type"] == "output"],
                         [{"type": "output", "item": i, "id": "x"} for i in range(3)])
        self.assertEqual(sent[0]["type"], "schema")  # sent before import and setup
        self.assertEqual(sent[0]["predict"], ready["predict"])
        self.assertEqual(sent[1], {"type": "metric", "name": "m", "value": 1.5, "id": "x"})

    def test_defaults_filled_when_absent(self):
        rt, ready = load("""
            from cog import BasePredictor, Input
            class Predictor(BasePredictor):
                def predict(self, a: int = Input(default=4), b: str = "z") -> str:
                    return f"{a}{b}"
            """)
        self.assertEqual(rt.handle({"type": "predict", "input": {}})["output"], "4z")

    def test_cancel_signal_raises_only_while_running(self):
        rt, ready = load("""
            import os, signal, time
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    os.kill(os.getpid(), signal.SIGUSR1)
                    time.sleep(5)
                    return "not canceled"
            """)
        os.kill(os.getpid(), signal.SIGUSR1)  # between predictions: ignored
        done = rt.handle({"type": "predict", "id": "c", "input": {}})
        self.assertEqual((done["status"], done["error"]), ("canceled", None))

    def test_swallowed_cancel_can_succeed(self):
        rt, _ = load("""
            import os, signal, time
            from cog import BasePredictor
            from cog.server.exceptions import CancelationException
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    try:
                        os.kill(os.getpid(), signal.SIGUSR1)
                        time.sleep(5)
                    except CancelationException:
                        pass
                    return "kept going"
            """)
        done = rt.handle({"type": "predict", "input": {}})
        self.assertEqual((done["status"], done["output"]), ("succeeded", "kept going"))

    def test_context_and_id_in_scope(self):
        rt, _ = load("""
            from cog import BasePredictor, current_scope
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    c = current_scope().context
                    return c["k"] + ":" + c["id"]
            """)
        done = rt.handle({"type": "predict", "id": "i9", "input": {}, "context": {"k": "v"}})
        self.assertEqual(done["output"], "v:i9")
        self.assertEqual(current_scope().context, {})

    def test_setup_weights_from_env(self):
        os.environ["COG_WEIGHTS"] = "data:text/plain;base64,aGk="
        try:
            rt, ready = load("""
                from cog import BasePredictor, Path
                class Predictor(BasePredictor):
                    def setup(self, weights: Path) -> None:
                        self.w = weights.read_text()
                    def predict(self) -> str:
                        return self.w
                """)
        finally:
            del os.environ["COG_WEIGHTS"]
        self.assertTrue(ready["ok"], ready)
        self.assertEqual(rt.handle({"type": "predict", "input": {}})["output"], "hi")

    def test_train_without_entry_fails(self):
        rt, _ = load("""
            def predict(x: int = 1) -> int:
                return x
            """, ref="predict.py:predict")
        done = rt.handle({"type": "predict", "mode": "train", "input": {}})
        self.assertEqual(done["status"], "failed")


if __name__ == "__main__":
    unittest.main()
