import os

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep the inline backend

# In CI the property-based tests use a fixed sequence of examples, so a run's verdict does not
# depend on luck; locally they keep exploring new examples on every run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
