"""Notices (通知): a leader's notice to the branch, a group, the committee or the floating
members; who has read it (收到), who has not, whose push failed and why; 再提醒 once.

rules.py (audiences, windows), drafts.py (the notice written in chat, sent on 确认), store.py
(notices, recipients, acknowledgements, the figures), sending.py (what is due, the fan-out,
再提醒), page.py (the signed page a template message links to).
"""
