"""What a refused or failed request shows, in Chinese: the pages answer with an error page in
the console's look (no werkzeug English, no stack trace; the details go to the console log),
the API with its JSON error schema (console/api.py). A refusal's own description (`NotFound(
"没有管理文件 x")`) is shown; werkzeug's English default description is not."""
from __future__ import annotations

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

#: Page refusals: (title, what the user may do).
PAGE_ERRORS = {
    400: ("请求有误", "请求的内容不完整或格式不对, 请返回上一页检查后重试。"),
    403: ("无权访问", "您的账号没有使用此页面的权限。"),
    404: ("页面不存在", "您要打开的页面不存在: 地址可能有误, 或该内容已被删除。请从菜单进入。"),
    405: ("不支持此操作", "此地址不支持这种访问方式, 请从菜单或页面上的按钮进入。"),
    409: ("操作正在进行", "同样的操作正在进行, 请等它结束后再试。"),
    413: ("上传内容过大", "上传的文件或填写的内容超过了上限, 请减小后重试。"),
    500: ("服务器内部错误", "处理请求时出错, 详情已记入控制台日志。请稍后重试; 问题持续时请联系系统管理员。"),
}


#: Why flask_wtf refused a form (its descriptions are English: "The CSRF token has expired.").
CSRF_REFUSED = ("页面打开太久或已在别处重新登录, 表单的安全校验未通过: 请刷新页面, 重新填写后再提交。")


def own_description(error: HTTPException) -> str:
    """The refusal's description when the console gave one, else empty (werkzeug's defaults
    are English)."""
    if isinstance(error, CSRFError):
        return CSRF_REFUSED
    return "" if error.description == type(error).description else str(error.description)


def error_page(error: HTTPException):
    """The console's error page for a refusal, with its status and headers (Allow on a 405)."""
    title, advice = PAGE_ERRORS.get(error.code, ("请求未能完成", "服务器未能完成此请求。"))
    response = error.get_response()
    response.set_data(render_template("admin/error.html", title=title, message=advice,
                                      detail=own_description(error), code=error.code))
    response.content_type = "text/html; charset=utf-8"
    return response
