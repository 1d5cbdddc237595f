"""Reading images from every accepted source, refusing unreadable ones, and scaling big ones down."""

import io

import pytest
from PIL import Image

from a3agent.errors import ImageError
from a3agent.model.images import image_processor, load_image, process_image
from a3agent.model.tiny import tiny_config


@pytest.fixture(scope="module")
def processor():
    return image_processor(tiny_config().vision_config)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_processor_takes_its_sizes_from_the_vision_config(processor):
    assert (processor.patch_size, processor.temporal_patch_size, processor.merge_size) == (16, 2, 2)


def test_pil_images_are_converted_to_rgb():
    assert load_image(Image.new("RGBA", (8, 8), (1, 2, 3, 4))).mode == "RGB"
    assert load_image(Image.new("L", (8, 8))).mode == "RGB"


def test_images_load_from_a_path_and_from_bytes(tmp_path):
    original = Image.new("RGB", (20, 10), (200, 30, 30))
    original.save(tmp_path / "red.png")
    for source in (tmp_path / "red.png", str(tmp_path / "red.png"), png_bytes(original)):
        image = load_image(source)
        assert image.size == (20, 10)
        assert image.getpixel((0, 0)) == (200, 30, 30)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (20, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: stored landscape, shown portrait
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert load_image(buffer.getvalue()).size == (10, 20)


def test_a_missing_file_says_to_check_the_path(tmp_path):
    with pytest.raises(ImageError, match="no such file; check the path"):
        load_image(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "data",
    [b"not an image at all", png_bytes(Image.new("RGB", (64, 64)))[:60], b""],
    ids=["garbage", "truncated", "empty"],
)
def test_corrupt_bytes_raise_image_error_saying_what_to_pass(data):
    with pytest.raises(ImageError, match="not a readable image.*pass a PNG, JPEG"):
        load_image(data)


def test_a_text_file_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(ImageError, match="notes.png: not a readable image"):
        load_image(tmp_path / "notes.png")


def test_pixel_values_hold_one_row_per_patch(processor):
    pixel_values, grid = process_image(processor, Image.new("RGB", (64, 96)))
    assert grid.tolist() == [[1, 6, 4]]
    assert pixel_values.shape == (24, 3 * 2 * 16 * 16)


def test_an_image_over_the_cap_is_scaled_down_not_refused(processor):
    _, grid = process_image(processor, Image.new("RGB", (4000, 3000)))
    assert int(grid.prod()) * 16 * 16 <= 512 * 512
    assert int(grid.prod()) // 4 <= 256


def test_a_smaller_cap_gives_fewer_patches():
    small = image_processor(tiny_config().vision_config, max_pixels=128 * 128)
    _, grid = process_image(small, Image.new("RGB", (1024, 1024)))
    assert grid.tolist() == [[1, 8, 8]]


def test_a_tiny_image_is_scaled_up_to_one_merged_patch(processor):
    _, grid = process_image(processor, Image.new("RGB", (1, 1)))
    assert grid.tolist() == [[1, 2, 2]]


def test_an_extreme_aspect_ratio_says_to_crop_or_pad(processor):
    with pytest.raises(ImageError, match="crop or pad"):
        process_image(processor, Image.new("RGB", (3000, 10)))
