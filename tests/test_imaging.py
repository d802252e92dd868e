import torch

from ganforge.imaging import image_to_nchw, make_grid, nchw_to_image, nchw_to_uint8


def test_round_trip_between_layouts():
    image = torch.rand(2, 5, 7, 3)
    back = nchw_to_image(image_to_nchw(image))
    assert back.shape == (2, 5, 7, 3)
    assert torch.allclose(back, image, atol=1e-6)


def test_gray_becomes_rgb_and_values_are_clamped():
    out = nchw_to_image(torch.tensor([[[[-3.0, 0.0], [1.0, 5.0]]]]))
    assert out.shape == (1, 2, 2, 3)
    assert out.min() == 0.0 and out.max() == 1.0
    assert torch.equal(out[..., 0], out[..., 2])


def test_uint8_matches_nvlabs_formula():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.999, 1.0]).view(1, 1, 1, 5)
    expected = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    assert nchw_to_uint8(x).reshape(-1).tolist() == expected.reshape(-1).tolist()


def test_grid_places_tiles_row_by_row():
    tiles = torch.stack([torch.full((4, 6, 3), v) for v in (0.1, 0.2, 0.3, 0.4, 0.5)])
    grid = make_grid(tiles, columns=2, padding=1, background=0.0)
    assert grid.shape == (1, 3 * 4 + 4, 2 * 6 + 3, 3)
    assert torch.allclose(grid[0, 1:5, 1:7], tiles[0])
    assert torch.allclose(grid[0, 1:5, 8:14], tiles[1])
    assert torch.allclose(grid[0, 6:10, 1:7], tiles[2])
    assert torch.allclose(grid[0, 11:15, 1:7], tiles[4])
    assert grid[0, 11:15, 8:14].max() == 0.0  # the sixth cell stays background


def test_grid_draws_captions_below_tiles():
    tiles = torch.zeros(2, 16, 64, 3)
    plain = make_grid(tiles, columns=2, padding=0)
    captioned = make_grid(tiles, columns=2, padding=0, labels=["seed 1", "seed 2"], label_height=12)
    assert plain.shape[1] == 16 and captioned.shape[1] == 16 + 12
    strip = captioned[0, 16:, :64]
    assert strip.min() < 0.5 < strip.max()  # dark ink on the light background
