"""Image tools: crop, zoom, grid and image_info over the conversation's images, by id."""

import asyncio

import pytest
from PIL import Image

from a3agent.tools import ImageStore, Toolbox, ToolCall, ToolContext, ToolResult, crop, grid, image_info, zoom

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants() -> Image.Image:
    """400x300: top-left red, top-right green, bottom-left blue, bottom-right white."""
    image = Image.new("RGB", (400, 300))
    for box, color in [((0, 0, 200, 150), RED), ((200, 0, 400, 150), GREEN), ((0, 150, 200, 300), BLUE),
                       ((200, 150, 400, 300), WHITE)]:
        image.paste(color, box)
    return image


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(ImageStore([quadrants()]))


def call(ctx: ToolContext, name: str, max_pixels: int | None = None, **arguments) -> ToolResult:
    box = Toolbox([crop, zoom, grid, image_info], **({"max_pixels": max_pixels} if max_pixels else {}))
    return asyncio.run(box.invoke(ToolCall(name, arguments), ctx))


def shown(ctx: ToolContext, result: ToolResult, index: int = 0) -> Image.Image:
    """The stored image behind the result's `index`-th image part."""
    return ctx.images.get(result.images[index].image_id)


def colors(image: Image.Image) -> set:
    return {color for _, color in image.getcolors(maxcolors=1 << 16)}


# -- crop -------------------------------------------------------------------------------------


def test_crop_with_fractions_returns_the_region_under_a_new_id(ctx):
    result = call(ctx, "crop", image="img_0", bbox=[0.5, 0, 1, 0.5])
    assert not result.is_error
    (part,) = result.images
    assert part.image_id == "img_1" and shown(ctx, result).size == (200, 150) and colors(shown(ctx, result)) == {GREEN}
    assert "Crop of img_0, pixels [200, 0, 400, 150]." in result.text and "Image img_1 (200x150 px):" in result.text


def test_crop_with_pixels(ctx):
    result = call(ctx, "crop", image="img_0", bbox=[10, 160, 190, 290])
    assert shown(ctx, result).size == (180, 130) and colors(shown(ctx, result)) == {BLUE}


def test_a_crop_can_be_cropped_again_by_its_new_id(ctx):
    call(ctx, "crop", image="img_0", bbox=[0, 0, 0.5, 0.5])
    result = call(ctx, "crop", image="img_1", bbox=[0, 0, 0.5, 0.5])
    assert result.images[0].image_id == "img_2" and shown(ctx, result).size == (100, 75)


def test_unknown_image_id_is_an_error_listing_the_known_ids(ctx):
    result = call(ctx, "crop", image="img_7", bbox=[0, 0, 1, 1])
    assert result.is_error and "there is no image 'img_7'; known images: img_0" in result.text


def test_unknown_image_id_with_an_empty_store():
    result = call(ToolContext(), "image_info", image="img_0")
    assert result.is_error and "known images: none yet" in result.text


@pytest.mark.parametrize("bbox", [[350, 250, 450, 350], [-10, 0, 50, 50], [0, 0, 401, 300]])
def test_a_box_outside_the_image_is_an_error_that_gives_the_size(ctx, bbox):
    result = call(ctx, "crop", image="img_0", bbox=bbox)
    assert result.is_error and "outside the image, which is 400x300 px" in result.text


@pytest.mark.parametrize("bbox", [[0.5, 0.5, 0.5, 0.9], [0.6, 0.1, 0.2, 0.3], [20, 20, 20, 40]])
def test_an_empty_box_is_an_error(ctx, bbox):
    result = call(ctx, "crop", image="img_0", bbox=bbox)
    assert result.is_error and "is empty" in result.text


def test_a_box_of_the_wrong_length_is_refused_by_the_schema(ctx):
    result = call(ctx, "crop", image="img_0", bbox=[0, 0, 1])
    assert result.is_error and "Invalid arguments" in result.text and "too short" in result.text
    assert ctx.images.ids() == ["img_0"]


# -- zoom -------------------------------------------------------------------------------------


def test_zoom_magnifies_around_the_center_back_to_full_size(ctx):
    result = call(ctx, "zoom", image="img_0", center=[0.25, 0.75], factor=4)
    assert shown(ctx, result).size == (400, 300) and colors(shown(ctx, result)) == {BLUE}
    assert "img_0 zoomed 4x around pixel (100, 225)" in result.text


def test_zoom_near_an_edge_shifts_the_window_inside(ctx):
    result = call(ctx, "zoom", image="img_0", center=[399, 299], factor=2)
    assert "pixels [200, 150, 400, 300]" in result.text and colors(shown(ctx, result)) == {WHITE}


@pytest.mark.parametrize("factor", [1, 0.5, 100])
def test_zoom_factor_out_of_range_is_an_error(ctx, factor):
    result = call(ctx, "zoom", image="img_0", center=[0.5, 0.5], factor=factor)
    assert result.is_error and "out of range" in result.text


def test_zoom_center_outside_is_an_error(ctx):
    result = call(ctx, "zoom", image="img_0", center=[500, 10])
    assert result.is_error and "outside the image" in result.text


def test_a_huge_result_is_capped_by_max_pixels(ctx):
    ctx.images.add(Image.new("RGB", (3000, 2000)))
    result = call(ctx, "zoom", max_pixels=600_000, image="img_1", center=[0.5, 0.5])
    assert shown(ctx, result).size == (948, 632)
    assert "downscaled from 3000x2000" in result.text


# -- grid -------------------------------------------------------------------------------------


def test_grid_overlays_labelled_cells_and_explains_them(ctx):
    result = call(ctx, "grid", image="img_0", n=3)
    (part,) = result.images
    image = shown(ctx, result)
    assert part.image_id == "img_1" and image.size == (400, 300) and image.mode == "RGB"
    assert "cell A1 is top-left, C3 bottom-right" in result.text
    assert "[k/3, (r-1)/3, (k+1)/3, r/3]" in result.text
    assert image.getpixel((300, 100)) == RED  # a grid line across the green quadrant
    assert image.getpixel((300, 50)) == GREEN  # a cell's inside untouched
    assert colors(image.crop((0, 0, 40, 40))) & {(0, 0, 0), WHITE}  # the A1 label in the top-left corner
    assert colors(ctx.images.get("img_0").crop((0, 0, 40, 40))) == {RED}  # the source image is not drawn on


def test_grid_lines_are_visible_on_any_background():
    ctx = ToolContext(ImageStore([Image.new("L", (200, 200), 255)]))
    assert shown(ctx, call(ctx, "grid", image="img_0", n=2)).getpixel((100, 150)) == (255, 0, 0)


@pytest.mark.parametrize("n", [1, 27])
def test_grid_size_out_of_range_is_an_error(ctx, n):
    result = call(ctx, "grid", image="img_0", n=n)
    assert result.is_error and "out of range" in result.text


# -- image_info -------------------------------------------------------------------------------


def test_image_info_reports_size_and_mode(ctx):
    result = call(ctx, "image_info", image="img_0")
    assert result.text == '{"id":"img_0","width":400,"height":300,"mode":"RGB"}'
    assert result.images == []
