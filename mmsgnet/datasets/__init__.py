"""Datasets: generated (synthetic) data, YouTube-VIS conversion, annotation validation and
the validating dataset classes / image loader registered into mmdet's registries."""
from .coco_format import (decode_segmentation, dump_json_atomic, encode_rle, mask_to_polygons,
                          segmentation_to_rle)
from .frame_sampling import PreviousFrameSample
from .image_files import ImageFileError, image_bytes_problem, image_file_problem
from .strict_datasets import StrictCocoDataset, StrictYouTubeVISDataset
from .synthetic import (COCO_ANN_FILE, COCOVID_ANN_FILE, YTVIS_ANN_FILE, generate_coco_instance,
                        generate_youtube_vis, ytvis_class_names)
from .synthetic_render import SHAPES
from .transforms import StrictLoadImageFromFile, inference_pipeline
from .validation import (AnnotationFileError, detect_annotation_format, load_annotation_json,
                         validate_annotation_file, validate_annotations,
                         validate_coco_instance_file, validate_cocovid_file, validate_ytvis_file)
from .vis_datasets import OVIS_CLASSES, VISDataset, file_class_names, vis_class_names
from .ytvis_convert import convert_ytvis_to_cocovid, ytvis_to_cocovid

__all__ = [
    'AnnotationFileError', 'ImageFileError', 'StrictCocoDataset', 'StrictYouTubeVISDataset',
    'StrictLoadImageFromFile', 'inference_pipeline', 'SHAPES', 'COCO_ANN_FILE', 'YTVIS_ANN_FILE',
    'COCOVID_ANN_FILE', 'PreviousFrameSample',
    'generate_coco_instance', 'generate_youtube_vis', 'ytvis_class_names',
    'convert_ytvis_to_cocovid', 'ytvis_to_cocovid', 'validate_annotations',
    'validate_annotation_file', 'validate_coco_instance_file', 'validate_cocovid_file',
    'validate_ytvis_file', 'detect_annotation_format', 'load_annotation_json',
    'image_bytes_problem', 'image_file_problem', 'encode_rle', 'decode_segmentation',
    'segmentation_to_rle', 'mask_to_polygons', 'dump_json_atomic',
    'OVIS_CLASSES', 'VISDataset', 'file_class_names', 'vis_class_names'
]
