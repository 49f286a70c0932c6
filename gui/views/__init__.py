"""Plot views, one per tab; adding a view is a new module plus one entry in VIEWS."""

from gui.views.curves import LearningCurvesView
from gui.views.heatmap import HeatmapView
from gui.views.ntk import NTKView
from gui.views.regions import RegionsView
from gui.views.sampler import SamplerView
from gui.views.sweep import SweepView

VIEWS = (LearningCurvesView, SweepView, HeatmapView, RegionsView, SamplerView, NTKView)
