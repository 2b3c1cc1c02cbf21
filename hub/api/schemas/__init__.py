"""Response models, one module per resource."""
