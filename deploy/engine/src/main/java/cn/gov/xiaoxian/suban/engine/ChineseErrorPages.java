package cn.gov.xiaoxian.suban.engine;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.autoconfigure.web.servlet.error.ErrorViewResolver;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.ModelAndView;
import org.springframework.web.servlet.View;

/**
 * The engine's error pages in Chinese: a browser that asks for a page the engine does not have
 * (or that fails) gets this page instead of Spring Boot's English "Whitelabel Error Page". The
 * REST API keeps its JSON errors (Spring Boot asks this resolver for HTML requests only); no
 * stack trace, no exception text: the details are in the engine's log.
 */
@Component
public class ChineseErrorPages implements ErrorViewResolver {

    private static final String PAGE = """
        <!doctype html>
        <html lang="zh-CN">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>%1$s · 宿事速办</title>
          <style>
            body { margin: 0; font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", sans-serif;
                   background: #f3f4f6; color: #222; }
            header { background: #b5152b; color: #fff; padding: 12px 24px; font-weight: bold; font-size: 18px; }
            main { max-width: 640px; margin: 48px auto; padding: 24px; background: #fff; border-radius: 8px; }
            h1 { margin-top: 0; font-size: 24px; }
            a { color: #155cb5; margin-right: 24px; }
            a:focus { outline: 3px solid #f59e0b; outline-offset: 2px; }
            .code { color: #666; }
          </style>
        </head>
        <body>
        <header>宿事速办 · 12345 热线</header>
        <main>
          <h1>%1$s</h1>
          <p>%2$s</p>
          <p><a href="/camunda/app/tasklist/">打开任务列表</a><a href="/camunda/app/">返回首页</a></p>
          <p class="code">错误代码 %3$d</p>
        </main>
        </body>
        </html>
        """;

    @Override
    public ModelAndView resolveErrorView(HttpServletRequest request, HttpStatus status,
                                         Map<String, Object> model) {
        ModelAndView page = new ModelAndView(new ErrorPage(status));
        page.setStatus(status);
        return page;
    }

    private record ErrorPage(HttpStatus status) implements View {

        @Override
        public String getContentType() {
            return "text/html;charset=UTF-8";
        }

        @Override
        public void render(Map<String, ?> model, HttpServletRequest request,
                           HttpServletResponse response) throws Exception {
            String[] text = words(status);
            response.setContentType(getContentType());
            response.getOutputStream().write(
                PAGE.formatted(text[0], text[1], status.value()).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The title and the advice for a status. */
    static String[] words(HttpStatus status) {
        if (status == HttpStatus.NOT_FOUND) {
            return new String[] {"页面不存在",
                "您要打开的页面不存在: 地址可能有误, 或该页面已被移走。请从下面的入口重新进入。"};
        }
        if (status == HttpStatus.UNAUTHORIZED || status == HttpStatus.FORBIDDEN) {
            return new String[] {"请先登录",
                "此页面需要登录, 或您的账号没有使用它的权限。请从任务列表登录后再进入。"};
        }
        if (status.is4xxClientError()) {
            return new String[] {"无法打开此页面", "请求未能完成: 地址或请求的内容有误。请从下面的入口重新进入。"};
        }
        return new String[] {"流程引擎出错",
            "流程引擎处理请求时出错, 详情已记入引擎日志。请稍后重试; 问题持续时请联系热线中心的系统管理员。"};
    }
}
