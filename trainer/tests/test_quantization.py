import pytest
import torch

from distillery_trainer.modeling import BertConfig, BertForDistillation
from distillery_trainer.quantization import (
    ActivationObserver,
    QatController,
    QuantEmbedding,
    QuantLinear,
    activation_qparams,
    fake_quant_per_channel,
    per_channel_scale,
    prepare_qat,
)


def _run(forward):
    # calibrate() switches observers on, then drives this generator: run forward lazily.
    forward()
    yield None


def test_per_channel_fake_quant_rounds_and_clamps():
    w = torch.tensor([[0.5, -1.0, 0.26], [2.0, 0.01, -0.7]])
    scale = per_channel_scale(w)
    assert torch.allclose(scale, torch.tensor([1.0 / 127, 2.0 / 127]))
    q = fake_quant_per_channel(w, scale)
    expected = torch.round(w / scale[:, None]).clamp(-128, 127) * scale[:, None]
    assert torch.allclose(q, expected)
    assert torch.allclose(q[:, :2].abs().max(dim=1).values, torch.tensor([1.0, 2.0]))  # max maps to +-127 exactly
    # A fixed, too-small scale clamps to [-128, 127] * scale.
    small = torch.tensor([0.01, 0.01])
    q = fake_quant_per_channel(w, small)
    assert torch.allclose(q[0], w[0], atol=1e-6)  # inside the range: unchanged (on the grid)
    assert torch.allclose(q[1], torch.tensor([1.27, 0.01, -0.7]), atol=1e-6)  # 2.0 clamped to 127 * 0.01


def test_straight_through_gradient_is_one_inside_and_zero_when_clamped():
    x = torch.tensor([[-3.0, -1.0, 0.0, 0.4, 1.2, 5.0]], requires_grad=True)
    scale = torch.tensor([0.01])  # representable range [-1.28, 1.27]
    fake_quant_per_channel(x, scale).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 1.0, 1.0, 1.0, 0.0]]

    obs = ActivationObserver()
    obs.observe(torch.tensor([-1.0, 1.0]))
    obs.recalibrate()
    obs.quantizing = True
    a = torch.tensor([-2.0, -0.5, 0.3, 0.99, 3.0], requires_grad=True)
    out = obs(a)
    out.sum().backward()
    assert a.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert torch.allclose(out[1:4], torch.tensor([-0.5, 0.3, 0.99]), atol=obs.scale.item() / 2 + 1e-6)


def test_activation_qparams_keep_zero_exact():
    scale, zp = activation_qparams(torch.tensor([0.5]), torch.tensor([4.0]))
    assert torch.allclose(scale, torch.tensor([4.0 / 255]))  # range widened to contain 0
    assert zp.item() == -128
    x = torch.zeros(3)
    assert torch.equal(torch.fake_quantize_per_tensor_affine(x, scale, zp, -128, 127), x)


def test_observer_recalibrates_only_at_the_step_interval():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    prepare_qat(model)
    qlin = model[0]
    assert isinstance(qlin, QuantLinear)
    controller = QatController(model, recalibrate_every=3)
    controller.calibrate(_run(lambda: model(torch.ones(2, 4))))  # calibration sees values in [0, 1]
    first = qlin.input_quant.scale.clone()
    assert torch.allclose(first, torch.tensor([1.0 / 255]))
    scales = []
    for step in range(1, 7):
        model(torch.full((2, 4), 10.0 * step))  # observed ranges grow every step
        recalibrated = controller.after_step(step)
        assert recalibrated == (step % 3 == 0)
        scales.append(qlin.input_quant.scale.item())
    assert scales[0] == scales[1] == first.item()
    assert scales[2] == scales[3] == scales[4] == pytest.approx(30.0 / 255)  # window of steps 1-3 (min/max)
    assert scales[5] == pytest.approx(60.0 / 255)  # fresh window: steps 4-6
    assert controller.recalibrations == 3  # calibration + 2


def test_moving_average_observer():
    obs = ActivationObserver("moving_average", momentum=0.5)
    obs.observe(torch.tensor([0.0, 2.0]))
    obs.observe(torch.tensor([0.0, 4.0]))
    assert obs.observed_max.item() == 3.0


def test_prepare_qat_keeps_parameter_names_and_freezes_scales():
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=16, id2label={0: "a", 1: "b"})
    model = BertForDistillation(cfg, "classification")
    names = {n for n, _ in model.named_parameters()}
    prepare_qat(model)
    assert {n for n, _ in model.named_parameters()} == names
    assert isinstance(model.bert.embeddings.word_embeddings, QuantEmbedding)
    controller = QatController(model, 10)
    ids = torch.randint(5, 50, (2, 8))
    mask = torch.ones_like(ids)
    controller.calibrate(_run(lambda: model(ids, mask, torch.zeros_like(ids))))
    controller.freeze()
    assert all(m.weight_frozen for m in controller.linears)
    # The attention mask path has no fake-quant: only Linear inputs are observed.
    assert len(controller.observers) == sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    out = model(ids, mask, torch.zeros_like(ids)).logits
    assert out.shape == (2, 2)


def test_calibration_sample_is_a_seeded_shuffle_not_the_first_rows():
    from distillery_trainer.quantization import calibration_rows

    rows = calibration_rows(240, 16, seed=42)
    assert len(rows) == 8 and all(len(b) == 16 for b in rows)
    flat = [i for b in rows for i in b]
    assert len(set(flat)) == len(flat) and all(0 <= i < 240 for i in flat)  # drawn without replacement
    assert flat != list(range(len(flat)))  # not the file's first 128 rows
    assert rows == calibration_rows(240, 16, seed=42)  # reproducible per seed
    assert rows != calibration_rows(240, 16, seed=43)
    # Less data than the sample: every row once, the last batch short.
    small = calibration_rows(20, 16, seed=42)
    assert [len(b) for b in small] == [16, 4] and sorted(i for b in small for i in b) == list(range(20))


def test_calibration_batches_collate_the_sampled_rows():
    from distillery_trainer.features import Feature
    from distillery_trainer.quantization import calibration_batches, calibration_rows

    features = [Feature(input_ids=[2] + [10 + i] * (1 + i % 5) + [3], type_ids=[0] * (3 + i % 5), label=i % 3) for i in range(50)]
    batches = list(calibration_batches(features, 8, 0, "classification", seed=7, batches=3))
    rows = calibration_rows(50, 8, seed=7, batches=3)
    assert [b.labels.tolist() for b in batches] == [[features[i].label for i in r] for r in rows]
    assert [b.input_ids[:, 1].tolist() for b in batches] == [[10 + i for i in r] for r in rows]


@pytest.mark.parametrize("total,every,expected", [(10, 1000, 2), (3, 1000, 1), (100000, 1000, 1000), (40, 5, 5), (40, 20, 10)])
def test_recalibration_interval_fits_at_least_four_into_any_run(total, every, expected):
    from distillery_trainer.quantization import recalibration_interval

    interval = recalibration_interval(every, total)
    assert interval == expected
    assert total // interval >= min(4, total)


def test_a_ten_step_qat_run_recalibrates_several_times_with_the_default_interval():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    prepare_qat(model)
    controller = QatController(model, recalibrate_every=1000)
    controller.calibrate(_run(lambda: model(torch.ones(2, 4))))
    controller.plan(10)
    recalibrated = [step for step in range(1, 11) if model(torch.full((2, 4), float(step))) is not None and controller.after_step(step)]
    assert len(recalibrated) >= 3 and recalibrated == [2, 4, 6, 8, 10]
    assert controller.recalibrations == 1 + len(recalibrated)  # calibration counts too
    assert model[0].input_quant.scale.item() == pytest.approx(10.0 / 255)  # the last window's range is in use
    resumed = QatController(model, recalibrate_every=1000)
    resumed.plan(10)
    resumed.resume_at(7)
    assert resumed.recalibrations == 1 + 3  # calibration, steps 2, 4, 6


def test_an_observer_that_saw_nothing_keeps_its_range():
    obs = ActivationObserver()
    obs.observe(torch.tensor([-1.0, 3.0]))
    obs.recalibrate()
    scale = obs.scale.clone()
    obs.recalibrate()  # min/max started a fresh window and nothing came
    assert torch.equal(obs.scale, scale) and obs.calibrated.item() == 1.0


def _refuse_host_reads(monkeypatch):
    """Makes every Python-level read of a tensor's value raise (what a CUDA host sync needs)."""

    def refuse(*args, **kwargs):
        raise AssertionError("host sync: a tensor's value was read on the host")

    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


def test_the_qat_training_forward_and_recalibration_never_read_tensors_on_the_host(monkeypatch):
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=16, id2label={0: "a", 1: "b"}, ffn_rank=4)
    torch.manual_seed(0)
    model = prepare_qat(BertForDistillation(cfg, "classification"))
    controller = QatController(model, 10)
    ids = torch.randint(5, 50, (2, 8))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    types = torch.zeros_like(ids)
    controller.calibrate(_run(lambda: model(ids, mask, types)))
    model.train()
    for mode in ("minmax", "moving_average"):
        for obs in controller.observers:
            obs.mode = mode
        with monkeypatch.context() as patch:
            _refuse_host_reads(patch)
            with pytest.raises(AssertionError, match="host sync"):
                bool(torch.ones(1))  # the guard itself works
            out = model(ids, mask, types, output_internals=True)
            out.logits.sum().backward()
            controller.recalibrate()
        assert out.logits.shape == (2, 2) and torch.isfinite(out.logits).all()
        assert all(o.observing and o.quantizing for o in controller.observers)
