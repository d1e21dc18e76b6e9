"""The pruning-method registry: every method PruneConfig accepts is run by exactly one
entry of lahan.prune.methods, one-shot where the config says so."""

import pytest

from lahan.config import METHOD_FIELDS, METHODS, ONE_SHOT_METHODS, PruneConfig
from lahan.prune.methods import PRUNING_METHODS, pruning_method


def test_every_method_the_config_accepts_is_registered_and_no_other():
    assert set(PRUNING_METHODS) == set(METHODS)
    assert {name for name, m in PRUNING_METHODS.items() if m.one_shot} == set(ONE_SHOT_METHODS)
    # the fields only some methods read name methods that exist
    assert {m for methods in METHOD_FIELDS.values() for m in methods} <= set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_the_config_and_the_registry_agree_on_one_shot(method):
    config = PruneConfig(method=method)
    assert pruning_method(config).one_shot == config.one_shot


def test_a_one_shot_method_refuses_to_start_without_its_inputs():
    """taylor scores units on training batches: started like a plug-in, it says so
    instead of scoring nothing."""
    from lahan.config import ModelConfig
    from lahan.models import build_preset

    model, _ = build_preset(
        ModelConfig("preset:tiny", vocab_size=200), ["a", "b"], ["x y z", "y z"]
    )
    with pytest.raises(ValueError, match="pass Inputs"):
        PRUNING_METHODS["taylor"].start(model, PruneConfig(method="taylor"), None)
