"""Adaptive KL coefficient (Ziegler et al.): hand-computed updates."""

import pytest

from tfllm.rl.kl_control import KLController


def test_adaptive_update_matches_formula():
    controller = KLController(0.2, target=6.0, horizon=100)
    # kl 9 -> error clip(9/6 - 1) = 0.2 (clipped from 0.5); 10 episodes -> *(1 + 0.02)
    assert float(controller.update(9.0, 10)) == pytest.approx(0.2 * 1.02)
    # kl 5.4 -> error -0.1 -> *(1 - 0.01)
    assert float(controller.update(5.4, 10)) == pytest.approx(0.2 * 1.02 * 0.99)


def test_fixed_coefficient_never_moves():
    controller = KLController(0.5)
    assert float(controller.update(100.0, 1000)) == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="target"):
        KLController(0.1, target=0.0)
