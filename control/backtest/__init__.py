"""Backtest of the quoting policy on recorded data (issue 8); see control/backtest/README.md.

Entry points: control.backtest.run.run_backtest (arrays in, metrics out), control.backtest.data
(recorded captures -> arrays), control.backtest.report (Markdown + PNG), `quoteguard backtest`;
control.backtest.diagnose (which baseline fills are adversely selected, and does the model rank them).
"""
