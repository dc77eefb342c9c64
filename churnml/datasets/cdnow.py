"""The CDNOW purchase log, bundled as a compressed copy of ``CDNOW_master.txt``.

23,570 customers who first bought at the online music retailer CDNOW in the
first quarter of 1997, followed until 1998-06-30: 69,659 purchase rows. See
``data/PROVENANCE.md`` for the source and citation.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pandas as pd

from churnml.validation import validate_table

__all__ = ["CDNOW_FILE", "load_cdnow"]

#: Name of the bundled file inside ``churnml/datasets/data/`` (gzip of the original text).
CDNOW_FILE = "CDNOW_master.txt.gz"

_RENAME = {"date": "timestamp", "number_of_cds": "quantity", "dollar_value": "amount"}


def load_cdnow(*, data_end: str | dt.date | dt.datetime | pd.Timestamp | None = None) -> pd.DataFrame:
    """Load the bundled CDNOW log as a canonical transactions frame.

    Parameters
    ----------
    data_end : date-like, optional
        A declared end of the data (exclusive); rows on or after it are an error.
        The log itself ends on 1998-06-30 (so ``1998-07-01`` fits).

    Returns
    -------
    DataFrame
        One row per purchase line, 69,659 rows:

        - ``customer_id`` (``str``): the 5-digit zero-padded id of the file, e.g. ``'00001'``;
        - ``timestamp`` (``datetime64[us]``): the purchase day at midnight UTC;
        - ``amount`` (``float64``): the ``dollar_value`` of the row, in US dollars;
        - ``quantity`` (``float64``): the ``number_of_cds`` bought.

    Notes
    -----
    255 rows repeat another row exactly (same customer, day, CDs and dollars).
    They are real separate purchases on one day, so duplicates are kept
    (``duplicates="keep"``); configs/cdnow.yaml says so too.
    """
    ref = resources.files("churnml.datasets").joinpath("data", CDNOW_FILE)
    with ref.open("rb") as fh:
        raw = pd.read_csv(
            fh,
            sep=r"\s+",
            compression="gzip",
            dtype={"customer_id": "str", "date": "str", "number_of_cds": "float64", "dollar_value": "float64"},
        )
    return validate_table(
        "transactions", raw.rename(columns=_RENAME), duplicates="keep", data_end=data_end,
        source=CDNOW_FILE,
    )
