"""What a scanner draws over the image: ECG trace with a time cursor, depth scale, probe
orientation mark, grey bar and text, as burnt into HMC-QU's exported videos."""

from __future__ import annotations

import cv2
import numpy as np

from lvwall.data.phantom.bmode import ScanConverter
from lvwall.data.phantom.motion import CardiacCycle
from lvwall.data.phantom.params import PhantomParams

_SCALE_COLOUR = (205, 205, 150)
_MARK_COLOUR = (235, 215, 40)
_ECG_COLOUR = (40, 190, 170)
_CURSOR_COLOUR = (230, 60, 40)
# ECG waves as (phase of the beat, amplitude, width): P, Q, R, S, T (R at end-diastole).
_ECG_WAVES = (
    (-0.12, 0.12, 0.025),
    (-0.012, -0.12, 0.006),
    (0.0, 1.0, 0.007),
    (0.014, -0.28, 0.007),
    (0.3, 0.28, 0.045),
)


def tint_grey(grey: np.ndarray, tint: tuple[float, float, float]) -> np.ndarray:
    """A grey image in [0, 1] as uint8 RGB, each channel scaled by ``tint``."""
    return cv2.merge([cv2.convertScaleAbs(grey, alpha=255.0 * factor) for factor in tint])


def ecg(phase: np.ndarray) -> np.ndarray:
    """A synthetic ECG (R peak 1) at beat phases (0 = end-diastole = R peak), as sums of
    Gaussian waves (McSharry et al., IEEE TBME 50(3), 2003, in its simplest form)."""
    signal = np.zeros_like(phase, dtype=float)
    for centre, amplitude, width in _ECG_WAVES:
        distance = np.mod(phase - centre + 0.5, 1.0) - 0.5
        signal += amplitude * np.exp(-0.5 * (distance / width) ** 2)
    return signal


class ScannerOverlay:
    """Scanner graphics for one recording: a static layer drawn once, plus an ECG cursor
    that moves with the frame."""

    def __init__(
        self,
        params: PhantomParams,
        converter: ScanConverter,
        cycle: CardiacCycle,
        rng: np.random.Generator,
    ) -> None:
        self.height, self.width = params.height, params.width
        self.font_scale = 0.42 * params.height / 422
        self.layer = np.zeros((params.height, params.width, 3), np.uint8)
        self._draw_depth_scale(converter)
        self._draw_marks(converter, 60.0 * params.fps / params.cycle_frames, rng)
        self._ecg_x, self._ecg_y = self._draw_ecg(params, cycle, rng)
        self._drawn_mask = self.layer.any(axis=2).astype(np.uint8)

    def _text(
        self, text: str, origin: tuple[int, int], colour: tuple[int, int, int], scale: float = 1.0
    ) -> None:
        cv2.putText(
            self.layer,
            text,
            origin,
            cv2.FONT_HERSHEY_SIMPLEX,
            self.font_scale * scale,
            colour,
            1,
            cv2.LINE_AA,
        )

    def _draw_depth_scale(self, converter: ScanConverter) -> None:
        """Ticks every cm along the left edge of the sector, numbered every 5 cm."""
        sector = converter.sector
        edge = np.array([np.sin(-sector.angle / 2), np.cos(-sector.angle / 2)])
        outward = np.array([-edge[1], edge[0]])
        tick = max(2.0, 0.012 * self.height)
        for depth_cm in range(1, int(sector.depth) + 1):
            if (converter.to_pixels((depth_cm * edge)[None])[0][1]) >= self.height:
                break
            start = converter.to_pixels((depth_cm * edge + 0.15 * outward)[None])[0]
            length = 2 * tick if depth_cm % 5 == 0 else tick
            end = start + length * outward
            cv2.line(self.layer, _point(start), _point(end), _SCALE_COLOUR, 1, cv2.LINE_AA)
            if depth_cm % 5 == 0:
                label = end + np.array([-3.5 * tick * len(str(depth_cm)), 0.5 * tick])
                self._text(str(depth_cm), _point(label), _SCALE_COLOUR)

    def _draw_marks(self, converter: ScanConverter, bpm: float, rng: np.random.Generator) -> None:
        apex = converter.apex
        self._text(
            "V", _point((apex[0] + 0.01 * self.width, 0.05 * self.height)), _MARK_COLOUR, 1.3
        )
        focus = converter.sector.depth * rng.uniform(0.35, 0.5)
        edge_angle = -converter.sector.angle / 2
        at = converter.to_pixels((focus * np.array([np.sin(edge_angle), np.cos(edge_angle)]))[None])
        size = max(3, int(0.012 * self.height))
        x, y = _point(at[0] - np.array([2.5 * size, 0]))
        triangle = np.array([[x - size, y + size], [x + size, y + size], [x, y - size]], np.int32)
        cv2.fillPoly(self.layer, [triangle], _MARK_COLOUR, cv2.LINE_AA)
        bar_x, bar_top = int(0.955 * self.width), int(0.06 * self.height)
        bar_height, bar_width = int(0.19 * self.height), max(3, int(0.025 * self.width))
        ramp = np.linspace(255, 40, bar_height).astype(np.uint8)[:, None, None]
        self.layer[bar_top : bar_top + bar_height, bar_x : bar_x + bar_width] = ramp
        right = int(0.94 * self.width)
        self._text(f"{bpm:.0f}", (right, int(0.955 * self.height)), _SCALE_COLOUR)
        self._text("HR", (right, int(0.99 * self.height)), _SCALE_COLOUR)
        letters = "ABCDEFGHKLMPRSTV0123456789"
        for row in range(int(rng.integers(0, 4))):
            word = "".join(rng.choice(list(letters), int(rng.integers(3, 8))))
            self._text(
                word,
                (int(0.02 * self.width), int((0.05 + 0.045 * row) * self.height)),
                _SCALE_COLOUR,
            )

    def _draw_ecg(
        self, params: PhantomParams, cycle: CardiacCycle, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The whole recording's ECG across the bottom-left; returns each frame's cursor x."""
        left, right = 0.05 * self.width, 0.4 * self.width
        baseline = self.height * rng.uniform(0.9, 0.94)
        amplitude = 0.06 * self.height
        frame_time = np.linspace(-0.5, params.n_frames - 0.5, 600)
        trace_y = baseline - amplitude * ecg(cycle.phase(frame_time))
        trace_x = left + (right - left) * (frame_time - frame_time[0]) / np.ptp(frame_time)
        points = np.round(np.stack([trace_x, trace_y], 1)).astype(np.int32)
        cv2.polylines(self.layer, [points], False, _ECG_COLOUR, 1, cv2.LINE_AA)
        cursor_x = left + (right - left) * (np.arange(params.n_frames) + 0.5) / params.n_frames
        return cursor_x, np.array([baseline - 1.3 * amplitude, baseline + 0.5 * amplitude])

    def draw(self, frame: np.ndarray, index: int) -> np.ndarray:
        """``frame`` (uint8 RGB) with the overlay and the ECG cursor at frame ``index``."""
        out = cv2.copyTo(self.layer, self._drawn_mask, frame.copy())
        x = int(round(self._ecg_x[index]))
        top, bottom = (int(round(v)) for v in self._ecg_y)
        cv2.line(out, (x, top), (x, bottom), _CURSOR_COLOUR, 1)
        return out


def _point(xy: np.ndarray | tuple[float, float]) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))
