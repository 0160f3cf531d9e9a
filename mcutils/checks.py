"""(being written)"""
CheckResult = check_gradient = check_jvp = relerr = None
