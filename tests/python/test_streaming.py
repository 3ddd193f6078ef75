"""@cog.streaming: the schema the worker reports marks the entry, so that /openapi.json says
x-cog-streaming (tests/projects/stream is marked, tests/projects/stream-async is not)."""
import os
import unittest

import _util
from cog import _runtime

PROJECTS = os.path.join(_util.ROOT, "tests", "projects")


class StreamingMarkTest(unittest.TestCase):
    def entry(self, project):
        return _runtime.Entry(os.path.join(PROJECTS, project), "predict.py:Predictor", "predict", {})

    def test_marked_entry_says_streaming(self):
        self.assertIs(self.entry("stream").schema.get("streaming"), True)

    def test_unmarked_entry_says_nothing(self):
        self.assertNotIn("streaming", self.entry("stream-async").schema)


if __name__ == "__main__":
    unittest.main()
