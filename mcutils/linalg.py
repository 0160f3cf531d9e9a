"""(being written)"""
commutation_matrix = kron_apply = unvec = vec = None
