# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The YOLO11 backbone (n / s / m / l / x) as an mmdet backbone."""
from typing import Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from ..layers.yolo11_blocks import (C2PSA, SPPF, YOLO11_ACT, YOLO11_NORM, C3k2,
                                    scale_channels, scale_depth, yolo11_arch,
                                    yolo11_conv)

__all__ = ['YOLO11Backbone']


@MODELS.register_module()
class YOLO11Backbone(BaseModule):
    """YOLO11's backbone: a stride-2 stem and four stages.

    Base channels (before the scale's width rule
    :func:`~mmdet_clipjoint.models.layers.yolo11_blocks.scale_channels`)::

        stem    Conv 64 s2
        stage1  Conv 128 s2, C3k2 256 (e 0.25)
        stage2  Conv 256 s2, C3k2 512 (e 0.25)            -> P3, stride 8
        stage3  Conv 512 s2, C3k2 512 (c3k)               -> P4, stride 16
        stage4  Conv 1024 s2, C3k2 1024 (c3k), SPPF, C2PSA -> P5, stride 32

    Every C3k2 has ``c3k=True`` for the m / l / x scales. Outputs for
    ``out_indices=(2, 3, 4)`` (indices into ``[stem, stage1, ..., stage4]``,
    as mmdet's ``CSPNeXt``): n (64, 128, 256), s (128, 256, 512),
    m (256, 512, 512) channels.

    Args:
        arch (str): Scale, ``n`` / ``s`` / ``m`` / ``l`` / ``x``.
        out_indices (Sequence[int]): Outputs, indices into the five parts.
        frozen_stages (int): Parts ``0..frozen_stages`` are frozen (eval mode
            and no gradients); -1 freezes nothing.
        norm_eval (bool): Keep BN layers in eval mode while training.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config (e.g. a ``Pretrained`` one).
    """

    def __init__(self,
                 arch: str = 'n',
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        deepen, widen, max_ch = yolo11_arch(arch)
        if not set(out_indices) <= set(range(5)):
            raise ValueError(f'out_indices {tuple(out_indices)} must be in '
                             '0..4 (stem, stage1..stage4).')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages={frozen_stages} must be in '
                             '-1..4.')
        self.arch = arch
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        ch = lambda c: scale_channels(c, widen, max_ch)  # noqa: E731
        n = scale_depth(2, deepen)
        c3k_all = arch in ('m', 'l', 'x')
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.stem = yolo11_conv(3, ch(64), 3, 2, **cfg)
        self.stage1 = nn.Sequential(
            yolo11_conv(ch(64), ch(128), 3, 2, **cfg),
            C3k2(ch(128), ch(256), n, c3k_all, 0.25, **cfg))
        self.stage2 = nn.Sequential(
            yolo11_conv(ch(256), ch(256), 3, 2, **cfg),
            C3k2(ch(256), ch(512), n, c3k_all, 0.25, **cfg))
        self.stage3 = nn.Sequential(
            yolo11_conv(ch(512), ch(512), 3, 2, **cfg),
            C3k2(ch(512), ch(512), n, True, **cfg))
        self.stage4 = nn.Sequential(
            yolo11_conv(ch(512), ch(1024), 3, 2, **cfg),
            C3k2(ch(1024), ch(1024), n, True, **cfg),
            SPPF(ch(1024), ch(1024), 5, **cfg),
            C2PSA(ch(1024), n, **cfg))
        self.layers = ['stem', 'stage1', 'stage2', 'stage3', 'stage4']
        widths = [ch(64), ch(256), ch(512), ch(512), ch(1024)]
        #: channels of each output, in ``out_indices`` order
        self.out_channels = tuple(widths[i] for i in self.out_indices)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        """Eval mode and no gradients for parts ``0..frozen_stages``."""
        for i in range(self.frozen_stages + 1):
            m = getattr(self, self.layers[i])
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'YOLO11Backbone':
        """Train mode, keeping frozen parts (and BN with ``norm_eval``) in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Args: x (Tensor): images (B, 3, H, W), H and W multiples of 32.

        Returns:
            tuple[Tensor]: per ``out_indices``, (B, C_i, H / s_i, W / s_i)
            with strides 2, 4, 8, 16, 32 for indices 0..4.
        """
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
