"""Words, colours and plotly figures: the UI strings and their English labels (``strings``), counts and marks in
words (``text``), the plotly templates (``theme``), the wall's charts and map (``wall_charts``, ``wall_map``), the
review's figures and labels (``review``, ``index_views``) and the enterprise profile's (``enterprise``). Never
imports dash, so exports can draw the same figures."""
