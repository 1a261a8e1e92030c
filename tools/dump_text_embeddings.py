# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Encode class names with the CLIP text encoder into an embeddings file.

Run it once on a machine that has the CLIP weights (a pretrained tag that
open_clip can fetch, or a local checkpoint file); training then needs neither
CLIP nor a network: set the text bank to ``init_source='file',
embeddings_file=<out>``. The file records the model, the pretrained tag or
checkpoint, the prompt templates and the class names; the text bank checks
the names (and their order) when it loads the file.

Class names come from (first match):

* a detector config (``.py``): its ``ContrastiveTextBank`` (``class_names``,
  which may be a dataset type such as ``'VOCDataset'``, ``prompt_aliases``,
  ``templates``, ``clip_model``, ``clip_pretrained``, ``embed_dim``), or,
  for a config without a text bank, the training dataset's ``metainfo``
  classes / its dataset type's ``METAINFO``;
* a ``.json`` file: a list of names, or a dict with ``classes`` (and
  optionally ``prompt_aliases``), e.g. the ``dataset_info.json`` written by
  ``tools/make_synthetic_dataset.py``;
* a ``.txt`` file: one name per line (blank lines and ``#`` comments are
  skipped).

Examples::

    # names, prompts, CLIP model and weights from a config, e.g.
    # configs/clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py
    python tools/dump_text_embeddings.py CONFIG --out data/voc_vitb32.pt
    # offline, with a local checkpoint and a 10-prompt ensemble
    python tools/dump_text_embeddings.py classes.txt --out emb.pt \\
        --model ViT-B-32 --pretrained /models/open_clip_vit_b32.bin --ensemble
"""
import argparse
import os.path as osp
import sys
from typing import Dict

from mmdet_clipjoint.utils.cli import doc_parser, run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = doc_parser(__doc__)
    p.add_argument('source', help='detector config (.py) or class list '
                   '(.json / .txt)')
    p.add_argument('--out', required=True,
                   help='output file: .pt (embeddings + metadata, '
                   'recommended) or .npy (array; metadata in a .json next '
                   'to it)')
    p.add_argument('--model', help='open_clip architecture (default: the '
                   "config's clip_model, else ViT-B-32)")
    p.add_argument('--pretrained',
                   help='open_clip pretrained tag (e.g. openai) or path to a '
                   "local checkpoint; 'none' = random weights (tests only). "
                   "Default: the config's clip_pretrained, else openai")
    tg = p.add_mutually_exclusive_group()
    tg.add_argument('--templates', nargs='+', metavar='TEMPLATE',
                    help='prompt template(s) with one "{}" each; several are '
                    'averaged (default: the config\'s, else "a photo of a '
                    '{}.")')
    tg.add_argument('--ensemble', action='store_true',
                    help='use the built-in 10-template prompt ensemble')
    p.add_argument('--alias', action='append', default=[],
                   metavar='NAME=TEXT',
                   help='text to put in the prompts instead of a class name '
                   '(repeatable; added to the config\'s prompt_aliases)')
    p.add_argument('--model-config',
                   help='JSON file of an extra open_clip architecture to '
                   'register (its file name is the model name)')
    p.add_argument('--batch-size', type=int, default=256,
                   help='prompts per text-encoder batch')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings (key=value), as in '
                   'tools/train.py')
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    """Run the tool; returns the metadata written (for tests / scripting)."""
    args = parse_args(argv)
    if not osp.isfile(args.source):
        raise FileNotFoundError(f'{args.source} does not exist.')
    if not args.out.endswith(('.pt', '.pth', '.npy')):
        raise ValueError(f'--out {args.out!r}: use a .pt (recommended) or '
                         '.npy file name.')
    import open_clip

    from mmdet_clipjoint.models.utils import (DEFAULT_TEMPLATES,
                                              ENSEMBLE_TEMPLATES)
    from mmdet_clipjoint.models.utils.clip_text import ClipWeightsUnavailable
    from mmdet_clipjoint.models.utils.class_spec import (
        check_class_names, class_spec_from_config, class_spec_from_list)
    from mmdet_clipjoint.models.utils.embedding_dump import (
        clip_model_width, dump_text_embeddings)
    if args.model_config:
        open_clip.add_model_config(args.model_config)

    if args.source.endswith('.py'):
        from mmengine.config import Config
        cfg = Config.fromfile(args.source)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        spec = class_spec_from_config(cfg)
    elif args.source.endswith(('.json', '.txt')):
        spec = class_spec_from_list(args.source)
    else:
        raise ValueError(f'{args.source}: expected a config (.py) or a '
                         'class list (.json / .txt).')
    names = spec['class_names']
    check_class_names(names, args.source)
    aliases = dict(spec['prompt_aliases'])
    for item in args.alias:
        if '=' not in item:
            raise ValueError(f'--alias {item!r}: use NAME=TEXT.')
        k, v = item.split('=', 1)
        aliases[k] = v
    unknown = sorted(set(aliases) - set(names))
    if unknown:
        raise ValueError(f'Aliases for unknown classes {unknown}; known: '
                         f'{list(names)[:10]}...')
    prompt_names = [aliases.get(n, n) for n in names]

    model_name = args.model or spec.get('clip_model') or 'ViT-B-32'
    if args.pretrained is not None:
        pretrained = None if args.pretrained.lower() == 'none' \
            else args.pretrained
    else:
        pretrained = spec.get('clip_pretrained', 'openai')
    if args.ensemble:
        templates = list(ENSEMBLE_TEMPLATES)
    elif args.templates:
        templates = list(args.templates)
    else:
        templates = spec.get('templates') or list(DEFAULT_TEMPLATES)
        templates = [templates] if isinstance(templates, str) else \
            list(templates)

    width = clip_model_width(model_name)
    bank_dim = spec.get('embed_dim')
    if width is not None and bank_dim is not None and width != bank_dim:
        raise ValueError(
            f'open_clip {model_name!r} gives {width}-d embeddings but the '
            f'config\'s text bank has embed_dim={bank_dim}. Use the model '
            'the config names, or set the bank\'s embed_dim (e.g. '
            f'--cfg-options {spec["bank_paths"][0]}.embed_dim={width}).')
    if pretrained is None:
        print('WARNING: --pretrained none: random CLIP weights; the '
              'embeddings are meaningless (tests only).', file=sys.stderr)

    try:
        res = dump_text_embeddings(
            args.out, names, prompt_names, model_name, pretrained,
            templates, args.source, embed_dim=bank_dim,
            batch_size=args.batch_size, progress=not args.no_progress)
    except ClipWeightsUnavailable as e:
        raise FileNotFoundError(
            f'no network, and the CLIP weights {model_name!r} / '
            f'{pretrained!r} are not in the local cache. Run this command '
            'on a machine with network access (then copy the output file '
            'here), or pass --pretrained /path/to/open_clip_checkpoint.bin '
            'of that model.') from e
    out = osp.abspath(args.out)
    print(f'Wrote {tuple(res["embeddings"].shape)} embeddings to {out}')
    opts = ' '.join(f'{p}.init_source=file {p}.embeddings_file={out}'
                    for p in spec.get('bank_paths', ['model.<...>.text_bank']))
    print(f'Use it with:\n  --cfg-options {opts}')
    return res


if __name__ == '__main__':
    run_main(main, 'dump_text_embeddings')
