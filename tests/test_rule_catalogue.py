"""The rule catalogue in churnml.coercion: the one wording of the row rules, pandas' and Spark's."""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.coercion import (
    DUPLICATE_KEY,
    DUPLICATE_ROW,
    NEGATIVE_AMOUNT,
    NON_INTEGER,
    UNKNOWN_SURVEY,
    data_end_rule,
    null_rule,
    order_rule,
)
from churnml.errors import SchemaError
from churnml.schema import SCORE_SCALES
from churnml.validation import validate_table


def test_a_rule_counts_with_its_singular_noun_for_one_row_and_its_plural_otherwise():
    assert NEGATIVE_AMOUNT.count(1) == "1 negative amount"
    assert NEGATIVE_AMOUNT.count(0) == "0 negative amounts"
    assert NEGATIVE_AMOUNT.count(1250) == "1,250 negative amounts"


def test_a_problem_names_the_table_the_column_or_whole_rows_the_count_and_the_fix():
    assert NON_INTEGER.problem("marketing_spend", "new_customers", 2, " at index 1, 4") == (
        "marketing_spend.new_customers: 2 non-integer counts at index 1, 4; fix: write whole numbers")
    assert DUPLICATE_ROW.problem("events", None, 1) == (
        "events (whole rows): 1 duplicate row; fix: if they are real repeat events, set data.duplicates "
        "(in Python: duplicates=) to 'keep'; else 'drop'")


def test_parameterised_rules_fill_in_the_columns_and_the_data_end():
    assert (null_rule("customer_id", "id").one, null_rule("end", "time").many) == (
        "null customer id", "null end values")
    assert order_rule("opened_at", "resolved_at").many == "resolved_ats before opened_at"
    assert data_end_rule(pd.Timestamp("2024-02-01")).fix == (
        "data.end (2024-02-01 00:00:00, UTC) is exclusive: remove those rows or set data.end later")


def test_drops_are_logged_with_the_setting_that_asked_for_them():
    assert NEGATIVE_AMOUNT.dropped == "negative amounts (data.returns = drop)"
    assert DUPLICATE_ROW.dropped == DUPLICATE_KEY.dropped == "duplicate rows (data.duplicates = drop)"


def test_the_survey_fix_lists_every_scale():
    assert all(f"{name} {lo:g}-{hi:g}" in UNKNOWN_SURVEY.fix for name, (lo, hi) in SCORE_SCALES.items())


def test_the_pandas_validation_words_its_problems_from_the_catalogue():
    raw = pd.DataFrame({"customer_id": pd.Series(["A", "B"], dtype="str"),
                        "timestamp": ["2024-01-01", "2024-01-02"], "amount": [1.0, -2.0]})
    with pytest.raises(SchemaError) as info:
        validate_table("transactions", raw)
    assert info.value.problems == [NEGATIVE_AMOUNT.problem("transactions", "amount", 1, " at index 1 (e.g. -2.0)")]
