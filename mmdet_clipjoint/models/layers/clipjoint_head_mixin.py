# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""What every ClipJoint head (RoI or one-stage) has around its branch."""
from typing import Optional

from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from .score_fusion import ScoreModeMixin

__all__ = ['ClipJointHeadMixin', 'BRANCH_KEYS', 'legacy_branch_key']

#: head-level config keys of versions <= 0.x that are now keys of the
#: head's ``branch=dict(...)`` (a :class:`ContrastiveBranch`)
BRANCH_KEYS = ('proj_hidden', 'loss_contrast', 'loss_aux', 'max_grad_share')

#: state-dict prefixes (under the head) of checkpoints written before the
#: branch was one module, and where they live now
_LEGACY_PREFIXES = (('text_bank.', 'branch.text_bank.'),
                    ('proj.', 'branch.proj.'))


def legacy_branch_key(key: str) -> Optional[str]:
    """The name of a branch weight in checkpoints of the flat layout.

    Args:
        key (str): A state-dict key of the current layout, e.g.
            ``'roi_head.bbox_head.branch.text_bank.embeddings'``.

    Returns:
        str, optional: ``'roi_head.bbox_head.text_bank.embeddings'`` (the
        same for ``branch.proj.``), or None for a key outside the branch's
        bank and projection.
    """
    for old, new in _LEGACY_PREFIXES:
        if key.startswith(new):
            return old + key[len(new):]
        at = key.find('.' + new)
        if at >= 0:
            return key[:at + 1] + old + key[at + 1 + len(new):]
    return None


class ClipJointHeadMixin(ScoreModeMixin):
    """The host side of a :class:`ContrastiveBranch`, shared by
    :class:`ClipJointBBoxHead` and :class:`ClipJointDenseMixin`.

    * :meth:`build_branch` builds ``self.branch`` from the head's
      ``branch=dict(...)`` and ``text_bank`` keys, and refuses the old
      head-level keys (:data:`BRANCH_KEYS`) with an error that says where
      they moved;
    * ``text_bank``, ``proj`` and ``max_grad_share`` stay readable on the
      head (read-only: they belong to the branch);
    * the **label space**: ``num_labels`` is C, or after
      :func:`~mmdet_clipjoint.apis.set_vocabulary` (``bank.set_classes``)
      the bank's C' names (``vocabulary_swapped``); the heads' post-process
      reads it (one-stage: ``cls_out_channels``; RoI: class-agnostic box
      regression), so the swap is state of the model, not an attribute
      rewritten for the duration of a call;
    * checkpoints written before the branch was one module load:
      ``text_bank.*`` / ``proj.*`` become ``branch.text_bank.*`` /
      ``branch.proj.*`` (:meth:`_load_from_state_dict`).
    """

    def build_branch(self,
                     branch: ConfigType,
                     text_bank: ConfigType,
                     in_channels: int,
                     legacy: dict,
                     owner: Optional[str] = None,
                     **extra) -> None:
        """Build ``self.branch`` (call after the host's ``__init__``).

        Args:
            branch (dict): The head's ``branch`` config (a
                :class:`ContrastiveBranch`; ``type`` may be left out).
            text_bank (dict): The head's ``text_bank`` config.
            in_channels (int): Width of the host feature the branch embeds.
            legacy (dict): Keyword arguments the head received besides its
                own; old head-level branch keys among them raise.
            owner (str, optional): The head's name in messages (default:
                its class name).
            **extra: More arguments of the branch (``spatial``, messages).

        Raises:
            ValueError: For old head-level keys, or a ``text_bank`` inside
                ``branch``.
        """
        owner = owner or type(self).__name__
        moved = [k for k in BRANCH_KEYS if k in legacy]
        if moved:
            raise ValueError(
                f'{owner} got {", ".join(moved)} at the head level; these '
                "keys moved into the head's branch=dict(...) (a "
                'ContrastiveBranch, see configs/_base_/clipjoint_branch.py):'
                f' write branch=dict({moved[0]}=...) in the head config (a '
                'child config too: its keys go under branch).')
        if branch is None or 'text_bank' in branch:
            raise ValueError(
                f"{owner}: give the branch as branch=dict(...) and the text "
                'bank as the head key text_bank=dict(...) (with num_classes,'
                ' the label space), not inside branch.')
        cfg = dict(type='ContrastiveBranch')
        cfg.update(branch)
        cfg.update(in_channels=in_channels, num_classes=self.num_classes,
                   text_bank=text_bank, owner=owner, **extra)
        self.branch = MODELS.build(cfg)

    # ------------------------------------------------------------------
    # the branch's parts, readable on the head
    # ------------------------------------------------------------------
    @property
    def text_bank(self):
        """The branch's :class:`ContrastiveTextBank` (read-only)."""
        return self.branch.text_bank

    @property
    def proj(self):
        """The branch's projection MLP (read-only)."""
        return self.branch.proj

    @property
    def max_grad_share(self) -> Optional[float]:
        """The branch's gradient bound (a config value, read-only)."""
        return self.branch.max_grad_share

    @property
    def needs_embed(self) -> bool:
        """Whether forward computes the branch (training, or ``clip`` /
        ``fuse`` scoring)."""
        return self.training or self.score_mode != 'det'

    def embed(self, feats: Tensor) -> Tensor:
        """The branch's embeddings of host features
        (:meth:`ContrastiveBranch.embed`): (N, Cf) -> (N, D) or
        (B, Cf, H, W) -> (B, D, H, W), L2-normalised float32."""
        return self.branch.embed(feats)

    # ------------------------------------------------------------------
    # label space
    # ------------------------------------------------------------------
    @property
    def vocabulary_swapped(self) -> bool:
        """Whether the bank holds names other than the trained classes
        (``set_vocabulary``); False while the branch is not built yet."""
        branch = self.__dict__.get('_modules', {}).get('branch')
        return branch is not None and branch.text_bank.is_swapped

    @property
    def num_labels(self) -> int:
        """Size of the label space the head predicts: ``num_classes``, or
        the bank's C' after ``set_vocabulary``."""
        if self.vocabulary_swapped:
            return self.branch.text_bank.num_classes
        return self.num_classes

    # ------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        """Checkpoints of the flat layout (``text_bank.*``, ``proj.*``
        directly under the head) load into ``branch.*``."""
        for old, new in _LEGACY_PREFIXES:
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                moved = prefix + new + key[len(prefix + old):]
                if moved not in state_dict:
                    state_dict[moved] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
