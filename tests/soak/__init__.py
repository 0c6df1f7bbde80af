"""Long-running drivers that the soak tests start in a process of their own."""
