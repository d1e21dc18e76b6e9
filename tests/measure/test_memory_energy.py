"""Peak memory and energy probes."""

import pytest
import torch

from lahan.measure.energy import track_energy
from lahan.measure.memory import peak_memory


def test_peak_memory_sees_a_large_allocation():
    with peak_memory() as memory:
        block = torch.ones(50_000_000, dtype=torch.float32)  # 200 MB, touched
        block += 1
        del block
    assert memory["peak_bytes"] - memory["baseline_bytes"] >= 150e6


def test_energy_is_positive_and_names_its_method():
    with track_energy("IND") as energy:
        x = torch.randn(512, 512)
        for _ in range(200):
            x = torch.tanh(x @ x)
    assert energy["kwh"] > 0 and energy["kg_co2"] > 0 and energy["seconds"] > 0
    assert energy["power_method"].startswith("CPU:") and energy["country"] == "IND"
    # India's grid: between 0.2 and 1.5 kg CO2 per kWh
    assert 0.2 <= energy["kg_co2"] / energy["kwh"] <= 1.5


def test_energy_tracker_stops_on_error():
    with pytest.raises(RuntimeError), track_energy() as energy:
        raise RuntimeError("boom")
    assert "kwh" in energy
