"""The playground's HTTP and WebSocket API under Starlette's TestClient: sessions, validation of
every parameter, uploads, exports, the guards against other hosts and origins."""

import io
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

import chainrule as cr
from chainrule.playground.training import build_model
from chainrule.playground.validation import Config, parse_config

from .conftest import ORIGIN, PORT, WS


def _csv(rows, header="x1,x2,label"):
    return header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"


def three_class_csv(n=150, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[-3.0, -3.0], [3.0, -3.0], [0.0, 3.0]])
    labels = np.arange(n) % 3
    xy = centers[labels] + rng.normal(0, 0.8, (n, 2))
    return _csv([(round(x, 4), round(y, 4), int(k)) for (x, y), k in zip(xy, labels)])


# ---- sessions ------------------------------------------------------------------------------
def test_new_session_has_the_defaults_points_and_a_frame(client):
    r = client.post("/api/sessions", json={"hidden": [4, 4]})
    assert r.status_code == 201
    state = r.json()
    assert state["config"] == {**Config().to_dict(), "hidden": [4, 4]}
    data = state["data"]
    assert len(data["x"]) == len(data["target"]) == len(data["train"]) == 500
    assert sum(data["train"]) == 250
    assert set(data["target"]) == {0, 1}
    frame = state["frame"]
    assert frame["epoch"] == 0 and frame["playing"] is False
    assert [np.shape(layer["w"]) for layer in frame["weights"]] == [(4, 2), (4, 4), (1, 4)]
    assert len(frame["neurons"]["layers"]) == 2
    assert frame["heat"]["res"] == 50


def test_step_trains_one_epoch_and_reset_starts_again(client, session_id):
    before = client.get(f"/api/sessions/{session_id}").json()["frame"]
    r = client.post(f"/api/sessions/{session_id}/step")
    assert r.status_code == 200
    frame = r.json()["frame"]
    assert frame["epoch"] == 1 and frame["steps"] == 25  # 250 training points, batch 10
    assert frame["weights"] != before["weights"]
    assert frame["grads"][0] is not None
    assert frame["grad_norms"]["layers"] == ["0", "2", "4"]
    reset = client.post(f"/api/sessions/{session_id}/reset").json()["frame"]
    assert reset["epoch"] == 0 and reset["weights"] == before["weights"]


def test_play_trains_in_the_background_until_pause(client, session_id):
    assert client.post(f"/api/sessions/{session_id}/play").json()["frame"]["playing"] is True
    deadline = time.monotonic() + 10
    while client.get(f"/api/sessions/{session_id}").json()["frame"]["epoch"] < 3:
        assert time.monotonic() < deadline, "playing did not train 3 epochs in 10 s"
        time.sleep(0.05)
    paused = client.post(f"/api/sessions/{session_id}/pause").json()["frame"]
    assert paused["playing"] is False
    time.sleep(0.2)
    assert client.get(f"/api/sessions/{session_id}").json()["frame"]["epoch"] == paused["epoch"]


def test_tabs_get_their_own_sessions(client):
    a = client.post("/api/sessions", json={"activation": "relu"}).json()["id"]
    b = client.post("/api/sessions", json={"activation": "sigmoid"}).json()["id"]
    assert a != b
    client.post(f"/api/sessions/{a}/step")
    client.post(f"/api/sessions/{a}/step")
    assert client.get(f"/api/sessions/{a}").json()["frame"]["epoch"] == 2
    state_b = client.get(f"/api/sessions/{b}").json()
    assert state_b["frame"]["epoch"] == 0 and state_b["config"]["activation"] == "sigmoid"


def test_the_session_count_is_bounded_and_the_oldest_idle_one_goes(client, store):
    ids = [client.post("/api/sessions", json={}).json()["id"] for _ in range(store.max_sessions)]
    client.get(f"/api/sessions/{ids[0]}")  # the first is used again: the second is the oldest
    newest = client.post("/api/sessions", json={}).json()["id"]
    assert len(store) == store.max_sessions
    assert client.get(f"/api/sessions/{ids[1]}").status_code == 404
    for sid in (ids[0], newest):
        assert client.get(f"/api/sessions/{sid}").status_code == 200


def test_an_idle_session_expires(client, store):
    sid = client.post("/api/sessions", json={}).json()["id"]
    store.ttl = 0.0
    store.expire()
    r = client.get(f"/api/sessions/{sid}")
    assert r.status_code == 404
    assert "reload the page" in r.json()["error"]


def test_unknown_session_action_and_export_are_404_with_a_message(client, session_id):
    assert client.get("/api/sessions/nope").json()["error"].startswith("this session has expired")
    r = client.post(f"/api/sessions/{session_id}/fly")
    assert r.status_code == 404 and "no action 'fly'" in r.json()["error"]
    r = client.get(f"/api/sessions/{session_id}/export/pickle")
    assert r.status_code == 404 and "weights or script" in r.json()["error"]


def test_regenerate_draws_new_points_and_config_changes_keep_the_rest(client, session_id):
    first = client.get(f"/api/sessions/{session_id}").json()
    again = client.post(f"/api/sessions/{session_id}/regenerate").json()
    assert again["config"]["seed"] == first["config"]["seed"] + 1
    assert again["data"]["x"] != first["data"]["x"]
    assert again["data_version"] == first["data_version"] + 1
    r = client.post(f"/api/sessions/{session_id}/config", json={"lr": 0.1, "hidden": [3]})
    config = r.json()["config"]
    assert config["lr"] == 0.1 and config["hidden"] == [3] and config["seed"] == 1
    assert r.json()["data_version"] == again["data_version"]  # the same points


def test_spiral_with_five_classes_has_a_softmax_output_and_a_heat_map_per_class(client):
    state = client.post("/api/sessions", json={"dataset": "spiral", "classes": 5}).json()
    assert set(state["data"]["target"]) == {0, 1, 2, 3, 4}
    frame = client.post(f"/api/sessions/{state['id']}/step").json()["frame"]
    assert np.shape(frame["weights"][-1]["w"]) == (5, 4)
    assert "classes" in frame["heat"] and "confidence" in frame["heat"]
    assert len(frame["neurons"]["output"]) == 5  # one picture per class's probability


def test_regression_has_values_in_the_heat_map(client):
    state = client.post("/api/sessions", json={"problem": "regression",
                                               "dataset": "multigauss"}).json()
    assert state["data"]["classes"] == 0
    assert max(abs(v) for v in state["data"]["target"]) <= 1
    assert "values" in state["frame"]["heat"]


# ---- validation ------------------------------------------------------------------------------
BAD = [
    ({"problem": "vision"}, "problem must be one of"),
    ({"dataset": "moons"}, "dataset must be one of circle, xor, gauss, spiral"),
    ({"problem": "regression", "dataset": "circle"}, "dataset must be one of plane"),
    ({"dataset": "xor", "classes": 3}, "the xor data set has 2 classes"),
    ({"dataset": "spiral", "classes": 6}, "classes must be from 2 to 5"),
    ({"classes": "3"}, "classes must be a whole number"),
    ({"points": 10}, "points must be from 50 to 2000"),
    ({"points": 5000}, "points must be from 50 to 2000"),
    ({"noise": 51}, "noise must be from 0 to 50"),
    ({"noise": -1}, "noise must be from 0 to 50"),
    ({"train_ratio": 95}, "train_ratio must be from 10 to 90"),
    ({"batch": 0}, "batch must be from 1 to 2000"),
    ({"batch": 2.5}, "batch must be a whole number"),
    ({"features": []}, "features must be a non-empty list"),
    ({"features": ["x3"]}, "features must be a non-empty list"),
    ({"features": "x1"}, "features must be a non-empty list"),
    ({"features": ["x1", "x1"]}, "features lists a feature twice"),
    ({"hidden": [9]}, "hidden layer 1 must be from 1 to 8"),
    ({"hidden": [4, 0]}, "hidden layer 2 must be from 1 to 8"),
    ({"hidden": [2] * 9}, "hidden must be a list of at most 8"),
    ({"hidden": "4,4"}, "hidden must be a list"),
    ({"hidden": [True]}, "hidden layer 1 must be a whole number"),
    ({"activation": "gelu"}, "activation must be one of relu, tanh, sigmoid, linear"),
    ({"lr": 0}, "lr must be above 0 to 10"),
    ({"lr": 11}, "lr must be above 0 to 10"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"regularization": "l3"}, "regularization must be one of none, l1, l2"),
    ({"reg_rate": -0.1}, "reg_rate must be from 0 to 10"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, momentum, adam"),
    ({"init": "orthogonal"}, "init must be one of xavier, he"),
    ({"seed": -1}, "seed must be from 0 to 2147483647"),
    ({"seed": 2**31}, "seed must be from 0 to 2147483647"),
    ({"resolution": 101}, "resolution must be from 10 to 100"),
    ({"resolution": None}, "resolution must be a whole number"),
    ({"points": [500]}, "points must be a whole number"),
    ({"hidden": [[4]]}, "hidden layer 1 must be a whole number"),
    ({"features": [["x1"]]}, "features must be a non-empty list"),
    ({"depth": 3}, "unknown parameter 'depth'"),
]


@pytest.mark.parametrize("params, message", BAD, ids=[str(p) for p, _ in BAD])
def test_every_bad_parameter_is_a_400_with_a_message(client, session_id, params, message):
    for path in ("/api/sessions", f"/api/sessions/{session_id}/config"):
        r = client.post(path, json=params)
        assert r.status_code == 400, (path, r.text)
        assert message in r.json()["error"]
    assert client.get(f"/api/sessions/{session_id}").json()["config"] == Config().to_dict()


def test_a_nan_learning_rate_is_refused():
    with pytest.raises(ValueError, match="lr must be a number"):
        parse_config({"lr": math.nan})


@pytest.mark.parametrize("body, message", [
    (b"[1", "not valid JSON"), (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "not valid JSON"), (b"[" * 10_000, "not valid JSON"),
    (b'{"lr": NaN}', "lr must be a number"), (b'{"classes": 1e400}', "classes must be a whole"),
])
def test_a_malformed_body_is_a_400(client, body, message):
    r = client.post("/api/sessions", content=body)
    assert r.status_code == 400 and message in r.json()["error"]


def test_a_body_over_the_cap_is_a_413(client, session_id):
    big = json.dumps({"lr": 0.1, "pad": "x" * 20_000})
    r = client.post(f"/api/sessions/{session_id}/config", content=big)
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = client.post(f"/api/sessions/{session_id}/upload", content=b"x" * (300 * 1024))
    assert r.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 10_000

    r = client.post(f"/api/sessions/{session_id}/upload", content=chunks())
    assert r.status_code == 413


@pytest.mark.parametrize("index", ["-1", "500", "abc", "", "\u00b2", "9" * 40])
def test_explain_needs_a_point_index(client, session_id, index):
    r = client.get(f"/api/sessions/{session_id}/explain", params={"index": index})
    assert r.status_code == 400 and "index must be a point's number from 0 to 499" in \
        r.json()["error"]


# ---- guards ---------------------------------------------------------------------------------
def test_the_hosts_a_server_answers():
    from chainrule.playground.server import allowed_hosts

    assert allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000"}
    assert allowed_hosts("::1", 8001) == {"[::1]:8001", "localhost:8001"}
    assert allowed_hosts("192.168.1.5", 80) == {"192.168.1.5:80", "192.168.1.5"}


def test_another_host_is_refused_dns_rebinding(client):
    r = client.get("/", headers={"Host": f"evil.example:{PORT}"})
    assert r.status_code == 400 and "only answers requests addressed to" in r.json()["error"]
    r = client.post("/api/sessions", json={}, headers={"Host": "127.0.0.1:9999"})
    assert r.status_code == 400
    assert client.get("/", headers={"Host": f"localhost:{PORT}"}).status_code == 200


def test_a_state_change_from_another_origin_is_refused(client, session_id):
    r = client.post(f"/api/sessions/{session_id}/step", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "another origin" in r.json()["error"]
    assert client.get(f"/api/sessions/{session_id}").json()["frame"]["epoch"] == 0
    r = client.post(f"/api/sessions/{session_id}/step", headers={"Origin": ORIGIN})
    assert r.status_code == 200


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "chainrule playground" in page.text
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text


# ---- streaming ---------------------------------------------------------------------------
def test_the_stream_sends_frames_while_playing(client, session_id):
    with client.websocket_connect(f"{WS}/api/sessions/{session_id}/stream",
                                  headers={"Origin": ORIGIN}) as ws:
        assert json.loads(ws.receive_text())["epoch"] == 0
        client.post(f"/api/sessions/{session_id}/play")
        epochs = []
        while len(epochs) < 3:
            frame = json.loads(ws.receive_text())
            if frame["epoch"]:
                epochs.append(frame["epoch"])
        assert epochs == sorted(epochs) and epochs[-1] >= 3
    # the page left: training stops
    deadline = time.monotonic() + 5
    while client.get(f"/api/sessions/{session_id}").json()["frame"]["playing"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {},
                                     {"Origin": ORIGIN, "Host": "evil.example"}])
def test_a_stream_from_another_origin_or_host_is_refused(client, session_id, headers):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(f"{WS}/api/sessions/{session_id}/stream",
                                      headers=headers) as ws:
            ws.receive_text()


# ---- uploads --------------------------------------------------------------------------------
def test_a_three_class_csv_becomes_the_data(client, session_id):
    r = client.post(f"/api/sessions/{session_id}/upload", content=three_class_csv(),
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["config"]["custom"] is True and state["config"]["classes"] == 3
    assert state["config"]["dataset"] == "custom" and state["config"]["points"] == 150
    assert set(state["data"]["target"]) == {0, 1, 2}
    assert max(max(abs(v) for v in p) for p in state["data"]["x"]) == pytest.approx(6.0)
    # settings change, the data stays; a data set's button brings generated data back
    r = client.post(f"/api/sessions/{session_id}/config", json={"hidden": [5], "classes": 2})
    assert r.json()["config"]["custom"] is True and r.json()["config"]["classes"] == 3
    assert r.json()["data"] == state["data"]
    losses = []
    for _ in range(30):
        losses.append(client.post(f"/api/sessions/{session_id}/step").json()["frame"]["test_loss"])
    assert losses[-1] < 0.5 * losses[0]
    assert client.post(f"/api/sessions/{session_id}/regenerate").status_code == 400
    back = client.post(f"/api/sessions/{session_id}/config", json={"dataset": "circle"}).json()
    assert back["config"]["custom"] is False and len(back["data"]["x"]) == 500


def test_a_regression_csv(client, session_id):
    rows = [(x, x / 2, x / 10) for x in range(-30, 30)]
    state = client.post(f"/api/sessions/{session_id}/upload",
                        content=_csv(rows, "x1,x2,y")).json()
    assert state["config"]["problem"] == "regression" and state["config"]["custom"] is True
    assert "values" in state["frame"]["heat"]


GOOD_ROWS = [(i % 7, i % 5, i % 2) for i in range(60)]
BAD_CSV = [
    ("", "the CSV is empty"),
    (_csv(GOOD_ROWS, "a,b,c"), "header must be x1,x2,label or x1,x2,y"),
    (_csv(GOOD_ROWS[:10]), "must have 50 to 2000 points (got 10)"),
    (_csv(GOOD_ROWS) + "1,2\n", "line 62 of the CSV has 2 columns; expected 3"),
    (_csv(GOOD_ROWS[:55] + [("one", 2, 0)]), "line 57 of the CSV: 'one' in column x1 is not a"),
    (_csv(GOOD_ROWS[:55] + [(1, "nan", 0)]), "column x2 is nan"),
    (_csv([(i, i, 0.5) for i in range(60)]), "label column must hold whole numbers"),
    (_csv([(i, i, i % 6) for i in range(60)]), "2 to 5 distinct labels (got 6)"),
    (_csv([(i, i, 1) for i in range(60)]), "2 to 5 distinct labels (got 1)"),
    (_csv([(i * 1e7, i, i % 2) for i in range(60)]), "within ±1e6"),
]


@pytest.mark.parametrize("text, message", BAD_CSV, ids=[m for _, m in BAD_CSV])
def test_a_bad_csv_is_a_400_that_says_what_is_wrong(client, session_id, text, message):
    r = client.post(f"/api/sessions/{session_id}/upload", content=text)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert client.get(f"/api/sessions/{session_id}").json()["config"]["custom"] is False


def test_a_csv_that_is_not_utf8_is_a_400(client, session_id):
    r = client.post(f"/api/sessions/{session_id}/upload", content=b"x1,x2,label\n\xff\xff")
    assert r.status_code == 400 and "not UTF-8" in r.json()["error"]


# ---- explain --------------------------------------------------------------------------------
def test_explain_one_point_follows_the_chain_rule(client, session_id):
    client.post(f"/api/sessions/{session_id}/step")
    e = client.get(f"/api/sessions/{session_id}/explain", params={"index": 7}).json()
    assert e["index"] == 7 and e["summarised"] is False and "d" in e["text"]
    assert e["steps"][0]["grad"] == [1.0]  # dL/dL
    assert {"0.weight", "0.bias", "4.weight"} <= set(e["grads"])
    assert [s["op"] for s in e["steps"]].count("Tanh") == 2
    # the same gradient as a backward pass on that one point's loss
    state = client.get(f"/api/sessions/{session_id}").json()
    trainer = _trainer(client, session_id)
    x = cr.tensor(trainer.X[7:8])
    loss = trainer.loss_fn(trainer.model(x), trainer.y[7:8])
    grads = cr.autograd.grad(loss, [trainer.model[0].weight])
    np.testing.assert_allclose(np.reshape(e["grads"]["0.weight"], (4, 2)),
                               grads[0].numpy(), rtol=1e-6)
    assert e["loss"] == pytest.approx(loss.item())
    assert state["frame"]["epoch"] == 1  # explaining did not train


def test_explain_on_a_large_network_summarises_per_layer(client):
    sid = client.post("/api/sessions", json={"hidden": [8] * 6}).json()["id"]
    e = client.get(f"/api/sessions/{sid}/explain", params={"index": 0}).json()
    assert e["summarised"] is True and e["text"] is None
    ops = [s["op"] for s in e["steps"][1:]]
    assert ops.count("Linear") == 7 and ops.count("Tanh") == 6
    assert all(isinstance(s["value"], (dict, list)) for s in e["steps"][1:])


def _trainer(client, session_id):
    return client.app.state.store.get(session_id).trainer


# ---- export ---------------------------------------------------------------------------------
def test_exported_weights_load_back_with_cr_load(client, session_id):
    client.post(f"/api/sessions/{session_id}/step")
    r = client.get(f"/api/sessions/{session_id}/export/weights")
    assert r.status_code == 200
    assert "playground-weights.safetensors" in r.headers["content-disposition"]
    state = cr.load(io.BytesIO(r.content))
    frame = client.get(f"/api/sessions/{session_id}").json()["frame"]
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    np.testing.assert_array_equal(state["0.weight"].numpy(),
                                  np.array(frame["weights"][0]["w"], dtype=np.float32))
    model = build_model(Config(), 2, 1)
    model.load_state_dict(state)


def test_the_exported_script_trains_to_the_same_losses(client, tmp_path):
    sid = client.post("/api/sessions", json={
        "dataset": "spiral", "classes": 3, "optimizer": "momentum", "regularization": "l1",
        "reg_rate": 0.001, "features": ["x1", "x2", "sinx1"], "hidden": [5, 3],
        "points": 200}).json()["id"]
    for _ in range(3):
        frame = client.post(f"/api/sessions/{sid}/step").json()["frame"]
    r = client.get(f"/api/sessions/{sid}/export/script")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    path = tmp_path / "playground_network.py"
    path.write_text(r.text)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"epoch 3: train loss {frame['train_loss']!r}, "
                                   f"test loss {frame['test_loss']!r}")


# ---- the command ----------------------------------------------------------------------------
def test_the_command_is_registered_and_checks_its_port(capsys):
    from chainrule.cli import build_parser, main

    args = build_parser().parse_args(["playground", "--no-browser", "--port", "9001"])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 9001, True)
    assert main(["playground", "--port", "0", "--no-browser"]) == 2
    assert "--port must be from 1 to 65535" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NumPy on the NaN weights
@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_diverged_network_still_gives_valid_json(client):
    sid = client.post("/api/sessions", json={"lr": 10, "activation": "relu",
                                             "problem": "regression", "dataset": "plane"}).json()
    for _ in range(5):
        r = client.post(f"/api/sessions/{sid['id']}/step")

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    frame = json.loads(r.text, parse_constant=refuse)["frame"]
    assert frame["train_loss"] is None and frame["verdict"]["kind"] == "nonfinite"
    assert None in frame["weights"][0]["w"][0]
    r = client.get(f"/api/sessions/{sid['id']}/explain", params={"index": 0})
    assert r.status_code == 200
    assert json.loads(r.text, parse_constant=refuse)["loss"] is None
