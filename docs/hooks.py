"""MkDocs hook: a tutorial page says ``{{ example: xor.py }}`` and gets that example's source, so
the examples (which the test suite runs) are the tutorials' one home."""

import pathlib
import re

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
PLACEHOLDER = re.compile(r"\{\{ example: ([\w.]+) \}\}")


def on_page_markdown(markdown: str, **kwargs) -> str:
    def include(match: re.Match) -> str:
        path = EXAMPLES / match.group(1)
        if not path.is_file():  # strict builds fail on a tutorial that names no example
            raise FileNotFoundError(f"docs: {match.group(0)} names no file in examples/")
        return f"```python\n{path.read_text()}```"

    return PLACEHOLDER.sub(include, markdown)
