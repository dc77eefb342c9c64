"""Customer ids: one canonical text for every table and every customer list.

:func:`canonical_ids` is the rule; :mod:`churnml.coercion` applies it to the id
columns of each table (and logs what it changed), and a list of customers to
score goes through the same function, so an id written ``' 007 '`` in a file
and ``'007'`` in a list is one customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = ["canonical_ids", "id_text"]


def id_text(col: pd.Series) -> pd.Series:
    """Ids as text before stripping: whole floats (``7.0``, in a float or an object column) as ``'7'``."""
    if ptypes.is_float_dtype(col.dtype):
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(values) & (values == np.floor(values)) & (np.abs(values) < 2.0**63)
        text = col.astype("str")
        text[whole] = values[whole].astype(np.int64).astype("str")
        return text
    if col.dtype == object:
        text = col.astype("str")
        looks = text.str.fullmatch(r"-?\d+\.0+").to_numpy(dtype=bool, na_value=False)
        objects = col.to_numpy()[looks]
        floats = np.fromiter((isinstance(v, float | np.floating) for v in objects), bool, len(objects))
        pos = np.flatnonzero(looks)[floats]
        text.iloc[pos] = text.iloc[pos].str.replace(r"\.0+$", "", regex=True)
        return text
    return col if col.dtype == "str" else col.astype("str")


def canonical_ids(s: pd.Series) -> pd.Series:
    """Customer ids as churnml compares them: one rule for tables and customer lists.

    Surrounding white space is stripped (``' 007 '`` -> ``'007'``); an id that is
    empty or only white space becomes missing; a whole float id (``7.0``, in a
    float column or among the values of an object column) becomes ``'7'``; other
    values become their text (leading zeros are kept: ``'007'`` stays ``'007'``).

    Parameters
    ----------
    s : Series
        Ids of any dtype.

    Returns
    -------
    Series
        ``str`` dtype, same index; missing where ``s`` is missing, empty or blank.
    """
    stripped = id_text(s).str.strip()
    return stripped.where(stripped != "")
