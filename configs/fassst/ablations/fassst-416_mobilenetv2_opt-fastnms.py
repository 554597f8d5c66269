# Option (METHODS 6): YOLACT's FastNMS (IoU 0.5) instead of NMS at inference.
_base_ = '../fassst-416_mobilenetv2_100e_coco.py'
model = dict(test_cfg=dict(_delete_=True, score_thr=0.05, fast_nms=dict(iou_thr=0.5, top_k=36),
                           max_per_img=36, mask_thr_binary=0.5))
