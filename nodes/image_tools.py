"""General helpers: seed lists and image grids."""

from __future__ import annotations

from comfy_api.latest import io

from ..imaging import make_grid
from ..seeds import parse_seed_list
from .errors import NodeInputError
from .types import CATEGORY, Seeds


def split_labels(text: str) -> list[str]:
    """One label per line; a single line is split at commas instead."""
    text = text.strip("\n")
    if not text:
        return []
    parts = text.split("\n") if "\n" in text else text.split(",")
    return [part.strip() for part in parts]


class SeedList(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSeedList",
            display_name="GANForge Seed List",
            category=f"{CATEGORY}/utils",
            description="Turn text such as '1,5,10-20' into a list of seeds, in order.",
            inputs=[
                io.String.Input("seeds", default="1-8", tooltip="Seeds and inclusive ranges, e.g. '1,5,10-20'."),
            ],
            outputs=[
                Seeds.Output("seed_list", tooltip="The seeds as one list (for batch nodes)."),
                io.Int.Output("seed", tooltip="Each seed on its own: downstream nodes run once per seed.",
                              is_output_list=True),
                io.Int.Output("count", tooltip="How many seeds the list holds."),
                io.String.Output("labels", tooltip="'seed N', one per line, for GANForge Image Grid."),
            ],
        )

    @classmethod
    def execute(cls, seeds: str) -> io.NodeOutput:
        try:
            values = parse_seed_list(seeds)
        except ValueError as error:
            raise NodeInputError("GANForge Seed List", f"{error}.", "write seeds like '1,5,10-20'.") from None
        labels = "\n".join(f"seed {seed}" for seed in values)
        return io.NodeOutput(values, values, len(values), labels)


class ImageGrid(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeImageGrid",
            display_name="GANForge Image Grid",
            category=f"{CATEGORY}/utils",
            description="Tile an image batch into one picture, row by row, with a caption under each tile.",
            inputs=[
                io.Image.Input("images", tooltip="The batch to tile, in order."),
                io.Int.Input("columns", default=0, min=0, max=256,
                             tooltip="Tiles per row; 0 picks a near-square layout."),
                io.Int.Input("padding", default=2, min=0, max=256, tooltip="Pixels between and around tiles."),
                io.Float.Input("background", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="Gray level of the padding and captions: 0 black, 1 white."),
                io.String.Input("labels", default="", multiline=True, optional=True,
                                tooltip="One caption per image: one per line, or comma-separated on one line."),
            ],
            outputs=[io.Image.Output("grid", tooltip="The grid as a single image.")],
        )

    @classmethod
    def execute(cls, images, columns: int, padding: int, background: float, labels: str = "") -> io.NodeOutput:
        captions = split_labels(labels or "")
        if len(captions) > images.shape[0]:
            raise NodeInputError(
                "GANForge Image Grid",
                f"{len(captions)} labels for {images.shape[0]} images.",
                "give at most one label per image (one per line, or comma-separated).",
            )
        return io.NodeOutput(make_grid(images, columns, captions, padding, background))


NODES = [SeedList, ImageGrid]
