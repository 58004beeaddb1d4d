"""`quoteguard demo`: the main job on the bundled real data, end to end, with a report.

| module | job |
|---|---|
| `slice.py` | `SliceBackend`: the first N records on a hardware backend (the RTL in Icarus), each checked against the CPU reference in lockstep (the bit-exact contract, live); the rest on the CPU |
| `trace.py` | what the demo keeps per prediction and per quoting decision, for the summary and the plots |
| `venue.py` | a FIX 4.4 session on 127.0.0.1 from our initiator to our own acceptor in venue role, and the checks that the venue got exactly what we sent |
| `orchestrate.py` | plan the backend, wire feed -> book -> backend -> quoting -> FIX, run, summarize |
| `report.py` | the report folder: `report.md`, `summary.json`, PNG plots |
"""
