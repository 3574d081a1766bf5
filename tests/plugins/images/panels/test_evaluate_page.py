import numpy as np
from PIL import Image

from dlstudio_images.panels.evaluate_page import EvaluatePage
from tests.plugins.images.factory import train
from tests.plugins.images.test_evaluate import DIGITS_FAST

TIMEOUT = 60_000


def test_evaluate_a_run_click_a_cell_try_an_image_and_open_in_inspector(qtbot, context, tmp_path):
    run_id, _ = train(context.studio, DIGITS_FAST)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    assert page.runs.currentData() == run_id
    page.evaluate_selected()
    qtbot.waitUntil(lambda: page.result is not None, timeout=TIMEOUT)
    cm = page.result.evaluation.confusion()
    assert page.matrix.rowCount() == page.matrix.columnCount() == 10
    assert int(page.matrix.item(3, 3).text()) == cm[3, 3]
    page.show_cell(3, 3)
    assert page.cell_gallery.count() == min(cm[3, 3], 60)
    mistakes = page.result.evaluation.worst(32)
    assert page.mistakes.count() == len(mistakes)
    assert page.report.rowCount() == 11

    picture = tmp_path / "seven.png"
    Image.fromarray(np.zeros((20, 20), dtype=np.uint8)).save(picture)
    page.try_image(str(picture))
    assert len(page.ranked) == 5 and [p for _, p in page.ranked] == sorted((p for _, p in page.ranked), reverse=True)
    assert len(page.topk.plotItem.listDataItems()) == 1
    assert page.ranked[0][0] in page.topk.plotItem.titleLabel.text

    with qtbot.waitSignal(context.message_posted) as posted:
        page.inspect_button.click()
    assert posted.args[0] == "model.open" and posted.args[1]["path"].endswith("best.safetensors")
