import pytest
import torch

from distillery_trainer import losses
from distillery_trainer.errors import InvalidInputError

torch.manual_seed(0)
B, S, HS, HT = 2, 6, 8, 12
MASK = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])


def _scores(heads: int) -> torch.Tensor:
    scores = torch.randn(B, heads, S, S)
    return scores + (1 - MASK[:, None, None, :].float()) * -10000.0


def _scramble_padding(x: torch.Tensor, token_dims: tuple) -> torch.Tensor:
    """A copy of x with arbitrary values wherever a padded position indexes one of token_dims."""
    y = x.clone()
    noise = torch.randn_like(x) * 50
    pad = MASK == 0
    for dim in token_dims:
        shape = [1] * x.dim()
        shape[0], shape[dim] = B, S
        y = torch.where(pad.reshape(shape).expand_as(x), noise, y)
    return y


def test_layer_mapping_is_uniform():
    assert losses.layer_mapping(4, 12) == [3, 6, 9, 12]
    assert losses.layer_mapping(2, 2) == [1, 2]
    assert losses.layer_mapping(3, 4) == [1, 2, 4]
    with pytest.raises(InvalidInputError):
        losses.layer_mapping(6, 4)


def test_head_grouping_averages_consecutive_heads():
    t = torch.arange(B * 4 * S * S, dtype=torch.float32).reshape(B, 4, S, S)
    g = losses.group_heads(t, 2)
    assert g.shape == (B, 2, S, S)
    assert torch.allclose(g[:, 0], (t[:, 0] + t[:, 1]) / 2)
    assert torch.allclose(g[:, 1], (t[:, 2] + t[:, 3]) / 2)
    assert losses.group_heads(t, 4) is t
    with pytest.raises(InvalidInputError, match="multiple"):
        losses.check_head_grouping(3, 4)
    with pytest.raises(InvalidInputError, match="more than"):
        losses.check_head_grouping(8, 4)


def test_embedding_and_hidden_losses_ignore_padding():
    proj = torch.nn.Linear(HS, HT)
    s_emb, t_emb = torch.randn(B, S, HS), torch.randn(B, S, HT)
    base = losses.embedding_loss(s_emb, t_emb, proj, MASK)
    moved = losses.embedding_loss(_scramble_padding(s_emb, (1,)), _scramble_padding(t_emb, (1,)), proj, MASK)
    assert torch.allclose(base, moved)
    # Equal to a plain MSE over the real tokens only.
    keep = MASK.bool()
    assert torch.allclose(base, ((proj(s_emb) - t_emb) ** 2)[keep].mean())

    student = [torch.randn(B, S, HS) for _ in range(3)]
    teacher = [torch.randn(B, S, HT) for _ in range(5)]
    projections = losses.DistillProjections(HS, HT, 2)
    base = losses.hidden_loss(student, teacher, projections, MASK, [2, 4], reduction="mean")
    moved = losses.hidden_loss([_scramble_padding(x, (1,)) for x in student], [_scramble_padding(x, (1,)) for x in teacher], projections, MASK, [2, 4], reduction="mean")
    assert torch.allclose(base, moved)
    expected = (losses.masked_mse(projections.layer(1)(student[1]), teacher[2], MASK) + losses.masked_mse(projections.layer(2)(student[2]), teacher[4], MASK)) / 2
    assert torch.allclose(base, expected)


@pytest.mark.parametrize("kind", ["mse", "kl"])
def test_attention_loss_ignores_padded_queries_and_keys(kind):
    s, t = [_scores(2), _scores(2)], [_scores(4), _scores(4)]
    base = losses.attention_loss(s, t, MASK, [1, 2], kind, reduction="sum")
    moved = losses.attention_loss([_scramble_padding(x, (2, 3)) for x in s], [_scramble_padding(x, (2, 3)) for x in t], MASK, [1, 2], kind, reduction="sum")
    assert torch.isfinite(base) and base > 0
    assert torch.allclose(base, moved, atol=1e-6)


@pytest.mark.parametrize("kind", ["mse", "kl"])
def test_layer_sum_is_layers_times_layer_mean(kind):
    """The published code sums the per-layer losses; "mean" is that sum over the layer count."""
    layers = 4
    mapping = losses.layer_mapping(layers, 8)
    s_scores, t_scores = [_scores(2) for _ in range(layers)], [_scores(4) for _ in range(8)]
    s_hidden = [torch.randn(B, S, HS) for _ in range(layers + 1)]
    t_hidden = [torch.randn(B, S, HT) for _ in range(9)]
    projections = losses.DistillProjections(HS, HT, layers)
    att = {r: losses.attention_loss(s_scores, t_scores, MASK, mapping, kind, reduction=r) for r in ("sum", "mean")}
    hid = {r: losses.hidden_loss(s_hidden, t_hidden, projections, MASK, mapping, reduction=r) for r in ("sum", "mean")}
    assert att["mean"] > 0 and hid["mean"] > 0
    assert torch.allclose(att["sum"], layers * att["mean"])
    assert torch.allclose(hid["sum"], layers * hid["mean"])
    per_layer = sum(losses.masked_mse(projections.layer(m)(s_hidden[m]), t_hidden[g], MASK) for m, g in enumerate(mapping, start=1))
    assert torch.allclose(hid["sum"], per_layer)
    with pytest.raises(InvalidInputError, match="layer_reduction"):
        losses.hidden_loss(s_hidden, t_hidden, projections, MASK, mapping, reduction="max")


def test_attention_mse_zeroes_masked_entries_and_groups_heads():
    s, t = _scores(2), _scores(4)
    loss = losses.attention_mse(s, t, MASK)
    grouped = losses.group_heads(t, 2)
    valid = (MASK[:, None, :, None] * MASK[:, None, None, :]).bool().expand(B, 2, S, S)
    assert torch.allclose(loss, ((s - grouped) ** 2)[valid].mean())


def test_attention_kl_is_zero_for_identical_distributions():
    t = _scores(4)
    same = losses.group_heads(t, 4)
    assert losses.attention_kl(same, t, MASK).abs() < 1e-6


def test_soft_cross_entropy_with_temperature_and_mask():
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    T = 2.0
    expected = -(torch.softmax(t / T, -1) * torch.log_softmax(s / T, -1)).sum(-1).mean()
    assert torch.allclose(losses.soft_cross_entropy(s, t, T), expected)
    # QA: logits over tokens; padded tokens drop out of both distributions.
    s, t = torch.randn(B, S), torch.randn(B, S)
    base = losses.soft_cross_entropy(s, t, T, MASK)
    moved = losses.soft_cross_entropy(_scramble_padding(s, (1,)), _scramble_padding(t, (1,)), T, MASK)
    assert torch.allclose(base, moved)


def test_dynamic_weights_follow_the_schedule():
    w = losses.dynamic_weights(1, 10, 0.1, 0.1)
    assert w["pred"] == pytest.approx(0.08) and w["embed"] == pytest.approx(0.09)
    w = losses.dynamic_weights(10, 10, 0.1, 0.2)
    assert w["pred"] == pytest.approx(0.8) and w["embed"] == pytest.approx(0.0) and w["attention"] == 0.2
    # Epochs other than 10 are rescaled: e = 10 * epoch / epochs.
    assert losses.dynamic_weights(1, 2, 0.1, 0.1)["pred"] == pytest.approx(0.4)
