"""Invariants of the time model, as property tests.

* appending any rows dated at or after the cutoff leaves every feature unchanged, and the feature plan
  (the columns: an event type first seen after the cutoff adds none);
* labels ignore rows outside the label window;
* shuffling the input rows changes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnml.config import FeaturesConfig
from churnml.features import compute_features, plan_features
from churnml.labels import contractual_labels, noncontractual_labels

CUT = pd.Timestamp("2024-03-01")
START = pd.Timestamp("2023-10-01")
CFG = FeaturesConfig(windows=[7, 30, 90])
IDS = ["a", "b", "c", "d", "e"]


def _log(draw, n_min: int, lo: int, hi: int, kind: str, types: tuple[str, ...] = ("login", "open")) -> pd.DataFrame:
    n = draw(st.integers(n_min, 25))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(lo * 1440, hi * 1440 - 1), min_size=n, max_size=n))
    ts = (START + pd.to_timedelta(minutes, unit="min")).astype("datetime64[us]")
    df = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "timestamp": ts})
    if kind == "tx":
        amounts = draw(st.lists(st.integers(-20, 200), min_size=n, max_size=n))
        df["amount"] = np.asarray(amounts, dtype="float64")
        # a few order ids, so that an order's rows fall on both sides of the cutoff; some rows without one
        df["order_id"] = pd.Series(draw(st.lists(st.sampled_from(["o1", "o2", "o3", None]), min_size=n, max_size=n)),
                                   dtype="str")
    elif kind == "events":
        df["event_type"] = draw(st.lists(st.sampled_from(types), min_size=n, max_size=n))
    else:
        df = df.rename(columns={"timestamp": "opened_at"})
        df["resolved_at"] = df["opened_at"] + pd.Timedelta(days=draw(st.integers(0, 40)))
        df["first_contact_resolved"] = pd.array(
            draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype="boolean"
        )
    return df


@st.composite
def worlds(draw):
    days_to_cut = (CUT - START).days
    before = {
        "transactions": _log(draw, 1, 0, days_to_cut, "tx"),
        "events": _log(draw, 0, 0, days_to_cut, "events"),
        "tickets": _log(draw, 0, 0, days_to_cut, "tickets"),
    }
    after = {
        "transactions": _log(draw, 0, days_to_cut, days_to_cut + 120, "tx"),
        "events": _log(draw, 0, days_to_cut, days_to_cut + 120, "events", ("login", "open", "cancel click")),
        "tickets": _log(draw, 0, days_to_cut, days_to_cut + 120, "tickets"),
    }
    before["transactions"].loc[0, "amount"] = 5.0  # at least one purchase before the cutoff
    if not draw(st.booleans()):  # half the worlds count rows, half orders (FeaturePlan.orders)
        before["transactions"] = before["transactions"].drop(columns="order_id")
        after["transactions"] = after["transactions"].drop(columns="order_id")
    for name, frame in after.items():  # the boundary itself: a row exactly at the cutoff, half the time
        if len(frame) and draw(st.booleans()):
            frame.loc[0, "opened_at" if name == "tickets" else "timestamp"] = CUT
    return before, after


def _features(tables):
    pop = noncontractual_labels(tables["transactions"], [CUT], 30, immature="keep")[["customer_id", "cutoff"]]
    plan = plan_features(tables, [CUT], CFG)
    return pop, plan


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(worlds())
def test_rows_at_or_after_the_cutoff_never_change_features(world):
    before, after = world
    pop, plan = _features(before)
    combined = {k: pd.concat([before[k], after[k]], ignore_index=True) for k in before}
    expected = compute_features(before, pop, plan)
    got = compute_features(combined, pop, plan)
    pd.testing.assert_frame_equal(got, expected)
    assert plan_features(combined, [CUT], CFG) == plan  # the same columns, planned on all the rows


@SETTINGS
@given(worlds(), st.integers(0, 10_000))
def test_shuffling_input_rows_changes_nothing(world, seed):
    before, _ = world
    pop, plan = _features(before)
    shuffled = {k: v.sample(frac=1.0, random_state=seed).reset_index(drop=True) for k, v in before.items()}
    pd.testing.assert_frame_equal(compute_features(shuffled, pop, plan), compute_features(before, pop, plan))
    pd.testing.assert_frame_equal(
        noncontractual_labels(shuffled["transactions"], [CUT], 30, immature="keep"),
        noncontractual_labels(before["transactions"], [CUT], 30, immature="keep"),
    )


@SETTINGS
@given(worlds(), st.integers(1, 60), st.integers(0, 14))
def test_labels_ignore_rows_outside_the_label_window(world, horizon, lead):
    before, after = world
    tx = pd.concat([before["transactions"], after["transactions"]], ignore_index=True)
    expected = noncontractual_labels(tx, [CUT], horizon, lead_time_days=lead, immature="keep")
    start = CUT + pd.Timedelta(days=lead)
    end = start + pd.Timedelta(days=horizon)
    outside = after["transactions"]
    outside = outside[(outside["timestamp"] >= end) | (outside["timestamp"] < start)]
    inside = tx[~tx.index.isin(outside.index + len(before["transactions"]))]
    # Removing every row at/after the cutoff that is outside the window changes no label.
    got = noncontractual_labels(inside, [CUT], horizon, lead_time_days=lead, immature="keep")
    pd.testing.assert_frame_equal(got, expected)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(IDS), st.integers(0, 200), st.integers(1, 90)), min_size=1, max_size=12))
def test_contractual_labels_ignore_subscriptions_starting_after_window_end_plus_grace(subs):
    starts = [START + pd.Timedelta(days=s) for _, s, _ in subs]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([c for c, _, _ in subs], dtype="str"),
            "start": pd.Series(starts, dtype="datetime64[us]"),
            "end": pd.Series([s + pd.Timedelta(days=d) for s, (_, _, d) in zip(starts, subs, strict=True)],
                             dtype="datetime64[us]"),
        }
    )
    expected = contractual_labels(frame, [CUT], 30, grace_days=10, immature="keep")
    late = frame.assign(start=CUT + pd.Timedelta(days=41), end=CUT + pd.Timedelta(days=80))
    got = contractual_labels(pd.concat([frame, late], ignore_index=True), [CUT], 30, grace_days=10, immature="keep")
    pd.testing.assert_frame_equal(got, expected)
