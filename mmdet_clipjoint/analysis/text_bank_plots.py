# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Figures of the text-bank analysis (:mod:`.text_bank`): class x class
similarity, per-class drift, temperatures and the PCA of region embeddings.
Each function writes one PNG and returns its title."""
import numpy as np

from .text_bank import pca_2d

__all__ = [
    'plot_similarity', 'plot_drift', 'plot_temperatures', 'plot_regions'
]


#: marker shapes of the classes in the region plot
_MARKERS = ('o', 's', '^', 'v', 'D', 'P', 'X', '<', '>', 'h', 'p', '8')


def _wrap(text: str, width: int) -> str:
    import textwrap
    return '\n'.join(textwrap.wrap(text, max(20, width)))


def _spread_labels(ax, points, names) -> None:
    """Name each point, moving labels apart vertically so that none
    overlaps another (greedy, in the order of the points' heights)."""
    y0, y1 = ax.get_ylim()
    x0, x1 = ax.get_xlim()
    gap, near = 0.035 * (y1 - y0), 0.22 * (x1 - x0)
    # a degenerate axis (all points at one height) still gets a gap that
    # moves a label: y + gap > y in floating point
    scale = max(abs(y0), abs(y1), float(np.abs(points[:, 1]).max()), 1e-30)
    gap = max(gap, 1e-6 * scale) if np.isfinite(gap) else 1e-6 * scale
    placed = []
    for i in np.argsort(points[:, 1]):
        x, y = float(points[i, 0]), float(points[i, 1])
        # a move puts y a gap above one placed label, which then cannot
        # trigger again: at most len(placed) moves, one pass more to check
        for _ in range(len(placed) + 1):
            moved = False
            for px, py in placed:
                if abs(px - x) < near and abs(py - y) < gap:
                    y, moved = py + gap, True
            if not moved:
                break
        placed.append((x, y))
        ax.annotate(names[i], (points[i, 0], points[i, 1]),
                    xytext=(x + 0.01 * (x1 - x0), y), textcoords='data',
                    fontsize=7, ha='left', va='center',
                    arrowprops=dict(arrowstyle='-', lw=0.4, color='0.5'))


def _class_ticks(ax, names, axis='both'):
    if len(names) > 40:
        return
    if axis in ('both', 'x'):
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=90, fontsize=7)
    if axis in ('both', 'y'):
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)


def _unavailable(ax, reason):
    ax.text(0.5, 0.5, 'initialisation unavailable:\n' + reason,
            ha='center', va='center', wrap=True, fontsize=9,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_similarity(path, names, learned, init, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    sim_l = (learned @ learned.t()).numpy()
    sims = [sim_l] + ([(init @ init.t()).numpy()] if init is not None
                      else [])
    off = ~np.eye(len(names), dtype=bool)
    vmin = min(float(s[off].min()) for s in sims) if len(names) > 1 else -1
    title = f'{title_prefix}class x class cosine similarity'
    if init is None:
        title += f' (initialisation unavailable: {init_desc})'
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), layout='constrained')
    if init is not None:
        im = axes[0].imshow(sims[1], vmin=vmin, vmax=1, cmap='viridis')
        axes[0].set_title(_wrap(f'initialisation: {init_desc}', 60),
                          fontsize=9)
        _class_ticks(axes[0], names)
    else:
        _unavailable(axes[0], init_desc)
    im = axes[1].imshow(sim_l, vmin=vmin, vmax=1, cmap='viridis')
    axes[1].set_title('learned (checkpoint)', fontsize=9)
    _class_ticks(axes[1], names)
    cbar = fig.colorbar(im, ax=list(axes), shrink=0.7)
    cbar.set_label('cosine similarity')
    fig.suptitle(_wrap(title, 110), fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_drift(path, names, drift, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 4))
    if drift is None:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned): '
                 f'initialisation unavailable ({init_desc})')
        _unavailable(ax, init_desc)
    else:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned); '
                 f'init: {init_desc}')
        ax.bar(range(len(names)), drift, color='tab:blue')
        ax.set_ylabel('1 - cos(init, learned)')
        _class_ticks(ax, names, 'x')
    ax.set_title(_wrap(title, int(fig.get_figwidth() * 13)), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_temperatures(path, labels, temps, init_temp, t_range,
                      title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels) + 2), 4))
    ax.bar(range(len(labels)), temps, color='tab:orange')
    if init_temp is not None:
        ax.axhline(init_temp, color='k', ls='--', lw=1,
                   label=f'initial tau = {init_temp:g}')
    for t in t_range:
        ax.axhline(t, color='grey', ls=':', lw=1)
    ax.set_yscale('log')
    ax.set_ylabel('temperature tau (log scale)')
    _class_ticks(ax, labels, 'x')
    if init_temp is not None:
        ax.legend(fontsize=8)
    title = (f'{title_prefix}learned per-class temperatures '
             f'(clamp range {t_range[0]:g}-{t_range[1]:g}, dotted)')
    ax.set_title(_wrap(title, int(fig.get_figwidth() * 13)), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_regions(path, regions, text_emb, names, title_prefix):
    import matplotlib.pyplot as plt
    x = regions['embeds'].numpy()
    lab = regions['labels'].numpy()
    mean, axes, ratio = pca_2d(x)
    p = (x - mean) @ axes.T
    t = (text_emb.numpy() - mean) @ axes.T
    fig, ax = plt.subplots(figsize=(9, 7))
    bg = lab < 0
    if bg.any():
        ax.scatter(p[bg, 0], p[bg, 1], s=8, c='lightgrey', marker='.',
                   label='background (IoU < 0.5)')
    # neutral markers: a shape per class, never a colour that a class name
    # could contradict ("red circle" drawn blue)
    for c in sorted(set(lab[~bg].tolist())):
        m = lab == c
        ax.scatter(p[m, 0], p[m, 1], s=18, marker=_MARKERS[c % len(_MARKERS)],
                   facecolors='none', edgecolors='0.25', linewidths=0.8,
                   label=names[c])
    ax.scatter(t[:, 0], t[:, 1], marker='*', s=110, c='k',
               label='class text embeddings')
    if len(names) <= 40:
        _spread_labels(ax, t, names)
    ax.set_xlabel(f'PC1 ({100 * ratio[0]:.1f}% var.)')
    ax.set_ylabel(f'PC2 ({100 * ratio[1]:.1f}% var.)' if len(ratio) > 1
                  else 'PC2')
    if len(set(lab.tolist())) <= 25:
        ax.legend(fontsize=7, loc='center left', bbox_to_anchor=(1.01, 0.5),
                  markerscale=1.2, frameon=False)
    title = (f'{title_prefix}PCA of {len(x)} region embeddings '
             f'({regions["num_images"]} images), marked by '
             f'{regions["colour_by"]}; stars: class text embeddings')
    ax.set_title(_wrap(title, 90), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title, ratio
