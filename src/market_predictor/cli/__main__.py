"""`python -m market_predictor.cli`: the `mpp` command without its console script (how
`mpp up` starts `mpp serve` with the same interpreter)."""

from market_predictor.cli import main

main()
