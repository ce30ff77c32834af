"""Work-order pages, one module per audience: case (the case page, actions, photos, my tasks),
desk (the dispatcher's workbench and hotline intake), field (residents' and grid workers' mobile pages),
insight (supervisor overview, KPIs, analysis), config (categories, routing, deadlines, calendar, clients)."""
