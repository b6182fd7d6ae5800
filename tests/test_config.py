import pytest

from nsr_bench.config import SpecError, TrainSpec, parse_selector, validate


def test_selector_parses_typed_overrides():
    assert parse_selector("nsr") == ("nsr", {})
    name, over = parse_selector("nsr[rank=8, cap=20,energy=0.9,store_dtype=fp16,targets=[a.b, c]]")
    assert name == "nsr"
    assert over == {"rank": 8, "cap": 20, "energy": 0.9, "store_dtype": "fp16", "targets": ["a.b", "c"]}


@pytest.mark.parametrize("text", ["nsr[rank]", "nsr[=3]", "n s r", "nsr[rank=1"])
def test_bad_selectors_are_rejected(text):
    with pytest.raises(SpecError):
        parse_selector(text)


def test_validation_names_the_key_and_the_allowed_keys():
    with pytest.raises(SpecError, match="epocs: unknown key; allowed keys"):
        validate(TrainSpec, {"epocs": 3}, "scenario x")
    with pytest.raises(SpecError, match="epochs: Input should be greater than or equal to 1"):
        validate(TrainSpec, {"epochs": 0}, "scenario x")


def test_format_selector_is_the_inverse_of_parse_selector():
    from nsr_bench.config import format_selector

    overrides = {"rank": 8, "rule": "fresh", "targets": ["a.b", "c"], "bank": False}
    assert parse_selector(format_selector("nsr", overrides)) == ("nsr", overrides)
    assert format_selector("nsr", {}) == "nsr"
