"""(being written)"""
grad = value_and_grad = vjp = None
