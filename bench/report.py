"""Turns collected measurements into tables (console and markdown), results.json and a bar chart."""

import json
import math
import os

from measure import relative_difference

# (entry key in a workload's results, column title, entry of the numba primal it is compared with)
# srcgrad is timed in alternating rounds with its own numba primal and hand adjoint (primal_ref, hand_ref).
RATIO_COLUMNS = [
    ("hand", "hand adjoint (numba)", "primal"),
    ("srcgrad_grad", "srcgrad grad", "primal_ref"),
    ("srcgrad_vg", "srcgrad value_and_grad", "primal_ref"),
    ("jax_grad", "jax.jit(grad), lax loop", "primal"),
    ("autograd_grad", "autograd, at size/100 (own-size ratio)", "primal_small"),
]
# Gradient fingerprints are compared with the hand adjoint at the same size.
REFERENCE_FOR = {"primal": None, "primal_small": None, "hand": None, "hand_small": None,
                 "jax_primal": None, "primal_ref": None, "hand_ref": None,
                 "srcgrad_grad": "hand_ref", "srcgrad_vg": "hand_ref",
                 "jax_grad": "hand", "autograd_grad": "hand_small"}
DETAIL_LABELS = {"primal": "numba primal", "hand": "hand adjoint",
                 "primal_ref": "numba primal, beside srcgrad", "hand_ref": "hand adjoint, beside srcgrad",
                 "srcgrad_grad": "srcgrad grad", "srcgrad_vg": "srcgrad value_and_grad", "jax_grad": "jax.jit(grad)",
                 "jax_primal": "jax.jit(primal)", "primal_small": "numba primal (small)",
                 "hand_small": "hand adjoint (small)", "autograd_grad": "autograd grad (small)"}
BASELINE_FOR = {"primal_small": "primal_small", "hand_small": "primal_small", "autograd_grad": "primal_small",
                "primal_ref": "primal_ref", "hand_ref": "primal_ref", "srcgrad_grad": "primal_ref",
                "srcgrad_vg": "primal_ref"}
SRCGRAD_TARGET_VS_HAND = 1.3


# ---- numbers --------------------------------------------------------------

def ratio(entries, key, baseline_key):
    entry, baseline = entries.get(key, {}), entries.get(baseline_key, {})
    if "median_s" not in entry or "median_s" not in baseline:
        return None
    return entry["median_s"] / baseline["median_s"]


def gradient_difference(entries, key):
    reference = REFERENCE_FOR.get(key)
    entry, base = entries.get(key, {}), entries.get(reference or "", {})
    if reference is None or "fingerprint" not in entry or "fingerprint" not in base:
        return None
    return relative_difference(entry["fingerprint"], base["fingerprint"])


def summary_rows(workloads, results):
    """One dict per workload with primal time and every ratio (None where not measured)."""
    rows = []
    for workload in workloads:
        entries = results[workload.name]
        row = {"workload": workload.name, "label": workload.label,
               "size": f"{workload.size_symbol}={entries.get('primal', {}).get('size', '?')}",
               "primal_s": entries.get("primal", {}).get("median_s"),
               "autograd_size": entries.get("autograd_grad", {}).get("size")}
        for key, _, baseline in RATIO_COLUMNS:
            row[key] = ratio(entries, key, baseline)
        row["srcgrad_vs_hand"] = ratio(entries, "srcgrad_grad", "hand_ref")
        rows.append(row)
    return rows


# ---- cell formatting --------------------------------------------------------

def format_seconds(seconds):
    if seconds is None:
        return "—"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def format_ratio(value):
    return "—" if value is None else f"{value:.3g}×"


def error_text(entry, width=48):
    message = entry.get("error", "not measured")
    return message if len(message) <= width else message[:width - 1] + "…"


def ratio_cell(entries, key, value):
    if value is not None:
        return format_ratio(value)
    return error_text(entries.get(key, {}))


def summary_table(workloads, results):
    header = ["workload", "size", "numba primal (=1)"] + [title for _, title, _ in RATIO_COLUMNS] \
        + [f"srcgrad / hand (target ≤ {SRCGRAD_TARGET_VS_HAND}×)"]
    body = []
    for workload, row in zip(workloads, summary_rows(workloads, results)):
        entries = results[workload.name]
        cells = [workload.label, row["size"], format_seconds(row["primal_s"])]
        for key, _, _ in RATIO_COLUMNS:
            cell = ratio_cell(entries, key, row[key])
            if key == "autograd_grad" and row[key] is not None:
                cell += f" @{workload.size_symbol}={row['autograd_size']}"
            cells.append(cell)
        cells.append(ratio_cell(entries, "srcgrad_grad", row["srcgrad_vs_hand"]))
        body.append(cells)
    return header, body


def detail_table(workloads, results):
    header = ["workload", "tool", "size", "median", "ratio to numba primal, same size",
              "first call (compile + 1 run)", "gradient rel. diff vs hand", "CPU/wall"]
    body = []
    for workload in workloads:
        entries = results[workload.name]
        for key, label in DETAIL_LABELS.items():
            if key not in entries:
                continue
            entry = entries[key]
            baseline = BASELINE_FOR.get(key, "primal")
            difference = gradient_difference(entries, key)
            body.append([workload.name, label, str(entry.get("size", "—")),
                         format_seconds(entry.get("median_s")) if "median_s" in entry else error_text(entry),
                         format_ratio(ratio(entries, key, baseline)),
                         format_seconds(entry.get("first_call_s")),
                         "—" if difference is None else f"{difference:.1e}",
                         f"{entry['cpu_per_wall']:.2f}" if "cpu_per_wall" in entry else "—"])
    return header, body


def memory_table(memory, tape_mb):
    header = ["tool (one call on (b) Lorenz)", "T", "peak RSS delta (MB)"]
    body = []
    for tool, entry in memory.items():
        value = entry.get("peak_rss_delta_mb")
        body.append([tool, str(entry.get("size", "—")), f"{value:.1f}" if value is not None else error_text(entry)])
    body.append(["reference: one (T, 3) float64 tape", "", f"{tape_mb:.1f}"])
    return header, body


def first_call_table(workloads, first_calls, results):
    header = ["workload", "srcgrad cold cache (grad + 1st call)", "srcgrad warm cache (fresh process)",
              "njit primal 1st call", "hand adjoint 1st call", "jax.jit(grad) 1st call"]
    body = []
    for workload in workloads:
        cold, warm = first_calls[workload.name]["cold"], first_calls[workload.name]["warm"]
        entries = results[workload.name]
        body.append([workload.name, first_call_cell(cold), first_call_cell(warm)]
                    + [format_seconds(entries.get(key, {}).get("first_call_s"))
                       for key in ("primal", "hand", "jax_grad")])
    return header, body


def first_call_cell(entry):
    if "total_s" not in entry:
        return error_text(entry)
    return f"{format_seconds(entry['total_s'])} (import {format_seconds(entry['import_s'])})"


# ---- rendering ----------------------------------------------------------------

def render_plain(header, body):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in body]
    return "\n".join(lines)


def render_markdown(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in body]
    return "\n".join(lines)


def markdown_report(meta, sections, notes):
    lines = ["# srcgrad benchmark results", "",
             f"- date: {meta['date']}",
             f"- machine: {meta['platform']}; CPU: {meta['cpu_model']}; nproc: {meta['nproc']}",
             f"- versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
             f"- mode: {'quick (small sizes, smoke test)' if meta['quick'] else 'full'}",
             f"- other processes' CPU use during the run: {meta['cores_used_by_other_processes']:.2f} cores "
             f"(1-min load average before: {meta['loadavg_1min_before']:.2f})",
             f"- rerun: `{meta['command']}`", ""]
    for title, (header, body) in sections:
        lines += [f"## {title}", "", render_markdown(header, body), ""]
    lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines)


def write_json(path, meta, workloads, results, memory, first_calls):
    payload = {"meta": meta, "summary": summary_rows(workloads, results), "measurements": results,
               "memory_lorenz": memory, "first_call_srcgrad": first_calls}
    with open(path, "w") as out:
        json.dump(payload, out, indent=2, default=_json_default)


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"cannot serialise {type(value)}")


def plot_ratios(path, workloads, results, meta):
    """Grouped bars of ratios to the numba primal on a log axis; missing measurements are labelled n/a."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(workloads, results)
    series = [(key, title) for key, title, _ in RATIO_COLUMNS]
    colours = ["tab:blue", "tab:red", "tab:pink", "tab:orange", "tab:green"]
    bar_width = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(13, 5.5))
    for index, ((key, title), colour) in enumerate(zip(series, colours)):
        positions = [w + (index - (len(series) - 1) / 2) * bar_width for w in range(len(rows))]
        values = [row[key] for row in rows]
        present = [(p, v) for p, v in zip(positions, values) if v is not None]
        hatch = "//" if key == "autograd_grad" else None
        label = title if present else title + " (n/a)"
        bars = axes.bar([p for p, _ in present], [v for _, v in present], bar_width,
                        label=label, hatch=hatch, color=colour)
        axes.bar_label(bars, labels=[f"{v:.3g}" for _, v in present], fontsize=7, rotation=90, padding=2)
        for position, value in zip(positions, values):
            if value is None:
                axes.text(position, 1.05, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    axes.axhline(1.0, color="black", linewidth=1, linestyle="--", label="numba primal (= 1)")
    axes.set_yscale("log")
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels([f"{w.label}\n{row['size']}" for w, row in zip(workloads, rows)], fontsize=8)
    axes.set_ylabel("time / numba primal time, same size (log scale)")
    axes.set_title(f"Gradient cost relative to the numba primal — {meta['date']}, {meta['cpu_model']}, "
                   f"{meta['nproc']} cores{' (quick)' if meta['quick'] else ''}", fontsize=9)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    measured = [v for row in rows for v in (row[k] for k, _ in series) if v is not None]
    axes.set_ylim(min(measured + [0.5]) / 2, max(measured + [10.0]) * 8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def full_errors(results, memory, first_calls):
    """Distinct untruncated error messages, for the notes under the tables."""
    entries = [e for per_workload in results.values() for e in per_workload.values()]
    entries += list(memory.values()) + [e for phases in first_calls.values() for e in phases.values()]
    return sorted({entry["error"] for entry in entries if isinstance(entry, dict) and "error" in entry})


BUSY_OTHER_CORES = 0.2
SINGLE_THREADED_KEYS = ("primal", "hand", "primal_small", "hand_small", "primal_ref", "hand_ref",
                        "srcgrad_grad", "srcgrad_vg")


def contention_warning(results, meta):
    """A sentence when single-threaded numba timings got less than 90% of a core, or the machine was busy."""
    starved = sorted(f"{workload}/{key} ({entry['cpu_per_wall']:.2f})"
                     for workload, entries in results.items() for key, entry in entries.items()
                     if key in SINGLE_THREADED_KEYS and entry.get("cpu_per_wall", 1.0) < 0.9)
    parts = []
    if starved:
        parts.append("single-threaded timings got less than 90% of a core (CPU time / wall time): "
                     + ", ".join(starved))
    if meta["cores_used_by_other_processes"] > BUSY_OTHER_CORES:
        parts.append(f"other processes kept {meta['cores_used_by_other_processes']:.2f} cores busy on average "
                     f"during the run (1-min load average before it: {meta['loadavg_1min_before']:.2f})")
    if not parts:
        return ""
    return ("another process was competing for the CPU (on 2 vCPUs that may share a physical core, "
            "this slows single-threaded code too); " + "; ".join(parts) + ". Rerun on an idle machine.")


def output_paths(out_dir):
    return {name: os.path.join(out_dir, name) for name in ("results.json", "results.md", "bench.png")}
