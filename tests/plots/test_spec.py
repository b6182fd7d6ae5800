import pytest

from nsr_bench.config import SpecError
from nsr_bench.plots.spec import MAX_LINES, colour, display_name, load_spec


def write(tmp_path, body: str):
    path = tmp_path / "spec.yaml"
    path.write_text(body)
    return path


def test_the_shipped_spec_names_and_colours_labels():
    spec = load_spec()
    assert display_name("nsr") == "NSR (Bank + similarity)"
    assert display_name("nsr[cap=5]") == "NSR (Bank + similarity) [cap=5]"
    assert display_name('strategy="carry",bank=false') == "Carry (memoryless) [bank=False]"
    assert display_name("ewc_task") == "EWC (per task)"  # no entry: the spec's name for the strategy
    assert display_name("ewc_task[ewc_lambda=5]") == "EWC (per task) [ewc_lambda=5]"
    assert colour("nsr") == spec.strategies["nsr"].colour == colour('strategy="nsr",bank=true')
    assert colour("ewc_task") == colour("ewc_task") and colour("ewc_task").startswith("#")
    assert len(spec.strategies) <= MAX_LINES and spec.reference in spec.strategies


def test_every_shipped_strategy_prints_under_a_name_never_its_key():
    from nsr_bench import registry

    spec = load_spec()
    drawn = {name for _, name, _ in spec.selectors()}
    assert set(registry.strategies()) <= drawn | set(spec.names)


@pytest.mark.parametrize("body, message", [
    ("reference: nsr\nstrategies:\n  nsr: {name: X, colour: red}\nnames: {nsrr: Y}\n", "names.nsrr: unknown"),
    ("reference: nsr\nstrategies:\n  nsrr: {name: X, colour: red}\n", "unknown strategy 'nsrr'"),
    ("reference: nsr\nstrategies:\n  nsr: {name: X, colour: notacolour}\n", "is not a colour"),
    ("reference: carry\nstrategies:\n  nsr: {name: X, colour: red}\n", "reference 'carry' is not one of"),
    ("reference: nsr\nstrategies:\n" + "".join(f"  nsr[rank={r}]: {{name: R{r}, colour: red}}\n"
                                                for r in range(9)), "at most 8 lines"),
])
def test_bad_specs_say_what_to_fix(tmp_path, body, message):
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, body))
