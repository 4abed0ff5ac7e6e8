"""The LV wall's geometry, shared by every analysis: its centreline from base over the apex to
base, its split into the six A4C segments, the endocardium and thickness along it, the
segments' colours, and the error of a mask that holds no recognisable wall."""

from lvwall.wall.centreline import (
    SEPTAL_SIDES,
    Centreline,
    clean_wall_mask,
    main_wall_pixels,
    resample_by_arc_length,
    wall_centreline,
)
from lvwall.wall.colours import SEGMENT_COLOURS, segment_colours, segment_legend_label
from lvwall.wall.errors import RegionalError
from lvwall.wall.profile import WallProfile, inward_normals, wall_profile
from lvwall.wall.segments import (
    SegmentSplit,
    centreline_segments,
    label_maps,
    segment_dice,
    split_predicted_sequence,
    split_sequence,
    split_wall,
)

__all__ = [
    "SEGMENT_COLOURS",
    "SEPTAL_SIDES",
    "Centreline",
    "RegionalError",
    "SegmentSplit",
    "WallProfile",
    "centreline_segments",
    "clean_wall_mask",
    "inward_normals",
    "label_maps",
    "main_wall_pixels",
    "resample_by_arc_length",
    "segment_colours",
    "segment_dice",
    "segment_legend_label",
    "split_predicted_sequence",
    "split_sequence",
    "split_wall",
    "wall_centreline",
    "wall_profile",
]
