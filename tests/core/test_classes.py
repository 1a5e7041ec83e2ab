import numpy as np
import pytest

from napari_licell import classes


def test_table_codes_keys_and_order():
    assert [c.code for c in classes.CLASS_TABLE] == list(range(7))
    assert classes.class_keys() == ["li", "void", "se_li", "se", "carbon", "metal"]
    assert [c.key for c in classes.GREY_ORDER] == ["li", "void", "se_li", "se", "metal"]
    assert classes.class_by_key("void").code == 2
    assert classes.class_by_code(5).key == "carbon"
    with pytest.raises(KeyError):
        classes.class_by_key("lithium")


def test_colours_distinct_and_background_transparent():
    cmap = classes.napari_colormap()
    assert cmap[0][3] == 0.0
    colours = {classes.class_by_code(c).colour for c in classes.MATERIAL_CODES}
    assert len(colours) == len(classes.MATERIAL_CODES)
    r, g, b, a = classes.LI.rgba
    assert np.allclose((r, g, b, a), (0xE8 / 255, 0xC9 / 255, 0x3A / 255, 1.0))
