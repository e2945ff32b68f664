"""The words people and mail clients write, as tables: urgency, brackets, prefixes, markers."""

from __future__ import annotations

from gateway.model import Urgency

# Urgency words in subject tags, keyed case-folded. Simplified, Traditional and English,
# as real mail writes them (DOMAIN.md, "The subject convention").
URGENCY_WORDS: dict[str, Urgency] = {
    "普通": Urgency.NORMAL,
    "一般": Urgency.NORMAL,
    "常规": Urgency.NORMAL,
    "常規": Urgency.NORMAL,
    "normal": Urgency.NORMAL,
    "紧急": Urgency.URGENT,
    "緊急": Urgency.URGENT,
    "加急": Urgency.URGENT,
    "急": Urgency.URGENT,
    "urgent": Urgency.URGENT,
    "特急": Urgency.CRITICAL,
    "特别紧急": Urgency.CRITICAL,
    "特別緊急": Urgency.CRITICAL,
    "非常紧急": Urgency.CRITICAL,
    "非常緊急": Urgency.CRITICAL,
    "十万火急": Urgency.CRITICAL,
    "critical": Urgency.CRITICAL,
    "emergency": Urgency.CRITICAL,
}

# Opening → closing bracket. Half- and full-width, and the ornamental CJK forms.
BRACKETS: dict[str, str] = {
    "【": "】",
    "[": "]",
    "［": "］",
    "〔": "〕",
    "〖": "〗",
    "(": ")",
    "（": "）",
}

# Reply and forward prefixes, keyed case-folded; Outlook, Foxmail, webmail and phone clients.
REPLY_PREFIXES = frozenset({"re", "回复", "回覆", "答复", "答覆", "aw", "sv", "antw"})
FORWARD_PREFIXES = frozenset({"fwd", "fw", "转发", "轉發", "转寄", "轉寄", "tr", "wg"})

COLONS = ":："

# Words the gateway itself puts after a record id in the subjects it sends
# (templates/*.subject.j2); a reply quoting them must read back to the original title.
GATEWAY_MARKERS = frozenset({
    "已受理", "受理回执", "提醒", "催办", "已升级", "升级", "已完成", "结案回执", "请评价",
    "已关闭", "处理中", "通知", "新记录",
})

# A word before the title separator names a department when it is in the directory or
# ends with one of these (生产部, 质量管理处, 信息中心…).
DEPARTMENT_SUFFIXES = ("部", "处", "科", "室", "中心", "组", "办", "车间", "分公司", "事业部")
DEPARTMENT_MAX_LENGTH = 12

# Between department and title: ASCII hyphen, full-width hyphen, dashes.
TITLE_SEPARATORS = "-－—–―‐"

# 归档类别 (seed 003): the words staff and rule files write, to the stable class keys.
ARCHIVE_CLASS_WORDS: dict[str, str] = {
    "普通": "ordinary", "一般": "ordinary", "ordinary": "ordinary",
    "重要": "important", "important": "important",
    "涉密": "classified", "机密": "classified", "機密": "classified", "classified": "classified",
}
ARCHIVE_CLASS_LABELS: dict[str, str] = {
    "ordinary": "普通", "important": "重要", "classified": "涉密",
}
# 归档分类: internal threads and those with outside parties are filed apart (seed 003).
ARCHIVE_CATEGORY_LABELS: dict[str, str] = {"internal": "内部", "external": "外部"}
