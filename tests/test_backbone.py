import pytest
import torch

from bharnet.models import graph_conv
from bharnet.models.backbone import BackboneConfig, StreamBackbone
from bharnet.models.graph_conv import CTRGraphConv
from bharnet.models.temporal import MultiScaleTemporalConv, TemporalMaxPool
from bharnet.skeleton import adjacency, get_layout

LITE = BackboneConfig(width_multiplier=0.25, depth=6, stride_blocks=(3, 5))


@pytest.mark.parametrize(("layout", "persons"), [("ntu25", 2), ("hand21", 4), ("hand42", 2), ("mediapipe_pose33", 1),
                                                 ("nucla20", 1), ("coco_wholebody65", 1)])
def test_stream_shapes_forward_backward(layout, persons):
    skeleton = get_layout(layout)
    net = StreamBackbone(skeleton, in_channels=3, instances=persons, config=LITE)
    x = torch.randn(2, 3, 16, skeleton.num_joints, persons, requires_grad=True)
    features = net(x, torch.ones(2, 16, persons))
    assert features.shape == (2 * persons, net.out_channels, 4, skeleton.num_joints)
    assert net.out_channels == 32  # round(128 * 0.25)
    features.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_graph_conv_uses_the_skeleton_before_refinement():
    """With the refinement gate at zero (its initial value) the conv is a plain 3-subset GCN: a joint
    only hears its neighbours."""
    layout = get_layout("hand21")
    conv = CTRGraphConv(4, 8, adjacency(layout)).eval()
    x = torch.zeros(1, 4, 3, 21)
    x[..., 8] = 1.0  # only the index fingertip is active
    y = conv(x) - conv(torch.zeros_like(x))
    moved = (y.abs().sum(dim=(0, 1, 2)) > 1e-6).nonzero().flatten().tolist()
    # the residual projection touches joint 8 itself; the graph adds its only neighbour, joint 7
    assert moved == [7, 8]


def test_temporal_conv_branch_widths_and_stride():
    conv = MultiScaleTemporalConv(16, 30, stride=2)
    y = conv(torch.randn(2, 16, 10, 5))
    assert y.shape == (2, 30, 5, 5)


# (S=3) x (C=8) x (V*V + 2*T*V = 625 + 300) float32s: the working set of one sample below
SAMPLE_BYTES = 3 * 8 * (625 + 2 * 6 * 25) * 4


@pytest.mark.parametrize("in_channels", [4, 8])
@pytest.mark.parametrize("chunk_samples", [None, 1, 2])
def test_graph_conv_inference_path_equals_the_training_path(in_channels, chunk_samples, monkeypatch):
    """Without gradients the shared topology and the refinement run as one matmul over (subset, joint), and
    on a CPU over a few samples at a time (None: the whole batch of 3 at once; 2: a short last chunk): the
    same function, so eval with and without autograd agree."""
    if chunk_samples is not None:
        monkeypatch.setattr(graph_conv, "CPU_CHUNK_BYTES", chunk_samples * SAMPLE_BYTES)
    chunk = graph_conv.samples_per_chunk(3, 8, 6, 25, 4)
    assert chunk == chunk_samples if chunk_samples else chunk >= 3  # in chunks, or the batch of 3 at once
    torch.manual_seed(0)
    conv = CTRGraphConv(in_channels, 8, adjacency(get_layout("ntu25"))).eval()
    with torch.no_grad():
        conv.alpha.fill_(0.7)  # the refinement on, with its bias
    x = torch.randn(3, in_channels, 6, 25)
    with_grad = conv(x)
    with torch.inference_mode():
        without = conv(x)
    assert torch.allclose(with_grad, without, atol=1e-5)


def test_graph_conv_exports_for_any_batch_where_inference_runs_in_chunks(monkeypatch):
    """torch.export (the ONNX path) traces the one-shot form: a loop over chunks would fix the batch size."""
    monkeypatch.setattr(graph_conv, "CPU_CHUNK_BYTES", SAMPLE_BYTES)  # one sample per chunk when not traced
    torch.manual_seed(0)
    conv = CTRGraphConv(4, 8, adjacency(get_layout("ntu25"))).eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    with torch.no_grad():
        program = torch.export.export(conv, (torch.randn(3, 4, 6, 25),), dynamic_shapes=({0: batch},))
        x = torch.randn(5, 4, 6, 25)
        assert torch.allclose(program.module()(x), conv(x), atol=1e-5)


@pytest.mark.parametrize(("stride", "frames"), [(1, 10), (2, 10), (2, 9)])
def test_temporal_max_pool_equals_maxpool2d(stride, frames):
    x = torch.randn(2, 3, frames, 4)
    expected = torch.nn.functional.max_pool2d(x, (3, 1), (stride, 1), (1, 0))
    assert torch.equal(TemporalMaxPool(stride)(x), expected)
