/* shopmind storefront chat: the support assistant on the shop's own pages.
 *
 * Paste into the theme, once:
 *   <script async src="https://SHOPMIND/chat-widget.js" data-key="pk_…"
 *           data-lang="en|zh" data-product="PRODUCT_ID" data-color="#1f5fbf"></script>
 *
 * A button at the bottom right opens the chat. Each message goes to
 * POST /public/v1/support/chat with the publishable key (never the secret API key), as a
 * plain-text body (no CORS preflight); the answer streams in sentence by sentence
 * (server-sent events read with fetch), with its sources under it. When a person of the
 * shop takes over, the widget says so and asks GET /public/v1/support/messages every few
 * seconds for their reply. The conversation's session key stays in sessionStorage, so the
 * chat follows the shopper from page to page in this tab and ends with it.
 *
 * Everything from the server (answers, sources, a person's replies) is set as text, never
 * parsed as HTML; only http(s) addresses become links. The widget lives in a shadow root:
 * the shop's CSS cannot reach it and its CSS cannot reach the shop.
 * data-lang picks English or Chinese (default: the page's lang); data-product names the
 * product of the page, so "is it waterproof?" is asked of it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.querySelector("shopmind-chat")) return;
  var data = script.dataset;
  var base = new URL(script.src, document.baseURI).origin;
  var key = data.key || "";
  var product = data.product || "";
  var POLL_MS = 4000;
  var MAX_CHARS = 2000;
  var STRINGS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Questions? Ask us",
      label: "Your message", placeholder: "Type your question…",
      send: "Send", you: "You", assistant: "Assistant", agent: "Our team",
      hello: "Hi! Ask me about delivery, returns, payments, your order or our products.",
      sources: "Sources", thinking: "Writing an answer…",
      handover: "A person from our team will reply here. You can keep browsing: " +
                "the reply will wait for you in this chat.",
      unread: "New reply", error: "Sorry, that didn't work. Please try again.",
      busy: "Lots of questions at once. Please wait a moment and try again."
    },
    zh: {
      open: "打开在线客服", close: "关闭聊天", title: "有问题？问我们",
      label: "您的消息", placeholder: "请输入您的问题…",
      send: "发送", you: "您", assistant: "助手", agent: "客服团队",
      hello: "您好！可以问我配送、退货、付款、订单或商品方面的问题。",
      sources: "来源", thinking: "正在回答…",
      handover: "我们的工作人员会在这里回复您。您可以继续浏览，回复会保留在这个对话中。",
      unread: "新回复", error: "抱歉，发送失败，请再试一次。",
      busy: "当前咨询较多，请稍等片刻再试。"
    }
  };
  var lang = pickLanguage();
  var T = STRINGS[lang];
  var saved = "shopmind.chat." + key;
  var state = load();
  var ui = null;
  var busy = false;
  var pollTimer = null;

  function pickLanguage() {
    var wanted = (data.lang || document.documentElement.lang || "en").toLowerCase();
    return wanted.indexOf("zh") === 0 ? "zh" : "en";
  }

  function load() {
    try {
      var found = JSON.parse(sessionStorage.getItem(saved) || "null");
      if (found && typeof found.session === "string") {
        return { session: found.session, lastId: +found.lastId || 0 };
      }
    } catch (e) { /* storage blocked or damaged: start afresh */ }
    return { session: null, lastId: 0 };
  }

  function store() {
    try { sessionStorage.setItem(saved, JSON.stringify(state)); } catch (e) { /* blocked */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5" +
                           "a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 " +
                           ".01zm5 0a1.5 1.5 0 1 0 0 .01z");
    svg.appendChild(path);
    return svg;
  }

  var STYLE =
    ":host{all:initial}*{box-sizing:border-box}" +
    ".root{--accent:#1f5fbf;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto," +
    "'Noto Sans','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;color:#1d1d1f}" +
    ".launcher{position:fixed;right:20px;bottom:20px;width:58px;height:58px;border:0;" +
    "border-radius:50%;background:var(--accent);color:#fff;cursor:pointer;display:flex;" +
    "align-items:center;justify-content:center;box-shadow:0 4px 16px rgba(0,0,0,.28);" +
    "z-index:2147483000}" +
    ".launcher:focus-visible,button:focus-visible,a:focus-visible,textarea:focus-visible{" +
    "outline:3px solid #f5a623;outline-offset:2px}" +
    ".dot{position:absolute;top:4px;right:4px;width:14px;height:14px;border-radius:50%;" +
    "background:#e5484d;border:2px solid #fff}" +
    ".panel{position:fixed;right:20px;bottom:90px;width:380px;max-width:calc(100vw - 40px);" +
    "height:600px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;" +
    "background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.28);" +
    "z-index:2147483001}" +
    ".panel[hidden],[hidden]{display:none}" +
    ".head{display:flex;align-items:center;justify-content:space-between;gap:8px;" +
    "padding:12px 10px 12px 16px;background:var(--accent);color:#fff}" +
    "h2{margin:0;font-size:16px;font-weight:600;line-height:1.3}" +
    ".close{flex:none;width:36px;height:36px;border:0;border-radius:8px;background:transparent;" +
    "color:#fff;font-size:24px;line-height:1;cursor:pointer}" +
    ".close:hover{background:rgba(255,255,255,.15)}" +
    ".log{flex:1;overflow-y:auto;list-style:none;margin:0;padding:14px;display:flex;" +
    "flex-direction:column;gap:10px;background:#f5f6f8}" +
    ".msg{max-width:88%;padding:9px 12px;border-radius:14px;overflow-wrap:anywhere}" +
    ".text{margin:0;white-space:pre-wrap}" +
    ".who{display:block;font-size:12px;font-weight:600;color:#5b6470;margin-bottom:2px}" +
    ".shopper{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}" +
    ".shopper .who{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    ".assistant{align-self:flex-start;background:#fff;border:1px solid #e1e4e8;" +
    "border-bottom-left-radius:4px}" +
    ".agent{align-self:flex-start;background:#e9f6ee;border:1px solid #b9e0c6;" +
    "border-bottom-left-radius:4px}" +
    ".pending .text{color:#6b7480;font-style:italic}" +
    ".notice{align-self:stretch;font-size:13px;color:#4d3f00;background:#fff5d1;" +
    "border:1px solid #efd88a;border-radius:10px;padding:8px 12px}" +
    ".error{background:#fdecec;border-color:#f2b8b8;color:#7a1212}" +
    ".cites{margin-top:8px;padding-top:6px;border-top:1px solid #eceef1;font-size:13px;" +
    "color:#4a525c}" +
    ".cites ol{margin:2px 0 0;padding-left:20px}.cites a{color:var(--accent)}" +
    ".form{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e1e4e8;" +
    "background:#fff}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);" +
    "white-space:nowrap}" +
    "textarea{flex:1;min-height:42px;max-height:120px;resize:none;font:inherit;font-size:16px;" +
    "padding:9px 12px;border:1px solid #c4cad3;border-radius:12px;color:#1d1d1f;background:#fff}" +
    ".send{flex:none;height:42px;padding:0 16px;border:0;border-radius:12px;font:inherit;" +
    "font-weight:600;background:var(--accent);color:#fff;cursor:pointer}" +
    ".send:disabled{opacity:.55;cursor:default}" +
    "@media (max-width:420px){.panel{top:0;right:0;bottom:0;left:0;width:100%;max-width:none;" +
    "height:100%;max-height:none;border-radius:0}.launcher{right:14px;bottom:14px}}";

  function build() {
    var host = document.createElement("shopmind-chat");
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style", null, STYLE);
    var root = el("div", "root");
    root.setAttribute("lang", lang);
    if (data.color && window.CSS && window.CSS.supports("color", data.color)) {
      root.style.setProperty("--accent", data.color);
    }
    var launcher = el("button", "launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-label", T.open);
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "sm-panel");
    launcher.appendChild(icon());
    var dot = el("span", "dot");
    dot.hidden = true;
    dot.title = T.unread;
    launcher.appendChild(dot);

    var panel = el("div", "panel");
    panel.id = "sm-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", "sm-title");
    var head = el("div", "head");
    var title = el("h2", null, T.title);
    title.id = "sm-title";
    var close = el("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", T.close);
    head.appendChild(title);
    head.appendChild(close);
    var log = el("ol", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    var form = el("form", "form");
    var label = el("label", "sr", T.label);
    label.htmlFor = "sm-input";
    var input = el("textarea");
    input.id = "sm-input";
    input.rows = 1;
    input.maxLength = MAX_CHARS;
    input.placeholder = T.placeholder;
    input.setAttribute("autocomplete", "off");
    var send = el("button", "send", T.send);
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(head);
    panel.appendChild(log);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(style);
    shadow.appendChild(root);
    document.body.appendChild(host);

    launcher.addEventListener("click", function () { panel.hidden ? openPanel() : closePanel(); });
    close.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); closePanel(); }
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    return { launcher: launcher, dot: dot, panel: panel, log: log, input: input, send: send };
  }

  function openPanel() {
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.setAttribute("aria-label", T.close);
    ui.dot.hidden = true;
    if (!ui.log.children.length) bubble("assistant", T.hello);
    scroll();
    ui.input.focus();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", T.open);
    ui.launcher.focus();
  }

  function scroll() { ui.log.scrollTop = ui.log.scrollHeight; }

  function bubble(role, text) {
    var item = el("li", "msg " + role);
    item.appendChild(el("span", "who", T[role]));
    item.appendChild(el("p", "text", text));
    ui.log.appendChild(item);
    scroll();
    return item;
  }

  function notice(text, cls) {
    var item = el("li", "notice" + (cls ? " " + cls : ""), text);
    item.setAttribute("role", "status");
    ui.log.appendChild(item);
    scroll();
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value);  // no base: a relative or odd address is not a link
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function sources(item, citations) {
    if (!citations || !citations.length) return;
    var box = el("div", "cites");
    box.appendChild(el("span", null, T.sources));
    var list = el("ol");
    citations.forEach(function (c) {
      var entry = el("li");
      if (typeof c.n === "number") entry.value = c.n;
      var href = safeUrl(c.url);
      var name = String(c.title || c.url || "");
      if (href) {
        var a = el("a", null, name);
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        entry.appendChild(a);
      } else {
        entry.appendChild(el("span", null, name));
      }
      list.appendChild(entry);
    });
    box.appendChild(list);
    item.appendChild(box);
    scroll();
  }

  function remember(session) {
    if (!session || session === state.session) return;
    state = { session: session, lastId: 0 };
    store();
  }

  function events(response, onEvent) {
    var buffer = "";
    function flush(end) {
      var blocks = buffer.split(/\r?\n\r?\n/);
      buffer = end ? "" : blocks.pop();
      blocks.forEach(function (block) {
        var lines = block.split(/\r?\n/).filter(function (l) { return l.indexOf("data:") === 0; });
        if (!lines.length) return;
        var text = lines.map(function (l) { return l.slice(5).replace(/^ /, ""); }).join("\n");
        var event;
        try { event = JSON.parse(text); } catch (e) { return; }
        onEvent(event);
      });
    }
    if (!response.body || !response.body.getReader) {
      return response.text().then(function (all) { buffer = all; flush(true); });
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    function pump() {
      return reader.read().then(function (step) {
        if (step.done) {
          buffer += decoder.decode();
          flush(true);
          return;
        }
        buffer += decoder.decode(step.value, { stream: true });
        flush(false);
        return pump();
      });
    }
    return pump();
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text || busy) return;
    busy = true;
    ui.send.disabled = true;
    ui.input.value = "";
    bubble("shopper", text.slice(0, MAX_CHARS));
    var item = bubble("assistant", T.thinking);
    item.classList.add("pending");
    item.setAttribute("aria-busy", "true");
    var body = item.querySelector(".text");
    var started = false;
    var done = null;
    var payload = { message: text.slice(0, MAX_CHARS), stream: true };
    if (state.session) payload.session = state.session;
    if (product) payload.product = product;
    fetch(base + "/public/v1/support/chat?key=" + encodeURIComponent(key), {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify(payload)
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return events(response, function (event) {
        if (event.type === "sentence" && typeof event.text === "string") {
          if (!started) { started = true; body.textContent = ""; item.classList.remove("pending"); }
          body.textContent += event.text;
          scroll();
        } else if (event.type === "done") {
          done = event;
        }
      });
    }).then(function () {
      if (!done) throw new Error("no answer");
      item.classList.remove("pending");
      if (!started) body.textContent = String(done.answer || "");
      else body.textContent = body.textContent.trim();
      sources(item, done.citations);
      remember(done.session);
      if (done.handover) {
        if (!pollTimer) notice(T.handover);
        startPolling();
      }
    }).catch(function (error) {
      item.remove();
      var crowded = error && (error.status === 429 || error.status === 503);
      notice(crowded ? T.busy : T.error, "error");
    }).then(function () {
      item.removeAttribute("aria-busy");
      busy = false;
      ui.send.disabled = false;
      if (!ui.panel.hidden) ui.input.focus();
    });
  }

  function messages() {
    var url = base + "/public/v1/support/messages?key=" + encodeURIComponent(key) +
              "&session=" + encodeURIComponent(state.session) + "&after=" + state.lastId;
    return fetch(url, { mode: "cors", credentials: "omit" }).then(function (response) {
      if (response.status === 404) {  // the conversation is gone: start a new one next time
        state = { session: null, lastId: 0 };
        store();
        return null;
      }
      return response.ok ? response.json() : null;
    });
  }

  function take(page, all) {
    var shown = 0;
    page.messages.forEach(function (m) {
      if (m.id > state.lastId) state.lastId = m.id;
      if (!all && m.role !== "agent") return;  // the chat has shown its own turns already
      var role = m.role === "shopper" || m.role === "agent" ? m.role : "assistant";
      sources(bubble(role, String(m.text || "")), m.citations);
      shown += 1;
    });
    store();
    return shown;
  }

  function poll() {
    if (!state.session) return stopPolling();
    messages().then(function (page) {
      if (!page) return stopPolling();
      if (take(page, false) && ui.panel.hidden) ui.dot.hidden = false;
      if (page.status !== "handover") stopPolling();
    }).catch(function () { /* offline for a moment: the next tick asks again */ });
  }

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function restore() {
    // A conversation of this tab from an earlier page: show it, and wait for a person's
    // reply when one has it.
    if (!state.session) return;
    var kept = state.lastId;
    state.lastId = 0;
    messages().then(function (page) {
      if (!page) {
        if (state.session) state.lastId = kept;
        return;
      }
      take(page, true);
      if (page.status === "handover") startPolling();
    }).catch(function () { state.lastId = kept; });
  }

  function start() {
    ui = build();
    restore();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
