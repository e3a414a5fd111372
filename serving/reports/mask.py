"""Masking personal data in comments shown to people (training cases, agendas).

Rules, applied in this order so that a longer match wins:

1. e-mail addresses -> ``[邮箱]``;
2. phone numbers: 11-digit mainland mobiles (``1[3-9]`` then 9 digits, also
   written 3-4-4 with spaces or dashes, optionally after +86) and landlines
   with an area code (``010-12345678``) -> ``[电话]``;
3. addresses: a road/street with a house number (``中山路100号``), building
   parts with numbers (``3栋2单元501室``), and named estates or towers
   (``阳光花园``, ``XX小区``) -> ``[地址]``;
4. order, tracking and id numbers: a run of 6 or more digits, or letters and
   digits after 订单/单号/运单 -> ``[单号]``;
5. names: a common surname before 先生/女士/小姐/师傅/经理, or two or three
   characters after 我叫/名叫/姓名 -> ``[姓名]`` (the title is kept);
6. bare names: words that jieba's part-of-speech tagger reads as a person's
   name (``nr``), two to four characters starting with a common surname and
   rare in its dictionary (``张伟``, ``客服李明``; not ``谢谢``) -> ``[姓名]``.

Masking errs towards hiding: a ``我们小区`` becomes ``[地址]`` too, and the
tagger now and then takes a dish for a name (``黄焖鸡`` -> ``[姓名]鸡``). Digits
are matched in any width (Python's ``\\d`` includes full-width ０-９).
"""

from __future__ import annotations

import logging
import re

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
    "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧"
)
_HAN = r"[\u4e00-\u9fff]"
_NUM = r"[\d一二三四五六七八九十百零〇]+"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[邮箱]"),
    (
        re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)"),
        "[电话]",
    ),
    (re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)"), "[电话]"),
    (
        re.compile(
            rf"{_HAN}{{1,8}}(?:路|街|大道|巷|弄){_NUM}号"
            rf"(?:{_NUM}(?:栋|幢|号楼|单元|楼|层|室|号))*"
        ),
        "[地址]",
    ),
    (
        re.compile(
            rf"(?:{_NUM}[-－]?)+(?:栋|幢|号楼|单元)(?:{_NUM}(?:单元|楼|层|室|号))*"
        ),
        "[地址]",
    ),
    (re.compile(rf"{_NUM}(?:室|号房)"), "[地址]"),
    (re.compile(rf"{_HAN}{{2,6}}(?:小区|花园|公寓|大厦|苑)"), "[地址]"),
    (
        re.compile(r"((?:订单|单号|运单|快递单)[号]?[:：\s]*)[A-Za-z0-9-]{6,}"),
        r"\1[单号]",
    ),
    (re.compile(r"(?<!\d)\d{6,}(?!\d)"), "[单号]"),
    (re.compile(rf"[{_SURNAMES}]{_HAN}?(先生|女士|小姐|师傅|经理)"), r"[姓名]\1"),
    (re.compile(rf"((?:我叫|名叫|姓名[:：]?)){_HAN}{{2,3}}"), r"\1[姓名]"),
)
_REPEATS = re.compile(r"(\[地址\])+")
_COMMON_WORD = 50  # jieba dictionary frequency from which a word is no name


def mask(text: str) -> str:
    """``text`` with phone numbers, addresses, order numbers and names masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _REPEATS.sub("[地址]", _mask_names(text))


def _mask_names(text: str) -> str:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not ours
    return "".join(
        "[姓名]" if _is_name(token.word, token.flag, jieba.dt.FREQ) else token.word
        for token in jieba.posseg.cut(text)
    )


def _is_name(word: str, flag: str, frequencies: dict[str, int]) -> bool:
    # jieba's dictionary tags some everyday words nr (谢谢, 顾客, 毛巾); a real
    # person's name is rare there or absent, so frequent words are kept.
    return (
        flag == "nr"
        and 2 <= len(word) <= 4
        and word[0] in _SURNAMES
        and (frequencies.get(word) or 0) < _COMMON_WORD
    )
