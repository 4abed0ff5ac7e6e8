"""Small echo-like inputs for the tests: frames, images, DICOM files and a tiny model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom
import torch
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, UltrasoundMultiFrameImageStorage

from lvwall.model import UNetConfig, build_model
from lvwall.model.checkpoint import save_model
from lvwall.model.export import export_onnx

HEIGHT, WIDTH, N_FRAMES = 64, 80, 5


def echo_frames(n: int = N_FRAMES, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """RGB uint8 frames: a bright ring (a wall-like structure) over speckle, moving a little."""
    rng = np.random.default_rng(n)
    frames = rng.integers(0, 60, (n, height, width, 3), dtype=np.uint8)
    for index in range(n):
        centre = (width // 2 + index % 3, height // 2)
        cv2.ellipse(frames[index], centre, (width // 4, height // 3), 0, 0, 360, (220,) * 3, 4)
    return frames


def write_image(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


PRIVATE_FIELDS = {
    "PatientName": "Doe^Jane",
    "PatientID": "PID-93817",
    "PatientBirthDate": "19610317",
    "InstitutionName": "Saint Elsewhere Heart Clinic",
    "StudyDate": "20240229",
    "ReferringPhysicianName": "Welby^Marcus",
    "AccessionNumber": "ACC-55123",
}


def write_dicom(
    path: Path, pixels: np.ndarray | None, photometric: str | None = None, **fields: object
) -> Path:
    """A minimal ultrasound DICOM file with ``fields``; ``pixels`` (T, H, W[, 3]) uint8, or
    ``None`` for a file without pixel data. ``photometric`` defaults to RGB for colour frames
    and MONOCHROME2 for grey ones."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = UltrasoundMultiFrameImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "US"
    for key, value in fields.items():
        setattr(dataset, key, value)
    if pixels is not None:
        colour = pixels.ndim == 4 and pixels.shape[-1] == 3
        photometric = photometric or ("RGB" if colour else "MONOCHROME2")
        dataset.set_pixel_data(pixels, photometric_interpretation=photometric, bits_stored=8)
    dataset.save_as(path, enforce_file_format=True)
    return path


def make_tiny_model(folder: Path) -> dict[str, Path]:
    """A tiny random U-Net saved as lvwall model file and as its ONNX export."""
    torch.manual_seed(0)
    network = build_model(UNetConfig(widths=(4, 8), norm="batch"))
    with torch.no_grad():  # a bias that makes some pixels wall and some not
        network.head.bias.fill_(0.2)
    weights = save_model(folder / "tiny.safetensors", network, {"threshold": 0.5})
    onnx_path = export_onnx(network, folder / "tiny.onnx", meta={"threshold": 0.5}).path
    return {"weights": weights, "onnx": onnx_path}
