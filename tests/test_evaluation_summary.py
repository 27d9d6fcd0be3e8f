"""Aggregation of evaluation episodes (no simulator needed)."""

from __future__ import annotations

import pytest

from g1_mimic.rl.evaluation import METRIC_KEYS, summarize


def _m(v: float) -> dict[str, float]:
    return dict.fromkeys(METRIC_KEYS, v)


def test_summary_per_clip_and_overall():
    episodes = [
        (0, True, True, 10.0, _m(0.02)),
        (0, True, False, 8.0, _m(0.04)),
        (1, False, False, 1.0, _m(0.30)),
        (1, False, False, 3.0, _m(0.10)),
    ]
    res = summarize(episodes, ["wave", "squat"], standing_s=3.0)
    assert res.episodes == 4
    assert res.success_rate == pytest.approx(0.5)
    assert res.standing_after_end == pytest.approx(0.25)
    assert res.mpkpe_m == pytest.approx((0.02 + 0.04 + 0.30 + 0.10) / 4)
    # the spread over episodes (population sd): per clip and overall
    assert res.per_clip["wave"]["mpkpe_std_m"] == pytest.approx(0.01) and res.per_clip["squat"]["mpkpe_std_m"] == pytest.approx(0.10)
    assert res.mpkpe_std_m == pytest.approx(0.1108, abs=1e-4) and res.to_dict()["mpkpe_std_m"] == res.mpkpe_std_m
    assert res.per_clip["wave"]["success_rate"] == 1.0 and res.per_clip["wave"]["standing_after_end"] == 0.5
    assert res.per_clip["squat"]["mean_episode_length_s"] == pytest.approx(2.0)
    d = res.to_dict()
    for key in ("success_rate", "mpkpe_m", "r_mpkpe_m", "joint_pos_rmse_rad", "episodes", "standing_after_end"):
        assert key in d
    table = res.table()
    assert "wave" in table and "ALL" in table and "50.0%" in table
    assert table.splitlines()[1].split()[4:6] == ["3.00", "1.00"]  # wave: MPKPE and its sd, cm
    assert res.failed_clips == ["squat"] and d["failed_clips"] == ["squat"] and d["protocol"] == "task"
    assert table.splitlines()[-1] == "failure rule: task; failed clips (1 of 2): squat"
    assert summarize(episodes[:2], ["wave", "squat"], protocol="pelvis").table().endswith("failed clips (0 of 1): none")


def test_failures_say_which_term_when_which_end_effector_and_whether_the_body_leaned():
    from g1_mimic.rl.evaluation import Failure

    episodes = [
        (0, True, True, 10.0, _m(0.02)),
        (1, False, False, 1.0, _m(0.30)),
        (1, False, False, 3.0, _m(0.10)),
        (1, False, False, 2.5, _m(0.10)),
    ]
    fails = [
        Failure(1, 1.0, ["anchor_pos", "ee_body_pos"], "right_ankle_roll_link", 0.05, -0.01, None),
        Failure(1, 3.0, ["ee_body_pos"], "left_wrist_yaw_link", 0.33, -0.19, 1.6),
        Failure(1, 2.5, ["ee_body_pos"], "left_wrist_yaw_link", 0.30, -0.15, 1.2),
    ]
    res = summarize(episodes, ["wave", "squat"], standing_s=3.0, fails=fails)
    assert list(res.failures) == ["squat"]  # the clip without failures has no entry
    f = res.failures["squat"]
    assert f["count"] == 3 and f["terms"] == {"ee_body_pos": 3, "anchor_pos": 1}
    assert f["time_s"] == {"min": 1.0, "median": 2.5, "max": 3.0}
    assert f["end_effector_most_off"] == {"left_wrist_yaw_link": 2, "right_ankle_roll_link": 1}
    assert f["anchor_before"] == {"tilt_rad": 0.30, "height_error_m": -0.15}  # medians
    assert f["leaning"] == {"count": 2, "from_s": pytest.approx(1.4)}  # two leaned before failing, from 1.2 and 1.6 s
    assert res.to_dict()["failures"] == res.failures
    assert res.table().splitlines()[-1] == (
        "  squat: 3 failed (ee_body_pos 3, anchor_pos 1) at 1.00-3.00 s (median 2.50 s); "
        "most off in height before: left_wrist_yaw_link 2, right_ankle_roll_link 1; "
        "anchor before: tilt 0.30 rad, height -0.15 m; leaning > 0.15 rad from 1.40 s (median) in 2 of 3"
    )


def test_summary_without_episodes_is_an_error():
    with pytest.raises(RuntimeError, match="no episode"):
        summarize([], ["wave"])
