"""(being written)"""
Dual = derivative = jvp = expm = None
