"""Buy-till-you-die baselines: the BG/NBD purchase model and Gamma-Gamma spend.

Written from the published formulas of Fader, Hardie and Lee (2005a),
"Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
*Marketing Science* 24(2), and (2005b) "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", *Journal of Marketing Research* 42(4).

The model's story (who drops out when, and why P(alive) ranks churn
backwards) is told in :mod:`~churnml.btyd.bgnbd`. All times are in *units*
of ``unit_days`` days (weeks by default) from the customer's first purchase day.

The package: :mod:`~churnml.btyd.summary` builds the per-customer (x, t_x, T,
m) summary, :mod:`~churnml.btyd.bgnbd` holds the BG/NBD,
:mod:`~churnml.btyd.gammagamma` the spend model and
:mod:`~churnml.btyd.fitting` their shared maximum-likelihood fit.
"""

from __future__ import annotations

from churnml.btyd.bgnbd import BGNBD, bgnbd_log_likelihood
from churnml.btyd.bgnbd import _bgnbd_ll_grad as _bgnbd_ll_grad  # tests check the gradient here
from churnml.btyd.gammagamma import GammaGamma
from churnml.btyd.summary import summary_at

__all__ = ["BGNBD", "GammaGamma", "bgnbd_log_likelihood", "summary_at"]
