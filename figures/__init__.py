"""Words, colours and plotly figures: the UI strings and their English labels (``strings``), the plotly
templates (``theme``), the wall's charts and map. Never imports dash, so exports can draw the same figures."""
