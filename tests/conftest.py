import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DRIFTLIGHT_POLICY", "")
# Pages in tests wait for a store's first whole-fleet judgment (the app's default is 3 s, then a
# progress notice: tests/test_app_grid.py sets it to 0 where it tests that notice).
os.environ.setdefault("DRIFTLIGHT_JUDGE_WAIT", "120")
