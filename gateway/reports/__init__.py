"""Reports out of the register: 效果评估 figures and files, register export, metrics."""
