"""Whole networks for the benchmark, written once for both libraries.

ResNet-18, MobileNetV2 and ShuffleNetV2 (x1.0) with the layer structure of torchvision's
definitions (same convolutions, batch norms, activations, pooling and classifier, so the same
parameter shapes and the same work), written here from the papers' descriptions so that the
benchmark needs no torchvision. Each builder takes the library module as ``torch`` (tinyconv
is called exactly as PyTorch code calls PyTorch), so the two libraries run the same code.

One difference from torchvision: MobileNetV2's classifier has no Dropout(0.2), because a
random mask would make the two libraries' training steps differ; a dropout layer costs
nothing measurable beside the convolutions.

This module imports neither library: ``run.py`` pins the thread counts first.
"""

from __future__ import annotations

from typing import Any


def resnet18(torch: Any, num_classes: int = 1000) -> Any:
    """ResNet-18 (He et al. 2016): 7x7/2 stem, max-pool, 4 stages of 2 BasicBlocks, avg-pool, fc."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            layers, cin = [], 64
            for i, cout in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                layers.append(
                    nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))
                )
                cin = cout
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def _divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of 8, never more than 10% down (MobileNetV2's rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def mobilenet_v2(torch: Any, num_classes: int = 1000) -> Any:
    """MobileNetV2 (Sandler et al. 2018): inverted residual blocks (1x1 expand, 3x3 depthwise,
    1x1 project), ReLU6, width 1.0."""
    nn = torch.nn

    def conv_bn(cin, cout, k, stride, groups=1, act=True):
        layers = [
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        return nn.Sequential(*layers)

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
            super().__init__()
            hidden = int(round(cin * expand))
            self.use_res = stride == 1 and cin == cout
            layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, 1)]
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden)]
            layers += [conv_bn(hidden, cout, 1, 1, act=False)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    settings = [  # expansion t, channels c, repeats n, first stride s
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cin, last = _divisible(32), _divisible(1280)
            feats = [conv_bn(3, cin, 3, 2)]
            for t, c, n, s in settings:
                cout = _divisible(c)
                for i in range(n):
                    feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                    cin = cout
            feats.append(conv_bn(cin, last, 1, 1))
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Sequential(nn.Linear(last, num_classes))

        def forward(self, x):
            x = self.features(x)
            x = torch.nn.functional.adaptive_avg_pool2d(x, (1, 1))
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV2()


def shufflenet_v2(torch: Any, num_classes: int = 1000) -> Any:
    """ShuffleNetV2 x1.0 (Ma et al. 2018): channel split, 1x1 / 3x3 depthwise / 1x1 branch,
    concatenation and channel shuffle."""
    nn = torch.nn

    def channel_shuffle(x, groups: int):
        n, c, h, w = x.size()
        x = x.view(n, groups, c // groups, h, w)
        return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)

    def depthwise(c, stride):
        return [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c)]

    def pointwise(cin, cout):
        return [nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.stride = stride
            half = cout // 2
            if stride > 1:
                self.branch1 = nn.Sequential(*depthwise(cin, stride), *pointwise(cin, half))
            else:
                self.branch1 = nn.Sequential()
            self.branch2 = nn.Sequential(
                *pointwise(cin if stride > 1 else half, half),
                *depthwise(half, stride),
                *pointwise(half, half),
            )

        def forward(self, x):
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(out, 2)

    class ShuffleNetV2(nn.Module):
        def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024)) -> None:
            super().__init__()
            cin = channels[0]
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU(True)
            )
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            stages = []
            for n, cout in zip(repeats, channels[1:4], strict=True):
                blocks = [InvertedResidual(cin, cout, 2)]
                blocks += [InvertedResidual(cout, cout, 1) for _ in range(n - 1)]
                stages.append(nn.Sequential(*blocks))
                cin = cout
            self.stage2, self.stage3, self.stage4 = stages
            self.conv5 = nn.Sequential(
                nn.Conv2d(cin, channels[-1], 1, 1, 0, bias=False),
                nn.BatchNorm2d(channels[-1]),
                nn.ReLU(True),
            )
            self.fc = nn.Linear(channels[-1], num_classes)

        def forward(self, x):
            x = self.maxpool(self.conv1(x))
            x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
            return self.fc(x.mean([2, 3]))

    return ShuffleNetV2()


MODELS = {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2, "shufflenet_v2": shufflenet_v2}
