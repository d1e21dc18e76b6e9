"""Distillation losses against their definitions."""

import pytest
import torch
import torch.nn.functional as F

from lahan.config import DistillConfig
from lahan.distill import attention_map_loss, hidden_state_loss, kd_loss, soft_target_loss
from lahan.errors import LahanError


def _logits(seed, b=8, c=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, generator=g) * 3


def test_kd_equals_cross_entropy_when_alpha_is_one():
    s, t = _logits(0), _logits(1)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    assert torch.equal(kd_loss(s, t, labels, 2.0, 1.0), F.cross_entropy(s, labels))


def test_soft_term_is_zero_when_student_equals_teacher():
    s = _logits(0)
    for t in (0.5, 1.0, 2.0, 8.0):
        assert soft_target_loss(s, s.clone(), t).abs().item() < 1e-6
    # ... and positive otherwise.
    assert soft_target_loss(s, _logits(1), 2.0).item() > 0.01


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_soft_term_is_t_squared_times_kl(temperature):
    s, t = _logits(2), _logits(3)
    p_t = torch.softmax(t / temperature, -1)
    log_p_s = torch.log_softmax(s / temperature, -1)
    kl = (p_t * (p_t.log() - log_p_s)).sum(-1).mean()  # KL(teacher || student), batch mean
    expected = temperature**2 * kl
    assert soft_target_loss(s, t, temperature).item() == pytest.approx(expected.item(), rel=1e-5)


def test_t_squared_keeps_gradients_on_the_same_scale():
    # Without T^2 the soft gradients shrink like 1/T^2 (Hinton et al.); with it they
    # approach (student - teacher) / (classes * batch) for large T, independent of T.
    s, t = _logits(4) / 3, _logits(5) / 3
    grads = []
    for temperature in (20.0, 40.0):
        x = s.clone().requires_grad_(True)
        soft_target_loss(x, t, temperature).backward()
        grads.append(x.grad.norm().item())
    assert grads[0] == pytest.approx(grads[1], rel=0.02)
    centred = (s - s.mean(-1, keepdim=True)) - (t - t.mean(-1, keepdim=True))
    limit = (centred / (s.shape[1] * s.shape[0])).norm().item()
    assert grads[1] == pytest.approx(limit, rel=0.02)


def test_mix_weights():
    s, t = _logits(6), _logits(7)
    labels = torch.zeros(8, dtype=torch.long)
    ce, soft = F.cross_entropy(s, labels), soft_target_loss(s, t, 2.0)
    assert kd_loss(s, t, labels, 2.0, 0.1).item() == pytest.approx((0.1 * ce + 0.9 * soft).item())
    assert kd_loss(s, t, labels, 2.0, 0.0).item() == pytest.approx(soft.item())


def test_hidden_and_attention_losses_ignore_padding():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    a = torch.randn(2, 3, 4)
    b = a.clone()
    b[0, 2] += 100  # padded positions differ wildly: no effect
    b[1, 1:] -= 50
    assert hidden_state_loss(a, b, mask).item() == 0.0
    b[0, 0, 0] += 2.0  # one real value off by 2: 4 / (3 real tokens * 4 dims)
    assert hidden_state_loss(a, b, mask).item() == pytest.approx(4 / 12)

    p = torch.softmax(torch.randn(2, 2, 3, 3), -1) * mask[:, None, None, :]
    p = p / p.sum(-1, keepdim=True)
    q = p.clone()
    q[0, :, 2] = torch.tensor([0.0, 1.0, 0.0])  # a padded query row: ignored
    assert attention_map_loss(q, p, mask).item() == pytest.approx(0.0, abs=1e-6)
    q[0, 0, 0] = torch.tensor([0.5, 0.5, 0.0])
    assert attention_map_loss(q, p, mask).item() > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, "DistillConfig.temperature must"),
        ({"temperature": -1}, "DistillConfig.temperature must"),
        ({"alpha": 1.5}, "DistillConfig.alpha must"),
        ({"alpha": -0.1}, "DistillConfig.alpha must"),
        ({"hidden_weight": -1}, "DistillConfig.hidden_weight must"),
        ({"attention_weight": -1}, "DistillConfig.attention_weight must"),
    ],
)
def test_invalid_settings_are_clear_errors(kwargs, message):
    with pytest.raises(LahanError, match=message):
        DistillConfig(**kwargs)
