"""Render each example workflow headless and save its main picture as <name>.jpg beside it.

A developer tool: `python scripts/workflow_thumbnails.py [workflows/x.json ...]`. The thumbnails
are what ComfyUI's template browser shows.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SIZE = 512


def main() -> int:
    files = [Path(f) for f in sys.argv[1:]] or sorted((ROOT / "workflows").glob("*.json"))
    for path in files:
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, "-m", "ganforge", "run", str(path), "--out", out], check=True)
            files = sorted(Path(out).iterdir())
            # The main result is saved under the workflow's own name; otherwise take the largest.
            named = [file for file in files if file.name.startswith(f"{path.stem}_0")]
            pictures = [_first_picture(file).convert("RGB") for file in named or files]
            picture = max(pictures, key=lambda p: p.width * p.height)
            picture.thumbnail((SIZE, SIZE), Image.LANCZOS)
            if min(picture.size) < 64:
                scale = 64 / min(picture.size)
                picture = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                                         Image.NEAREST)
            picture.save(path.with_suffix(".jpg"), quality=90)
        print(f"{path.with_suffix('.jpg')}")
    return 0


def _first_picture(path: Path) -> Image.Image:
    """The picture itself, or the middle frame of a video."""
    if path.suffix not in (".mp4", ".webm"):
        return Image.open(path)
    import av

    with av.open(str(path)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    return frames[len(frames) // 2]


if __name__ == "__main__":
    sys.exit(main())
