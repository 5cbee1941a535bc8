"""Pure notification rules: no I/O, no frameworks, testable in milliseconds."""
