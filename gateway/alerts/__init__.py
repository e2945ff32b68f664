"""Pure: instant-message alerts to group-chat robots (WeCom, DingTalk, Feishu)."""
