"""Benchmarks: each module measures one thing and writes docs/benchmarks/<name>.md."""


def method_of(doc: str | None) -> str:
    """The method a benchmark's report opens with: its module docstring after the
    summary paragraph, up to the line that says how to run it ("Run:")."""
    return (doc or "").split("\n\n", 1)[1].split("Run:")[0].strip()
