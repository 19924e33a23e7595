"""The campaign summary (counts, coverage, refusals, failure classes) and the reproducer files."""
from __future__ import annotations

import glob
import os
import re

import numpy as np

from .coverage import groups
from .outcome import Outcome

COLUMN = 38


def summary_line(campaign) -> str:
    s = campaign.settings
    seed = f"seed {s.seed}" if not s.only else "chosen programs"
    return (f"fuzz: {len(campaign.outcomes)} programs, {seed}: {campaign.count('agreed')} agreed, "
            f"{campaign.count('refused')} refused, {campaign.count('failed')} failed")


def details_line(campaign) -> str:
    s = campaign.settings
    subsets = "".join(f" ({name} on every {k}th program)" for name, k in s.every.items() if k > 1)
    rough = sum(not o.smooth for o in campaign.outcomes)
    left = campaign.count("discarded")
    cuda = [o.on_cuda for o in campaign.outcomes if o.on_cuda]
    kernels = (f"; target='cuda' ran on {cuda.count('ran')} programs' kernels and refused {cuda.count('refused')}"
               if cuda else "")
    return (f"  backends {'+'.join(s.backends)}; APIs {', '.join(s.apis)}{subsets}; {campaign.discarded} generated "
            f"programs discarded by plain evaluation and regenerated{f', {left} given up' if left else ''}; "
            f"finite differences skipped on {rough} non-smooth programs{kernels}; {campaign.seconds:.0f} s")


def coverage_table(campaign) -> str:
    table = campaign.coverage()
    lines = ["coverage: programs containing each construct, total (agreed/refused/failed):"]
    for group, names in groups().items():
        cells = [f"{name} {sum(table[name].values())} ({table[name]['agreed']}/{table[name]['refused']}/"
                 f"{table[name]['failed']})" for name in names]
        lines.append(f"  {group}:")
        lines += ["    " + "".join(c.ljust(COLUMN) for c in cells[k:k + 3]).rstrip() for k in range(0, len(cells), 3)]
    return "\n".join(lines)


def refusal_table(campaign, limit: int = 20) -> str:
    counts = campaign.refusal_counts()
    lines = [f"refusals: {len(counts)} distinct messages (programs, message):"]
    lines += [f"  {n:5d}  {key}" for key, n in counts.most_common(limit)]
    return "\n".join(lines)


def failure_table(campaign, paths: dict | None = None) -> str:
    classes = campaign.failure_classes()
    lines = [f"failures: {len(classes)} distinct classes (programs, signature, example):"]
    for signature, outcomes in classes.items():
        where = (paths or {}).get(signature) or [f"python -m tests.fuzz --print {outcomes[0].program.seed}"]
        lines.append(f"  {len(outcomes):5d}  {signature}" + "".join(f"\n         {w}" for w in where))
    return "\n".join(lines)


def render(campaign, paths: dict | None = None) -> str:
    parts = [summary_line(campaign), details_line(campaign), "", coverage_table(campaign), "",
             refusal_table(campaign)]
    if campaign.failures:
        parts += ["", failure_table(campaign, paths)]
    return "\n".join(parts)


# ----- reproducers -------------------------------------------------------------------------------

def write_reproducers(campaign, shrunk: dict, directory: str) -> dict:
    """Files NNN-<signature>[-k].py per failure class: its shrunk examples, else its first program.

    Returns signature -> the paths written."""
    os.makedirs(directory, exist_ok=True)
    for old in glob.glob(os.path.join(directory, "[0-9][0-9][0-9]-*.py")):
        os.remove(old)
    paths = {}
    for k, (signature, outcomes) in enumerate(campaign.failure_classes().items(), 1):
        examples = shrunk.get(signature) or [outcomes[0]]
        seeds = [o.program.seed for o in outcomes]
        paths[signature] = []
        for j, example in enumerate(examples, 1):
            suffix = f"-{j}" if len(examples) > 1 else ""
            path = os.path.join(directory, f"{k:03d}-{_slug(signature)}{suffix}.py")
            with open(path, "w") as f:
                f.write(reproducer(example, signature, campaign, seeds, path))
            paths[signature].append(path)
    return paths


def reproducer(outcome: Outcome, signature: str, campaign, seeds: list, path: str) -> str:
    """A runnable file: the program, its inputs, and the failure in a header comment."""
    program = outcome.program
    finding = next((f for f in outcome.failures if f.signature == signature), outcome.primary)
    shrunk = f"shrunk from {program.lines_before_shrink} lines" if program.lines_before_shrink else "not shrunk"
    header = [f"srcgrad fuzz reproducer: {signature}", "",
              f"program seed {program.seed} ({shrunk}); {len(seeds)} programs in this class: {', '.join(seeds[:8])}"
              f"{' ...' if len(seeds) > 8 else ''}",
              f"wrt: {program.wrt!r}", f"failing check: {finding.describe()}",
              "", f"Run from the repository root: python {path}"]
    comment = "\n".join(("# " + line).rstrip() for block in header for line in block.splitlines())
    backends = tuple(b for b in campaign.settings.backends)
    return (f"{comment}\n{program.source.rstrip()}\n\n\nARGS = {_literal(program.args())}\nWRT = {program.wrt!r}\n"
            f"SEED = {program.seed!r}\n\n"
            "if __name__ == \"__main__\":\n    import os\n    import sys\n\n    sys.path.insert(0, os.getcwd())\n"
            "    from tests.fuzz.replay import replay\n\n"
            f"    replay(f, ARGS, WRT, SEED, backends={backends!r})\n")


def _literal(value) -> str:
    if isinstance(value, tuple):
        return "(" + "".join(_literal(v) + ", " for v in value).rstrip(" ") + ")"
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


def _slug(signature: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", signature.lower()).strip("-")[:60]
