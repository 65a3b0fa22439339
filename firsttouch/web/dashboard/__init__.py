"""The dashboard: server-rendered pages for reps, managers and admins.

Routes live beside their concern (``login``, ``leads``, ``pages``); reads in
``queries`` and ``timeline``; writes in ``actions``; who sees what in
``visibility``. Templates autoescape everything; the only script is our own
``static/dashboard.js``.
"""

from fastapi import APIRouter

from firsttouch.web.dashboard import admin, leads, login, pages

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(leads.router)
router.include_router(pages.router)
router.include_router(admin.router)

__all__ = ["router"]
