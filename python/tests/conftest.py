"""Puts the built package (build/python_packages) first on sys.path."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("QX_PYTHON_PACKAGES", os.path.join(ROOT, "build", "python_packages")))
