"""Statistics from the ticket event log: definitions (compute), daily roll-ups, queries, Erlang C staffing,
SVG charts, CSV/Excel/PDF exports and the synthetic-year generator. See server/stats/README.md."""
