"""torch.export import: archives saved with torch.export.save, walked both as exported
and after run_decompositions, against the float modules; the one-line errors."""
import numpy as np
import pytest

# torch 2.13 warns about its own treespec pickling (isinstance(treespec, LeafSpec)).
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

torch = pytest.importorskip("torch")
nn = torch.nn

from hwgen.frontend import ModelError, load_model
from hwgen.frontend.graph import prepare, run_float
from hwgen.frontend.torch_import import torch_graph
from hwgen.frontend.zoo import digits_cnn, digits_data


class Block(nn.Module):
    """A resnet-style network with a bit of everything the importer maps."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.conv1 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.dw = nn.Conv2d(16, 16, 3, 1, 1, groups=16)
        self.act6 = nn.ReLU6()
        self.side = nn.Conv2d(16, 8, 1)
        self.avg = nn.AvgPool2d(2, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(24 * 2 * 2 + 24, 10)

    def forward(self, x):
        x = self.pool(self.stem(x))
        y = torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))) + self.down(x))
        z = self.act6(self.dw(y))
        cat = torch.cat([z, self.side(y)], dim=1)
        a = self.avg(cat).view(cat.shape[0], -1)
        g = torch.flatten(self.gap(cat), 1)
        return self.fc(self.drop(torch.cat([a, g], dim=1)))


def randomized(net, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net.eval()


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    torch.manual_seed(0)
    net = randomized(Block())
    ep = torch.export.export(net, (torch.zeros(2, 3, 16, 16),))
    path = tmp_path_factory.mktemp("pt2") / "block.pt2"
    torch.export.save(ep, str(path))
    return net, ep, path


@pytest.mark.parametrize("decomposed", [False, True])
def test_block_float_import_equals_the_module(block, decomposed):
    net, ep, path = block
    g = torch_graph(ep.run_decompositions() if decomposed else path)
    x = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = net(x).numpy()
    out = g.outputs[0]
    assert np.abs(run_float(g, x.numpy())[out] - ref).max() < 1e-5
    assert np.abs(run_float(prepare(g), x.numpy())[out] - ref).max() < 1e-5


def test_block_quantized(block):
    net, _, path = block
    x = torch.randn(64, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    q = load_model(path, calib=x.numpy())
    assert q.meta["format"] == "torch.export"
    by = {layer.name: layer for layer in q.layers}
    assert by["conv2"].residual is not None and by["conv2"].lo == 0    # add + relu fused
    assert by["dw"].groups == 16 and by["dw"].lo == 0
    assert by["pool"].op == "maxpool" and by["avg"].op == "avgpool"
    assert sum(layer.op == "add" for layer in q.layers) == 0
    assert sum(layer.op == "conv" for layer in q.layers) == 6           # BN folded away
    with torch.no_grad():
        ref = net(x).numpy()
    got = q.dequantize(q.outputs[0], q.run(q.quantize_input(x.numpy()))[q.outputs[0]])
    # measured: 2.1% largest, 1.3% RMS error relative to the largest / RMS logit
    assert np.abs(got - ref).max() / np.abs(ref).max() < 0.04
    assert np.sqrt(((got - ref) ** 2).mean() / (ref ** 2).mean()) < 0.02


def test_digits_cnn_through_pt2(tmp_path):
    net, meta = digits_cnn()
    data = digits_data()
    path = tmp_path / "digits.pt2"
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)), str(path))
    q = load_model(path, calib=data["x_train"])
    x = data["x_test"]
    y = q.run(q.quantize_input(x), keep="outputs")[q.outputs[0]]
    with torch.no_grad():
        ref = net(torch.as_tensor(x)).numpy()
    assert (y.argmax(1) == ref.argmax(1)).mean() >= 0.99
    assert (y.argmax(1) == data["y_test"]).mean() >= meta["float_test_accuracy"] - 0.01


class Sig(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


def test_errors(tmp_path, block):
    _, _, path = block
    with pytest.raises(ModelError) as e:
        load_model(path, input_shape=(3, 32, 32))
    assert str(e.value) == ("block.pt2: input shape (3, 32, 32) does not match the model's "
                            "input (3, 16, 16)")
    sig = tmp_path / "sig.pt2"
    torch.export.save(torch.export.export(Sig().eval(), (torch.zeros(1, 3, 8, 8),)), str(sig))
    with pytest.raises(ModelError) as e:
        load_model(sig)
    assert str(e.value) == "sig.pt2: node sigmoid (sigmoid.default): op not supported"
    train = tmp_path / "train.pt2"
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    torch.export.save(torch.export.export(m, (torch.zeros(2, 3, 8, 8),)), str(train))
    with pytest.raises(ModelError) as e:
        load_model(train)
    assert str(e.value) == ("train.pt2: node 1.batch_norm (batch_norm.default): BatchNorm "
                            "in training mode (export the model in eval mode)")
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match=r"^junk\.pt2: not a torch\.export archive \(.*\)$"):
        load_model(junk)
    with pytest.raises(ModelError, match=r"^missing\.pt2: no such file$"):
        load_model(tmp_path / "missing.pt2")
