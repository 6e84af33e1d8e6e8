"""An embedded SuperOffice-compatible CRM emulator (ERP sync and Quote connections).

`app.create_app` builds the ASGI app; `embedded.open_embedded` wraps it for
in-process use through httpx. The core never imports this package.
"""
