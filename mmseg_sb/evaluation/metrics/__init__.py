# Copyright (c) mmseg_sb contributors. All rights reserved.
from .pseudo_label_metric import (PseudoLabelMetric, relative_label_path,
                                  write_png_atomic)

__all__ = ['PseudoLabelMetric', 'relative_label_path', 'write_png_atomic']
