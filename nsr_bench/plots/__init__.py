"""Paper figures from the results store alone (matplotlib, in the one style of :mod:`nsr_bench.plots.style`)."""

from __future__ import annotations

from nsr_bench.outputs import OutputFolder
from nsr_bench.plots.rendered import Rendered


def studies(url: str) -> list:
    """Every Optuna study stored in the results database (none if it has no Optuna tables)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage=url)]
    except Exception:  # a database Optuna never wrote to
        return []
    return [optuna.load_study(study_name=n, storage=url) for n in names]


def render_all(store, out: OutputFolder, spec=None) -> tuple[list[Rendered], list[str], dict]:
    """Render every figure the store has data for with figure spec ``spec`` (default: the shipped one):
    (the rendered figures, reasons for skipped figures and for cells the spec leaves out, regret slope
    intervals)."""
    from nsr_bench.plots import figures
    from nsr_bench.plots.data import load
    from nsr_bench.plots.spec import default_spec

    spec = spec or default_spec()
    res = load(store)
    written, skipped, slopes = [], [], {}
    if not res.cells.empty:
        _, _, left_out = figures.headline(res, spec)
        if left_out:
            skipped.append(f"headline figures: {len(left_out)} sweep trials left out, the optuna figures show "
                           f"them ({', '.join(left_out[:6])}{', ...' if len(left_out) > 6 else ''})")
    for fn in figures.FIGURES:
        try:
            result = fn(res, out, spec)
        except figures.NoData as exc:
            skipped.append(f"{fn.__name__}: {exc}")
            continue
        if isinstance(result, tuple):
            result, slopes = result
        written.append(result)
    for study in studies(store.url):
        for fn in figures.STUDY_FIGURES:
            try:
                written.append(fn(study, out))
            except figures.NoData as exc:
                skipped.append(f"{fn.__name__}: {exc}")
    return written, skipped, slopes
