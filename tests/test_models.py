"""BHaRNet variants, baselines, fusion, losses and the model-size report."""

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bharnet.data.pipeline import PipelineConfig
from bharnet.engine.inputs import check_pipeline, dataset_input_spec, input_spec, ntu_sized_spec
from bharnet.errors import ConfigError
from bharnet.models import BodyHandLoss, InputSpec, LossConfig, ModelConfig, build_model
from bharnet.models.attention import Route
from bharnet.models.bharnet import PassThrough
from bharnet.models.fusion import noisy_or_log_probs, noisy_or_probs
from bharnet.models.graph_conv import CTRGraphConv
from bharnet.models.losses import balanced_class_weights
from bharnet.models.pooling import PoolingAttention
from bharnet.models.reliability import Presence
from bharnet.models.temporal import DeformableTemporalConv

# a 4-block model: trunk = block 1, exchanges after blocks 2 and 4
TINY = dict(widths=(8, 8, 16, 16), stride_blocks=(3,), trunk_blocks=1, exchange_blocks=(2, 4), attention_heads=2,
            attention_ratio=0.5, channel_bins=2)
UNIFIED_DATA = PipelineConfig(hand_arrangement="graph42", hand_normalize="body", mirror_left=False)
MODELS = [("body", "gap", "sum"), ("hand", "gap", "sum"), ("unified", "gap", "sum"),
          ("B", "gap", "sum"), ("B", "gap", "noisy_or"), ("B", "pam", "sum"),
          ("P", "gap", "noisy_or"), ("P", "pam", "noisy_or"),
          ("E", "gap", "sum"), ("E", "gap", "noisy_or"), ("E", "pam", "sum"), ("E", "pam", "noisy_or")]
# the source layouts the configs use (NTU with estimated hands, MediaPipe Holistic, MSL-150) and both hand
# arrangements
SOURCES = [("ntu25_hands67", "instances"), ("mediapipe_holistic75", "instances"), ("msl150_67", "instances"),
           ("mediapipe_holistic75", "graph42")]


def tiny(variant="E", pooling="gap", fusion="sum", **options) -> ModelConfig:
    return ModelConfig(variant=variant, pooling=pooling, fusion=fusion, **{**TINY, **options})


def spec_for(source: str, arrangement: str, variant: str, classes: int = 5) -> InputSpec:
    pipeline = UNIFIED_DATA if variant == "unified" else PipelineConfig(hand_arrangement=arrangement)
    return input_spec(source, pipeline, classes)


@pytest.mark.parametrize(("source", "arrangement"), SOURCES)
@pytest.mark.parametrize(("variant", "pooling", "fusion"), MODELS)
def test_every_model_runs_forward_and_backward(source, arrangement, variant, pooling, fusion):
    spec = spec_for(source, arrangement, variant)
    model = build_model(tiny(variant, pooling, fusion), spec)
    body, hands, body_mask, hand_mask = spec.example(batch=3, frames=12, generator=torch.Generator().manual_seed(0))
    hand_mask[0] = 0  # one sample without hands, one with hands in half of its frames
    hand_mask[1, :6] = 0
    outputs = model(body, hands, body_mask, hand_mask)
    expected = {"body": {"body"}, "hand": {"hand"}, "unified": {"unified"}, "B": {"body", "hand"},
                "P": {"body", "hand"}, "E": {"body", "hand", "body_expert", "hand_expert"}}[variant]
    per_sample = {"reliability", "hand_presence"} if variant in ("B", "P", "E") else set()
    assert set(outputs) == expected | per_sample | {"fused"}
    assert all(outputs[k].shape == (3, 5) for k in expected | {"fused"})
    assert all(outputs[k].shape == (3,) for k in per_sample)
    assert torch.allclose(outputs["fused"].exp().sum(1), torch.ones(3), atol=1e-5)  # log-probabilities
    loss = BodyHandLoss(LossConfig(expert_weight=0.5), model.auxiliary_heads)(outputs, torch.tensor([0, 1, 4]))
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_hand_variants_refuse_a_layout_without_hands():
    spec = input_spec("nucla20", PipelineConfig(), 10)
    build_model(tiny("body"), spec)  # the body baseline is fine
    for variant in ("hand", "unified", "B", "E"):
        with pytest.raises(ConfigError, match="no(ne|t).*hand|hand joints"):
            build_model(tiny(variant), spec)


def test_model_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="model.variant"):
        ModelConfig(variant="C")
    with pytest.raises(ConfigError, match="model.exchange_blocks"):
        ModelConfig(trunk_blocks=4, exchange_blocks=(3,))
    with pytest.raises(ConfigError, match="one stream"):
        ModelConfig(variant="body", fusion="noisy_or")
    with pytest.raises(ConfigError, match="unknown model option"):
        ModelConfig.from_dict({"variant": "E", "widht_multiplier": 2})
    with pytest.raises(ConfigError, match="hand_arrangement: graph42"):
        check_pipeline(ModelConfig(variant="unified"), PipelineConfig())
    with pytest.raises(ConfigError, match="hand_normalize: body"):  # upright hands are in their own frame too
        check_pipeline(ModelConfig(variant="unified"),
                       PipelineConfig(hand_arrangement="graph42", mirror_left=False, hand_normalize="upright"))


def test_pam_is_a_linear_map_of_gap_when_attention_is_zeroed():
    routes = [Route("frame"), Route("joint"), Route("channel", bins=3)]
    pam = PoolingAttention(routes, body_channels=6, hand_channels=4, heads=2, ratio=0.5)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-trivial BatchNorm statistics, then eval mode (where BatchNorm is affine)
        for norm in (pam.body_projection[1], pam.hand_projection[1]):
            norm.running_mean.normal_(generator=gen)
            norm.running_var.uniform_(0.5, 2.0, generator=gen)
    pam.eval()

    def cubes():
        return torch.randn(4, 6, 7, 5, generator=gen), torch.randn(8, 4, 7, 21, generator=gen)

    (body_a, hands_a), (body_b, hands_b) = cubes(), cubes()

    def same_gap(cube):  # other content, same global average
        other = torch.randn(cube.shape, generator=gen)
        return other - other.mean((2, 3), keepdim=True) + cube.mean((2, 3), keepdim=True)

    seen = Presence(torch.ones(4, 7), torch.ones(8, 7), torch.ones(4))

    def is_affine_in_gap() -> bool:
        with torch.no_grad():
            out_a, out_b = pam(body_a, hands_a, seen), pam(body_b, hands_b, seen)
            mixed = pam(0.3 * body_a + 0.7 * body_b, 0.3 * hands_a + 0.7 * hands_b, seen)
            twin = pam(same_gap(body_a), same_gap(hands_a), seen)
        return all(
            torch.allclose(m, 0.3 * a + 0.7 * b, atol=1e-5) and torch.allclose(t, a, atol=1e-5)
            for m, a, b, t in zip(mixed, out_a, out_b, twin, strict=True)
        )

    assert is_affine_in_gap()  # the gates start at zero
    with torch.no_grad():  # live gates: no longer a function of GAP alone
        for attention in pam.attention:
            for direction in (attention.body_from_hands, attention.hands_from_body):
                direction.gate.normal_(generator=gen)
    assert not is_affine_in_gap()
    with torch.no_grad():  # attention outputs zeroed through the output projections
        for attention in pam.attention:
            for direction in (attention.body_from_hands, attention.hands_from_body):
                direction.out.weight.zero_()
                direction.out.bias.zero_()
    assert is_affine_in_gap()


def test_zero_initialized_cross_attention_leaves_the_streams_unchanged():
    spec = spec_for("mediapipe_holistic75", "instances", "E")
    model = build_model(tiny("E"), spec).eval()
    without = copy.deepcopy(model)
    without.exchanges = torch.nn.ModuleList(PassThrough() for _ in model.exchanges)
    inputs = spec.example(2, 12, torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(*inputs), without(*inputs)
        assert all(torch.equal(a[k], b[k]) for k in a)
        for exchange in model.exchanges:
            for attention in getattr(exchange, "routes", []):
                attention.body_from_hands.gate.fill_(0.5)
                attention.hands_from_body.gate.fill_(0.5)
        c = model(*inputs)
    assert not torch.allclose(c["body"], b["body"]) and not torch.allclose(c["hand"], b["hand"])
    assert torch.equal(c["body_expert"], b["body_expert"])  # the expertized branches never interact


def test_hands_exchange_only_with_their_own_person():
    spec = spec_for("mediapipe_holistic75", "instances", "E")
    model = build_model(tiny("E", pooling="pam"), spec).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1 and p.shape[0] > 0 and (p == 0).all():
                p.normal_()  # wake every zero gate and bias
    body, hands, body_mask, hand_mask = spec.example(1, 12, torch.Generator().manual_seed(2))
    trunk_features = {}
    model.pool.register_forward_hook(lambda m, inputs, out: trunk_features.setdefault(len(trunk_features), out))
    with torch.no_grad():
        model(body, hands, body_mask, hand_mask)
        changed = hands.clone()
        changed[..., 2:] += 1.0  # person 1's two hands (instances 2, 3)
        model(body, changed, body_mask, hand_mask)
    (body_0, hands_0), (body_1, hands_1) = trunk_features[0], trunk_features[1]
    assert torch.allclose(body_0[0], body_1[0]) and not torch.allclose(body_0[1], body_1[1])
    assert torch.allclose(hands_0[:2], hands_1[:2])


def test_no_python_loop_over_persons_or_hands():
    """The number of module calls in a forward pass does not depend on how many persons/hands there are."""

    def calls(persons: int) -> int:
        spec = input_spec("mediapipe_holistic75", PipelineConfig(max_persons=persons), 5)
        model = build_model(tiny("E", pooling="pam"), spec).eval()
        count = [0]
        for module in model.modules():
            module.register_forward_hook(lambda *_: count.__setitem__(0, count[0] + 1))
        with torch.no_grad():
            model(*spec.example(2, 12))
        return count[0]

    assert calls(1) == calls(3)


def test_noisy_or_fusion_matches_its_definition_and_sum_fusion_is_the_logit_sum():
    gen = torch.Generator().manual_seed(3)
    body, hand = torch.randn(6, 9, generator=gen), torch.randn(6, 9, generator=gen)
    p_b, p_h = body.softmax(1), hand.softmax(1)
    q = 1 - (1 - p_b) * (1 - p_h)
    assert torch.allclose(noisy_or_probs(body, hand), q)
    assert torch.allclose(noisy_or_log_probs(body, hand).exp(), q / q.sum(1, keepdim=True), atol=1e-6)


@pytest.mark.parametrize("saturated", ["body", "hand", "both"])
def test_noisy_or_loss_gradients_are_finite_when_a_stream_is_saturated(saturated):
    body = torch.zeros(3, 5)
    hand = torch.randn(3, 5, generator=torch.Generator().manual_seed(4))
    peaked = torch.full((3, 5), -1e4)
    peaked[:, 2] = 1e4  # softmax is exactly one-hot in float32
    if saturated in ("body", "both"):
        body = peaked.clone()
    if saturated in ("hand", "both"):
        hand = peaked.clone()
    body.requires_grad_(True)
    hand.requires_grad_(True)
    outputs = {"body": body, "hand": hand, "fused": noisy_or_log_probs(body, hand)}
    loss = BodyHandLoss(LossConfig(), ("body", "hand"))(outputs, torch.tensor([2, 0, 4]))  # right and wrong labels
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(body.grad).all() and torch.isfinite(hand.grad).all()


def test_ensemble_loss_is_the_documented_sum():
    gen = torch.Generator().manual_seed(5)
    z = {k: torch.randn(4, 6, generator=gen) for k in ("body", "hand", "body_expert", "hand_expert")}
    target = torch.tensor([0, 5, 2, 2])

    def ce(logits):
        return F.cross_entropy(logits, target, label_smoothing=0.1)

    dual = {"body": z["body"], "hand": z["hand"], "fused": F.log_softmax(z["body"] + z["hand"], 1)}
    loss = BodyHandLoss(LossConfig(body_weight=0.5, hand_weight=2.0), ("body", "hand"))(dual, target)
    assert torch.allclose(loss, ce(z["body"] + z["hand"]) + 0.5 * ce(z["body"]) + 2.0 * ce(z["hand"]))
    # E form: all four heads in the fused term, the per-stream terms on the interactive heads
    summed = sum(z.values())
    expert = {**z, "fused": F.log_softmax(summed, 1)}
    loss = BodyHandLoss(LossConfig(), ("body", "hand"))(expert, target)
    assert torch.allclose(loss, ce(summed) + ce(z["body"]) + ce(z["hand"]))
    # one stream: the CE baseline
    single = {"body": z["body"], "fused": F.log_softmax(z["body"], 1)}
    assert torch.allclose(BodyHandLoss(LossConfig(), ())(single, target), ce(z["body"]))


def test_deformable_temporal_conv_starts_as_the_dilated_conv():
    conv = DeformableTemporalConv(4, kernel=5, stride=2, dilation=2)
    x = torch.randn(2, 4, 11, 3)
    reference = F.conv2d(x, conv.weight.unsqueeze(-1), conv.bias, stride=(2, 1), padding=(4, 0), dilation=(2, 1))
    assert torch.allclose(conv(x), reference, atol=1e-5)
    with torch.no_grad():
        conv.offset.bias.fill_(0.3)  # fractional shifts now move the taps
    y = conv(x)
    assert y.shape == reference.shape and not torch.allclose(y, reference, atol=1e-3)
    y.sum().backward()
    assert torch.isfinite(conv.offset.weight.grad).all() and conv.offset.weight.grad.abs().sum() > 0


def test_deformable_backbone_option_trains():
    spec = spec_for("mediapipe_holistic75", "instances", "B")
    model = build_model(tiny("B", temporal="deformable"), spec)
    outputs = model(*spec.example(2, 12))
    BodyHandLoss(LossConfig(), model.auxiliary_heads)(outputs, torch.tensor([1, 2])).backward()


def test_default_body_reference_matches_ctr_gcn_size_and_compute():
    """Parameters within 10% of CTR-GCN's published 1.46M, the training path's MACs within 10% of its 1.97G.
    Inference (no gradients) aggregates (A + alpha R) x in one matmul instead of A x and R x apart: exactly
    one (V x V) aggregation per block fewer, S * C * T * V^2 MACs for each of the 2 persons; its topology
    matmul has two relation channels more (A and the bias), 2 * S * C * V^2 MACs per block and person."""
    from torch.utils.flop_counter import FlopCounterMode

    from bharnet.models.profile import profile_model

    spec = ntu_sized_spec()
    model = build_model(ModelConfig(variant="body"), spec)
    stats = profile_model(model, spec, frames=64, threads=None)
    with FlopCounterMode(display=False) as counter:
        model(*spec.example(1, 64, torch.Generator().manual_seed(0)))
    training_macs = counter.get_total_flops() / 2
    assert abs(stats.parameters["total"] - 1.46e6) / 1.46e6 < 0.10
    assert abs(training_macs - 1.97e9) / 1.97e9 < 0.10
    # (C, T) at each block's graph conv: widths 64 x4, 128 x3, 256 x3; frames halve after blocks 5 and 8
    channel_frames = 4 * 64 * 64 + 128 * 64 + 2 * 128 * 32 + 256 * 32 + 2 * 256 * 16
    channels = 4 * 64 + 3 * 128 + 3 * 256
    expected = 2 * 3 * (channel_frames - 2 * channels) * 25**2
    assert training_macs - stats.macs["total"] == pytest.approx(expected, rel=1e-6)
    assert stats.macs["body"] == pytest.approx(stats.macs["total"], rel=1e-3)


def test_per_stream_figures_add_up_for_bharnet():
    from bharnet.models.profile import profile_model

    spec = spec_for("ntu25_hands67", "instances", "E")
    stats = profile_model(build_model(tiny("E", pooling="pam"), spec), spec, frames=16, threads=None)
    parts = ("body", "hand", "cross-attention")
    assert sum(stats.parameters[p] for p in parts) == stats.parameters["total"]
    assert sum(stats.macs[p] for p in parts) == pytest.approx(stats.macs["total"], rel=1e-3)
    assert all(stats.macs[p] > 0 for p in parts)


@pytest.mark.parametrize(("variant", "pooling", "fusion"), MODELS)
def test_each_model_learns_on_real_signs_crowd(converted, variant, pooling, fusion):
    from bharnet.data.dataset import BodyHandDataset

    path, _ = converted("signs")
    pipeline = UNIFIED_DATA if variant == "unified" else PipelineConfig()
    data = BodyHandDataset(path, "all", dataclasses.replace(pipeline, num_frames=16, max_persons=1))
    picks = [i for c in range(3) for i in (data.labels == c).nonzero()[0][:4]]  # 12 samples, 4 per class
    *inputs, labels = (torch.stack(t) for t in zip(*(data[i] for i in picks), strict=True))
    torch.manual_seed(0)
    model = build_model(tiny(variant, pooling, fusion), dataset_input_spec(data))
    loss_fn = BodyHandLoss(LossConfig(), model.auxiliary_heads)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_no_two_parameters_share_storage():
    spec = spec_for("mediapipe_holistic75", "instances", "E")
    model = build_model(tiny("E", pooling="pam"), spec)
    pointers = [p.untyped_storage().data_ptr() for p in model.parameters()]
    assert len(set(pointers)) == len(pointers)


@pytest.mark.parametrize(("variant", "pooling", "fusion"), [("body", "gap", "sum"), ("P", "gap", "mixture"),
                                                            ("E", "pam", "noisy_or")])
def test_folded_for_inference_computes_the_same_scores(variant, pooling, fusion):
    """BatchNorm folded into the conv before it: same heads (to float rounding) on trained-looking statistics,
    no BatchNorm left behind a conv, and the original model untouched (still trainable)."""
    from bharnet.models.inference import folded_for_inference

    spec = spec_for("ntu25_hands67", "instances", variant)
    model = build_model(tiny(variant, pooling, fusion), spec)
    generator = torch.Generator().manual_seed(3)
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_mean.normal_(0, 0.5, generator=generator)
        norm.running_var.uniform_(0.5, 2.0, generator=generator)
        norm.weight.data.uniform_(0.5, 1.5, generator=generator)
    inputs = spec.example(3, 12, generator)
    model.eval()

    def norms(net) -> int:
        return sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())

    before = norms(model)
    folded = folded_for_inference(model)
    with torch.inference_mode():
        expected, got = model(*inputs), folded(*inputs)
    for head in expected:
        assert torch.allclose(expected[head], got[head], atol=1e-4), head
    # per block: the residual's, the temporal entry's and the two dilated branches' norms go
    assert norms(model) == before and norms(folded) < before - 3


@pytest.mark.parametrize(("variant", "pooling", "fusion"), MODELS + [("P", "gap", "mixture")])
def test_every_model_runs_at_bf16_close_to_fp32(variant, pooling, fusion, monkeypatch):
    """``--precision bf16`` (autocast) on the CPU, with the graph convs' aggregation in chunks of one sample:
    the fused probabilities stay within bfloat16's rounding of fp32's, computed in bfloat16."""
    from bharnet.models import graph_conv
    from bharnet.models.inference import folded_for_inference
    from bharnet.runtime import inference_precision

    monkeypatch.setattr(graph_conv, "CPU_CHUNK_BYTES", 1)  # one sample per chunk: the out= buffers in bf16
    spec = spec_for("ntu25_hands67", "instances", variant)
    model = build_model(tiny(variant, pooling, fusion), spec).eval()
    for head in (m for m in model.modules() if isinstance(m, torch.nn.Linear)):
        torch.nn.init.normal_(head.weight, 0, 4, generator=torch.Generator().manual_seed(5))  # confident heads
    model = folded_for_inference(model)
    inputs = spec.example(3, 12, torch.Generator().manual_seed(4))
    inputs[3][0] = 0  # one sample without hands
    seen: set[torch.dtype] = set()
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, output: seen.add(output.dtype) if isinstance(module, torch.nn.Conv2d) else None)
    try:
        with torch.inference_mode():
            expected = model(*inputs)
            seen.clear()
            with inference_precision(torch.device("cpu"), "bf16"):
                got = model(*inputs)
    finally:
        hook.remove()
    assert seen == {torch.bfloat16}  # the convs ran in bfloat16
    assert expected["fused"].exp().max() > 0.4  # not near-uniform (0.2), which any error would match
    for head, logits in expected.items():
        if logits.ndim == 2:  # the heads' logits and the fused log-probabilities: fp32, within 5% of their range
            assert got[head].dtype == torch.float32, head
            assert (got[head] - logits).abs().max() <= 0.05 * logits.abs().max() + 1e-3, head
    assert torch.allclose(got["fused"].exp().sum(1), torch.ones(3), atol=1e-4)


def test_graph_conv_aggregation_in_chunks_matches_one_shot_in_bf16(monkeypatch):
    """In bf16 the chunked sums round after each subset's add and the one-shot sum once: within bf16's rounding."""
    from bharnet.models import graph_conv

    monkeypatch.setattr(graph_conv, "CPU_CHUNK_BYTES", 1)
    generator = torch.Generator().manual_seed(6)
    values = torch.randn(4, 3 * 8, 6, 25, generator=generator).bfloat16()
    mixing = torch.randn(3, 8, 5, generator=generator)
    relation = torch.randn(4, 3, 5, 25 * 25, generator=generator).bfloat16()
    with torch.no_grad():
        chunked = graph_conv.aggregate(values, mixing, relation)
    with torch.enable_grad():  # the one-shot form
        one_shot = graph_conv.aggregate(values, mixing, relation)
    assert chunked.dtype == one_shot.dtype == torch.bfloat16
    assert torch.allclose(chunked.float(), one_shot.float(), rtol=2e-2, atol=2e-2 * one_shot.float().abs().max())


def test_bf16_on_a_device_without_it_warns_and_still_runs(monkeypatch):
    from bharnet import runtime

    monkeypatch.setattr(runtime, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="no native bfloat16 arithmetic here"):
        context = runtime.inference_precision(torch.device("cpu"), "bf16")
    with context:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


@pytest.mark.parametrize(("variant", "pooling", "fusion", "options"),
                         [(*m, {}) for m in MODELS] + [("P", "gap", "mixture", {}),
                                                      ("P", "gap", "mixture", {"hand_frame_stride": 2})])
def test_instances_seen_in_no_frame_are_skipped_in_inference_with_the_same_prediction(variant, pooling, fusion,
                                                                                       options):
    """A second person who is not there and a hand never found are not computed without gradients (each
    stream's graph convs see exactly its seen instances), and every head says what it says when they are
    (with gradients every row runs), with the attention gates live so that the masks carry the difference."""
    spec = spec_for("ntu25_hands67", "instances", variant)
    model = build_model(tiny(variant, pooling, fusion, **options), spec).eval()
    generator = torch.Generator().manual_seed(8)
    with torch.no_grad():  # live gates and refinements, trained-looking statistics
        for p in model.parameters():
            if p.dim() <= 1 and (p == 0).all():
                p.normal_(generator=generator)
        for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            norm.running_mean.normal_(0, 0.5, generator=generator)
            norm.running_var.uniform_(0.5, 2.0, generator=generator)
    # person 2 absent from every clip, with their hands
    body, hands, body_mask, hand_mask = spec.example(3, 12, torch.Generator().manual_seed(7), persons_seen=1)
    per_person = spec.hand_instances // spec.persons  # two hands, or one 42-joint instance (unified)
    assert not body[..., 1].any() and not hands[..., per_person:].any() and hand_mask[..., :per_person].all()
    hand_mask[0, :, per_person - 1] = 0  # and a hand of person 1 in clip 0
    hand_mask[1] = 0  # clip 1 without any hand
    hand_mask[2, ::2, 0] = 0  # a hand seen only in the frames a hand frame stride of 2 drops
    body_mask[2] = 0  # clip 2: hands without a body
    stride = options.get("hand_frame_stride", 1)
    calls: list[tuple[str, int]] = []
    hooks = [m.register_forward_hook(lambda module, args, output, name=name: calls.append((name, args[0].shape[0])))
             for name, m in model.named_modules() if isinstance(m, CTRGraphConv)]

    def seen(mask: torch.Tensor) -> int:  # instances seen in some frame, and one row when none is
        return max(1, int((mask.amax(1) > 0).sum()))

    try:
        for masks in (hand_mask, torch.zeros_like(hand_mask)):  # the second: no hand seen in the whole batch
            inputs = (body * body_mask[:, None, :, None], hands * masks[:, None, :, None], body_mask, masks)
            rows = {"body": seen(body_mask), "hand": seen(masks[:, ::stride])}
            rows["backbone"] = rows["hand" if variant == "hand" else "body"]
            with torch.enable_grad():
                expected = model(*inputs)
            calls.clear()
            with torch.no_grad():
                got = model(*inputs)
            assert calls and all(n == rows[name.split(".")[0]] for name, n in calls), (calls, rows)
            for head, value in expected.items():
                assert torch.allclose(got[head], value.detach(), atol=1e-4), head
    finally:
        for hook in hooks:
            hook.remove()


def test_bf16_warns_only_where_the_hardware_is_known_to_lack_it(monkeypatch):
    import warnings

    from bharnet import runtime

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fp32 never warns, nor bf16 where native or unknown (not x86)
        runtime.inference_precision(torch.device("cpu"), "fp32")
        monkeypatch.setattr(runtime.platform, "machine", lambda: "aarch64")
        assert runtime.native_bf16(torch.device("cpu")) is None
        runtime.inference_precision(torch.device("cpu"), "bf16")


def test_an_unknown_precision_is_refused():
    from bharnet.runtime import inference_precision

    with pytest.raises(ConfigError, match="precision 'fp16'; choose one of fp32, bf16"):
        inference_precision(torch.device("cpu"), "fp16")


def test_balanced_class_weights_make_every_class_weigh_alike():
    counts = torch.tensor([6, 2, 0, 4])
    weights = balanced_class_weights(counts)  # n = 12 over K = 3 seen classes: 12 / (3 n_k)
    torch.testing.assert_close(weights, torch.tensor([12 / 18, 12 / 6, 0.0, 12 / 12]))
    z = {"fused": torch.log_softmax(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), -1)}
    target = torch.tensor([0, 0, 1, 3, 3])
    loss = BodyHandLoss(LossConfig(label_smoothing=0, class_weights="balanced"), (), counts)(z, target)
    w = weights[target]
    expected = (w * F.nll_loss(z["fused"], target, reduction="none")).sum() / w.sum()
    torch.testing.assert_close(loss, expected)
    plain = BodyHandLoss(LossConfig(label_smoothing=0), (), counts)(z, target)  # "none" ignores the counts
    torch.testing.assert_close(plain, F.nll_loss(z["fused"], target))
    with pytest.raises(ConfigError, match="class counts"):
        BodyHandLoss(LossConfig(class_weights="balanced"), ())
    with pytest.raises(ConfigError, match="loss.class_weights"):
        LossConfig(class_weights="inverse")
