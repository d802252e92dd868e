"""Save Video: the library writer, and the node through the real server."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ganforge.video import VIDEO_FORMATS, write_video


def frames(count: int = 6, height: int = 33, width: int = 47) -> np.ndarray:
    """Smooth moving gradients: lossy codecs keep them close, so decoded frames can be compared."""
    y, x = np.mgrid[0:height, 0:width]
    out = [np.stack([(x * 5 + 20 * i) % 256, (y * 7) % 256, np.full_like(x, 40 * i % 256)], -1) for i in range(count)]
    return np.asarray(out, dtype=np.uint8)


def decode(path: Path) -> tuple[list[np.ndarray], float, dict]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return decoded, float(stream.average_rate), dict(container.metadata)


@pytest.mark.parametrize("format", ["mp4", "webm"])
def test_video_round_trip(tmp_path: Path, format: str):
    source = frames()
    path = tmp_path / f"clip.{format}"
    write_video(source, path, fps=12, format=format, quality=95, metadata={"prompt": {"1": {"x": 2}}})
    decoded, fps, metadata = decode(path)
    assert len(decoded) == len(source) and fps == 12
    assert decoded[0].shape == (34, 48, 3)  # padded to even sizes for 4:2:0
    for got, want in zip(decoded, source, strict=True):
        assert np.abs(got[:33, :47].astype(int) - want).mean() < 6
    tags = {key.lower(): value for key, value in metadata.items()}
    assert tags["prompt"] == '{"1": {"x": 2}}'


@pytest.mark.parametrize("format", ["webp", "gif"])
def test_animated_pictures(tmp_path: Path, format: str):
    source = frames(5)
    path = tmp_path / f"clip.{format}"
    write_video(source, path, fps=10, format=format, quality=100)
    with Image.open(path) as picture:
        assert picture.n_frames == 5 and picture.size == (47, 33)
        picture.seek(1)
        picture.load()  # webp reports a frame's duration once it is decoded
        assert picture.info["duration"] == 100
        if format == "webp":  # lossless at quality 100
            for index in range(5):
                picture.seek(index)
                assert np.array_equal(np.asarray(picture.convert("RGB")), source[index])


def test_stopping_midway_leaves_no_partial_file(tmp_path: Path):
    path = tmp_path / "clip.mp4"

    def stop_at_three(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(frames(), path, format="mp4", on_frame=stop_at_three)
    assert not path.exists()


def test_bad_arguments_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown video format"):
        write_video(frames(), tmp_path / "a.avi", format="avi")
    with pytest.raises(ValueError, match="uint8 frames"):
        write_video(frames().astype(np.float32), tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="fps"):
        write_video(frames(), tmp_path / "a.mp4", fps=0)
    assert set(VIDEO_FORMATS) == {"mp4", "webm", "webp", "gif"}


WALK = {
    "1": {"class_type": "GANForgeLoadStyleGAN", "inputs": {"model_name": "video.safetensors", "precision": "auto"}},
    "2": {"class_type": "GANForgeSampleZ", "inputs": {"model": ["1", 0], "seed": 0, "batch_size": 1,
                                                      "seed_list": "1,2"}},
    "3": {"class_type": "GANForgeZWalk", "inputs": {"keyframes": ["2", 0], "frames_per_segment": 5, "loop": True,
                                                    "easing": "linear"}},
    "4": {"class_type": "GANForgeMapping", "inputs": {"model": ["1", 0], "z": ["3", 0], "truncation_psi": 1.0,
                                                      "truncation_cutoff": 0}},
    "5": {"class_type": "GANForgeSynthesis", "inputs": {"model": ["1", 0], "w": ["4", 0], "noise_mode": "const",
                                                        "noise_seed": 0, "translate_x": 0.0, "translate_y": 0.0,
                                                        "rotate": 0.0}},
    "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    "7": {"class_type": "GANForgeSaveVideo", "inputs": {"images": ["5", 0], "fps": 8.0, "format": "mp4",
                                                        "quality": 95, "filename_prefix": "test/walk"}},
}


@pytest.mark.server
def test_save_video_node_writes_the_walk(comfy):
    folder = comfy.models / "stylegan"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "video.safetensors").write_bytes((Path(__file__).parent / "data" / "stylegan2_skip.safetensors")
                                               .read_bytes())
    outcome = comfy.client.execute(WALK, timeout=120)
    assert outcome.status == "success", outcome.error
    (record,) = outcome.outputs["7"]["images"]
    assert record["filename"].endswith(".mp4") and record["type"] == "output"
    path = comfy.output / record["subfolder"] / record["filename"]
    decoded, fps, metadata = decode(path)
    assert len(decoded) == 10 and fps == 8  # two keyframes, looping: 2 segments of 5
    previews = outcome.outputs["6"]["images"]
    luma = np.array([0.299, 0.587, 0.114])  # 4:2:0 video keeps brightness at full resolution, not colour
    for got, preview in zip(decoded, previews, strict=True):
        want = np.asarray(Image.open(BytesIO(comfy.client.view(preview["filename"], preview["subfolder"], "temp"))))
        assert np.abs(got @ luma - want @ luma).mean() < 6
    assert "GANForgeSaveVideo" in metadata["prompt"]

    # A second run never replaces the first file.
    again = comfy.client.execute({**WALK, "7": {**WALK["7"], "inputs": {**WALK["7"]["inputs"], "fps": 9.0}}},
                                 timeout=120)
    (second,) = again.outputs["7"]["images"]
    assert second["filename"] != record["filename"] and path.is_file()
