"""The words of the login, logout, forbidden and admin pages (merged into ``figures.strings.STRINGS``)."""

from __future__ import annotations

AUTH_STRINGS = {
    "login_title": ("登录 · {org} e企安365", "Log in · {org} e-Qi'an 365"),
    "login_heading": ("{org} e企安365 数字驾驶舱", "{org} e-Qi'an 365 Cockpit"),
    "login_username": ("用户名", "Username"),
    "login_password": ("密码", "Password"),
    "login_submit": ("登录", "Log in"),
    "login_failed": ("用户名或密码错误。", "Wrong username or password."),
    "login_throttled": ("登录失败次数过多，请 {minutes} 分钟后再试。",
                        "Too many failed logins: try again in {minutes} minutes."),
    "login_expired": ("会话已过期，请重新登录。", "Your session has expired: please log in again."),
    "login_needed": ("请先登录。", "Please log in."),
    "login_unavailable": ("数据库暂时无法连接，请稍后再试。",
                          "The database cannot be reached: please try again shortly."),
    "login_logged_out": ("已退出。", "You have logged out."),
    "login_hint_wall": ("大屏请使用管理员签发的设备链接登录。",
                        "Wall screens log in with the device link an administrator issues."),
    "token_refused": ("设备令牌无效或已吊销，请联系管理员。",
                      "This device token is not valid or has been revoked: ask an administrator."),
    "logout_title": ("退出登录", "Log out"),
    "logout_confirm": ("确认退出", "Log out now"),
    "forbidden": ("无权访问", "Access denied"),
    "forbidden_detail": ("当前账号（{role}）无权查看此页面。", "Your account ({role}) may not open this page."),
    "user_bar_logout": ("退出", "Log out"),
    "user_bar_admin": ("管理", "Admin"),
    "csrf_failed": ("表单已过期，请刷新后重试。", "The form has expired: reload the page and try again."),
}
