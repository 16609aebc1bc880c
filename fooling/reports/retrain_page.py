"""The retraining study's page (``fooling report STUDY_DIR --html``), built as a
:class:`~fooling.reports.document.Report`.

It shows what the study recorded (the per-network table and the plot of report.md, each round's
gallery) and one thing no file holds yet: a sample of each round's fooling images with the label
the next network, trained on that round's images, gives them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fooling.reports.document import (
    Figure,
    ImageFiles,
    Links,
    Paragraph,
    Report,
    Section,
    Table,
    Tile,
    Tiles,
)
from fooling.reports.gallery_html import read_gallery, write_gallery_html
from fooling.reports.retrain import (
    PAPER_NOTE,
    describe,
    network_rows,
    phase_line,
    render_reports,
    round_table,
)
from fooling.studies.fooling_set import FoolingSet
from fooling.studies.retrain import FOOLING_FILE, Study

#: Fooling images shown per round and split (held out, training): enough to see what they look
#: like without loading thousands of images into the page.
SAMPLE = 12


def render_text_reports(study_dir: Path) -> dict[Path, bytes]:
    """report.md, rounds.csv, fooling_shares.csv and rounds.png again, from state.json, in
    memory (:func:`fooling.reports.study_report.write_study_report` writes them)."""
    study = Study.resume(study_dir)
    return render_reports(study.dir, study.config, study.state)


def build_report(study_dir: Path, images: ImageFiles) -> Report:
    """The page of the retraining study in ``study_dir`` (images sampled into ``images``)."""
    study = Study.resume(study_dir)
    config, state = study.config, study.state
    setup, row_meaning = describe(config, state)
    columns, cells = round_table(network_rows(state), config.threshold)
    rounds = [
        Paragraph(row_meaning),
        Table(columns, cells),
        Paragraph(phase_line(config, state)),
        Paragraph(PAPER_NOTE),
        Paragraph("Status: " + ("finished." if state.get("finished") else "in progress.")),
    ]
    sections = [Section("Rounds", rounds)]
    if (study.dir / "rounds.png").is_file():
        caption = "Evolution against each network, and how each network labels fooling images"
        sections.append(Section("Plots", [Figure("../rounds.png", caption)]))
    sections.append(Section("Galleries", gallery_links(study, config.threshold, images)))
    sections.append(Section("Fooling images and the next network", fooling_blocks(study, images)))
    title = (
        f"Retraining study: {config.target.get('target')}, {config.encoding['name']} encoding "
        f"({study.dir.name})"
    )
    return Report(title, [setup], sections)


def gallery_links(study: Study, threshold: float, files: ImageFiles) -> list[Any]:
    """A link to each round's gallery page (written with ``files`` from its gallery.json)."""
    links = []
    for record in study.state.get("rounds", []):
        index = record["round"]
        gallery = study.round_dir(index) / "gallery"
        if not (gallery / "gallery.json").is_file():
            continue
        data = read_gallery(gallery)
        files.later(lambda gallery=gallery, data=data: write_gallery_html(gallery, data))
        fooled = sum(c["confidence_png"] >= threshold for c in data["cells"])
        links.append(
            (
                f"round {index}: run 1 against DNN_{index}, {len(data['cells'])} elites, "
                f"{fooled} at >= {threshold} (8-bit PNG)",
                f"../{gallery.relative_to(study.dir).as_posix()}/index.html",
            )
        )
    if not links:
        return [Paragraph("No round has a gallery (the study ran with --no-gallery).")]
    return [Links(links)]


def shares_table(state: dict[str, Any]) -> Table:
    """Share of each round's fooling images that each later network labels "fooling"."""
    networks = [n for n in state.get("networks", []) if n.get("evaluation")]
    later = [n["network"] for n in networks if n["network"] > 1]
    sources = sorted({d["round"] for n in networks for d in n["evaluation"]["fooling_detected"]})
    shares = {
        (n["network"], d["round"], d["split"]): d["share"]
        for n in networks
        for d in n["evaluation"]["fooling_detected"]
    }

    def cell(network: int, source: int) -> str:
        if (network, source, "train") not in shares:
            return ""  # the network was trained before these images existed
        pair = (shares[network, source, "held_out"], shares[network, source, "train"])
        if pair == (None, None):
            return "no images"
        return " / ".join("–" if s is None else f"{s:.3f}" for s in pair)

    return Table(
        ["images of", *(f"DNN_{k}" for k in later)],
        [[f"round {i}", *(cell(k, i) for k in later)] for i in sources],
        caption='Share labelled "fooling": held-out / training images (a network trains on the '
        "training images of every round before it).",
    )


def fooling_blocks(study: Study, images: ImageFiles) -> list[Any]:
    """Per round, sampled fooling images and what DNN_{round+1} labels them."""
    blocks: list[Any] = [shares_table(study.state)]
    names = study.family.class_names
    for record in study.state.get("rounds", []):
        index = record["round"]
        path = study.round_dir(index) / FOOLING_FILE
        if "collection" not in record or len(study.state["networks"]) <= index:
            continue
        fooling = FoolingSet.load(path)
        if not len(fooling):
            blocks.append(
                Paragraph(
                    f"Round {index}: no elite reached {study.config.collect_min}, so no fooling "
                    f"image was added."
                )
            )
            continue
        target = study.load(index + 1)
        fooling_class = len(names)
        tiles = []
        for split, mask in (("held out", fooling.held_out), ("training", ~fooling.held_out)):
            chosen = np.flatnonzero(mask)[:SAMPLE]
            if not len(chosen):
                continue
            probabilities = target.probabilities(fooling.images[chosen].astype(np.float32) / 255)
            for i, p in zip(chosen, probabilities, strict=True):
                label = int(p.argmax())
                tag = "heldout" if split == "held out" else "train"
                tiles.append(
                    Tile(
                        images.add(f"round_{index:02d}_{tag}_{i:05d}", fooling.images[i]),
                        [
                            f"{split}; evolved as {names[fooling.cell[i]]}",
                            f"{fooling.fitness[i]:.4f} on DNN_{index}",
                            f"DNN_{index + 1}: {target.class_names[label]} {p[label]:.3f}",
                        ],
                        marked=label == fooling_class,
                    )
                )
        blocks += [
            Paragraph(
                f"Round {index}: {len(fooling)} fooling images evolved against DNN_{index} "
                f"({int(fooling.held_out.sum())} held out), labelled by DNN_{index + 1}."
            ),
            Tiles(
                tiles,
                legend=f'Outlined: DNN_{index + 1} labels the image "fooling". The first '
                f"{SAMPLE} images of each split.",
            ),
        ]
    return blocks
