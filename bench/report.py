"""Where the benchmarks put their figures: bench/results.json (an object of
name -> {"value", "unit"}, merged key by key) and docs/performance.md
(each benchmark's section between its own markers)."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results.json")
DOC = os.path.join(ROOT, "docs", "performance.md")


def merge_results(figures):
    """Add or replace ``figures`` in bench/results.json, keeping the other keys."""
    data = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            data = json.load(f)
    data.update(figures)
    with open(RESULTS, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def write_block(name, heading, body):
    """Put ``body`` between the ``name`` markers of docs/performance.md; a
    new section under ``heading`` at the end the first time."""
    begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    text = open(DOC).read() if os.path.exists(DOC) else "# Performance\n"
    block = "%s\n%s\n%s" % (begin, body, end)
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n## %s\n\n%s\n" % (heading, block)
    with open(DOC, "w") as f:
        f.write(text)
