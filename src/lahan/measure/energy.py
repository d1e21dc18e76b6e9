"""Energy and CO2 of a block of code, through CodeCarbon's offline tracker."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from lahan.config import DEFAULT_COUNTRY


@contextmanager
def track_energy(country: str = DEFAULT_COUNTRY):
    """Yields a dict filled on exit: ``kwh``, ``kg_co2``, ``seconds``, ``power_method``.

    ``power_method`` says how CodeCarbon got the CPU's power: RAPL counters when the
    kernel exposes them, otherwise an estimate (CPU load x the model's TDP, or a
    constant); GPUs through NVML. Figures for runs of a few seconds are coarse.
    """
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    from codecarbon import OfflineEmissionsTracker

    result: dict = {"country": country}
    tracker = OfflineEmissionsTracker(
        country_iso_code=country, output_methods=[], log_level="error", measure_power_secs=1
    )
    tracker.start()
    try:
        yield result
    finally:
        kg = tracker.stop()
        data = tracker.final_emissions_data
        modes = {type(h).__name__: getattr(h, "_mode", None) for h in tracker._hardware}
        result.update(
            kwh=float(data.energy_consumed),
            kg_co2=float(kg or 0.0),
            seconds=float(data.duration),
            power_method=_describe(modes),
        )


def _describe(modes: dict) -> str:
    cpu = modes.get("CPU")
    if cpu == "intel_rapl":
        how = "CPU: RAPL counters"
    elif cpu in (None, "constant"):
        how = "CPU: constant-power estimate"
    else:
        how = f"CPU: estimate ({cpu}: load x TDP)"
    if "GPU" in modes:
        how += "; GPU: NVML"
    return how
