"""End to end in a real browser: Playwright driving Debian's headless chromium (installed by apt,
never downloaded) on the playground served by uvicorn on 127.0.0.1. Screenshots go to
runs/playground-screenshots/."""

import os
import re
from pathlib import Path

import pytest

from .test_server import three_class_csv

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "runs" / "playground-screenshots"
WAIT = 30_000  # ms for anything the page should do

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"chromium is not installed at {CHROMIUM} "
                              "(make installs it: apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright (the dev extra) is missing")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            args=ARGS, headless=True, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser, live_server):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.base = live_server
    yield page
    page.close()
    assert not errors, errors


def _open(page, fragment=""):
    page.goto(f"{page.base}/{fragment}")
    page.wait_for_function("() => document.querySelector('#test-loss').textContent !== '-'",
                           timeout=WAIT)


def _loss(page) -> float:
    return float(page.text_content("#test-loss"))


def test_press_play_and_the_circle_is_learned(page):
    _open(page)
    first = _loss(page)
    page.click("#play")
    page.wait_for_function("() => parseFloat(document.querySelector('#test-loss').textContent)"
                           " < 0.1", timeout=WAIT)
    page.click("#play")
    page.wait_for_function("() => !document.querySelector('#play').classList.contains("
                           "'playing')", timeout=WAIT)
    assert first > 0.5 > 0.1 > _loss(page)
    assert int(page.text_content("#epoch").replace(",", "")) > 0
    assert page.text_content("#verdict").startswith("GradientFlow: healthy")
    page.screenshot(path=str(SHOTS / "circle.png"), full_page=True)


def test_eight_sigmoid_layers_show_the_vanishing_verdict(page):
    _open(page)
    page.select_option("#activation", "sigmoid")
    page.wait_for_function("() => session.config.activation === 'sigmoid'", timeout=WAIT)
    for n in range(3, 9):
        page.click("#layers-add")
        page.wait_for_function(f"() => session.config.hidden.length === {n}", timeout=WAIT)
    page.check("#edges-grads")
    for _ in range(3):
        page.click("#step")
    page.wait_for_function("() => frame.epoch >= 3", timeout=WAIT)
    verdict = page.text_content("#verdict")
    assert verdict.startswith("GradientFlow: vanishing"), verdict
    assert re.search(r"layer 1's gradient norm is [0-9.e-]+ of layer 9's", verdict)
    page.screenshot(path=str(SHOTS / "vanishing.png"), full_page=True)


def test_upload_a_three_class_csv_and_train_it(page):
    _open(page)
    page.set_input_files("#upload", files=[{"name": "blobs.csv", "mimeType": "text/csv",
                                            "buffer": three_class_csv().encode()}])
    page.wait_for_function("() => document.querySelector('#data-note').textContent"
                           ".includes('3 classes')", timeout=WAIT)
    first = _loss(page)
    page.click("#play")
    page.wait_for_function("() => frame.epoch >= 20", timeout=WAIT)
    page.click("#play")
    assert _loss(page) < 0.5 * first
    assert page.evaluate("() => new Set(session.data.target).size") == 3
    page.screenshot(path=str(SHOTS / "three-classes.png"), full_page=True)
    bad = "x1,x2,label\n" + "1,2,zero\n" * 60
    page.set_input_files("#upload", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                            "buffer": bad.encode()}])
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "'zero' in column label is not a number" in page.text_content("#error")


def test_click_a_point_to_see_its_forward_and_backward_pass(page):
    _open(page)
    page.click("#step")
    page.wait_for_function("() => frame.epoch >= 1", timeout=WAIT)
    # the first training point, in the heat map's pixels
    x, y = page.evaluate("""() => {
        const i = session.data.train.indexOf(true);
        const [px, py] = toCanvas(session.data.x[i][0], session.data.x[i][1], 320);
        const r = document.querySelector('#heatmap').getBoundingClientRect();
        return [r.left + px * r.width / 320, r.top + py * r.height / 320];
    }""")
    page.mouse.click(x, y)
    page.wait_for_selector("#explain:not([hidden])", timeout=WAIT)
    text = page.text_content("#explain")
    assert "(train)" in text and "cr.inspect.explain" in text
    assert "0.weight" in text and "Tanh" in text and "linear(" in text
    page.screenshot(path=str(SHOTS / "explain.png"), full_page=True)


def test_reload_from_the_url_gives_the_same_setup(page, browser):
    _open(page, "#dataset=xor&hidden=4,2")
    page.select_option("#activation", "relu")
    page.wait_for_function("() => session.config.activation === 'relu'", timeout=WAIT)
    page.select_option("#lr", "0.1")
    page.wait_for_function("() => session.config.lr === 0.1", timeout=WAIT)
    page.select_option("#optimizer", "adam")
    page.wait_for_function("() => session.config.optimizer === 'adam'", timeout=WAIT)
    page.click(".neuron-add >> nth=1")
    page.wait_for_function("() => session.config.hidden[1] === 3", timeout=WAIT)
    x, y = page.evaluate("""() => {  // the x1² feature's picture, in page pixels
        const node = networkLayout.nodes[0][2], canvas = document.querySelector('#network');
        const r = canvas.getBoundingClientRect(), k = r.width / canvas.width;
        return [r.left + (node.x + node.size / 2) * k, r.top + (node.y + node.size / 2) * k];
    }""")
    page.mouse.click(x, y)
    page.wait_for_function("() => session.config.features.includes('x1sq')", timeout=WAIT)
    url = page.url
    config = page.evaluate("() => session.config")
    assert config["dataset"] == "xor" and config["hidden"] == [4, 3]
    assert config["features"] == ["x1", "x2", "x1sq"]
    second = browser.new_page()
    try:
        second.base = page.base
        _open(second, url.split("/", 3)[3])
        assert second.evaluate("() => session.config") == config
        assert second.evaluate("() => session.id") != page.evaluate("() => session.id")
        assert second.input_value("#activation") == "relu"
        assert second.input_value("#lr") == "0.1"
        assert second.text_content("#layers-count") == "2"
        assert "selected" in second.get_attribute("#dataset-xor", "class")
        assert second.evaluate("() => session.data.x") == page.evaluate("() => session.data.x")
    finally:
        second.close()


def test_a_bad_link_says_why_and_starts_with_the_defaults(page):
    _open(page, "#hidden=4,99&activation=relu")
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "hidden layer 2 must be from 1 to 8" in page.text_content("#error")
    assert page.evaluate("() => session.config.hidden") == [4, 4]
