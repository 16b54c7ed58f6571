"""The benchmarks and the performance report (`bizra bench`).

The benchmarks drive the front ends they measure (the window's lag is measured on a real
MainWindow), so this package sits above them: bench may import ui, cli and api; nothing but
the launcher imports bench (the layer contracts in pyproject.toml).
"""
