"""Sources as providers behind one interface: what a target is, what a source needs, how it is crawled."""
