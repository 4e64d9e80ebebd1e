"""Built-in models: ResNet-18 and MobileNetV2 (architectures of the papers as torchvision
defines them, written here because torchvision does not import beside this torch) with
seeded random weights, and a small CNN trained on scikit-learn's 8x8 digits.

* ``resnet18``: He et al. 2016, basic blocks [2, 2, 2, 2], 7x7/2 stem and 3x3/2 max pool,
  1x1/2 projection shortcuts, global average pool, fc.
* ``mobilenet_v2``: Sandler et al. 2018, width 1.0: 3x3/2 stem of 32, inverted residual
  blocks (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
  (6,160,3,2) (6,320,1,1) with ReLU6 and linear bottlenecks, 1x1 conv to 1280, global
  average pool, dropout, fc.

Both take any input size (3x224x224 by default; 3x32x32 works). Their weights follow
torchvision's initialisation from a fixed seed; BatchNorm statistics are those of
seeded random images (they are not trained: the outputs mean nothing, the arithmetic is
what they exercise).

* ``digits_cnn``: 1x8x8 -> conv 1->16 3x3 + BN + ReLU -> conv 16->32 3x3/2 + BN + ReLU
  -> conv 32->32 3x3 + BN, plus the block input, ReLU (a residual block) -> 2x2 average
  pool -> flatten -> linear 128->10. Trained with fixed seeds on one CPU thread with
  deterministic algorithms (a few seconds); the weights are cached under
  ``$HWGEN_CACHE`` (default ``~/.cache/hwgen``).
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ModelError
from .graph import torch_threads

__all__ = ["ZOO", "zoo_model", "digits_data", "digits_cnn", "resnet18", "mobilenet_v2",
           "DEFAULT_SHAPES", "cache_dir"]

DEFAULT_SHAPES = {"resnet18": (3, 224, 224), "mobilenet_v2": (3, 224, 224),
                  "digits_cnn": (1, 8, 8)}
SEED = 0
#: bump when the digits recipe changes (the cache key)
DIGITS_RECIPE = "digits_cnn-v1"


def _nn():
    import torch
    return torch, torch.nn


# ---- ResNet-18 ------------------------------------------------------------------------

def _resnet_classes():
    torch, nn = _nn()

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, layers=(2, 2, 2, 2), num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._layer(64, layers[0], 1)
            self.layer2 = self._layer(128, layers[1], 2)
            self.layer3 = self._layer(256, layers[2], 2)
            self.layer4 = self._layer(512, layers[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _layer(self, planes, blocks, stride):
            down = None
            if stride != 1 or self.inplanes != planes:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                     nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, down)]
            self.inplanes = planes
            layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet


# ---- MobileNetV2 ----------------------------------------------------------------------

def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _mobilenet_classes():
    torch, nn = _nn()

    class ConvBNReLU(nn.Sequential):
        def __init__(self, cin, cout, k=3, stride=1, groups=1):
            super().__init__(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups,
                                       bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = int(round(cin * expand))
            self.use_res_connect = stride == 1 and cin == cout
            layers = [ConvBNReLU(cin, hidden, 1)] if expand != 1 else []
            layers += [ConvBNReLU(hidden, hidden, 3, stride, groups=hidden),
                       nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes=1000, width=1.0):
            super().__init__()
            cin = _make_divisible(32 * width)
            self.last_channel = _make_divisible(1280 * max(1.0, width))
            features = [ConvBNReLU(3, cin, stride=2)]
            for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
                cout = _make_divisible(c * width)
                for i in range(n):
                    features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                    cin = cout
            features.append(ConvBNReLU(cin, self.last_channel, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2),
                                            nn.Linear(self.last_channel, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV2


# ---- digits ---------------------------------------------------------------------------

def _digits_class():
    torch, nn = _nn()

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, 1, 1)
            self.bn1 = nn.BatchNorm2d(16)
            self.conv2 = nn.Conv2d(16, 32, 3, 2, 1)
            self.bn2 = nn.BatchNorm2d(32)
            self.conv3 = nn.Conv2d(32, 32, 3, 1, 1)
            self.bn3 = nn.BatchNorm2d(32)
            self.relu = nn.ReLU()
            self.pool = nn.AvgPool2d(2)
            self.fc = nn.Linear(32 * 2 * 2, 10)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            h = self.relu(self.bn2(self.conv2(x)))
            x = self.relu(self.bn3(self.conv3(h)) + h)
            return self.fc(torch.flatten(self.pool(x), 1))

    return DigitsCNN


def digits_data(seed: int = SEED) -> dict:
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) images in [0, 1], split 80/20
    (stratified, ``random_state=seed``)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed,
                                          stratify=d.target)
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def cache_dir() -> Path:
    return Path(os.environ.get("HWGEN_CACHE") or Path.home() / ".cache" / "hwgen")


def _train_digits(data: dict, epochs: int = 40, seed: int = SEED):
    torch, nn = _nn()
    torch.manual_seed(seed)
    net = _digits_class()()
    x = torch.as_tensor(data["x_train"])
    y = torch.as_tensor(data["y_train"], dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def _accuracy(net, x, y) -> float:
    torch, _ = _nn()
    with torch.no_grad(), torch_threads():
        pred = net(torch.as_tensor(x)).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())


class _Lock:
    """An exclusive lock on a file beside the cache (parallel test workers train the
    digits model once); no lock where the platform or the directory does not allow."""

    def __init__(self, path: Path):
        self.path, self.f = path, None

    def __enter__(self):
        try:
            import fcntl
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.f = open(self.path, "w")
            fcntl.flock(self.f, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.f = None
        return self

    def __exit__(self, *exc):
        if self.f is not None:
            self.f.close()     # releases the lock


def digits_cnn(retrain: bool = False):
    """The trained digits CNN (eval mode) and its meta (float accuracies)."""
    torch, _ = _nn()
    data = digits_data()
    key = hashlib.sha256(f"{DIGITS_RECIPE}|{torch.__version__}".encode()).hexdigest()[:12]
    path = cache_dir() / f"digits_cnn-{key}.pt"
    with _Lock(path.with_suffix(".lock")):
        net = None if retrain else _load_cached(path)
        if net is None:
            net = _train_cached(data, path)
    meta = {"model": "digits_cnn", "weights": f"trained on sklearn digits (80/20 split, "
            f"seed {SEED}, recipe {DIGITS_RECIPE})",
            "float_test_accuracy": _accuracy(net, data["x_test"], data["y_test"]),
            "float_train_accuracy": _accuracy(net, data["x_train"], data["y_train"])}
    return net, meta


def _load_cached(path: Path):
    torch, _ = _nn()
    if not path.is_file():
        return None
    net = _digits_class()()
    try:
        net.load_state_dict(torch.load(path, weights_only=True))
    except Exception:
        return None
    return net.eval()


def _train_cached(data: dict, path: Path):
    torch, _ = _nn()
    det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(1):
            net = _train_digits(data)
    finally:
        torch.use_deterministic_algorithms(det)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save(net.state_dict(), buf)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: trained again next time
    return net.eval()


def _calibrate_bn(net, shape: tuple, images: int, seed: int):
    """BatchNorm running statistics of ``images`` seeded N(0, 1) images."""
    torch, nn = _nn()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None          # cumulative average over the batches
    g = torch.Generator().manual_seed(seed)
    net.train()
    with torch.no_grad(), torch_threads():
        for i in range(0, images, 8):
            net(torch.randn((min(8, images - i),) + shape, generator=g))
    return net.eval()


def bn_images(shape: tuple) -> int:
    """Images the BatchNorm statistics are taken from (fewer at large sizes)."""
    return 32 if shape[1] * shape[2] <= 64 * 64 else 8


def resnet18(shape=(3, 224, 224), seed: int = SEED):
    torch, _ = _nn()
    torch.manual_seed(seed)
    net = _resnet_classes()()
    n = bn_images(shape)
    return _calibrate_bn(net, shape, n, seed + 1), {
        "model": "resnet18", "weights": f"random (torchvision initialisation, seed {seed}); "
        f"BatchNorm statistics from {n} seeded random N(0,1) images; not trained"}


def mobilenet_v2(shape=(3, 224, 224), seed: int = SEED):
    torch, _ = _nn()
    torch.manual_seed(seed)
    net = _mobilenet_classes()()
    n = bn_images(shape)
    return _calibrate_bn(net, shape, n, seed + 1), {
        "model": "mobilenet_v2", "weights": f"random (torchvision initialisation, seed "
        f"{seed}); BatchNorm statistics from {n} seeded random N(0,1) images; not trained"}


ZOO = ("digits_cnn", "mobilenet_v2", "resnet18")


def zoo_model(name: str, input_shape: Optional[tuple] = None):
    """``(module in eval mode, input shape, meta)`` of a built-in model."""
    if name not in ZOO:
        raise ModelError(f"unknown model {name!r}: not a file, and not one of the built-in "
                         f"models ({', '.join(ZOO)})")
    default = DEFAULT_SHAPES[name]
    shape = default if input_shape is None else tuple(int(d) for d in input_shape)
    if name == "digits_cnn":
        if shape != default:
            raise ModelError(f"digits_cnn: input shape {shape} does not match the model's "
                             f"input {default}")
        net, meta = digits_cnn()
        return net, shape, meta
    min_hw = 32
    if len(shape) != 3 or shape[0] != 3 or min(shape[1:]) < min_hw:
        raise ModelError(f"{name}: input shape {shape} does not fit the model (3 channels, "
                         f"at least {min_hw}x{min_hw})")
    net, meta = (resnet18 if name == "resnet18" else mobilenet_v2)(shape)
    return net, shape, meta
