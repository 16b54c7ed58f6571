"""The app's look: one small stylesheet."""

STYLESHEET = """
QFrame#message-user { background: #e8f0fe; border: 1px solid #c9d8f5; border-radius: 10px; }
QFrame#message-assistant { background: #ffffff; border: 1px solid #dde1e6; border-radius: 10px; }
QFrame#message-error { background: #fdecea; border: 1px solid #f5c2bd; border-radius: 10px; }
QFrame#message-user QTextBrowser, QFrame#message-assistant QTextBrowser,
QFrame#message-error QTextBrowser { background: transparent; }
QWidget#chat-column { background: #f6f7f9; }
QLabel#figures { color: #5f6368; }
QLabel#placeholder { color: #80868b; font-size: 15px; padding: 40px; }
"""
