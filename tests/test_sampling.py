import numpy as np
import pytest
import torch

from a3agent.model.sampling import SamplingParams, apply_mask, make_generator, sample

LOGITS = torch.tensor([0.5, 3.0, 1.0, 2.0, -1.0])


def draws(params: SamplingParams, n: int = 50, logits: torch.Tensor = LOGITS) -> list[int]:
    generator = make_generator(params, logits.device)
    return [sample(logits, params, generator) for _ in range(n)]


def test_greedy_picks_the_argmax():
    assert sample(LOGITS, SamplingParams()) == 1


def test_greedy_picks_the_best_allowed_token():
    mask = np.array([True, False, True, False, True])
    assert sample(LOGITS, SamplingParams(), mask=mask) == 2


def test_columns_past_a_narrower_mask_are_disallowed():
    masked = apply_mask(torch.tensor([0.0, 0.0, 9.0, 9.0]), np.array([True, True]))
    assert masked.tolist() == [0.0, 0.0, float("-inf"), float("-inf")]
    assert sample(torch.tensor([0.0, 1.0, 9.0]), SamplingParams(temperature=1.0, seed=0), mask=np.array([True])) == 0


def test_same_seed_gives_the_same_draws_and_another_seed_differs():
    params = SamplingParams(temperature=1.5, seed=7)
    assert draws(params) == draws(params)
    assert draws(params) != draws(SamplingParams(temperature=1.5, seed=8))


def test_top_k_one_and_a_tiny_top_p_are_greedy():
    assert set(draws(SamplingParams(temperature=2.0, top_k=1, seed=0))) == {1}
    assert set(draws(SamplingParams(temperature=2.0, top_p=0.01, seed=0))) == {1}


def test_top_k_keeps_only_the_k_best():
    assert set(draws(SamplingParams(temperature=5.0, top_k=2, seed=0), n=200)) == {1, 3}


def test_top_p_keeps_the_smallest_set_reaching_p():
    # softmax(LOGITS) ~ [.06, .63, .10, .23, .01]: 0.63 < 0.8 <= 0.63 + 0.23
    assert set(draws(SamplingParams(temperature=1.0, top_p=0.8, seed=0), n=300)) == {1, 3}


def test_sampling_never_picks_a_masked_token():
    mask = np.array([True, False, True, False, True])
    generator = make_generator(SamplingParams(temperature=3.0, seed=1), LOGITS.device)
    picks = {sample(LOGITS, SamplingParams(temperature=3.0), generator, mask) for _ in range(200)}
    assert picks <= {0, 2, 4}


@pytest.mark.parametrize("bad", [dict(temperature=-1), dict(top_k=-1), dict(top_p=0.0), dict(top_p=1.5)])
def test_invalid_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SamplingParams(**bad)
