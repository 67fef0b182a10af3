"""One module per framework: the same workloads (MLP step, tiny MLP step, op chains) in each.

Each module defines ``version()`` and builders returning a zero-argument ``step`` callable;
a builder a framework cannot do is simply absent.
"""
