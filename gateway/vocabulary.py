"""Words as mail writes them: urgency, brackets, prefixes, quoted history, status, ratings."""

from __future__ import annotations

import re

from gateway.model import Status, Urgency

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
DEPARTMENT_SUFFIXES = ("部", "部门", "处", "科", "室", "中心", "组", "办", "车间", "分公司", "事业部",
                       "部門", "處", "組", "辦", "車間")  # and their Traditional forms
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
# 对外: 是 — yes/no as staff write it after a command.
YES_NO_WORDS: dict[str, bool] = {
    "是": True, "对": True, "要": True, "需要": True, "发送": True, "yes": True, "y": True,
    "true": True, "1": True,
    "否": False, "不": False, "不要": False, "不需要": False, "no": False, "n": False,
    "false": False, "0": False,
}
# 电话: 11:20 已电话告知供应商, … — the words before the person called, stripped to name them.
CALL_VERBS: tuple[str, ...] = (
    "已电话告知", "已电话通知", "已电话联系", "电话告知", "电话通知", "电话联系", "已致电", "致电",
    "已联系", "联系了", "联系", "已告知", "告知", "已通知", "通知", "回电", "来电", "与", "和",
    "给", "called", "call with", "spoke with", "spoke to", "talked to", "talked with", "with",
)
CALL_TAILS: tuple[str, ...] = ("通电话", "通话", "沟通", "电话", "确认")
# 归档分类: internal threads and those with outside parties are filed apart (seed 003).
ARCHIVE_CATEGORY_LABELS: dict[str, str] = {"internal": "内部", "external": "外部",
                                           "inbound": "外部", "outbound": "外部"}


# --- quoted history ---------------------------------------------------------------------------
# A line matching one of these starts the quoted history; everything from it on is old text.
# (name, pattern); patterns run on a stripped line, case-insensitive.
QUOTE_START_LINES: tuple[tuple[str, str], ...] = (
    # Foxmail's "------------------ 原始邮件 ------------------" and Outlook's "-----原始邮件-----"
    ("original-zh", r"-{2,}\s*原始邮件\s*-{2,}"),
    ("original-zh-tw", r"-{2,}\s*原始郵件\s*-{2,}"),
    ("original-en", r"-{2,}\s*original message\s*-{2,}"),
    ("forwarded-en", r"-{2,}\s*forwarded message\s*-{2,}"),
    ("forwarded-zh", r"-{2,}\s*(?:转发的邮件|转发邮件|轉寄的郵件)\s*-{2,}"),
    # Gmail/QQ/Apple Mail Chinese: "王工 <w@x> 于2026年11月23日周一 10:00写道：", "在 …，… 写道："
    ("wrote-zh", r".{0,200}(?:写道|寫道)\s*[:：]"),
    # Gmail/Thunderbird English: "On Mon, Nov 23, 2026 at 10:00 AM 王工 <w@x> wrote:"
    ("wrote-en", r"on\b.{0,240}\bwrote\s*:"),
)

# Outlook (and Foxmail, NetEase webmail) write the parent's headers as a block instead of a
# rule line. A block starts with a "from" field and holds at least one more field within
# the next lines, so one "From:" in prose never cuts a reply.
HEADER_BLOCK_FROM = ("发件人", "寄件者", "寄件人", "from")
HEADER_BLOCK_FIELDS = (
    "发送时间", "发件时间", "寄件日期", "时间", "日期", "收件人", "抄送", "主题", "主旨",
    "sent", "date", "to", "cc", "subject",
)
HEADER_BLOCK_SPAN = 5  # lines after the "from" line in which another field must appear

# Lines clients put just above the quoted headers; they end the new text but are no text.
SEPARATOR_LINE = re.compile(r"[_\-=—–*]{8,}")

# --- commands in a staff reply ----------------------------------------------------------------
# (The command keywords are the first column of commands.COMMANDS.)

# Status words, after a status keyword or alone on a line; compared case-folded, NFKC.
STATUS_WORDS: dict[str, Status] = {
    "待处理": Status.OPEN,
    "待處理": Status.OPEN,
    "open": Status.OPEN,
    "处理中": Status.IN_PROGRESS,
    "處理中": Status.IN_PROGRESS,
    "进行中": Status.IN_PROGRESS,
    "進行中": Status.IN_PROGRESS,
    "执行中": Status.IN_PROGRESS,
    "執行中": Status.IN_PROGRESS,
    "in progress": Status.IN_PROGRESS,
    "in_progress": Status.IN_PROGRESS,
    "working": Status.IN_PROGRESS,
    "已完成": Status.RESOLVED,
    "完成": Status.RESOLVED,
    "已解决": Status.RESOLVED,
    "已解決": Status.RESOLVED,
    "done": Status.RESOLVED,
    "resolved": Status.RESOLVED,
    "已关闭": Status.CLOSED,
    "已關閉": Status.CLOSED,
    "关闭": Status.CLOSED,
    "關閉": Status.CLOSED,
    "closed": Status.CLOSED,
    "close": Status.CLOSED,
}

# A line holding only one of these is a status command by itself.
BARE_STATUS_WORDS: dict[str, Status] = {
    "处理中": Status.IN_PROGRESS,
    "處理中": Status.IN_PROGRESS,
    "已完成": Status.RESOLVED,
    "已解决": Status.RESOLVED,
    "已解決": Status.RESOLVED,
    "已关闭": Status.CLOSED,
    "已關閉": Status.CLOSED,
    "#working": Status.IN_PROGRESS,
    "#progress": Status.IN_PROGRESS,
    "#done": Status.RESOLVED,
    "#resolved": Status.RESOLVED,
    "#close": Status.CLOSED,
    "#closed": Status.CLOSED,
}

# --- ratings ----------------------------------------------------------------------------------
# Satisfaction words (发起人满意度), longest first when matching so 非常不满意 is not 满意.
RATING_WORDS: dict[str, int] = {
    "非常满意": 5,
    "非常滿意": 5,
    "很满意": 5,
    "很滿意": 5,
    "满意": 4,
    "滿意": 4,
    "一般": 3,
    "还行": 3,
    "還行": 3,
    "不满意": 2,
    "不滿意": 2,
    "不太满意": 2,
    "不太滿意": 2,
    "非常不满意": 1,
    "非常不滿意": 1,
    "很不满意": 1,
    "很不滿意": 1,
    "very satisfied": 5,
    "satisfied": 4,
    "neutral": 3,
    "dissatisfied": 2,
    "very dissatisfied": 1,
}
RATING_STARS = "★☆"  # filled, empty
RATING_UNITS = ("分", "星", "/5", "／5")
RATING_LOW = 2  # a rating at or below this reopens the record for the department head

# --- messages the enterprise starts (发起) -----------------------------------------------------
# The header lines at the top of a staff mail to the gateway; compared case-folded, NFKC.
DRAFT_KEYS: dict[str, str] = {
    "收件人": "to", "收件者": "to", "to": "to", "接收人": "to", "接收方": "to",
    "抄送": "cc", "副本": "cc", "cc": "cc",
    "期望反馈": "reply_by", "期望反馈时间": "reply_by", "期望反饋": "reply_by", "reply-by": "reply_by",
    "reply by": "reply_by",
    "需反馈": "reply_needed", "需要反馈": "reply_needed", "需反饋": "reply_needed",
    "reply-needed": "reply_needed", "reply needed": "reply_needed",
    "回执": "receipt", "回執": "receipt", "已读回执": "receipt", "read-receipt": "receipt",
    "receipt": "receipt",
}
YES_WORDS = frozenset({"是", "需要", "要", "需", "yes", "y", "true", "1", "on"})
NO_WORDS = frozenset({"否", "不需要", "不要", "无需", "無需", "不", "no", "n", "false", "0", "off"})
# Separators between receivers on one line (commas outside <…> only).
LIST_SEPARATORS = ",，;；、"

# --- an approver's answer (审核) ----------------------------------------------------------------
APPROVE_WORDS = frozenset({"同意", "批准", "通过", "审核通过", "同意发送", "#approve", "approve",
                           "approved", "ok"})
REJECT_KEYS = frozenset({"驳回", "駁回", "不同意", "退回", "#reject", "reject"})
EDIT_KEYS = frozenset({"修改为", "修改為", "改为", "#edit", "edit"})
# The sender's reply that sends the receivers a polite chaser.
CHASER_WORDS = frozenset({"催办", "催辦", "#chase", "chase"})

# Approval levels as the rules name them, to the stable keys stored with each decision.
APPROVAL_LEVEL_WORDS: dict[str, str] = {
    "部门负责人": "head", "负责人": "head", "head": "head",
    "分管领导": "deputy", "分管領導": "deputy", "deputy": "deputy",
    "总经理": "general_manager", "總經理": "general_manager", "general_manager": "general_manager",
    "法务": "legal", "法務": "legal", "legal": "legal",
}
APPROVAL_LEVEL_LABELS: dict[str, str] = {
    "head": "部门负责人", "deputy": "分管领导", "general_manager": "总经理", "legal": "法务",
}
