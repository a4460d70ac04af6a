"""Industry templates: the seed's customer archive (硬件 basics, 软件 personality, style) as fields."""

from __future__ import annotations

from typing import Any

# Fields every template shares: the seed's "hardware" and "software" archive.
_COMMON: list[dict[str, Any]] = [
    {"key": "occupation", "label": "职业", "group": "hardware"},
    {"key": "title", "label": "职务", "group": "hardware"},
    {"key": "employer", "label": "工作单位", "group": "hardware"},
    {
        "key": "occasions",
        "label": "常去场合",
        "group": "hardware",
        "type": "multi",
        "choices": ["职场", "商务宴请", "聚会", "旅行", "运动", "居家", "接送孩子"],
    },
    {
        "key": "family_structure",
        "label": "家庭结构",
        "group": "hardware",
        "type": "choice",
        "choices": ["单身", "已婚无孩", "已婚有孩", "三代同堂"],
    },
    {
        "key": "assets",
        "label": "资产情况",
        "group": "hardware",
        "type": "choice",
        "choices": ["有房有车", "有房", "有车", "暂无"],
    },
    {
        "key": "economic_situation",
        "label": "经济状况",
        "group": "hardware",
        "type": "choice",
        "choices": ["富裕", "中上", "普通"],
    },
    {
        "key": "personality",
        "label": "性格",
        "group": "software",
        "type": "choice",
        "choices": ["外向健谈", "温和", "理性谨慎", "果断", "挑剔"],
    },
    {"key": "preferences", "label": "消费偏好", "group": "software"},
    {"key": "hobbies", "label": "兴趣爱好", "group": "software"},
    {"key": "reasons_to_buy", "label": "购买理由", "group": "software"},
    {"key": "reasons_not_to_buy", "label": "不买的顾虑", "group": "software"},
]

_STYLE: list[dict[str, Any]] = [
    {
        "key": "style",
        "label": "风格",
        "group": "style",
        "type": "choice",
        "choices": ["简约", "优雅", "甜美", "知性", "休闲", "时尚", "中性"],
    },
    {"key": "hair_colour", "label": "发色", "group": "style"},
    {
        "key": "skin_tone",
        "label": "肤色",
        "group": "style",
        "type": "choice",
        "choices": ["白皙", "自然", "小麦色", "偏黄"],
    },
    {
        "key": "body_type",
        "label": "体型",
        "group": "style",
        "type": "choice",
        "choices": ["H型", "X型", "A型", "Y型", "O型"],
    },
]

INDUSTRY_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "beauty": [
        *_COMMON,
        {
            "key": "skin_type",
            "label": "肤质",
            "group": "style",
            "type": "choice",
            "choices": ["干性", "油性", "混合", "敏感", "中性"],
        },
        {
            "key": "skin_concerns",
            "label": "皮肤问题",
            "group": "style",
            "type": "multi",
            "choices": ["痘痘", "色斑", "皱纹", "毛孔", "暗沉", "敏感泛红"],
        },
        {
            "key": "makeup_preference",
            "label": "妆容偏好",
            "group": "style",
            "type": "choice",
            "choices": ["素颜", "淡妆", "精致妆"],
        },
        {"key": "allergies", "label": "过敏史", "group": "hardware"},
        _STYLE[2],
    ],
    "apparel": [
        *_COMMON,
        *_STYLE,
        {
            "key": "top_size",
            "label": "上装尺码",
            "group": "style",
            "type": "choice",
            "choices": ["XS", "S", "M", "L", "XL", "XXL"],
        },
        {"key": "bottom_size", "label": "下装尺码", "group": "style"},
        {"key": "shoe_size", "label": "鞋码", "group": "style", "type": "number"},
        {"key": "height_cm", "label": "身高(cm)", "group": "style", "type": "number"},
    ],
    "cosmetics": [
        *_COMMON,
        *_STYLE,
        {
            "key": "skin_type",
            "label": "肤质",
            "group": "style",
            "type": "choice",
            "choices": ["干性", "油性", "混合", "敏感", "中性"],
        },
        {
            "key": "makeup_preference",
            "label": "妆容偏好",
            "group": "style",
            "type": "choice",
            "choices": ["素颜", "淡妆", "精致妆"],
        },
        {"key": "favourite_brands", "label": "常用品牌", "group": "software"},
    ],
}
