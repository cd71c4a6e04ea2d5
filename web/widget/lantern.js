/*
 * Lantern chat widget. Embed with one tag:
 *
 *   <script src="https://rasa.example.com/webhooks/widget/lantern.js" defer
 *           data-server="https://rasa.example.com"   (default: where this script came from)
 *           data-title="Ask Copperleaf"               (default: "Lantern")
 *           data-color="#1d4ed8"                      (accent, #rgb or #rrggbb)
 *           data-greeting="Stuck on something?"       (text of the teaser bubble)
 *           data-greeting-delay="8"></script>         (seconds before the teaser; off if unset)
 *
 * Nothing is stored and no connection is made until the visitor opens the chat. The
 * conversation id then lives in localStorage, so the chat survives reloads and moving
 * between pages; the history itself is always read back from the server.
 * Every piece of text is inserted as text, never as HTML (see renderMarkdown).
 * Wire protocol: bot/widget_protocol.py.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.LanternWidget) return;

  var KEYS = { session: "lantern.conversation", outbox: "lantern.outbox", open: "lantern.open" };
  var MAX_CHARS = 2000;
  var RECONNECT_DELAYS_MS = [300, 1000, 2000, 3000, 5000];

  var data = script.dataset;
  var config = {
    server: (data.server || new URL(script.src).origin).replace(/\/+$/, ""),
    title: data.title || "Lantern",
    accent: validColour(data.color) || "#1d4ed8",
    greeting: data.greeting || "Stuck on something? Tell me what you're trying to fix.",
    greetingDelay: parseFloat(data.greetingDelay)
  };

  // ---- storage: only touched once the visitor has opened the chat -------------------

  function load(storage, key) {
    try { return storage.getItem(key); } catch (e) { return null; }
  }
  function store(storage, key, value) {
    try {
      if (value === null) storage.removeItem(key); else storage.setItem(key, value);
    } catch (e) { /* private mode or storage off: the chat still works for this page */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- colours: keep text on the accent colour at WCAG AA contrast -------------------

  function validColour(value) {
    return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value || "") ? value : null;
  }
  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    return [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, c, i) { return sum + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  var onAccent = contrast(config.accent, "#ffffff") >= contrast(config.accent, "#111827") ? "#ffffff" : "#111827";
  // Links and outlined buttons sit on white: use the accent only where it is readable there.
  var accentOnWhite = contrast(config.accent, "#ffffff") >= 4.5 ? config.accent : "#1e3a8a";

  // ---- safe Markdown: a small subset, built from text nodes only ---------------------

  var INLINE = /\*\*([^*\n]+)\*\*|`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'])|\*([^*\s][^*\n]*)\*/g;

  function safeUrl(url) {
    try {
      var parsed = new URL(url, window.location.href);
      return /^(https?|mailto):$/.test(parsed.protocol) ? parsed.href : null;
    } catch (e) { return null; }
  }
  function link(label, url) {
    var a = document.createElement("a");
    a.textContent = label;
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  function renderInline(text, parent) {
    var last = 0, match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var node;
      if (match[1] !== undefined) {
        node = document.createElement("strong"); node.textContent = match[1];
      } else if (match[2] !== undefined) {
        node = document.createElement("code"); node.textContent = match[2];
      } else if (match[3] !== undefined) {
        var url = safeUrl(match[4]);
        node = url ? link(match[3], url) : document.createTextNode(match[3]);
      } else if (match[5] !== undefined) {
        var bare = safeUrl(match[5]);
        node = bare ? link(match[5], bare) : document.createTextNode(match[5]);
      } else {
        node = document.createElement("em"); node.textContent = match[6];
      }
      parent.appendChild(node);
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function renderMarkdown(text, parent) {
    text.replace(/\r\n?/g, "\n").split(/\n{2,}/).forEach(function (block) {
      var lines = block.split("\n").filter(function (line) { return line.trim() !== ""; });
      if (!lines.length) return;
      var bullets = lines.every(function (l) { return /^\s*[-*]\s+/.test(l); });
      var numbers = lines.every(function (l) { return /^\s*\d+[.)]\s+/.test(l); });
      if (bullets || numbers) {
        var list = document.createElement(bullets ? "ul" : "ol");
        lines.forEach(function (line) {
          var item = document.createElement("li");
          renderInline(line.replace(/^\s*([-*]|\d+[.)])\s+/, ""), item);
          list.appendChild(item);
        });
        parent.appendChild(list);
        return;
      }
      var p = document.createElement("p");
      lines.forEach(function (line, i) {
        if (i) p.appendChild(document.createElement("br"));
        renderInline(line, p);
      });
      parent.appendChild(p);
    });
  }

  // ---- the DOM, inside a shadow root so the host page's styles don't leak in ---------

  var STYLE = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;",
    "background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;z-index:2147483000}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;border-radius:11px;background:#b91c1c;",
    "color:#fff;font-size:13px;line-height:22px;padding:0 6px;font-weight:700}",
    ".teaser{position:fixed;right:20px;bottom:92px;max-width:260px;display:flex;align-items:flex-start;gap:4px;",
    "background:#fff;color:#0f172a;border-radius:12px;box-shadow:0 4px 14px rgba(0,0,0,.2);padding:10px 8px 10px 14px;z-index:2147483000}",
    ".teaser-open{all:unset;cursor:pointer;font-size:15px;line-height:1.4;color:#0f172a}",
    ".teaser-close{border:0;background:none;font-size:18px;color:#334155;cursor:pointer;width:32px;height:32px}",
    ".panel{position:fixed;right:20px;bottom:92px;width:380px;max-width:calc(100vw - 40px);height:580px;max-height:calc(100vh - 112px);",
    "display:flex;flex-direction:column;background:#fff;color:#0f172a;border-radius:14px;overflow:hidden;",
    "box-shadow:0 8px 30px rgba(0,0,0,.28);z-index:2147483001}",
    ".panel[hidden],.teaser[hidden],.status[hidden],.typing[hidden],.badge[hidden],.confirm[hidden]{display:none}",
    ".forget{margin-left:auto;margin-right:8px;background:none;border:1px solid currentColor;color:inherit;border-radius:6px;font:inherit;font-size:13px;padding:2px 8px;cursor:pointer}",
    ".confirm{padding:10px 14px;background:#fff7ed;color:#1f2937;border-bottom:1px solid #e5e7eb}",
    ".confirm p{margin:0 0 8px}",
    ".confirm button{font:inherit;margin-right:8px;padding:4px 10px;border-radius:6px;border:1px solid #1f2937;background:#fff;color:#1f2937;cursor:pointer}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:8px 8px 8px 16px;background:var(--accent);color:var(--on-accent)}",
    "h2{margin:0;font-size:17px;font-weight:650}",
    ".close{border:0;background:none;color:inherit;font-size:26px;line-height:1;width:44px;height:44px;cursor:pointer;border-radius:8px}",
    ".status{margin:0;padding:6px 16px;font-size:14px;background:#fef3c7;color:#713f12}",
    ".log{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}",
    ".msg{max-width:86%;padding:9px 13px;border-radius:14px;font-size:15px;line-height:1.45;overflow-wrap:anywhere}",
    ".msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg ul,.msg ol{margin:4px 0;padding-left:20px}",
    ".msg code{background:rgba(15,23,42,.08);border-radius:4px;padding:0 3px;font-family:ui-monospace,monospace}",
    ".bot{align-self:flex-start;background:#f1f5f9;color:#0f172a;border-bottom-left-radius:4px}",
    ".bot a{color:var(--accent-on-white)}",
    ".visitor{align-self:flex-end;background:var(--accent);color:var(--on-accent);border-bottom-right-radius:4px;white-space:pre-wrap}",
    ".notice{align-self:center;background:#fff7ed;color:#7c2d12;font-size:14px}",
    ".rep{align-self:flex-start;background:#ecfdf5;color:#0f172a;border:1px solid #6ee7b7;border-bottom-left-radius:4px;white-space:pre-wrap}",
    ".who{display:block;font-size:12.5px;font-weight:700;color:#065f46;margin-bottom:2px}",
    ".handoff{align-self:center;max-width:92%;text-align:center;background:#e2e8f0;color:#1e293b;font-size:14px;padding:6px 12px}",
    ".mode{margin:0;padding:6px 16px;font-size:14px;background:#ecfdf5;color:#065f46;border-bottom:1px solid #a7f3d0}",
    ".mode[hidden]{display:none}",
    ".meta{display:block;font-size:12px;margin-top:3px}",
    ".card{margin:0 0 8px;padding:10px 12px;background:#fff;border:1px solid #cbd5e1;border-radius:10px}",
    ".card h3{margin:0 0 4px;font-size:15px}.card p{margin:0 0 6px;font-size:14px;color:#334155}",
    ".card a{font-weight:600;color:var(--accent-on-white)}",
    ".buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
    ".buttons button{min-height:38px;padding:6px 14px;border-radius:19px;border:1.5px solid var(--accent-on-white);",
    "background:#fff;color:var(--accent-on-white);font-size:14px;cursor:pointer}",
    ".buttons button:disabled{border-color:#94a3b8;color:#475569;cursor:default}",
    ".typing{margin:0;padding:0 16px 8px;font-size:14px;color:#475569}",
    ".dots span{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#64748b;animation:blink 1.2s infinite}",
    ".dots span:nth-child(2){animation-delay:.2s}.dots span:nth-child(3){animation-delay:.4s}",
    "@keyframes blink{0%,80%,100%{opacity:.25}40%{opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.dots span{animation:none}}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e8f0}",
    "textarea{flex:1;resize:none;min-height:44px;max-height:120px;padding:10px;border:1px solid #64748b;border-radius:10px;font-size:16px;color:#0f172a}",
    ".send{min-width:64px;min-height:44px;border:0;border-radius:10px;background:var(--accent);color:var(--on-accent);font-size:15px;font-weight:650;cursor:pointer}",
    "button:focus-visible,textarea:focus-visible,a:focus-visible,.teaser-open:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}",
    ".panel:not([hidden])~.launcher{display:none}}"
  ].join("");

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "lantern-widget" });
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = STYLE;
  host.style.setProperty("--accent", config.accent);
  host.style.setProperty("--on-accent", onAccent);
  host.style.setProperty("--accent-on-white", accentOnWhite);

  var panel = el("section", { class: "panel", role: "dialog", "aria-label": config.title + " chat", id: "lantern-panel" });
  panel.hidden = true;
  var header = el("header");
  var heading = el("h2", {}, config.title);
  var closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  var forgetButton = el("button", { class: "forget", type: "button" }, "Delete chat");
  header.append(heading, forgetButton, closeButton);
  // "Delete this conversation": asked once more before anything is deleted.
  var confirmBox = el("div", { class: "confirm", role: "alertdialog", "aria-label": "Delete this conversation?" });
  confirmBox.hidden = true;
  var confirmText = el("p", {}, "Delete this conversation and everything you told us in it? This can't be undone.");
  var confirmYes = el("button", { type: "button", class: "confirm-yes" }, "Delete it");
  var confirmNo = el("button", { type: "button", class: "confirm-no" }, "Keep it");
  confirmBox.append(confirmText, confirmYes, confirmNo);
  var status = el("p", { class: "status", role: "status" });
  status.hidden = true;
  // Who the visitor is talking to while a person has the conversation (live handoff).
  var mode = el("p", { class: "mode", role: "status", "aria-live": "polite" });
  mode.hidden = true;
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
  var typing = el("p", { class: "typing" });
  typing.hidden = true;
  var dots = el("span", { class: "dots", "aria-hidden": "true" });
  dots.append(el("span"), el("span"), el("span"));
  typing.append(dots, el("span", { class: "sr-only" }, config.title + " is typing"));
  var form = el("form");
  var label = el("label", { for: "lantern-input", class: "sr-only" }, "Your message");
  var input = el("textarea", { id: "lantern-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: "Type your message", autocomplete: "off" });
  var sendButton = el("button", { class: "send", type: "submit" }, "Send");
  form.append(label, input, sendButton);
  panel.append(header, confirmBox, status, mode, log, typing, form);

  var launcher = el("button", { class: "launcher", type: "button", "aria-controls": "lantern-panel", "aria-expanded": "false", "aria-label": "Open chat" });
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var bubble = document.createElementNS(SVG, "path");
  bubble.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  icon.appendChild(bubble);
  launcher.appendChild(icon);
  var badge = el("span", { class: "badge", "aria-hidden": "true" });
  badge.hidden = true;
  launcher.appendChild(badge);

  var teaser = el("div", { class: "teaser" });
  teaser.hidden = true;
  var teaserOpen = el("button", { class: "teaser-open", type: "button" }, config.greeting);
  var teaserClose = el("button", { class: "teaser-close", type: "button", "aria-label": "Dismiss" }, "\u00d7");
  teaser.append(teaserOpen, teaserClose);

  root.append(style, teaser, panel, launcher);

  // ---- conversation state -------------------------------------------------------------

  // The conversation this browser holds: the server's id and the token signed for it.
  var session = readSession();
  var sessionId = session && session.id;
  var wanted = !!sessionId; // connect once the visitor has opened the chat (or holds a conversation)
  var outbox = readOutbox();
  var rendered = {};      // seq -> true, for messages already on screen
  var pending = {};       // message id -> element, sent but not yet in the history
  var lastSeq = -1;
  var unread = 0;
  var socket = null;
  var ready = false;
  var attempts = 0;
  var reconnectTimer = null;
  var historyLoaded = false;

  function readSession() {
    try {
      var held = JSON.parse(load(localStorage, KEYS.session) || "null");
      return held && typeof held.id === "string" && typeof held.token === "string" ? held : null;
    } catch (e) { return null; }
  }

  function clearConversation() {
    Array.prototype.forEach.call(log.querySelectorAll(".msg"), function (node) { node.remove(); });
    rendered = {};
    pending = {};
    lastSeq = -1;
    historyLoaded = false;
  }

  function readOutbox() {
    try { return JSON.parse(load(localStorage, KEYS.outbox) || "[]").filter(function (m) { return m && m.id; }); }
    catch (e) { return []; }
  }
  function saveOutbox() {
    store(localStorage, KEYS.outbox, outbox.length ? JSON.stringify(outbox.map(function (m) {
      return { id: m.id, text: m.text, display: m.display, hidden: m.hidden };
    })) : null);
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }
  function firstPending() { return log.querySelector(".pending"); }
  function place(node) { log.insertBefore(node, firstPending()); }

  function disableOldButtons(except) {
    Array.prototype.forEach.call(log.querySelectorAll(".buttons"), function (group) {
      if (group === except) return;
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
    });
  }

  function renderCard(card) {
    var url = safeUrl(card.url);
    var node = el("article", { class: "card" });
    node.append(el("h3", {}, card.title));
    if (card.summary) node.append(el("p", {}, card.summary));
    if (url) {
      var a = link("Read the guide", url);
      a.setAttribute("aria-label", "Read the guide: " + card.title);
      node.append(a);
    }
    return node;
  }

  function showMode(message) {
    if (message.notice === "joined") {
      mode.textContent = message.rep ? "You're chatting with " + message.rep + ", a person" : "You're chatting with a person";
      mode.hidden = false;
      typing.hidden = true;
    } else if (message.notice) {
      mode.hidden = true;
    }
  }

  function renderMessage(message) {
    if (message.sender === "bot" && message.notice) {
      // Lantern saying who is talking now: a line of its own, read out by screen readers.
      return el("div", { class: "msg handoff", role: "status" }, message.text);
    }
    if (message.sender === "bot" && message.rep) {
      var said = el("div", { class: "msg rep" });
      said.append(el("span", { class: "who" }, message.rep), document.createTextNode(message.text));
      return said;
    }
    var node = el("div", { class: "msg " + (message.sender === "bot" ? "bot" : "visitor") });
    if (message.sender === "bot") {
      if (message.card) node.appendChild(renderCard(message.card));
      if (message.text) renderMarkdown(message.text, node);
      if (message.buttons && message.buttons.length) {
        var group = el("div", { class: "buttons", role: "group", "aria-label": "Suggested replies" });
        message.buttons.forEach(function (button) {
          var b = el("button", { type: "button" }, button.title);
          b.addEventListener("click", function () {
            send(button.payload, { display: button.title });
            input.focus();
          });
          group.appendChild(b);
        });
        node.appendChild(group);
        disableOldButtons(group);
      }
    } else {
      node.textContent = message.text;
    }
    return node;
  }

  function showMessages(messages) {
    log.setAttribute("aria-busy", "true");
    messages.forEach(function (message) {
      if (rendered[message.seq]) return;
      rendered[message.seq] = true;
      lastSeq = Math.max(lastSeq, message.seq);
      var mine = message.id && pending[message.id];
      if (mine) {
        delete pending[message.id];
        mine.classList.remove("pending");
        var meta = mine.querySelector(".meta");
        if (meta) meta.remove();
        place(mine);
        return;
      }
      if (message.sender === "visitor") disableOldButtons(null);
      showMode(message);
      place(renderMessage(message));
      if (message.sender === "bot" && panel.hidden && historyLoaded) unread += 1;
    });
    historyLoaded = true;
    log.setAttribute("aria-busy", "false");
    updateBadge();
    scrollToEnd();
    greetIfEmpty();
  }

  // The bot speaks first: when the open chat has no conversation yet (a first visit, or
  // a conversation the server no longer has), ask it for its greeting, unseen.
  function greetIfEmpty() {
    if (historyLoaded && !panel.hidden && !log.querySelector(".msg") && !outbox.length) {
      send("/greet", { hidden: true });
    }
  }

  function showPending(item) {
    var node = el("div", { class: "msg visitor pending" });
    node.appendChild(document.createTextNode(item.display || item.text));
    node.appendChild(el("span", { class: "meta" }, "Sending\u2026"));
    log.appendChild(node);
    pending[item.id] = node;
    disableOldButtons(null);
    scrollToEnd();
  }

  function showNotice(text) {
    var node = el("div", { class: "msg notice" }, text);
    place(node);
    scrollToEnd();
  }

  function updateBadge() {
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    launcher.setAttribute("aria-label", unread ? "Open chat, " + unread + " new message" + (unread > 1 ? "s" : "") : "Open chat");
  }

  // ---- the connection -------------------------------------------------------------------

  function socketUrl() {
    return config.server.replace(/^http/, "ws") + "/webhooks/widget/ws";
  }

  function connect() {
    if (socket || !wanted) return;
    clearTimeout(reconnectTimer);
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      attempts = 0;
      ready = true;
      status.hidden = true;
      socket.send(JSON.stringify(session
        ? { type: "hello", session_id: session.id, token: session.token, after: lastSeq }
        : { type: "hello" }));
      // Anything not acknowledged goes again: the server drops what it already has.
      outbox.forEach(transmit);
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "session") holdSession(frame);
      else if (frame.type === "forgotten") forgotten();
      else if (frame.type === "limited") showNotice(frame.text);
      else if (frame.type === "messages") showMessages(frame.messages || []);
      else if (frame.type === "typing") typing.hidden = !frame.on;
      else if (frame.type === "notice") showNotice(frame.text);
      else if (frame.type === "ack") acknowledge(frame.id);
      else if (frame.type === "error" && window.console) console.warn("Lantern:", frame.reason);
    });
    socket.addEventListener("close", function () {
      socket = null;
      ready = false;
      typing.hidden = true;
      status.textContent = "Connection lost. Reconnecting\u2026";
      status.hidden = false;
      var delay = RECONNECT_DELAYS_MS[Math.min(attempts, RECONNECT_DELAYS_MS.length - 1)];
      attempts += 1;
      reconnectTimer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
    });
  }

  function holdSession(frame) {
    // The server opened another conversation than the one held (a stale or forged token): start clean.
    if (session && session.id !== frame.session_id) clearConversation();
    session = { id: frame.session_id, token: frame.token };
    sessionId = session.id;
    store(localStorage, KEYS.session, JSON.stringify(session));
  }

  function forgotten() {
    session = null;
    sessionId = null;
    store(localStorage, KEYS.session, null);
    outbox = [];
    saveOutbox();
    clearConversation();
    showNotice("This conversation has been deleted.");
    if (ready) socket.send(JSON.stringify({ type: "hello" })); // a fresh one, should the visitor go on
  }

  function transmit(item) {
    if (!ready) return;
    socket.send(JSON.stringify({ type: "message", id: item.id, text: item.text, display: item.display || undefined, hidden: item.hidden || undefined }));
  }

  function acknowledge(id) {
    outbox = outbox.filter(function (m) { return m.id !== id; });
    saveOutbox();
    var node = pending[id];
    if (node) { // acknowledged but not part of the conversation (refused, e.g. too long)
      delete pending[id];
      node.classList.remove("pending");
      node.querySelector(".meta").textContent = "Not sent";
    }
  }

  function send(text, options) {
    options = options || {};
    var item = { id: newId(), text: text, display: options.display, hidden: !!options.hidden };
    outbox.push(item);
    saveOutbox();
    if (!item.hidden) showPending(item);
    transmit(item);
  }

  window.addEventListener("online", function () { if (!socket) connect(); });

  // ---- opening and closing ------------------------------------------------------------

  // `restoring`: reopened by itself on a new page, so focus stays where the page puts it.
  function openChat(restoring) {
    wanted = true;
    store(sessionStorage, KEYS.open, "1");
    teaser.hidden = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    updateBadge();
    connect();
    greetIfEmpty();
    scrollToEnd();
    if (restoring !== true) input.focus();
  }

  function closeChat() {
    store(sessionStorage, KEYS.open, null);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) openChat(false); else closeChat(); });
  closeButton.addEventListener("click", closeChat);
  forgetButton.addEventListener("click", function () { confirmBox.hidden = false; confirmNo.focus(); });
  confirmNo.addEventListener("click", function () { confirmBox.hidden = true; forgetButton.focus(); });
  confirmYes.addEventListener("click", function () {
    confirmBox.hidden = true;
    if (ready && session) socket.send(JSON.stringify({ type: "forget" }));
    input.focus();
  });
  teaserOpen.addEventListener("click", function () { openChat(false); });
  teaserClose.addEventListener("click", function () { teaser.hidden = true; launcher.focus(); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") closeChat(); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function start() {
    document.body.appendChild(host);
    if (sessionId) {
      // A returning visitor: reconnect so history and later replies are there.
      connect();
      if (load(sessionStorage, KEYS.open) === "1") openChat(true);
    } else if (config.greetingDelay >= 0) {
      setTimeout(function () { if (panel.hidden && !wanted) teaser.hidden = false; }, config.greetingDelay * 1000);
    }
  }

  window.LanternWidget = { open: function () { openChat(false); }, close: closeChat };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
