"""Stored samples are priced at their storage dtype: uint8 codes where the round trip is exact."""

import pytest
import torch

from nsr_bench.plugins.storage import LABEL_BYTES, InputStorage, input_storage, scenario_storage


def uint8_images(n: int = 37, shape: tuple[int, ...] = (3, 5, 7), seed: int = 0) -> torch.Tensor:
    """Images as the loaders make them: uint8 pixels divided by 255 in float32."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).float() / 255


def test_uint8_images_cost_one_byte_per_pixel_and_come_back_bit_for_bit():
    x = uint8_images()
    storage = input_storage([x], 255)
    assert storage == InputStorage(255, torch.uint8)
    stored = storage.encode(x)
    assert stored.dtype == torch.uint8 and stored.numel() * stored.element_size() == x.numel()
    assert storage.sample_bytes(x) == 3 * 5 * 7 + LABEL_BYTES
    assert torch.equal(storage.decode(stored), x)


def test_inputs_that_are_not_exact_codes_are_priced_as_held():
    resized = torch.nn.functional.interpolate(uint8_images(), size=(4, 9), mode="bilinear", antialias=True)
    for inputs, levels in (([uint8_images(), resized], 255), ([uint8_images()], 16), ([uint8_images()], None)):
        storage = input_storage(inputs, levels)
        assert storage == InputStorage(None, torch.float32)
        assert storage.sample_bytes(inputs[0]) == 3 * 5 * 7 * 4 + LABEL_BYTES
    with pytest.raises(ValueError, match="fit uint8"):
        input_storage([uint8_images()], 256)


def test_digits_grey_levels_are_stored_exactly_as_uint8(tiny_scenario):
    storage = scenario_storage(tiny_scenario)
    assert storage == InputStorage(16, torch.uint8)
    for x, _ in tiny_scenario.train_data:
        assert torch.equal(storage.decode(storage.encode(x)), x)
    assert storage.sample_bytes(tiny_scenario.tasks[0].x_train) == 8 * 8 + LABEL_BYTES
