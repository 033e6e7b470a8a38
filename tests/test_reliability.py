"""Missing hands are data: masks through every layer, a fusion that gives a handless stream no say, and the
training options for unreliable hands."""

import numpy as np
import pytest
import torch

from bharnet.data.pipeline import BodyHandPipeline, PipelineConfig
from bharnet.data.sample import Sample
from bharnet.data.transforms import jitter_hands, palm_lengths
from bharnet.engine.inputs import input_spec
from bharnet.errors import ConfigError
from bharnet.models import BodyHandLoss, LossConfig, ModelConfig, build_model
from bharnet.models.backbone import DataNorm
from bharnet.models.fusion import fuse
from bharnet.models.reliability import HandReliability, hand_jitter
from bharnet.skeleton import body_hand_split

TINY = dict(widths=(8, 8, 16, 16), stride_blocks=(3,), trunk_blocks=1, exchange_blocks=(2, 4), attention_heads=2,
            attention_ratio=0.5, channel_bins=2)
DUAL = [("B", "gap"), ("P", "gap"), ("P", "pam"), ("E", "gap"), ("E", "pam")]


def awake(variant: str, pooling: str, reliability: str = "learned", hand_frame_stride: int = 1) -> torch.nn.Module:
    """A tiny model whose zero-initialized gates are non-zero, as after training (else the exchange is idle)."""
    spec = input_spec("mediapipe_holistic75", PipelineConfig(), 5)
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant=variant, pooling=pooling, reliability=reliability,
                                    hand_frame_stride=hand_frame_stride, **TINY), spec)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gate"):
                p.normal_()
    return model.eval(), spec


@pytest.mark.parametrize(("variant", "pooling"), DUAL)
@pytest.mark.parametrize("fusion", ["noisy_or", "sum", "mixture"])
@pytest.mark.parametrize("hand_frame_stride", [1, 2])
def test_without_hands_the_fused_prediction_is_the_body_streams(variant, pooling, fusion, hand_frame_stride):
    model, spec = awake(variant, pooling, hand_frame_stride=hand_frame_stride)
    model.fusion = fusion
    body, hands, body_mask, hand_mask = spec.example(4, 12, torch.Generator().manual_seed(1))
    hand_mask[:2] = 0  # samples 0 and 1 have no hand in any frame
    with torch.no_grad():
        out = model(body, hands, body_mask, hand_mask)
    body_logits = out["body"] + out.get("body_expert", 0)
    assert torch.equal(out["reliability"][:2], torch.zeros(2))
    assert torch.allclose(out["fused"][:2], torch.log_softmax(body_logits[:2], -1), atol=1e-6)
    assert torch.equal(out["fused"][:2].argmax(1), body_logits[:2].argmax(1))
    assert not torch.allclose(out["fused"][2:], torch.log_softmax(body_logits[2:], -1), atol=1e-3)


@pytest.mark.parametrize(("variant", "pooling"), DUAL)
@pytest.mark.parametrize("hand_frame_stride", [1, 2])
def test_masked_hands_change_no_body_branch_activation(variant, pooling, hand_frame_stride):
    model, spec = awake(variant, pooling, reliability="presence", hand_frame_stride=hand_frame_stride)
    body, hands, body_mask, hand_mask = spec.example(3, 12, torch.Generator().manual_seed(2))
    hand_mask[0] = 0
    hand_mask[1, 3:9] = 0  # sample 1: both hands lost in six frames
    hand_mask[2, :, 1] = 0  # sample 2: the right hand never seen
    body_activations = []
    for module in [*model.body.segments, model.pool]:
        module.register_forward_hook(lambda m, i, out: body_activations.append(out[0] if isinstance(out, tuple)
                                                                                else out))
    changed = hands.clone()
    masked = hand_mask[:, None, :, None, :].expand_as(hands) == 0
    changed[masked] = torch.randn(int(masked.sum())) * 100  # whatever sits in absent frames
    with torch.no_grad():
        a = model(body, hands, body_mask, hand_mask)
        b = model(body, changed, body_mask, hand_mask)
    half = len(body_activations) // 2
    for first, second in zip(body_activations[:half], body_activations[half:], strict=True):
        assert torch.equal(first, second)
    for key in ("body", "hand", "fused"):
        assert torch.equal(a[key], b[key]), key
    # and what is seen does reach the body: a changed present hand changes the body head
    changed = hands.clone()
    changed[1, :, 10:] += 1.0
    with torch.no_grad():
        c = model(body, changed, body_mask, hand_mask)
    if variant != "B":
        assert not torch.allclose(a["body"][1], c["body"][1])


def test_masks_default_to_what_the_values_say():
    model, spec = awake("P", "pam")
    body, hands, body_mask, hand_mask = spec.example(2, 12, torch.Generator().manual_seed(3))
    hand_mask[0, :4] = 0
    hands = hands * hand_mask[:, None, :, None, :]
    with torch.no_grad():
        assert torch.equal(model(body, hands, body_mask, hand_mask)["fused"], model(body, hands)["fused"])


def test_data_norm_ignores_absent_frames_and_equals_batchnorm_when_all_are_seen():
    torch.manual_seed(4)
    norm = DataNorm(joints=3, in_channels=2, instances=2).train()
    x = torch.randn(5, 2, 7, 3, 2)
    mask = torch.ones(5, 7, 2)
    reference = torch.nn.BatchNorm1d(12).train()
    expected = reference(x.permute(0, 4, 3, 1, 2).reshape(5, 12, 7))
    got = norm(x, mask)
    assert torch.allclose(got, expected.view(5, 2, 3, 2, 7).permute(0, 1, 3, 4, 2).reshape(10, 2, 7, 3), atol=1e-5)
    assert torch.allclose(norm.norm.running_mean, reference.running_mean)
    assert torch.allclose(norm.norm.running_var, reference.running_var)
    # absent frames: out as zeros, and their values do not move the statistics
    mask[:, :3, 1] = 0
    y = x.clone()
    y[:, :, :3, :, 1] = 1e3
    norm_a, norm_b = DataNorm(3, 2, 2).train(), DataNorm(3, 2, 2).train()
    out_a, out_b = norm_a(x, mask), norm_b(y, mask)
    assert torch.equal(out_a, out_b)
    assert torch.equal(out_a.view(5, 2, 2, 7, 3)[:, 1, :, :3], torch.zeros(5, 2, 3, 3))
    assert torch.allclose(norm_a.norm.running_mean, norm_b.norm.running_mean)


def test_the_mixture_lets_the_reliability_choose_the_expert():
    gen = torch.Generator().manual_seed(6)
    body, hand = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    # exactly one expert at either end, the hand's when r is None (trusted hands)
    assert torch.equal(fuse(body, hand, "mixture", torch.zeros(4)), torch.log_softmax(body, -1))
    assert torch.equal(fuse(body, hand, "mixture", torch.ones(4)), torch.log_softmax(hand, -1))
    assert torch.equal(fuse(body, hand, "mixture"), torch.log_softmax(hand, -1))
    r = torch.tensor([0.1, 0.4, 0.6, 0.95])
    expected = r[:, None] * hand.softmax(-1) + (1 - r[:, None]) * body.softmax(-1)
    assert torch.allclose(fuse(body, hand, "mixture", r).exp(), expected, atol=1e-6)
    # a distribution, and finite gradients at r = 0 and r = 1 (handless and fully trusted samples)
    assert torch.allclose(fuse(body, hand, "mixture", r).exp().sum(1), torch.ones(4), atol=1e-6)
    logits = [body.clone().requires_grad_(), hand.clone().requires_grad_()]
    gate = torch.tensor([0.0, 0.5, 1.0, 0.2], requires_grad=True)
    fuse(*logits, "mixture", gate).logsumexp(1).sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (*logits, gate))


def test_noisy_or_reliability_interpolates_between_body_and_the_plain_noisy_or():
    gen = torch.Generator().manual_seed(5)
    body, hand = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    plain = fuse(body, hand, "noisy_or")
    assert torch.allclose(fuse(body, hand, "noisy_or", torch.ones(4)), plain, atol=1e-6)
    assert torch.allclose(fuse(body, hand, "noisy_or", torch.zeros(4)), torch.log_softmax(body, -1), atol=1e-6)
    r = torch.tensor([0.3, 0.5, 0.7, 0.9])
    p_b, p_h = body.softmax(-1), hand.softmax(-1)
    q = 1 - (1 - p_b) * (1 - r[:, None] * p_h)
    assert torch.allclose(fuse(body, hand, "noisy_or", r).exp(), q / q.sum(1, keepdim=True), atol=1e-6)
    # r = 0 gives finite gradients everywhere (a handless training sample must not poison the step)
    logits = [body.clone().requires_grad_(), hand.clone().requires_grad_()]
    gate = torch.tensor([0.0, 0.5, 0.0, 1.0], requires_grad=True)
    fuse(*logits, "noisy_or", gate).sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (*logits, gate))


def test_learned_reliability_falls_with_jitter_and_is_zero_without_hands():
    torch.manual_seed(6)
    gate = HandReliability("learned")
    with torch.no_grad():
        gate.gate.weight.copy_(torch.tensor([[4.0, -2.0]]))
    smooth = torch.linspace(0, 1, 12)[None, None, :, None, None].expand(2, 3, 12, 21, 2).clone()
    mask = torch.ones(2, 12, 2)
    noisy = smooth + 0.3 * torch.randn_like(smooth)
    assert hand_jitter(smooth, mask).max() < 1e-5 < hand_jitter(noisy, mask).min()
    assert (gate(noisy, mask) < gate(smooth, mask)).all()
    assert torch.equal(gate(noisy, torch.zeros(2, 12, 2)), torch.zeros(2))
    presence = HandReliability("presence")
    mask[0, :3] = 0
    assert torch.allclose(presence(smooth, mask), torch.tensor([0.75, 1.0]))
    with pytest.raises(ConfigError, match="reliability"):
        HandReliability("always")


def test_hand_terms_of_the_loss_skip_samples_without_hands():
    loss = BodyHandLoss(LossConfig(body_weight=0, hand_weight=1, label_smoothing=0), ("body", "hand"))
    target = torch.tensor([0, 1])
    fused = torch.log_softmax(torch.zeros(2, 3), -1)
    hand = torch.tensor([[5.0, 0, 0], [-5.0, 0, 0]])  # right on sample 0, wrong on sample 1
    present = {"fused": fused, "body": hand, "hand": hand, "hand_presence": torch.tensor([1.0, 0.0])}
    only_first = torch.nn.functional.cross_entropy(hand[:1], target[:1])
    assert torch.allclose(loss(present, target) - (-fused[0, 0]), only_first)


def test_variant_p_defaults_to_noisy_or_and_checks_its_options():
    assert ModelConfig(variant="P").fusion == "noisy_or"
    assert ModelConfig(variant="E").fusion == "sum"
    assert ModelConfig(variant="P").name == "P" and ModelConfig(variant="P", fusion="sum").name == "P-sum"
    with pytest.raises(ConfigError, match="exchange_blocks"):
        ModelConfig(variant="P", exchange_blocks=(11,))
    with pytest.raises(ConfigError, match="hand_stream_dropout"):
        ModelConfig(variant="P", hand_stream_dropout=1.0)


def holistic_sample(frames: int = 20, seed: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    keypoints = rng.normal(size=(1, frames, 75, 3)).astype(np.float32)
    scores = np.ones((1, frames, 75), np.float32)
    scores[0, :5, 33:54] = 0  # left hand lost in the first five frames
    scores[0, :, 54:75] = 0  # right hand never seen
    keypoints[scores == 0] = 0
    return Sample(keypoints, scores, 0, "clip")


def test_pipeline_carries_presence_masks():
    pipeline = BodyHandPipeline(body_hand_split("mediapipe_holistic75"), PipelineConfig(num_frames=20,
                                                                                        max_persons=2), False)
    out = pipeline(holistic_sample(), None)
    assert out.body_mask.shape == (20, 2) and out.hand_mask.shape == (20, 4)
    assert out.body_mask[:, 0].all() and not out.body_mask[:, 1].any()  # the padded second person is absent
    assert not out.hand_mask[:5, 0].any() and out.hand_mask[5:, 0].all()
    assert not out.hand_mask[:, 1:].any()


def test_hand_dropout_options():
    split = body_hand_split("mediapipe_holistic75")
    always = BodyHandPipeline(split, PipelineConfig(num_frames=20, max_persons=1, drop_hand_samples=0.999), True)
    assert not always(holistic_sample(), np.random.default_rng(0)).hand_mask.any()
    frames = BodyHandPipeline(split, PipelineConfig(num_frames=20, max_persons=1, drop_hands=0.5), True)
    seen = frames(holistic_sample(), np.random.default_rng(0)).hand_mask[:, 0]
    assert 0 < seen.sum() < 15
    with pytest.raises(ConfigError, match="drop_hand_samples"):
        PipelineConfig(drop_hand_samples=1.0)
    with pytest.raises(ConfigError, match="hand_jitter"):
        PipelineConfig(hand_jitter=-0.1)


def test_hand_jitter_is_scaled_to_each_hands_own_palm():
    rng = np.random.default_rng(7)
    hands = np.zeros((1, 400, 2, 21, 3), np.float32)
    hands[..., 9, 1] = 1.0  # palm length 1 for the left hand ...
    hands[:, :, 1] *= 0.1  # ... and 0.1 for the right one
    scores = np.ones((1, 400, 2, 21), np.float32)
    scores[:, :, 1, 5] = 0  # one missing joint stays exactly where it was
    assert np.allclose(palm_lengths(hands.transpose(0, 2, 1, 3, 4), scores.transpose(0, 2, 1, 3)), [[1.0, 0.1]])
    out = jitter_hands(hands, scores, 0.2, rng)
    left, right = (out - hands)[:, :, 0, :, :], (out - hands)[:, :, 1, 4, :]
    assert abs(left.std() - 0.2) < 0.01 and abs(right.std() - 0.02) < 0.003
    assert np.array_equal(out[:, :, 1, 5], hands[:, :, 1, 5])


@pytest.mark.parametrize("pooling", ["gap", "pam"])
def test_attention_readers_choose_which_stream_reads_the_other(pooling):
    spec = input_spec("mediapipe_holistic75", PipelineConfig(), 5)
    model = build_model(ModelConfig(variant="P", pooling=pooling, attention_readers=("hands",), **TINY), spec).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gate"):
                p.normal_()
    body, hands, body_mask, hand_mask = spec.example(2, 12, torch.Generator().manual_seed(8))
    moved_body = body + 1.0
    with torch.no_grad():
        a = model(body, hands, body_mask, hand_mask)
        b = model(body, hands + 1.0, body_mask, hand_mask)  # other hands: the body does not read them
        c = model(moved_body, hands, body_mask, hand_mask)  # another body: the hands read it
    assert torch.equal(a["body"], b["body"]) and not torch.allclose(a["hand"], b["hand"])
    assert not torch.allclose(a["hand"], c["hand"])
    with pytest.raises(ConfigError, match="attention_readers"):
        ModelConfig(variant="P", attention_readers=("feet",))


def test_experts_can_train_through_another_fusion_than_the_one_that_predicts():
    spec = input_spec("mediapipe_holistic75", PipelineConfig(), 5)
    config = ModelConfig(variant="P", fusion="mixture", training_fusion="noisy_or", **TINY)
    assert config.name == "P-mixture" and ModelConfig(variant="P", **TINY).objective_fusion == "noisy_or"
    torch.manual_seed(0)
    model = build_model(config, spec)
    inputs = spec.example(4, 12, torch.Generator().manual_seed(3))
    out = model.train()(*inputs)
    body, hand, r = out["body"], out["hand"], out["reliability"]
    assert torch.allclose(out["fused"], fuse(body, hand, "mixture", r))
    assert torch.allclose(out["fused_objective"], fuse(body, hand, "noisy_or", r))
    labels = torch.tensor([0, 1, 2, 3])
    loss = BodyHandLoss(LossConfig(body_weight=0, hand_weight=0, label_smoothing=0), model.auxiliary_heads)
    expected = torch.nn.functional.nll_loss(out["fused_objective"], labels)
    assert torch.allclose(loss(out, labels), expected)
    with torch.no_grad():
        assert "fused_objective" not in model.eval()(*inputs)  # predictions: the mixture alone


def test_a_pure_hand_expert_learns_from_its_own_term_only():
    """``pure_hand_expert``: the fused objective reaches the body and not the hand stream; the prediction is
    unchanged."""
    spec = input_spec("mediapipe_holistic75", PipelineConfig(), 5)
    inputs = spec.example(4, 12, torch.Generator().manual_seed(5))
    labels = torch.tensor([0, 1, 2, 3])
    outputs = {}
    for pure in (False, True):
        torch.manual_seed(0)
        model = build_model(ModelConfig(variant="P", fusion="mixture", training_fusion="noisy_or",
                                        pure_hand_expert=pure, **TINY), spec).train()
        torch.manual_seed(1)
        out = model(*inputs)
        fused_only = BodyHandLoss(LossConfig(body_weight=0, hand_weight=0), model.auxiliary_heads)
        fused_only(out, labels).backward()
        hand_grads = [p.grad for n, p in model.named_parameters() if n.startswith(("hand.", "hand_head."))]
        body_grads = [p.grad for n, p in model.named_parameters() if n.startswith(("body.", "body_head."))]
        reached = any(g is not None and g.abs().sum() > 0 for g in hand_grads)
        assert reached != pure
        assert any(g is not None and g.abs().sum() > 0 for g in body_grads)
        outputs[pure] = out["fused"].detach()
    assert torch.equal(outputs[False], outputs[True])
    with pytest.raises(ConfigError, match="pure_hand_expert needs two streams"):
        ModelConfig(variant="hand", pure_hand_expert=True)


def test_the_hand_stream_can_see_every_other_frame_only():
    """``hand_frame_stride: 2``: the hand cube has half the frames (half the hand stream's compute), the
    reliability and the hand presence still read every frame; single-stream models refuse the option."""
    model, spec = awake("P", "gap", hand_frame_stride=2)
    body, hands, body_mask, hand_mask = spec.example(2, 12, torch.Generator().manual_seed(3))
    hand_mask[0, 1::2] = 0  # sample 0: hands only in the frames the stream sees
    frames = []
    model.hand.trunk.register_forward_hook(lambda m, i, out: frames.append(out.shape[2]))
    with torch.no_grad():
        out = model(body, hands, body_mask, hand_mask)
    assert frames == [6]
    assert out["hand_presence"][0] == 0.5 and out["hand_presence"][1] == 1.0
    for variant in ("body", "hand", "unified"):
        with pytest.raises(ConfigError, match="hand_frame_stride"):
            ModelConfig(variant=variant, hand_frame_stride=2)
    with pytest.raises(ConfigError, match="hand_frame_stride"):
        ModelConfig(variant="P", hand_frame_stride=0)
